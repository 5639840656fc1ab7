// AVX-512 form of the float32 direction forward u(θ) (gmp.cc's direction_forward_group, sixteen
// units per group instead of eight). This file alone is compiled with -mavx512f/dq/bw/vl and
// gmp.cc calls it only when the AVX-512 GEMM path is selected (gemm_internal.h avx512_selected;
// on Intel CPUs only for large layers, avx512_short_kernels), so nothing here may run elsewhere:
// it includes no project header (an inline function compiled here with AVX-512 could otherwise
// be the copy the linker keeps for every caller) and keeps all its helpers in an anonymous
// namespace.
//
// The arithmetic is gmp.cc's, operation for operation, on twice the lanes: the sin/cos of
// simd_math.h's sincos8f_near (float reduction, cephes kernels, quadrant blends), the prefix
// products in double, u_k = P_{k−1}·cos θ_k rounded once to float. The results are bit-identical
// to the AVX2 group's (test_gmp.cc checks it). Only angles within the float reduction's range are
// handled here: a group with an angle beyond it, ±inf or NaN returns false and gmp.cc runs its
// two AVX2 groups instead.
#include <cstdint>

#if defined(__AVX512F__) && defined(__AVX512DQ__)
#include <immintrin.h>

// GCC 12's AVX-512 headers start some conversions from _mm*_undefined_*(), which its
// -Wmaybe-uninitialized then reports at every use.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace gmpnn_cpu {
namespace gmp_avx512 {
namespace {

constexpr int L = 16;          // units per group
constexpr int64_t kChunk = 32;  // angles per sin/cos pass (gmp.cc kFwdChunk)

// gmp.cc's transpose8 (cpu_util.h), own copy: see the header comment.
inline void transpose8(__m256* r) {
  __m256 t[8], s[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 2; ++i) {
    s[4 * i + 0] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    s[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    s[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    s[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x31);
  }
}

inline __m512 join(__m256 lo, __m256 hi) {
  return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
}

// simd_math.h sincos8f_near_range on sixteen lanes: |x| ≤ kSinCosF32Reduce (512), NaN not.
inline bool near_range(__m512 x) {
  const __m512 ax = _mm512_andnot_ps(_mm512_set1_ps(-0.0f), x);
  return _mm512_cmp_ps_mask(ax, _mm512_set1_ps(512.0f), _CMP_NLE_UQ) == 0;
}

// simd_math.h sincos8f_near + sincos8f_kernel on sixteen lanes (same constants, same operations).
inline void sincos_near(__m512 x, __m512* so, __m512* co) {
  const __m512 sign = _mm512_set1_ps(-0.0f);
  const __m512 magic = _mm512_set1_ps(0x1.8p23f);
  const __m512 qm = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.45f306p-1f), magic);
  const __m512 q = _mm512_sub_ps(qm, magic);
  __m512 r = _mm512_fnmadd_ps(q, _mm512_set1_ps(0x1.921fb6p+0f), x);
  r = _mm512_fnmsub_ps(q, _mm512_set1_ps(0x1.777a5cp-25f), r);
  r = _mm512_fnmadd_ps(q, _mm512_set1_ps(0x1.ee59dap-50f), r);
  r = _mm512_xor_ps(r, sign);
  const __m512i qi = _mm512_castps_si512(qm);
  const __m512 z = _mm512_mul_ps(r, r);
  const __m512 ps = _mm512_fmadd_ps(
      _mm512_fmadd_ps(_mm512_set1_ps(-1.9515295891e-4f), z, _mm512_set1_ps(8.3321608736e-3f)), z,
      _mm512_set1_ps(-1.6666654611e-1f));
  const __m512 sr = _mm512_or_ps(_mm512_fmadd_ps(_mm512_mul_ps(r, z), ps, r), _mm512_and_ps(r, sign));
  const __m512 pc = _mm512_fmadd_ps(
      _mm512_fmadd_ps(_mm512_set1_ps(2.443315711809948e-5f), z, _mm512_set1_ps(-1.388731625493765e-3f)),
      z, _mm512_set1_ps(4.166664568298827e-2f));
  const __m512 cr = _mm512_fmadd_ps(_mm512_mul_ps(z, z), pc,
                                    _mm512_fnmadd_ps(_mm512_set1_ps(0.5f), z, _mm512_set1_ps(1.0f)));
  // Bit 0 of q swaps, bit 1 negates sin, bit 0 xor bit 1 negates cos.
  const __m512 swapv = _mm512_castsi512_ps(_mm512_slli_epi32(qi, 31));
  const __mmask16 swap = _mm512_test_epi32_mask(qi, _mm512_set1_epi32(1));
  const __m512 ssign = _mm512_and_ps(_mm512_castsi512_ps(_mm512_slli_epi32(qi, 30)), sign);
  const __m512 csign = _mm512_xor_ps(ssign, swapv);
  *so = _mm512_xor_ps(_mm512_mask_blend_ps(swap, sr, cr), ssign);
  *co = _mm512_xor_ps(_mm512_mask_blend_ps(swap, cr, sr), csign);
}

}  // namespace

// Units j0 .. j0+cnt−1 (1 ≤ cnt ≤ 16) of θ [m, n−1]: gmp.cc direction_forward_group<float> for
// the two eight-unit groups j0 and j0 + 8 at once. U (or NULL): row-major [m, n] output.
// cache_lo / cache_hi (or NULL): the two groups' slices of the sin/cos cache ([k][8] sin, then
// [k][8] cos); cache_hi is ignored when cnt ≤ 8. packed (or NULL): this group's strip of the
// GEMM's packed W ([k][16]), lanes 8..15 zero when cnt ≤ 8 (as gmp.cc leaves an odd last strip);
// scale (or NULL): per-unit factors r that the packed values alone are multiplied by (in float).
// Returns false, with the outputs partly written, when an angle is beyond the float reduction
// (|θ| > 512, ±inf, NaN): the caller then runs the AVX2 groups, which overwrite all of them.
bool direction_forward_group_f32(float* U, const float* theta, int64_t j0, int64_t cnt, int64_t n,
                                 float* cache_lo, float* cache_hi, float* packed,
                                 const float* scale) {
  const int64_t a = n - 1;
  const float* th[L];
  for (int64_t l = 0; l < L; ++l) th[l] = theta + (j0 + (l < cnt ? l : cnt - 1)) * a;
  float* u[L] = {};
  if (U)
    for (int64_t l = 0; l < L; ++l) u[l] = U + (j0 + (l < cnt ? l : cnt - 1)) * n;
  const bool hi = cnt > 8;
  if (!hi) cache_hi = nullptr;
  const __mmask16 keep = hi ? 0xFFFF : 0x00FF;
  alignas(64) float sn[L * kChunk], cs[L * kChunk];
  __m512d P[2] = {_mm512_set1_pd(1.0), _mm512_set1_pd(1.0)};  // P_{k−1} of the 16 units
  // u_k = P_{k−1}·cos θ_k, then P_k = P_{k−1}·sin θ_k
  auto scan = [&](const float* sk, const float* ck) {
    const __m512 s = _mm512_load_ps(sk);
    const __m512d s0 = _mm512_cvtps_pd(_mm512_castps512_ps256(s));
    const __m512d s1 = _mm512_cvtps_pd(_mm512_extractf32x8_ps(s, 1));
    const __m512 v = _mm512_mul_ps(join(_mm512_cvtpd_ps(P[0]), _mm512_cvtpd_ps(P[1])), _mm512_load_ps(ck));
    P[0] = _mm512_mul_pd(P[0], s0);
    P[1] = _mm512_mul_pd(P[1], s1);
    return v;
  };
  __m512 rv = _mm512_setzero_ps();
  if (scale) {
    alignas(64) float t[L];
    for (int64_t l = 0; l < L; ++l) t[l] = scale[j0 + (l < cnt ? l : cnt - 1)];
    rv = _mm512_load_ps(t);
  }
  auto put = [&](int64_t k, __m512 v) {
    if (packed)
      _mm512_storeu_ps(packed + L * k, _mm512_maskz_mov_ps(keep, scale ? _mm512_mul_ps(v, rv) : v));
  };
  // Columns k .. k+7 of the group (rows 0–7 and 8–15 transposed separately): v[i] = column k + i.
  auto load_block = [&](int64_t k, __m512* v) {
    __m256 lo[8], up[8];
    for (int l = 0; l < 8; ++l) {
      lo[l] = _mm256_loadu_ps(th[l] + k);
      up[l] = _mm256_loadu_ps(th[8 + l] + k);
    }
    transpose8(lo);
    transpose8(up);
    for (int i = 0; i < 8; ++i) v[i] = join(lo[i], up[i]);
  };
  auto load_col = [&](int64_t k) {
    alignas(64) float t[L];
    for (int l = 0; l < L; ++l) t[l] = th[l][k];
    return _mm512_load_ps(t);
  };
  // Columns k .. k+7 (v[i] = column k + i) into the cnt real rows of U.
  auto store_block = [&](int64_t k, const __m512* v) {
    __m256 lo[8], up[8];
    for (int i = 0; i < 8; ++i) {
      lo[i] = _mm512_castps512_ps256(v[i]);
      up[i] = _mm512_extractf32x8_ps(v[i], 1);
    }
    transpose8(lo);
    transpose8(up);
    for (int64_t l = 0; l < cnt; ++l) _mm256_storeu_ps(u[l] + k, l < 8 ? lo[l] : up[l - 8]);
  };
  auto store_col = [&](int64_t k, __m512 v) {
    alignas(64) float t[L];
    _mm512_store_ps(t, v);
    for (int64_t l = 0; l < cnt; ++l) u[l][k] = t[l];
  };
  for (int64_t k0 = 0; k0 < a; k0 += kChunk) {
    const int64_t len = a - k0 < kChunk ? a - k0 : kChunk, full = len & ~int64_t(7);
    // The chunk's angles transposed into [k][lane] (in sn), as gmp.cc does it.
    for (int64_t i = 0; i < full; i += 8) {
      __m512 v[8];
      load_block(k0 + i, v);
      for (int l = 0; l < 8; ++l) _mm512_store_ps(sn + L * (i + l), v[l]);
    }
    if (len > full && k0 + len >= 8) {
      __m512 v[8];
      load_block(k0 + len - 8, v);
      if (len >= 8) {
        // The whole block, as gmp.cc does (the loop alone compiled to a memcpy call).
        for (int l = 0; l < 8; ++l) _mm512_store_ps(sn + L * (len - 8 + l), v[l]);
      } else {
        for (int64_t i = full; i < len; ++i) _mm512_store_ps(sn + L * i, v[i - (len - 8)]);
      }
    } else {
      for (int64_t i = full; i < len; ++i) _mm512_store_ps(sn + L * i, load_col(k0 + i));
    }
    // sin/cos, two vectors at a time (independent chains in flight; a constant count, so the
    // vectors stay in registers), with the cache's halves.
    auto keep_sincos = [&](int64_t k, __m512 s, __m512 c) {
      _mm512_store_ps(sn + L * k, s);
      _mm512_store_ps(cs + L * k, c);
      if (cache_lo) {
        _mm256_storeu_ps(cache_lo + 8 * (k0 + k), _mm512_castps512_ps256(s));
        _mm256_storeu_ps(cache_lo + 8 * (a + k0 + k), _mm512_castps512_ps256(c));
      }
      if (cache_hi) {
        _mm256_storeu_ps(cache_hi + 8 * (k0 + k), _mm512_extractf32x8_ps(s, 1));
        _mm256_storeu_ps(cache_hi + 8 * (a + k0 + k), _mm512_extractf32x8_ps(c, 1));
      }
    };
    int64_t i = 0;
    for (; i + 2 <= len; i += 2) {
      const __m512 x0 = _mm512_load_ps(sn + L * i), x1 = _mm512_load_ps(sn + L * (i + 1));
      if (__builtin_expect(!(near_range(x0) && near_range(x1)), 0)) return false;
      __m512 s0, c0, s1, c1;
      sincos_near(x0, &s0, &c0);
      sincos_near(x1, &s1, &c1);
      keep_sincos(i, s0, c0);
      keep_sincos(i + 1, s1, c1);
    }
    if (i < len) {
      const __m512 x0 = _mm512_load_ps(sn + L * i);
      if (__builtin_expect(!near_range(x0), 0)) return false;
      __m512 s0, c0;
      sincos_near(x0, &s0, &c0);
      keep_sincos(i, s0, c0);
    }
    for (int64_t i = 0; i < full; i += 8) {
      __m512 v[8];
      for (int l = 0; l < 8; ++l) {
        v[l] = scan(sn + L * (i + l), cs + L * (i + l));
        put(k0 + i + l, v[l]);
      }
      if (U) store_block(k0 + i, v);
    }
    for (int64_t i = full; i < len; ++i) {
      const __m512 v = scan(sn + L * i, cs + L * i);
      put(k0 + i, v);
      if (U) store_col(k0 + i, v);
    }
  }
  const __m512 last = join(_mm512_cvtpd_ps(P[0]), _mm512_cvtpd_ps(P[1]));
  put(n - 1, last);
  if (U) store_col(n - 1, last);
  return true;
}

}  // namespace gmp_avx512
}  // namespace gmpnn_cpu

#else  // built without AVX-512 (another architecture, or a verification build): never taken

namespace gmpnn_cpu {
namespace gmp_avx512 {
bool direction_forward_group_f32(float*, const float*, int64_t, int64_t, int64_t, float*, float*,
                                 float*, const float*) {
  return false;
}
}  // namespace gmp_avx512
}  // namespace gmpnn_cpu

#endif
