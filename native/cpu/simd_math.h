// Vectorized double-precision sin/cos (internal to the CPU kernels, not part of the C ABI).
//
// sincos4(x) computes sin and cos of four doubles at once with AVX2/FMA:
//   * range reduction x = q·π/2 + r, q = round(x·2/π), by Cody–Waite with a 3-part split of π/2
//     (p1 + p2 + p3, each a full 53-bit double, p1 + p2 + p3 = π/2 to ~2^-160) applied with FMA:
//     the first step is exact and the reduced argument r carries about 0.5 ulp of error for
//     |x| ≤ kSinCosMaxArg (so q < 2^17);
//   * the fdlibm kernels on [−π/4, π/4]: sin = r + r³·S(r²) (degree 13), cos = 1 − r²/2 + r⁴·C(r²)
//     (degree 14) with the compensated 1 − r²/2 step;
//   * quadrant selection (swap sin/cos, signs) by blends on the low bits of q.
// Lanes with |x| > kSinCosMaxArg, ±inf or NaN fall back to std::sin / std::cos.
// Measured accuracy against glibc sin/cos (gmp_sincos_accuracy: 8·10^5 random angles in
// [−1e4, 1e4] and smaller ranges, multiples of π/2 and their neighbours, tiny and subnormal
// angles): max 1.0 ulp of the result, max absolute error 1.1e-16.
//
// sincos_array<F32>(x, s, c, n) applies it (F32: sincos8f) to an array (tail lanes padded, so
// every element goes through the same code path); x may alias s or c. Without AVX2/FMA (other
// architectures, or a
// translation unit compiled without -march=x86-64-v3, such as the tests) only the out-of-line
// gmpnn_cpu::sincos_f64 (compiled in gmp.cc with AVX2/FMA on x86) is available, plus a scalar
// sincos_array fallback.
#pragma once
#include <cmath>
#include <cstdint>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define GMPNN_SIMD_SINCOS 1
#endif

namespace gmpnn_cpu {

// Out-of-line entry point (defined in gmp.cc) so that code compiled without AVX2 flags, e.g. the
// tests, calls the same vector path the kernels use.
void sincos_f64(const double* x, double* s, double* c, int64_t n);
// The same for float32 layers (sincos8f: float accuracy), defined in gmp.cc.
void sincos_f32acc(const double* x, double* s, double* c, int64_t n);

// Largest |x| handled by the vector reduction; beyond it a lane uses std::sin / std::cos.
constexpr double kSinCosMaxArg = 1.0e5;

#if GMPNN_SIMD_SINCOS

inline void sincos4(__m256d x, __m256d* so, __m256d* co) {
  const __m256d two_over_pi = _mm256_set1_pd(0.6366197723675814);
  const __m256d p1 = _mm256_set1_pd(0x1.921fb54442d18p+0);
  const __m256d p2 = _mm256_set1_pd(0x1.1a62633145c07p-54);
  const __m256d p3 = _mm256_set1_pd(-0x1.f1976b7ed8fbcp-110);
  const __m256d magic = _mm256_set1_pd(6755399441055744.0);  // 1.5·2^52: low mantissa bits = q
  const __m256d sign = _mm256_set1_pd(-0.0);

  const __m256d q =
      _mm256_round_pd(_mm256_mul_pd(x, two_over_pi), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256d r = _mm256_fnmadd_pd(q, p1, x);  // exact
  r = _mm256_fnmadd_pd(q, p2, r);
  r = _mm256_fnmadd_pd(q, p3, r);
  // q = 0: r = x exactly (also keeps the sign of −0).
  const __m256d qzero = _mm256_cmp_pd(q, _mm256_setzero_pd(), _CMP_EQ_OQ);
  r = _mm256_blendv_pd(r, x, qzero);

  const __m256d z = _mm256_mul_pd(r, r);
  const __m256d z2 = _mm256_mul_pd(z, z);
  // Both polynomials in Estrin form (shorter dependency chains than Horner, same operation count):
  // S(z) = S1 + S2·z + … + S6·z⁵, C(z) = C1 + C2·z + … + C6·z⁵.
  const __m256d sa = _mm256_fmadd_pd(_mm256_set1_pd(8.33333333332248946124e-03), z,
                                     _mm256_set1_pd(-1.66666666666666324348e-01));
  const __m256d sb = _mm256_fmadd_pd(_mm256_set1_pd(2.75573137070700676789e-06), z,
                                     _mm256_set1_pd(-1.98412698298579493134e-04));
  const __m256d sc = _mm256_fmadd_pd(_mm256_set1_pd(1.58969099521155010221e-10), z,
                                     _mm256_set1_pd(-2.50507602534068634195e-08));
  const __m256d ps = _mm256_fmadd_pd(_mm256_fmadd_pd(sc, z2, sb), z2, sa);
  const __m256d ca = _mm256_fmadd_pd(_mm256_set1_pd(-1.38888888888741095749e-03), z,
                                     _mm256_set1_pd(4.16666666666666019037e-02));
  const __m256d cb = _mm256_fmadd_pd(_mm256_set1_pd(-2.75573143513906633035e-07), z,
                                     _mm256_set1_pd(2.48015872894767294178e-05));
  const __m256d cc = _mm256_fmadd_pd(_mm256_set1_pd(-1.13596475577881948265e-11), z,
                                     _mm256_set1_pd(2.08757232129817482790e-09));
  const __m256d pc = _mm256_fmadd_pd(_mm256_fmadd_pd(cc, z2, cb), z2, ca);
  // sin(r) = r + r·z·S(z). It has the sign of r; the OR only matters for r = −0 (the FMA would
  // give +0).
  const __m256d sr = _mm256_or_pd(_mm256_fmadd_pd(_mm256_mul_pd(r, z), ps, r),
                                  _mm256_and_pd(r, sign));
  // cos(r) = w + (((1 − w) − z/2) + z²·C(z)), w = 1 − z/2 (fdlibm's compensated form)
  const __m256d one = _mm256_set1_pd(1.0);
  const __m256d hz = _mm256_mul_pd(_mm256_set1_pd(0.5), z);
  const __m256d w = _mm256_sub_pd(one, hz);
  const __m256d corr = _mm256_fmadd_pd(z2, pc, _mm256_sub_pd(_mm256_sub_pd(one, w), hz));
  const __m256d cr = _mm256_add_pd(w, corr);

  // Quadrant: q mod 4 = 0: (s, c); 1: (c, −s); 2: (−s, −c); 3: (−c, s). Bit 0 of q swaps (its
  // shift to bit 63 is the blend mask), bit 1 negates sin, bit 0 xor bit 1 negates cos.
  const __m256i qi = _mm256_castpd_si256(_mm256_add_pd(q, magic));
  const __m256d swap = _mm256_castsi256_pd(_mm256_slli_epi64(qi, 63));
  const __m256d ssign = _mm256_and_pd(_mm256_castsi256_pd(_mm256_slli_epi64(qi, 62)), sign);
  const __m256d csign = _mm256_xor_pd(ssign, swap);
  __m256d s = _mm256_xor_pd(_mm256_blendv_pd(sr, cr, swap), ssign);
  __m256d c = _mm256_xor_pd(_mm256_blendv_pd(cr, sr, swap), csign);

  // Out-of-range, infinite or NaN lanes: scalar fallback (NaN compares "not ≤", so it lands here).
  const __m256d ax = _mm256_andnot_pd(sign, x);
  const __m256d big = _mm256_cmp_pd(ax, _mm256_set1_pd(kSinCosMaxArg), _CMP_NLE_UQ);
  const int bm = _mm256_movemask_pd(big);
  if (__builtin_expect(bm != 0, 0)) {
    alignas(32) double xs[4], ss[4], cs[4];
    _mm256_store_pd(xs, x);
    _mm256_store_pd(ss, s);
    _mm256_store_pd(cs, c);
    for (int l = 0; l < 4; ++l)
      if (bm & (1 << l)) {
        ss[l] = std::sin(xs[l]);
        cs[l] = std::cos(xs[l]);
      }
    s = _mm256_load_pd(ss);
    c = _mm256_load_pd(cs);
  }
  *so = s;
  *co = c;
}

// sin and cos of eight angles at float accuracy, for float32 layers: x0 holds angles 0..3 and x1
// angles 4..7 (doubles); the results come back as doubles in the same order. The reduction is
// sincos4's (double, Cody–Waite, exact to ~0.5 ulp of double), the reduced argument is rounded to
// float and cephes' float kernels on [−π/4, π/4] (sin degree 7, cos degree 8) run on all eight
// lanes at once, so the polynomial and quadrant work is shared by twice the angles. Error: at
// most 1.54 float ulp over 4·10^5 float angles (gmp_sincos_f32_accuracy checks ≤ 2), the order
// of the float32 rounding of the θ it comes from. Lanes beyond kSinCosMaxArg, ±inf and NaN use std::sin /
// std::cos, as in sincos4. The callers multiply the values in double (u(θ)'s prefix products).
inline __m256 sincos8f_half_join(__m128 lo, __m128 hi) {
  return _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
}
inline void sincos8f(__m256d x0, __m256d x1, __m256d* s0, __m256d* s1, __m256d* c0,
                     __m256d* c1) {
  const __m256d two_over_pi = _mm256_set1_pd(0.6366197723675814);
  const __m256d p1 = _mm256_set1_pd(0x1.921fb54442d18p+0);
  const __m256d p2 = _mm256_set1_pd(0x1.1a62633145c07p-54);
  const __m256d p3 = _mm256_set1_pd(-0x1.f1976b7ed8fbcp-110);
  auto reduce = [&](__m256d x, __m256d* q) {
    *q = _mm256_round_pd(_mm256_mul_pd(x, two_over_pi), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256d r = _mm256_fnmadd_pd(*q, p1, x);
    r = _mm256_fnmadd_pd(*q, p2, r);
    r = _mm256_fnmadd_pd(*q, p3, r);
    return _mm256_blendv_pd(r, x, _mm256_cmp_pd(*q, _mm256_setzero_pd(), _CMP_EQ_OQ));
  };
  __m256d q0, q1;
  const __m256d r0 = reduce(x0, &q0), r1 = reduce(x1, &q1);
  const __m256 r = sincos8f_half_join(_mm256_cvtpd_ps(r0), _mm256_cvtpd_ps(r1));
  const __m256i qi = _mm256_insertf128_si256(_mm256_castsi128_si256(_mm256_cvtpd_epi32(q0)),
                                             _mm256_cvtpd_epi32(q1), 1);
  const __m256 z = _mm256_mul_ps(r, r);
  // sin r = r + r·z·(S1 + z·(S2 + z·S3)); cos r = 1 − z/2 + z²·(C1 + z·(C2 + z·C3)) (cephes sinf/cosf)
  const __m256 ps = _mm256_fmadd_ps(
      _mm256_fmadd_ps(_mm256_set1_ps(-1.9515295891e-4f), z, _mm256_set1_ps(8.3321608736e-3f)), z,
      _mm256_set1_ps(-1.6666654611e-1f));
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 sr = _mm256_or_ps(_mm256_fmadd_ps(_mm256_mul_ps(r, z), ps, r), _mm256_and_ps(r, sign));
  const __m256 pc = _mm256_fmadd_ps(
      _mm256_fmadd_ps(_mm256_set1_ps(2.443315711809948e-5f), z, _mm256_set1_ps(-1.388731625493765e-3f)),
      z, _mm256_set1_ps(4.166664568298827e-2f));
  const __m256 cr = _mm256_fmadd_ps(_mm256_mul_ps(z, z), pc,
                                    _mm256_fnmadd_ps(_mm256_set1_ps(0.5f), z, _mm256_set1_ps(1.0f)));
  // Quadrant as in sincos4: bit 0 of q swaps, bit 1 negates sin, bit 0 xor bit 1 negates cos.
  const __m256 swap = _mm256_castsi256_ps(_mm256_slli_epi32(qi, 31));
  const __m256 ssign = _mm256_and_ps(_mm256_castsi256_ps(_mm256_slli_epi32(qi, 30)), sign);
  const __m256 csign = _mm256_xor_ps(ssign, swap);
  const __m256 s = _mm256_xor_ps(_mm256_blendv_ps(sr, cr, swap), ssign);
  const __m256 c = _mm256_xor_ps(_mm256_blendv_ps(cr, sr, swap), csign);
  __m256d so[2] = {_mm256_cvtps_pd(_mm256_castps256_ps128(s)), _mm256_cvtps_pd(_mm256_extractf128_ps(s, 1))};
  __m256d co[2] = {_mm256_cvtps_pd(_mm256_castps256_ps128(c)), _mm256_cvtps_pd(_mm256_extractf128_ps(c, 1))};
  // Out-of-range, infinite or NaN lanes: scalar fallback (NaN compares "not ≤", so it lands here).
  const __m256d xs2[2] = {x0, x1};
  for (int h = 0; h < 2; ++h) {
    const __m256d ax = _mm256_andnot_pd(_mm256_set1_pd(-0.0), xs2[h]);
    const int bm = _mm256_movemask_pd(_mm256_cmp_pd(ax, _mm256_set1_pd(kSinCosMaxArg), _CMP_NLE_UQ));
    if (__builtin_expect(bm != 0, 0)) {
      alignas(32) double xs[4], ss[4], cs[4];
      _mm256_store_pd(xs, xs2[h]);
      _mm256_store_pd(ss, so[h]);
      _mm256_store_pd(cs, co[h]);
      for (int l = 0; l < 4; ++l)
        if (bm & (1 << l)) {
          ss[l] = std::sin(xs[l]);
          cs[l] = std::cos(xs[l]);
        }
      so[h] = _mm256_load_pd(ss);
      co[h] = _mm256_load_pd(cs);
    }
  }
  *s0 = so[0];
  *s1 = so[1];
  *c0 = co[0];
  *c1 = co[1];
}

// sin and cos of n doubles: s[i], c[i] for x[i] (x may alias s or c). F32 picks the float-accuracy
// kernel (eight at a time), otherwise sincos4 (four). Elementwise, so the direction kernels pass
// their [k][lane] buffers as flat arrays; the tail is padded, so every element goes through the
// same code path.
template <bool F32>
inline void sincos_array(const double* x, double* s, double* c, int64_t n) {
  constexpr int W = F32 ? 8 : 4;
  auto block = [](const double* xb, double* sb, double* cb) {
    if (F32) {
      __m256d a, b, e, f;
      sincos8f(_mm256_loadu_pd(xb), _mm256_loadu_pd(xb + 4), &a, &b, &e, &f);
      _mm256_storeu_pd(sb, a);
      _mm256_storeu_pd(sb + 4, b);
      _mm256_storeu_pd(cb, e);
      _mm256_storeu_pd(cb + 4, f);
    } else {
      __m256d vs, vc;
      sincos4(_mm256_loadu_pd(xb), &vs, &vc);
      _mm256_storeu_pd(sb, vs);
      _mm256_storeu_pd(cb, vc);
    }
  };
  int64_t i = 0;
  for (; i + W <= n; i += W) block(x + i, s + i, c + i);
  if (i < n) {
    alignas(32) double xs[W] = {}, ss[W], cs[W];
    for (int64_t k = i; k < n; ++k) xs[k - i] = x[k];
    block(xs, ss, cs);
    for (int64_t k = i; k < n; ++k) {
      s[k] = ss[k - i];
      c[k] = cs[k - i];
    }
  }
}

#else  // no AVX2/FMA

template <bool F32>
inline void sincos_array(const double* x, double* s, double* c, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double t = x[i];
    s[i] = std::sin(t);
    c[i] = std::cos(t);
  }
}

#endif

}  // namespace gmpnn_cpu
