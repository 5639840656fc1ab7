// Vectorized sin/cos (internal to the CPU kernels, not part of the C ABI): sincos4 for float64
// layers, sincos8f_ps (float accuracy, eight lanes) for float32 layers.
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
// Without AVX2/FMA (other architectures, or a translation unit compiled without
// -march=x86-64-v3, such as the tests) only the out-of-line gmpnn_cpu::sincos_f64 / sincos_f32
// are available: gmp.cc compiles them with AVX2/FMA on x86 (the kernels' vector pass over an
// array, the tail padded), with std::sin / std::cos elsewhere.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define GMPNN_SIMD_SINCOS 1
#endif

namespace gmpnn_cpu {

// Out-of-line entry point (defined in gmp.cc) so that code compiled without AVX2 flags, e.g. the
// tests, calls the same vector path the kernels use.
void sincos_f64(const double* x, double* s, double* c, int64_t n);
// The float32 layers' sin/cos (sincos8f_ps), defined in gmp.cc.
void sincos_f32(const float* x, float* s, float* c, int64_t n);

// Largest |x| handled by the vector reduction; beyond it a lane uses std::sin / std::cos.
constexpr double kSinCosMaxArg = 1.0e5;

#if GMPNN_SIMD_SINCOS

// x = q·π/2 + r, q = round(x·2/π), by Cody–Waite with the 3-part split of π/2 (the first step is
// exact). q comes from adding 1.5·2^52 (|x·2/π| < 2^51): qm's low mantissa bits are q, and q is
// +0 for |x| < π/4 of either sign, where r = x exactly (−(+0·p) + x is x, −0 included). sincos4's
// reduction, and the float kernel's for vectors with a lane beyond kSinCosF32Reduce.
inline __m256d reduce_half_pi(__m256d x, __m256d* q, __m256d* qm) {
  const __m256d magic = _mm256_set1_pd(0x1.8p52);
  *qm = _mm256_fmadd_pd(x, _mm256_set1_pd(0.6366197723675814), magic);
  *q = _mm256_sub_pd(*qm, magic);
  // r −= q·p, as −(q·p) + r: for q = +0 that is −0 + r, which is r whatever r's sign. p3 < 0, so
  // its step runs on −r (−(q·|p3|) − r) and r is negated back (RN is symmetric: the same value
  // as r − q·p3).
  __m256d r = _mm256_fnmadd_pd(*q, _mm256_set1_pd(0x1.921fb54442d18p+0), x);  // exact
  r = _mm256_fnmadd_pd(*q, _mm256_set1_pd(0x1.1a62633145c07p-54), r);
  r = _mm256_fnmsub_pd(*q, _mm256_set1_pd(0x1.f1976b7ed8fbcp-110), r);
  return _mm256_xor_pd(r, _mm256_set1_pd(-0.0));
}

// The lanes flagged in mask (beyond kSinCosMaxArg, ±inf, NaN) of a vector of T (double or
// float) take std::sin / std::cos, computed in double and rounded to T.
template <typename T, typename V>
inline void sincos_far_lanes(V x, V* s, V* c, int mask) {
  constexpr int L = (int)(sizeof(V) / sizeof(T));
  alignas(32) T xs[L], ss[L], cs[L];
  std::memcpy(xs, &x, sizeof(V));
  std::memcpy(ss, s, sizeof(V));
  std::memcpy(cs, c, sizeof(V));
  for (int l = 0; l < L; ++l)
    if (mask & (1 << l)) {
      ss[l] = (T)std::sin((double)xs[l]);
      cs[l] = (T)std::cos((double)xs[l]);
    }
  std::memcpy(s, ss, sizeof(V));
  std::memcpy(c, cs, sizeof(V));
}

// Whether every lane of x is within the vector reduction's range (NaN is not: it compares
// "not ≤").
inline bool sincos4_near_range(__m256d x) {
  const __m256d ax = _mm256_andnot_pd(_mm256_set1_pd(-0.0), x);
  return _mm256_movemask_pd(_mm256_cmp_pd(ax, _mm256_set1_pd(kSinCosMaxArg), _CMP_NLE_UQ)) == 0;
}

// sin and cos of r ∈ [−π/4, π/4] in quadrant q (qm: reduce_half_pi's q + 1.5·2^52, whose low
// mantissa bits are q): the fdlibm kernels, then the quadrant selection.
inline void sincos4_kernel(__m256d r, __m256d qm, __m256d* so, __m256d* co) {
  const __m256d sign = _mm256_set1_pd(-0.0);
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
  const __m256i qi = _mm256_castpd_si256(qm);
  const __m256d swap = _mm256_castsi256_pd(_mm256_slli_epi64(qi, 63));
  const __m256d ssign = _mm256_and_pd(_mm256_castsi256_pd(_mm256_slli_epi64(qi, 62)), sign);
  const __m256d csign = _mm256_xor_pd(ssign, swap);
  const __m256d s = _mm256_xor_pd(_mm256_blendv_pd(sr, cr, swap), ssign);
  const __m256d c = _mm256_xor_pd(_mm256_blendv_pd(cr, sr, swap), csign);

  *so = s;
  *co = c;
}

// sincos4 for a vector whose lanes are all within range (sincos4_near_range).
inline void sincos4_near(__m256d x, __m256d* so, __m256d* co) {
  __m256d q, qm;
  const __m256d r = reduce_half_pi(x, &q, &qm);
  sincos4_kernel(r, qm, so, co);
}

inline void sincos4(__m256d x, __m256d* so, __m256d* co) {
  sincos4_near(x, so, co);
  // Out-of-range, infinite or NaN lanes: scalar fallback (NaN compares "not ≤", so it lands here).
  const __m256d ax = _mm256_andnot_pd(_mm256_set1_pd(-0.0), x);
  const int bm = _mm256_movemask_pd(_mm256_cmp_pd(ax, _mm256_set1_pd(kSinCosMaxArg), _CMP_NLE_UQ));
  if (__builtin_expect(bm != 0, 0)) sincos_far_lanes<double>(x, so, co, bm);
}

// sin and cos of eight float angles at float accuracy, for float32 layers (the callers multiply
// the values in double: u(θ)'s prefix products). Reduction x = q·π/2 + r in float with FMA and a
// 3-part split of π/2 (p1 + p2 + p3, 24 bits each, to ~2^-76): the first step is exact for every
// float x (r stays below 1 and is a multiple of min(2^-23, ulp(x))), the two others round once
// each, so r carries at most ~1 ulp where it is tiny (near multiples of π/2) and the split's own
// error (q·1e-23) stays far below that while |x| ≤ kSinCosF32Reduce. A vector with a lane beyond
// that (or NaN) takes sincos4's double reduction for all eight lanes instead, and lanes beyond
// kSinCosMaxArg, ±inf and NaN then std::sin / std::cos rounded to float. Then cephes' float
// kernels on [−π/4, π/4] (sin degree 7, cos degree 8) and sincos4's quadrant selection.
// Error: at most 2 float ulp (gmp_sincos_f32_accuracy); a one-off exhaustive run over every
// float in [2^-20, 1e5] gave 1.56 at most. That is the order of the float32 rounding of the θ
// it comes from. 0.53 ns per angle on the development VM over 1,200 angles in one pass (0.64 ns
// with the per-vector call-outs and q = 0 blend it had before; the double-reduction form before
// that: 1.4); gmp.cc's pass now runs the reductions and the kernels (reduce_half_pi_f,
// sincos8f_kernel) as two sweeps, ~15 % faster again on a Zen 3.
constexpr float kSinCosF32Reduce = 512.0f;

// sin and cos of r ∈ [−π/4, π/4] (float) in quadrant q: cephes sinf/cosf, then sincos4's
// quadrant selection.
inline void sincos8f_kernel(__m256 r, __m256i qi, __m256* so, __m256* co) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 z = _mm256_mul_ps(r, r);
  // sin r = r + r·z·(S1 + z·(S2 + z·S3)); cos r = 1 − z/2 + z²·(C1 + z·(C2 + z·C3))
  const __m256 ps = _mm256_fmadd_ps(
      _mm256_fmadd_ps(_mm256_set1_ps(-1.9515295891e-4f), z, _mm256_set1_ps(8.3321608736e-3f)), z,
      _mm256_set1_ps(-1.6666654611e-1f));
  const __m256 sr = _mm256_or_ps(_mm256_fmadd_ps(_mm256_mul_ps(r, z), ps, r), _mm256_and_ps(r, sign));
  const __m256 pc = _mm256_fmadd_ps(
      _mm256_fmadd_ps(_mm256_set1_ps(2.443315711809948e-5f), z, _mm256_set1_ps(-1.388731625493765e-3f)),
      z, _mm256_set1_ps(4.166664568298827e-2f));
  const __m256 cr = _mm256_fmadd_ps(_mm256_mul_ps(z, z), pc,
                                    _mm256_fnmadd_ps(_mm256_set1_ps(0.5f), z, _mm256_set1_ps(1.0f)));
  // Bit 0 of q swaps, bit 1 negates sin, bit 0 xor bit 1 negates cos.
  const __m256 swap = _mm256_castsi256_ps(_mm256_slli_epi32(qi, 31));
  const __m256 ssign = _mm256_and_ps(_mm256_castsi256_ps(_mm256_slli_epi32(qi, 30)), sign);
  const __m256 csign = _mm256_xor_ps(ssign, swap);
  *so = _mm256_xor_ps(_mm256_blendv_ps(sr, cr, swap), ssign);
  *co = _mm256_xor_ps(_mm256_blendv_ps(cr, sr, swap), csign);
}

// A vector with a lane beyond kSinCosF32Reduce, ±inf or NaN: sincos4's double reduction (exact
// to ~0.5 ulp of double) for all eight lanes, r then rounded to float; lanes beyond
// kSinCosMaxArg, ±inf and NaN then std::sin / std::cos rounded to float. Out of line, so that
// the common path stays small enough to inline.
__attribute__((noinline)) inline void sincos8f_far(__m256 x, __m256* so, __m256* co) {
  __m256d q[2], qm[2], rd[2];
  rd[0] = reduce_half_pi(_mm256_cvtps_pd(_mm256_castps256_ps128(x)), &q[0], &qm[0]);
  rd[1] = reduce_half_pi(_mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)), &q[1], &qm[1]);
  const __m256 r = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(rd[0])),
                                        _mm256_cvtpd_ps(rd[1]), 1);
  const __m256i qi = _mm256_insertf128_si256(_mm256_castsi128_si256(_mm256_cvtpd_epi32(q[0])),
                                             _mm256_cvtpd_epi32(q[1]), 1);
  sincos8f_kernel(r, qi, so, co);
  // NaN compares "not ≤", so it lands here too.
  const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
  const int bm =
      _mm256_movemask_ps(_mm256_cmp_ps(ax, _mm256_set1_ps((float)kSinCosMaxArg), _CMP_NLE_UQ));
  if (bm != 0) sincos_far_lanes<float>(x, so, co, bm);
}

// Whether every lane of x takes the float reduction (|x| ≤ kSinCosF32Reduce; NaN does not).
inline bool sincos8f_near_range(__m256 x) {
  const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
  return _mm256_movemask_ps(_mm256_cmp_ps(ax, _mm256_set1_ps(kSinCosF32Reduce), _CMP_NLE_UQ)) == 0;
}

// The float reduction x = q·π/2 + r of a vector whose lanes all take it (sincos8f_near_range):
// returns r and sets *qm, whose low mantissa bits are q (sincos8f_kernel's quadrant).
inline __m256 reduce_half_pi_f(__m256 x, __m256* qm) {
  // q = round(x·2/π) by adding 1.5·2^23 (|x·2/π| < 2^22): the sum's low mantissa bits are q, and
  // q = +0 for |x| < π/4 of either sign, where the steps below leave r = x exactly (−0 included).
  const __m256 magic = _mm256_set1_ps(0x1.8p23f);
  *qm = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.45f306p-1f), magic);
  const __m256 q = _mm256_sub_ps(*qm, magic);
  // As reduce_half_pi: p2, p3 < 0, so their steps run on −r (r − q·p2 = −(−(q·|p2|) − r)).
  __m256 r = _mm256_fnmadd_ps(q, _mm256_set1_ps(0x1.921fb6p+0f), x);  // exact
  r = _mm256_fnmsub_ps(q, _mm256_set1_ps(0x1.777a5cp-25f), r);        // −r
  r = _mm256_fnmadd_ps(q, _mm256_set1_ps(0x1.ee59dap-50f), r);        // −r
  return _mm256_xor_ps(r, _mm256_set1_ps(-0.0f));
}

// sincos8f_ps for a vector whose lanes all take the float reduction (sincos8f_near_range).
inline void sincos8f_near(__m256 x, __m256* so, __m256* co) {
  __m256 qm;
  const __m256 r = reduce_half_pi_f(x, &qm);
  sincos8f_kernel(r, _mm256_castps_si256(qm), so, co);
}

inline void sincos8f_ps(__m256 x, __m256* so, __m256* co) {
  if (__builtin_expect(!sincos8f_near_range(x), 0))
    sincos8f_far(x, so, co);
  else
    sincos8f_near(x, so, co);
}

#endif

}  // namespace gmpnn_cpu
