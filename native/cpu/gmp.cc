// Geometric Parameterization CPU kernels (gmpnn/gmp.h, GMP_SPEC.md §2–§4).
//
// Direction kernels: the prefix product of sines and the reverse recurrence are sequential along
// the fan-in, so the parallelism is across units (with AVX2, one unit per SIMD lane: four float64
// or eight float32 units per group). Sin/cos come from simd_math.h: sincos4 for float64 (≤ 1 ulp
// of double), sincos8f_ps for float32 (≤ 2 float ulp, the size of the float32 rounding of θ).
// The scans run in double whatever the storage type, so float32 prefix products keep their
// precision and ordinary initializations never produce subnormal floats; a float result that would
// still be subnormal is written as (signed) zero, which is what FTZ does.
// Every parallel region enters gmpnn_cpu::FtzScope (flush-to-zero / denormals-are-zero on the
// worker threads, restored on exit).
//
// Epilogues are elementwise over [rows, cols] plus column sums. The column sums are computed on a
// fixed tiling that depends only on the shape (row blocks × column chunks, partial sums per row
// block, then summed over blocks in order), so results do not depend on the thread count.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

#include "cpu_util.h"
#include "simd_math.h"
#include "gmpnn/gmp.h"
#include "gmpnn/gemm.h"
#include "gemm_internal.h"

namespace {

using gmpnn_cpu::kParallelGrain;
using gmpnn_cpu::kSumRows;

using gmpnn_cpu::parallel_region;
using gmpnn_cpu::sum_in_double;
#if defined(__AVX2__)
using gmpnn_cpu::transpose4;
using gmpnn_cpu::transpose8;
#endif

// Converts a double result to the storage type; float subnormals become signed zero.
template <typename T>
inline T store(double v);
template <>
inline float store<float>(double v) {
  return std::fabs(v) < (double)FLT_MIN ? (float)std::copysign(0.0, v) : (float)v;
}
template <>
inline double store<double>(double v) {
  return v;
}

// ------------------------------------------------------------------------------ direction
//
// sin/cos are computed in a vectorized pass (simd_math.h) into small buffers, then the sequential
// prefix product and reverse recurrence run over those buffers in double (the recurrence of a
// float32 fan-in ≤ 33 in float: direction_backward_group_f32). With AVX2 the units are
// processed a SIMD register's worth at a time, one unit per lane (float64: four, float32: eight):
// angles are transposed in L×L blocks into a [k][lane] buffer, so the sin/cos pass is a plain
// vector pass in the storage type and each step of the scans is one double vector operation per
// four units (two for a float32 group of eight). A last group with fewer than L units repeats its
// last unit in the spare lanes and stores only the real ones, so every unit goes through the same
// arithmetic whatever m, the grouping or the thread count.

#if GMPNN_SIMD_SINCOS

constexpr int64_t kBwdStack = 128;   // fan-ins up to this use a stack buffer in the backward pass

// One lane group per storage type: L units, the storage-type vector V (L values) that angles,
// sin/cos and results travel in, and its widening to NH double vectors for the scans.
template <typename T>
struct Lanes;
template <>
struct Lanes<double> {
  static constexpr int L = 4, NH = 1;
  typedef __m256d V;
  static V load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static void transpose(V* v) { transpose4(v[0], v[1], v[2], v[3]); }
  static void widen(V v, __m256d* d) { d[0] = v; }
  static bool near_range(V v) { return gmpnn_cpu::sincos4_near_range(v); }
  static V reduce(V v, V* qm) {
    V q;
    return gmpnn_cpu::reduce_half_pi(v, &q, qm);
  }
  static void kernel(V r, V qm, V* s, V* c) { gmpnn_cpu::sincos4_kernel(r, qm, s, c); }
  static V narrow(const __m256d* d) { return d[0]; }
};
template <>
struct Lanes<float> {
  static constexpr int L = 8, NH = 2;
  typedef __m256 V;
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static void transpose(V* v) { transpose8(v); }
  static bool near_range(V v) { return gmpnn_cpu::sincos8f_near_range(v); }
  static V reduce(V v, V* qm) { return gmpnn_cpu::reduce_half_pi_f(v, qm); }
  static void kernel(V r, V qm, V* s, V* c) {
    gmpnn_cpu::sincos8f_kernel(r, _mm256_castps_si256(qm), s, c);
  }
  static void widen(V v, __m256d* d) {
    d[0] = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    d[1] = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
  }
  // The direction kernels run under FtzScope, so a result in float's subnormal range converts to
  // signed zero, as the scalar store<float> writes it.
  static V narrow(const __m256d* d) {
    const __m128 h[2] = {_mm256_cvtpd_ps(d[0]), _mm256_cvtpd_ps(d[1])};
    return _mm256_insertf128_ps(_mm256_castps128_ps256(h[0]), h[1], 1);
  }
};

// sin and cos of n angles (n a multiple of the lane count; x may alias s) in one pass: the calls
// are independent, so the pass runs at sincos throughput. Runs of vectors within the fast
// reduction's range go through a loop without calls (its constants stay in registers); a vector
// with a lane beyond it takes the out-of-line general path. The float32 pass is out of line
// (inlined into the group functions it measured slower); the float64 one inlines.
template <typename T>
void sincos_lanes(const T* x, T* s, T* c, int64_t n);
__attribute__((noinline)) void sincos_far_vector(const double* x, double* s, double* c) {
  __m256d vs, vc;
  gmpnn_cpu::sincos4(_mm256_loadu_pd(x), &vs, &vc);
  _mm256_storeu_pd(s, vs);
  _mm256_storeu_pd(c, vc);
}
__attribute__((noinline)) void sincos_far_vector(const float* x, float* s, float* c) {
  __m256 vs, vc;
  gmpnn_cpu::sincos8f_far(_mm256_loadu_ps(x), &vs, &vc);
  _mm256_storeu_ps(s, vs);
  _mm256_storeu_ps(c, vc);
}
// The pass itself, for either lane type, in blocks of up to 64 vectors with two sweeps each:
// first every vector's reduction (r into s, the quadrant word qm into c; a vector with a lane
// beyond the fast reduction's range gets its sin/cos whole, out of line, and is flagged), then
// the kernels on the reduced vectors. One sweep with the whole chain per vector measured 15–18 %
// slower (1,248 angles, float and double): its ~45-cycle chains fill the scheduler long before
// the FMA pipes are busy. The same operations either way, so the same bits. x may alias s (each
// vector is loaded before its slots are written).
template <typename T>
__attribute__((always_inline)) inline void sincos_lanes_pass(const T* x, T* s, T* c, int64_t n) {
  typedef Lanes<T> LT;
  typedef typename LT::V V;
  constexpr int64_t L = LT::L, kBlock = 64 * L;
  for (int64_t b0 = 0; b0 < n; b0 += kBlock) {
    const int64_t b1 = std::min(n, b0 + kBlock);
    uint64_t far = 0;  // bit k: vector b0 + k·L is done
    for (int64_t i = b0; i < b1; i += L) {
      const V v = LT::load(x + i);
      if (__builtin_expect(LT::near_range(v), 1)) {
        V qm;
        const V r = LT::reduce(v, &qm);
        LT::store(s + i, r);
        LT::store(c + i, qm);
      } else {
        sincos_far_vector(x + i, s + i, c + i);
        far |= uint64_t(1) << ((i - b0) / L);
      }
    }
    auto finish = [&](int64_t i) {
      V vs, vc;
      LT::kernel(LT::load(s + i), LT::load(c + i), &vs, &vc);
      LT::store(s + i, vs);
      LT::store(c + i, vc);
    };
    if (__builtin_expect(far == 0, 1)) {
      for (int64_t i = b0; i < b1; i += L) finish(i);
    } else {
      for (int64_t i = b0; i < b1; i += L)
        if (!(far >> ((i - b0) / L) & 1)) finish(i);
    }
  }
}
template <>
inline void sincos_lanes<double>(const double* x, double* s, double* c, int64_t n) {
  sincos_lanes_pass(x, s, c, n);
}
template <>
__attribute__((noinline)) void sincos_lanes<float>(const float* x, float* s, float* c, int64_t n) {
  sincos_lanes_pass(x, s, c, n);
}

// Row pointers of a group: lanes past the last real unit repeat it.
template <typename T>
struct Rows {
  T* p[Lanes<std::remove_const_t<T>>::L];
};
template <typename T>
inline Rows<T> group_rows(T* base, int64_t j0, int64_t cnt, int64_t ld) {
  Rows<T> r;
  constexpr int L = Lanes<std::remove_const_t<T>>::L;
  for (int64_t l = 0; l < L; ++l) r.p[l] = base + (j0 + std::min(l, cnt - 1)) * ld;
  return r;
}

// Columns k .. k+L-1 of a group: v[i] = column k + i.
template <typename T>
inline void load_block(const Rows<const T>& r, int64_t k, typename Lanes<T>::V* v) {
  for (int l = 0; l < Lanes<T>::L; ++l) v[l] = Lanes<T>::load(r.p[l] + k);
  Lanes<T>::transpose(v);
}

// Stores columns k .. k+L-1 (v[i] = column k + i) into the cnt real rows.
template <typename T>
inline void store_block(const Rows<T>& r, int64_t cnt, int64_t k, typename Lanes<T>::V* v) {
  Lanes<T>::transpose(v);
  for (int64_t l = 0; l < cnt; ++l) Lanes<T>::store(r.p[l] + k, v[l]);
}

// Column k of a group (one value per lane), for the a mod L last columns. (Built in registers: a
// vector load of just-stored scalars stalls store forwarding.)
inline __m256d load_col(const Rows<const double>& r, int64_t k) {
  return _mm256_setr_pd(r.p[0][k], r.p[1][k], r.p[2][k], r.p[3][k]);
}
inline __m256 load_col(const Rows<const float>& r, int64_t k) {
  return _mm256_setr_ps(r.p[0][k], r.p[1][k], r.p[2][k], r.p[3][k], r.p[4][k], r.p[5][k],
                        r.p[6][k], r.p[7][k]);
}

// Stores one column k into the cnt real rows.
template <typename T>
inline void store_col(const Rows<T>& r, int64_t cnt, int64_t k, typename Lanes<T>::V v) {
  alignas(32) T t[Lanes<T>::L];
  Lanes<T>::store(t, v);
  for (int64_t l = 0; l < cnt; ++l) r.p[l][k] = t[l];
}

// A group whose rows are shorter than a vector (a < L values each, rows consecutive: a apart),
// all its columns as one transposed block. Row l's full-width access also covers the rows after
// it: loaded there, those lanes are dropped; stored there, the rows' own stores (in row order)
// overwrite them. A row whose full access would pass the group's last real row is loaded masked
// and stored value by value. Column-wise (load_col / store_col) this took a gather or a scatter
// of L scalars per column.
template <typename T>
inline bool short_row_full(int64_t l, int64_t cnt, int64_t a) {
  return l * a + Lanes<T>::L <= cnt * a;
}
inline __m256d load_first(const double* p, int64_t a) {
  const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
  return _mm256_maskload_pd(p, _mm256_cmpgt_epi64(_mm256_set1_epi64x(a), lane));
}
inline __m256 load_first(const float* p, int64_t a) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32((int)a), lane));
}
// v[i] = column i (i < a; v[a..L-1] are not defined on return).
template <typename T>
inline void load_short_block(const Rows<const T>& r, int64_t cnt, int64_t a, typename Lanes<T>::V* v) {
  for (int l = 0; l < Lanes<T>::L; ++l)
    v[l] = short_row_full<T>(l, cnt, a) ? Lanes<T>::load(r.p[l]) : load_first(r.p[l], a);
  Lanes<T>::transpose(v);
}
// Stores columns 0 .. a-1 (v[i] = column i; v[a..L-1] are overwritten) into the cnt real rows.
template <typename T>
inline void store_short_block(const Rows<T>& r, int64_t cnt, int64_t a, typename Lanes<T>::V* v) {
  Lanes<T>::transpose(v);
  for (int64_t l = 0; l < cnt; ++l) {
    if (short_row_full<T>(l, cnt, a)) {
      Lanes<T>::store(r.p[l], v[l]);
    } else {
      alignas(32) T t[Lanes<T>::L];
      Lanes<T>::store(t, v[l]);
      for (int64_t i = 0; i < a && i < Lanes<T>::L; ++i) r.p[l][i] = t[i];
    }
  }
}

// Units j0 .. j0+cnt-1 (cnt ≤ L), in chunks of kFwdChunk angles: first the chunk's angles are
// transposed into [k][lane] and their sin/cos computed in one independent pass (throughput-bound:
// the sincos calls of a chunk overlap), then the prefix-product scan runs over the chunk. Doing
// sin/cos a block at a time inside the scan left the core waiting on each block's sincos
// latency (3.9 µs for 100×13 vs 2.1 µs of sin/cos throughput).
constexpr int64_t kFwdChunk = 32;

// With a cache (the group's 2·L·(n−1) values of the storage type, 8·(n−1) doubles' worth: sin
// then cos, each [k][lane]) the sin/cos go there instead of the stack, whole, for the backward to
// reuse. float32 layers take sin/cos at float accuracy (sincos8f_ps); the prefix products stay in
// double either way, and u_k = P_{k−1}·cos θ_k is one multiply in the storage type by P rounded
// to it (float32: one more rounding than the double product, and no widening of cos θ). The
// forward, the cached and the uncached backward all use the same sincos, so dθ does not depend on
// the cache.
// With packed (this group's half of a strip of the GEMM's packed W, consecutive k 2·L values
// apart: see gemm_internal.h) u(θ) also goes there as the scan leaves it, [k][lane]; U may then
// be NULL (no row-major copy: its transposes and scalar stores are a sixth of the group's work).
template <typename T, int A = 0>
void direction_forward_group(T* U, const T* theta, int64_t j0, int64_t cnt, int64_t n,
                             double* cache, T* packed = nullptr, const T* scale = nullptr) {
  typedef Lanes<T> LT;
  typedef typename LT::V V;
  constexpr int L = LT::L, NH = LT::NH;
  const int64_t a = A > 0 ? A : n - 1;
  const Rows<const T> th = group_rows<const T>(theta, j0, cnt, a);
  // The packed operand's values: u(θ), or r ⊙ u(θ) (one multiply in T) when the product folds r.
  const V rv = scale ? load_col(group_rows<const T>(scale, j0, cnt, 1), 0) : V{};
  auto pack = [&](T* p, V v) { LT::store(p, scale ? LT::mul(v, rv) : v); };
  const Rows<T> u = U ? group_rows<T>(U, j0, cnt, n) : Rows<T>{};
  alignas(32) T stack_sn[L * kFwdChunk], stack_cs[L * kFwdChunk];
  T* const cached = reinterpret_cast<T*>(cache);
  __m256d P[NH];  // P_{k-1} of the L units
  for (int h = 0; h < NH; ++h) P[h] = _mm256_set1_pd(1.0);
  // u_k = P_{k-1}·cos θ_k, then P_k = P_{k-1}·sin θ_k
  auto scan = [&](const T* sk, const T* ck) {
    __m256d sd[NH];
    LT::widen(LT::load(sk), sd);
    const V v = LT::mul(LT::narrow(P), LT::load(ck));
    for (int h = 0; h < NH; ++h) P[h] = _mm256_mul_pd(P[h], sd[h]);
    return v;
  };
  for (int64_t k0 = 0; k0 < a; k0 += kFwdChunk) {
    const int64_t len = std::min(kFwdChunk, a - k0), full = len & ~int64_t(L - 1);
    T* sn = cache ? cached + L * k0 : stack_sn;
    T* cs = cache ? cached + L * (a + k0) : stack_cs;
    // The chunk's angles transposed into [k][lane] (in sn), then their sin/cos in one pass.
    for (int64_t i = 0; i < full; i += L) {
      V v[L];
      load_block<T>(th, k0 + i, v);
      for (int l = 0; l < L; ++l) LT::store(sn + L * (i + l), v[l]);
    }
    if (len > full && k0 + len >= L) {
      // The last len − full columns from one transposed block that ends at the chunk's end (its
      // first columns are read again, harmlessly): a block costs about what two gathered
      // columns do.
      V v[L];
      load_block<T>(th, k0 + len - L, v);
      if (len >= L) {
        // The whole block (its first columns again, the same values): a loop over the last
        // len − full alone compiled to a memcpy call through the stack.
        for (int l = 0; l < L; ++l) LT::store(sn + L * (len - L + l), v[l]);
      } else {
        for (int64_t i = full; i < len; ++i) LT::store(sn + L * i, v[i - (len - L)]);
      }
    } else if (len > full) {
      // a < L: the whole fan-in is this one chunk.
      V v[L];
      load_short_block<T>(th, cnt, a, v);
      for (int64_t i = 0; i < a && i < L; ++i) LT::store(sn + L * i, v[i]);
    }
    sincos_lanes<T>(sn, sn, cs, L * len);
    for (int64_t i = 0; i < full; i += L) {
      V v[L];
      for (int l = 0; l < L; ++l) v[l] = scan(sn + L * (i + l), cs + L * (i + l));
      if (packed)
        for (int l = 0; l < L; ++l) pack(packed + 2 * L * (k0 + i + l), v[l]);
      if (U) store_block<T>(u, cnt, k0 + i, v);
    }
    for (int64_t i = full; i < len; ++i) {
      const V v = scan(sn + L * i, cs + L * i);
      if (packed) pack(packed + 2 * L * (k0 + i), v);
      if (U) store_col<T>(u, cnt, k0 + i, v);
    }
  }
  const V last = LT::narrow(P);
  if (packed) pack(packed + 2 * L * (n - 1), last);
  if (U) store_col<T>(u, cnt, n - 1, last);
}

// Scratch of one backward group, in doubles: sin and cos (2·L·(n−1) storage values) and the
// prefix products P (L·(n−1) doubles), plus room to align to 32 bytes.
template <typename T>
constexpr int64_t bwd_scratch_doubles(int64_t a) {
  return (2 * Lanes<T>::L * a * (int64_t)sizeof(T) + 7) / 8 + Lanes<T>::L * a + 4;
}

// The reverse sweep of a group's dθ (§4), given step(i, g_i), which advances the recurrence by
// angle i and returns dθ_i: the a mod L highest angles one at a time, then blocks of L with
// transposed loads of dU (or plain loads of gT) and transposed stores of dθ; rows shorter than
// L (a < L) leave as one short block. Always inlined: the
// recurrence's state lives in the caller's registers (a call measured 2× slower).
template <typename T, typename Step>
__attribute__((always_inline)) inline void reverse_sweep(const Rows<const T>& g, const T* gT,
                                                         const Rows<T>& d, int64_t cnt, int64_t a,
                                                         Step&& step) {
  typedef Lanes<T> LT;
  constexpr int L = LT::L;
  const int64_t aL = a & ~int64_t(L - 1);
  if (aL == 0) {
    typename LT::V dv[L] = {};  // lanes past a: transposed into the dropped columns
    for (int64_t i = std::min<int64_t>(a, L) - 1; i >= 0; --i)
      dv[i] = step(i, gT ? LT::load(gT + L * i) : load_col(g, i));
    store_short_block<T>(d, cnt, a, dv);
    return;
  }
  for (int64_t i = a - 1; i >= aL; --i)
    store_col<T>(d, cnt, i, step(i, gT ? LT::load(gT + L * i) : load_col(g, i)));
  for (int64_t i0 = aL - L; i0 >= 0; i0 -= L) {
    typename LT::V gv[L], dv[L];
    if (gT)
      for (int l = 0; l < L; ++l) gv[l] = LT::load(gT + L * (i0 + l));
    else
      load_block<T>(g, i0, gv);
    for (int l = L - 1; l >= 0; --l) dv[l] = step(i0 + l, gv[l]);
    store_block<T>(d, cnt, i0, dv);
  }
}

// The backward without a cache: a group's a angles transposed into [i][lane] in w, then their
// sin and cos in one pass (w: sin, w + L·a: cos), as the forward group takes them.
template <typename T>
void group_sincos(const Rows<const T>& th, int64_t cnt, int64_t a, T* w) {
  typedef Lanes<T> LT;
  constexpr int L = LT::L;
  const int64_t aL = a & ~int64_t(L - 1);
  for (int64_t i = 0; i < aL; i += L) {
    typename LT::V v[L];
    load_block<T>(th, i, v);
    for (int l = 0; l < L; ++l) LT::store(w + L * (i + l), v[l]);
  }
  if (aL == 0) {
    typename LT::V v[L];
    load_short_block<T>(th, cnt, a, v);
    for (int64_t i = 0; i < a && i < L; ++i) LT::store(w + L * i, v[i]);
  } else {
    for (int64_t i = aL; i < a; ++i) LT::store(w + L * i, load_col(th, i));
  }
  sincos_lanes<T>(w, w, w + L * a, L * a);
}

// float32 units with a short fan-in (n − 1 ≤ kFloatScanMax: the UCI layers, a 3×3 convolution
// of ≤ 3 channels): the same recurrence in float, eight units per vector, no widening to double.
// dθ is a gradient whose float32 GEMM part (D = G'ᵀ·X, a sum over the batch) already rounds far
// more than a dozen float steps do; the forward's u(θ) keeps its double prefix products (§2), and
// long fan-ins keep the double scan, where the rounding would grow with n.
constexpr int64_t kFloatScanMax = 32;

template <int A = 0>
void direction_backward_group_f32(float* dtheta, const float* dU, const float* theta, int64_t j0,
                                  int64_t cnt, int64_t n, double* scratch, const double* cache,
                                  const float* r, double* gu, const float* gT) {
  typedef Lanes<float> LT;
  constexpr int L = LT::L;
  const int64_t a = A > 0 ? A : n - 1;
  float* const P = reinterpret_cast<float*>(scratch);  // [i][L]
  float* const wsc = P + L * a;                          // sin, cos when there is no cache
  const float* s = cache ? reinterpret_cast<const float*>(cache) : wsc;
  const float* c = s + L * a;
  const Rows<const float> th = group_rows<const float>(theta, j0, cnt, a);
  const Rows<const float> g = group_rows<const float>(gT ? gT : dU, gT ? 0 : j0, cnt, gT ? 0 : n);
  const Rows<float> d = group_rows<float>(dtheta, j0, cnt, a);
  if (!cache) group_sincos<float>(th, cnt, a, wsc);
  auto rl = [&](int64_t l) { return r && l < cnt ? r[j0 + l] : 1.0f; };
  __m256 p = _mm256_setr_ps(rl(0), rl(1), rl(2), rl(3), rl(4), rl(5), rl(6), rl(7));
  for (int64_t i = 0; i < a; ++i) {
    _mm256_store_ps(P + L * i, p);  // r·P_{i-1}
    p = _mm256_mul_ps(p, LT::load(s + L * i));  // the caller's cache: 8-byte alignment only
  }
  __m256 R;
  auto step = [&](int64_t i, __m256 gi) {
    const __m256 ci = LT::load(c + L * i), si = LT::load(s + L * i);
    const __m256 di = _mm256_mul_ps(_mm256_load_ps(P + L * i),
                                    _mm256_fmsub_ps(ci, R, _mm256_mul_ps(si, gi)));
    R = _mm256_fmadd_ps(si, R, _mm256_mul_ps(gi, ci));
    return di;
  };
  R = gT ? LT::load(gT + L * a) : load_col(g, a);  // g_n
  reverse_sweep<float>(g, gT, d, cnt, a, step);
  if (gu) {
    alignas(32) float t[L];
    _mm256_store_ps(t, R);  // R_0 = g·u
    for (int64_t l = 0; l < cnt; ++l) gu[j0 + l] = t[l];
  }
}

// Two float32 groups of the fused backward at once (units j0 .. j0+cnt0+cnt1−1, the second
// group's cnt1 ≥ 1), with their sin/cos cache and their dU as gT: the arithmetic of
// direction_backward_group_f32, operation for operation, on two independent chains. Each group's
// prefix products and reverse recurrence are a chain of a multiply or FMA per angle, so one group
// alone waits on that latency; two in step fill it (455x13x100: ~0.1 µs of the ~0.5 the thirteen
// groups took). The compile-time angle count A keeps the loops unrolled.
template <int A>
void direction_backward_pair_f32(float* dtheta, int64_t j0, int64_t cnt0, int64_t cnt1,
                                 const double* cache0, const double* cache1, const float* r,
                                 double* gu, const float* gT0, const float* gT1) {
  typedef Lanes<float> LT;
  constexpr int L = LT::L;
  static_assert(A > 0 && A <= kFloatScanMax, "a short fan-in");
  const float* s[2] = {reinterpret_cast<const float*>(cache0), reinterpret_cast<const float*>(cache1)};
  const float* c[2] = {s[0] + L * A, s[1] + L * A};
  const float* gT[2] = {gT0, gT1};
  const int64_t cnt[2] = {cnt0, cnt1}, jj[2] = {j0, j0 + L};
  const Rows<float> d[2] = {group_rows<float>(dtheta, jj[0], cnt0, A),
                            group_rows<float>(dtheta, jj[1], cnt1, A)};
  alignas(32) float P[2][L * A];
  __m256 p[2];
  for (int h = 0; h < 2; ++h) {
    auto rl = [&](int64_t l) { return r && l < cnt[h] ? r[jj[h] + l] : 1.0f; };
    p[h] = _mm256_setr_ps(rl(0), rl(1), rl(2), rl(3), rl(4), rl(5), rl(6), rl(7));
  }
  for (int i = 0; i < A; ++i)
    for (int h = 0; h < 2; ++h) {
      _mm256_store_ps(P[h] + L * i, p[h]);  // r·P_{i-1}
      p[h] = _mm256_mul_ps(p[h], LT::load(s[h] + L * i));
    }
  __m256 R[2] = {LT::load(gT0 + L * A), LT::load(gT1 + L * A)};  // g_n
  auto step = [&](int h, int i) {
    const __m256 gi = LT::load(gT[h] + L * i), ci = LT::load(c[h] + L * i),
                 si = LT::load(s[h] + L * i);
    const __m256 di = _mm256_mul_ps(_mm256_load_ps(P[h] + L * i),
                                    _mm256_fmsub_ps(ci, R[h], _mm256_mul_ps(si, gi)));
    R[h] = _mm256_fmadd_ps(si, R[h], _mm256_mul_ps(gi, ci));
    return di;
  };
  constexpr int AL = A & ~(L - 1);
  if constexpr (A > L && A != AL) {
    // Every dθ first, then stored as transposed blocks of L angles from the top down, the lowest
    // block overlapping the one above it (those angles are written twice, the same values): no
    // column goes out lane by lane.
    __m256 dv[2][A];
    for (int i = A - 1; i >= 0; --i)
      for (int h = 0; h < 2; ++h) dv[h][i] = step(h, i);
    for (int h = 0; h < 2; ++h)
      for (int i0 = A - L;; i0 = std::max(i0 - L, 0)) {
        __m256 b[L];
        for (int l = 0; l < L; ++l) b[l] = dv[h][i0 + l];
        store_block<float>(d[h], cnt[h], i0, b);
        if (i0 == 0) break;
      }
  } else if constexpr (AL == 0) {
    __m256 dv[2][L] = {};  // lanes past A: transposed into the dropped columns
    for (int i = A - 1; i >= 0; --i)
      for (int h = 0; h < 2; ++h) dv[h][i] = step(h, i);
    for (int h = 0; h < 2; ++h) store_short_block<float>(d[h], cnt[h], A, dv[h]);
  } else {
    // reverse_sweep's order and stores, for both groups.
    for (int i = A - 1; i >= AL; --i)
      for (int h = 0; h < 2; ++h) store_col<float>(d[h], cnt[h], i, step(h, i));
    for (int i0 = AL - L; i0 >= 0; i0 -= L) {
      __m256 dv[2][L];
      for (int l = L - 1; l >= 0; --l)
        for (int h = 0; h < 2; ++h) dv[h][l] = step(h, i0 + l);
      for (int h = 0; h < 2; ++h) store_block<float>(d[h], cnt[h], i0, dv[h]);
    }
  }
  if (gu)
    for (int h = 0; h < 2; ++h) {
      alignas(32) float t[L];
      _mm256_store_ps(t, R[h]);  // R_0 = g·u
      for (int64_t l = 0; l < cnt[h]; ++l) gu[jj[h] + l] = t[l];
    }
}

// Division-free reverse recurrence (§4) for units j0 .. j0+cnt-1. scratch:
// bwd_scratch_doubles<T>(n − 1) doubles, 32-byte aligned. cache: the group's sin/cos from the
// forward (then only P is computed here), or NULL. r (or NULL: 1) scales each unit's dθ (the scan
// of r·g in one multiply); gu (or NULL) receives g·u(θ), which the recurrence's last R is.
// g is read from dU's rows, or, when gT is given, from gT as n vectors of L lanes ([k][lane], the
// layout the fused small backward accumulates it in: no transposes in).
template <typename T, int A = 0>
void direction_backward_group(T* dtheta, const T* dU, const T* theta, int64_t j0, int64_t cnt,
                              int64_t n, double* scratch, const double* cache, const T* r,
                              double* gu, const T* gT = nullptr) {
  if constexpr (std::is_same<T, float>::value)
    if (n - 1 <= kFloatScanMax)
      return direction_backward_group_f32<A>(dtheta, dU, theta, j0, cnt, n, scratch, cache, r, gu, gT);
  typedef Lanes<T> LT;
  typedef typename LT::V V;
  constexpr int L = LT::L, NH = LT::NH;
  const int64_t a = A > 0 ? A : n - 1;
  double* P = scratch;  // [i][L] doubles
  T* const wsc = reinterpret_cast<T*>(scratch + L * a);
  const T* s = cache ? reinterpret_cast<const T*>(cache) : wsc;
  const T* c = s + L * a;
  const Rows<const T> th = group_rows<const T>(theta, j0, cnt, a);
  const Rows<const T> g = group_rows<const T>(gT ? gT : dU, gT ? 0 : j0, cnt, gT ? 0 : n);
  const Rows<T> d = group_rows<T>(dtheta, j0, cnt, a);
  if (!cache) group_sincos<T>(th, cnt, a, wsc);
  // The prefix products P_{i-1} (times r).
  // (Built in registers: a vector load of just-stored scalars stalls store forwarding.)
  __m256d p[NH];
  auto rl = [&](int64_t l) { return r && l < cnt ? (double)r[j0 + l] : 1.0; };
  for (int h = 0; h < NH; ++h) p[h] = _mm256_setr_pd(rl(4 * h), rl(4 * h + 1), rl(4 * h + 2), rl(4 * h + 3));
  for (int64_t i = 0; i < a; ++i) {
    __m256d si[NH];
    LT::widen(LT::load(s + L * i), si);
    for (int h = 0; h < NH; ++h) {
      _mm256_store_pd(P + L * i + 4 * h, p[h]);  // P_{i-1} in 1-based terms
      p[h] = _mm256_mul_pd(p[h], si[h]);
    }
  }
  // Reverse: R_{n-1} = g_n, then dθ_i = P_{i-1}·(c_i·R_i − s_i·g_i), R_{i-1} = g_i·c_i + s_i·R_i.
  __m256d R[NH];
  auto step = [&](int64_t i, V gv) {
    __m256d gi[NH], ci[NH], si[NH], di[NH];
    LT::widen(gv, gi);
    LT::widen(LT::load(c + L * i), ci);
    LT::widen(LT::load(s + L * i), si);
    for (int h = 0; h < NH; ++h) {
      di[h] = _mm256_mul_pd(_mm256_load_pd(P + L * i + 4 * h),
                            _mm256_fmsub_pd(ci[h], R[h], _mm256_mul_pd(si[h], gi[h])));
      R[h] = _mm256_fmadd_pd(si[h], R[h], _mm256_mul_pd(gi[h], ci[h]));  // one FMA on the R chain
    }
    return LT::narrow(di);
  };
  LT::widen(gT ? LT::load(gT + L * a) : load_col(g, a), R);  // g_n
  reverse_sweep<T>(g, gT, d, cnt, a, step);
  if (gu) {
    alignas(32) double t[L];
    for (int h = 0; h < NH; ++h) _mm256_store_pd(t + 4 * h, R[h]);  // R_0 = g·u
    for (int64_t l = 0; l < cnt; ++l) gu[j0 + l] = t[l];
  }
}

// A group's slice of the sin/cos cache: 8·(n−1) doubles whatever the lane count (four float64 or
// eight float32 units), so the cache is never longer than gmpnn_gmp_direction_cache_len.
inline int64_t cache_offset(int64_t gi, int64_t n) { return 8 * (n - 1) * gi; }

// Units × fan-in from which the sixteen-lane u(θ) is taken on every AVX-512 CPU: there its own
// gain (~0.15 ns per element alone, 22 µs at 128×1152) dwarfs the after-effect on the calls
// that follow (~0.4 µs in an MLP step; none measurable at 100×256).
constexpr int64_t kWideDirectionMin = 16384;

// packed (or NULL): the GEMM's packed W (gemm_internal.h: strips of two lane groups, [k][2·L]),
// written besides U (NULL: only there); a strip's second half past m is zeroed.
// scale (or NULL; only with packed): per-unit factors applied to the packed values alone.
template <typename T>
gmpnn_status direction_forward_impl(T* U, const T* theta, int64_t m, int64_t n, double* cache,
                                    T* packed = nullptr, const T* scale = nullptr) {
  constexpr int64_t L = Lanes<T>::L;
  static_assert(gmpnn_cpu::kDensePackCols<T> == 2 * L, "a packed strip is two lane groups");
  const int64_t ng = (m + L - 1) / L;
  auto fn = direction_forward_group<T>;
  switch (n - 1) {
#define GMPNN_FWD_A(k) \
  case k: fn = direction_forward_group<T, k>; break;
    GMPNN_FWD_A(1) GMPNN_FWD_A(2) GMPNN_FWD_A(3) GMPNN_FWD_A(4) GMPNN_FWD_A(5) GMPNN_FWD_A(6)
    GMPNN_FWD_A(7) GMPNN_FWD_A(8) GMPNN_FWD_A(9) GMPNN_FWD_A(10) GMPNN_FWD_A(11) GMPNN_FWD_A(12)
    GMPNN_FWD_A(13) GMPNN_FWD_A(14) GMPNN_FWD_A(15) GMPNN_FWD_A(16)
#undef GMPNN_FWD_A
  }
  auto group = [&](int64_t gi) {
    const int64_t j0 = gi * L;
    fn(U, theta, j0, std::min(L, m - j0), n,
                               cache ? cache + cache_offset(gi, n) : nullptr,
                               packed ? packed + gi / 2 * 2 * L * n + gi % 2 * L : nullptr,
                               scale);
  };
  bool wide = false;
#if defined(__x86_64__)
  // Sixteen lanes where the AVX-512 path is selected, except a small layer on a CPU where a short
  // AVX-512 burst slows the code after it (gemm_internal.h avx512_short_kernels).
  if constexpr (std::is_same<T, float>::value)
    wide = gmpnn_cpu::avx512_selected() &&
           (m * n >= kWideDirectionMin || gmpnn_cpu::avx512_short_kernels());
#endif
  if (wide) {
    // Two lane groups at a time, a strip of the packed W each (gmp_avx512.cc); a pair with an
    // angle beyond the float reduction's range goes through the AVX2 groups.
    const int64_t np = (ng + 1) / 2;
    const bool par = np > 1 && m * n >= kParallelGrain;
    parallel_region(par, [&] {
#pragma omp for schedule(static)
      for (int64_t pi = 0; pi < np; ++pi) {
        const int64_t j0 = pi * 2 * L;
        float* c = reinterpret_cast<float*>(cache);
        if (!gmpnn_cpu::gmp_avx512::direction_forward_group_f32(
                reinterpret_cast<float*>(U), reinterpret_cast<const float*>(theta), j0, std::min(2 * L, m - j0), n,
                c ? c + 2 * cache_offset(2 * pi, n) : nullptr,
                c ? c + 2 * cache_offset(2 * pi + 1, n) : nullptr,
                packed ? reinterpret_cast<float*>(packed) + pi * 2 * L * n : nullptr,
                reinterpret_cast<const float*>(scale))) {
          group(2 * pi);
          if (2 * pi + 1 < ng) group(2 * pi + 1);
        }
      }
    });
  } else {
    const bool par = ng > 1 && m * n >= kParallelGrain;
    parallel_region(par, [&] {
#pragma omp for schedule(static)
      for (int64_t gi = 0; gi < ng; ++gi) group(gi);
    });
  }
  if (packed && ng % 2 == 1)
    for (int64_t k = 0; k < n; ++k)
      Lanes<T>::store(packed + (ng / 2 * n + k) * 2 * L + L, typename Lanes<T>::V{});
  return GMPNN_OK;
}

template <typename T>
gmpnn_status direction_backward_impl(T* dtheta, const T* dU, const T* theta, int64_t m,
                                     int64_t n, const double* cache, const T* r, double* gu) {
  constexpr int64_t L = Lanes<T>::L;
  const int64_t ng = (m + L - 1) / L;
  const bool par = ng > 1 && m * n >= kParallelGrain;
  bool oom = false;
  parallel_region(par, [&] {
    // Small fan-ins (the common MLP case) use a stack buffer: no allocation per call.
    alignas(32) double small[bwd_scratch_doubles<T>(kBwdStack)];
    std::unique_ptr<double[]> heap;
    double* scratch = small;
    if (n - 1 > kBwdStack) {
      heap.reset(new (std::nothrow) double[(size_t)bwd_scratch_doubles<T>(n - 1)]);
      // 32-byte alignment for the aligned vector loads/stores
      scratch = heap ? (double*)(((uintptr_t)heap.get() + 31) & ~(uintptr_t)31) : nullptr;
    }
    if (!scratch) {
#pragma omp atomic write
      oom = true;
    }
#pragma omp for schedule(static)
    for (int64_t gi = 0; gi < ng; ++gi) {
      const int64_t j0 = gi * L;
      if (scratch)
        direction_backward_group<T>(dtheta, dU, theta, j0, std::min(L, m - j0), n, scratch,
                                    cache ? cache + cache_offset(gi, n) : nullptr, r, gu);
    }
  });
  if (oom)
    return gmpnn_set_error(GMPNN_E_OOM, "gmp_direction_backward: scratch allocation failed (n=%lld)",
                           (long long)n);
  return GMPNN_OK;
}

#else  // portable path: one unit at a time

template <typename T>
void direction_forward_unit(T* u, const T* th, int64_t n) {
  double P = 1.0;  // P_{k-1}
  for (int64_t k = 0; k < n - 1; ++k) {
    const double t = (double)th[k];
    const double s = std::sin(t), c = std::cos(t);
    u[k] = store<T>(P * c);
    P *= s;
  }
  u[n - 1] = store<T>(P);
}

// Division-free reverse recurrence (§4). scratch holds 3·(n-1) doubles: s, c, P_{i-1}. dθ is
// scaled by rj; *gu (or NULL) receives g·u(θ), the recurrence's last R.
template <typename T>
void direction_backward_unit(T* dth, const T* g, const T* th, int64_t n, double* scratch,
                             double rj, double* gu) {
  const int64_t a = n - 1;  // number of angles
  double* s = scratch;
  double* c = scratch + a;
  double* P = scratch + 2 * a;
  double p = rj;
  for (int64_t i = 0; i < a; ++i) {
    const double t = (double)th[i];
    s[i] = std::sin(t);
    c[i] = std::cos(t);
    P[i] = p;  // P_{i-1} in 1-based terms
    p *= s[i];
  }
  double R = (double)g[n - 1];  // R_{n-1} = g_n
  for (int64_t i = a - 1; i >= 0; --i) {
    const double gi = (double)g[i];
    dth[i] = store<T>(P[i] * (c[i] * R - s[i] * gi));
    R = gi * c[i] + s[i] * R;  // R_{i-1}
  }
  if (gu) *gu = R;
}

// The portable path neither writes nor reads the sin/cos cache (it is advisory).
template <typename T>
gmpnn_status direction_forward_impl(T* U, const T* theta, int64_t m, int64_t n, double*) {
  const bool par = m > 1 && m * n >= kParallelGrain;
  parallel_region(par, [&] {
#pragma omp for schedule(static)
    for (int64_t j = 0; j < m; ++j) direction_forward_unit<T>(U + j * n, theta + j * (n - 1), n);
  });
  return GMPNN_OK;
}

template <typename T>
gmpnn_status direction_backward_impl(T* dtheta, const T* dU, const T* theta, int64_t m,
                                     int64_t n, const double*, const T* r, double* gu) {
  const bool par = m > 1 && m * n >= kParallelGrain;
  bool oom = false;
  parallel_region(par, [&] {
    std::unique_ptr<double[]> scratch(new (std::nothrow) double[3 * (size_t)(n - 1)]);
    if (!scratch) {
#pragma omp atomic write
      oom = true;
    }
#pragma omp for schedule(static)
    for (int64_t j = 0; j < m; ++j) {
      if (scratch)
        direction_backward_unit<T>(dtheta + j * (n - 1), dU + j * n, theta + j * (n - 1), n,
                                   scratch.get(), r ? (double)r[j] : 1.0, gu ? gu + j : nullptr);
    }
  });
  if (oom)
    return gmpnn_set_error(GMPNN_E_OOM, "gmp_direction_backward: scratch allocation failed (n=%lld)",
                           (long long)n);
  return GMPNN_OK;
}

#endif  // GMPNN_SIMD_SINCOS

// Inverse map (§2) for one unit, computed in double. Returns r = ‖x‖.
//
// Angles θ_i = atan2(t_i, x_i), i ≤ n−2, with t_i the norm of the tail after x_i. The last angle
// is computed as atan2(x_n, x_{n−1}), which equals the spec's half-angle form
// 2·atan2(x_n, x_{n−1} + sqrt(x_{n−1}² + x_n²)) wherever that is defined, without its cancellation
// for x_{n−1} < 0, and gives the correct π (not atan2(0, 0) = 0) at x_{n−1} < 0, x_n = 0.
// Convention atan2(0, 0) = 0, also for signed zeros. With abs_last, |x_n| replaces x_n, so the
// round trip reproduces the row with its last coordinate made non-negative.
template <typename T>
double direction_inverse_unit(T* th, const T* x, int64_t n, int abs_last, double* tail2) {
  // Scale by a power of two near max|x| so that squares neither overflow nor underflow (exact).
  double amax = 0.0;
  for (int64_t k = 0; k < n; ++k) amax = std::max(amax, std::fabs((double)x[k]));
  if (amax == 0.0) {  // zero row: all angles 0 (u = e1), r = 0
    for (int64_t k = 0; k < n - 1; ++k) th[k] = T(0);
    return 0.0;
  }
  int e = 0;
  std::frexp(amax, &e);  // inf / NaN rows keep scale 1 and propagate
  const double scale = std::isfinite(amax) ? std::ldexp(1.0, -e) : 1.0;
  // tail2[i] = Σ_{k>i} (x_k·scale)²
  double acc = 0.0;
  for (int64_t k = n - 1; k >= 0; --k) {
    tail2[k] = acc;
    const double v = (double)x[k] * scale;
    acc += v * v;
  }
  const double r = std::sqrt(acc) / scale;
  for (int64_t i = 0; i < n - 2; ++i) {
    const double t = std::sqrt(tail2[i]);
    const double xi = (double)x[i] * scale;
    th[i] = (t == 0.0 && xi == 0.0) ? T(0) : (T)std::atan2(t, xi);
  }
  double xl = (double)x[n - 1] * scale;
  const double xp = (double)x[n - 2] * scale;
  if (abs_last) xl = std::fabs(xl);
  if (xl == 0.0) xl = 0.0;  // -0 -> +0: θ = π (not −π) for x_{n−1} < 0
  th[n - 2] = (xl == 0.0 && xp == 0.0) ? T(0) : (T)std::atan2(xl, xp);
  return r;
}

template <typename T>
gmpnn_status direction_inverse_impl(T* theta, T* r, const T* W, int64_t m, int64_t n,
                                    int abs_last) {
  const bool par = m > 1 && m * n >= kParallelGrain;
  bool oom = false;
  parallel_region(par, [&] {
    std::unique_ptr<double[]> tail2(new (std::nothrow) double[(size_t)n]);
    if (!tail2) {
#pragma omp atomic write
      oom = true;
    }
#pragma omp for schedule(static)
    for (int64_t j = 0; j < m; ++j) {
      if (tail2)
        r[j] = (T)direction_inverse_unit<T>(theta + j * (n - 1), W + j * n, n, abs_last,
                                            tail2.get());
    }
  });
  if (oom)
    return gmpnn_set_error(GMPNN_E_OOM, "gmp_direction_inverse: scratch allocation failed (n=%lld)",
                           (long long)n);
  return GMPNN_OK;
}

gmpnn_status check_direction(const char* op, int64_t m, int64_t n) {
  if (m < 0) return gmpnn_set_error(GMPNN_E_ARG, "%s: m must be >= 0 (got %lld)", op, (long long)m);
  if (n < 2)
    return gmpnn_set_error(GMPNN_E_ARG, "%s: fan-in n must be >= 2 (got %lld)", op, (long long)n);
  return GMPNN_OK;
}

// ------------------------------------------------------------------------------ epilogues

template <typename T, int ACT>
inline T act_fn(T z) {
  if (ACT == GMPNN_ACT_RELU) return z < T(0) ? T(0) : z;  // NaN propagates
  return z;
}

// Fixed, shape-only tiling of [rows, cols] for the epilogues.
struct Tiling {
  int64_t brows, bcols, nrb, ncb;
};
constexpr int64_t kMaxTileCols = 1024;
// Epilogues split over threads only from this many elements: a pass over the UCI MLP's
// [1024, 100] activations takes ~15 µs on one core, and on a shared 2-core machine waking the
// second thread (often descheduled) cost more than it saved (bench/RESULTS.md, 2-thread runs).
constexpr int64_t kEpilogueParallelMin = 8 * kParallelGrain;
inline Tiling make_tiling(int64_t rows, int64_t cols) {
  Tiling t;
  t.bcols = cols <= kMaxTileCols ? std::max<int64_t>(cols, 1) : kMaxTileCols / 2;
  t.brows = std::max<int64_t>(1, kParallelGrain / t.bcols);
  t.nrb = (rows + t.brows - 1) / t.brows;
  t.ncb = (cols + t.bcols - 1) / t.bcols;
  return t;
}

template <typename T, int ACT>
void epilogue_forward_impl(T* Y, T* Z, const T* lambda, const T* r, int64_t rows, int64_t cols) {
  const Tiling tl = make_tiling(rows, cols);
  const int64_t ntiles = tl.nrb * tl.ncb;
  const bool par = ntiles > 1 && rows * cols >= kEpilogueParallelMin;
  parallel_region(par, [&] {
#pragma omp for schedule(static)
    for (int64_t t = 0; t < ntiles; ++t) {
      const int64_t rb = t / tl.ncb, cb = t % tl.ncb;
      const int64_t i0 = rb * tl.brows, i1 = std::min(rows, i0 + tl.brows);
      const int64_t j0 = cb * tl.bcols, j1 = std::min(cols, j0 + tl.bcols);
      for (int64_t i = i0; i < i1; ++i) {
        T* zr = Z + i * cols;
        T* yr = Y + i * cols;
#pragma omp simd
        for (int64_t j = j0; j < j1; ++j) {
          const T z = zr[j] + lambda[j];
          zr[j] = z;
          yr[j] = r[j] * act_fn<T, ACT>(z);
        }
      }
    }
  });
}

// DR: dr is wanted. Without it (SP/WN, r = 1) the Σ dY·act(z) sums are not formed at all.
// SCALE: dZ = dY ⊙ act'(Z) ⊙ r; without it dZ = dY ⊙ act'(Z) (r = 1, or gmp_dense_backward, which
// applies r to the m×n operands instead). dλ = r ⊙ Σ dY ⊙ act'(Z) either way (r NULL: 1), and
// colsum, when given, receives the unscaled sums Σ dY ⊙ act'(Z) in double.
template <typename T, int ACT, bool DR, bool SCALE>
gmpnn_status epilogue_backward_impl(T* dZ, T* dlambda, double* colsum, T* dr, const T* dY,
                                    const T* Z, const T* r, int64_t rows, int64_t cols) {
  const Tiling tl = make_tiling(rows, cols);
  const int64_t ntiles = tl.nrb * tl.ncb;
  const bool par = ntiles > 1 && rows * cols >= kEpilogueParallelMin;
  const bool want = dlambda || dr || colsum;
  // Partial column sums per row block: pl = Σ act'(z)·dY (times r at the end), pr = Σ dY·act(z).
  std::vector<double> pl, pr;
  if (want) {
    try {
      pl.assign((size_t)(tl.nrb * cols), 0.0);
      if (DR) pr.assign((size_t)(tl.nrb * cols), 0.0);
    } catch (const std::bad_alloc&) {
      return gmpnn_set_error(GMPNN_E_OOM,
                             "gmp_epilogue_backward: partial sums allocation failed (%lld x %lld)",
                             (long long)tl.nrb, (long long)cols);
    }
  }
  double* PL = want ? pl.data() : nullptr;
  double* PR = DR ? pr.data() : nullptr;
  parallel_region(par, [&] {
#pragma omp for schedule(static)
    for (int64_t t = 0; t < ntiles; ++t) {
      const int64_t rb = t / tl.ncb, cb = t % tl.ncb;
      const int64_t i0 = rb * tl.brows, i1 = std::min(rows, i0 + tl.brows);
      const int64_t j0 = cb * tl.bcols, j1 = std::min(cols, j0 + tl.bcols);
      if (want) {
        double* al = PL + rb * cols;
        double* ar = DR ? PR + rb * cols : nullptr;
        // One fused pass per row into partial sums of the row's own type over kSumRows rows
        // (float32 vectorizes 8-wide, and no float -> double conversion per element), folded
        // into the double sums after each group: the long sums stay in double (DESIGN.md) at
        // 1/kSumRows of the cost; a float32 group sum adds a relative error of ~kSumRows·eps.
        T sl[kMaxTileCols], sr[kMaxTileCols];
        const int64_t w = j1 - j0;
        const T* rr = SCALE ? r + j0 : nullptr;
        for (int64_t g0 = i0; g0 < i1; g0 += kSumRows) {
          const int64_t g1 = std::min(i1, g0 + kSumRows);
          std::fill(sl, sl + w, T(0));
          if (DR) std::fill(sr, sr + w, T(0));
          for (int64_t i = g0; i < g1; ++i) {
            const T* dyr = dY + i * cols + j0;
            const T* zr = Z + i * cols + j0;
            T* dzr = dZ + i * cols + j0;
#pragma omp simd
            for (int64_t k = 0; k < w; ++k) {
              const T dy = dyr[k], z = zr[k];
              const T m = (ACT == GMPNN_ACT_RELU) ? (z > T(0) ? dy : T(0)) : dy;
              dzr[k] = SCALE ? m * rr[k] : m;
              sl[k] += m;
              if (DR) sr[k] += dy * act_fn<T, ACT>(z);
            }
          }
#pragma omp simd
          for (int64_t k = 0; k < w; ++k) {
            al[j0 + k] += (double)sl[k];
            if (DR) ar[j0 + k] += (double)sr[k];
          }
        }
      } else {
        for (int64_t i = i0; i < i1; ++i) {
          const T* dyr = dY + i * cols;
          const T* zr = Z + i * cols;
          T* dzr = dZ + i * cols;
#pragma omp simd
          for (int64_t j = j0; j < j1; ++j) {
            const T dy = dyr[j], z = zr[j];
            const T m = (ACT == GMPNN_ACT_RELU) ? (z > T(0) ? dy : T(0)) : dy;
            dzr[j] = SCALE ? m * r[j] : m;
          }
        }
      }
    }
  });
  if (want) {
    const bool par2 = tl.nrb * cols >= kParallelGrain;
    auto col = [&](int64_t j) {
      double sl = 0.0, sr = 0.0;
      for (int64_t b = 0; b < tl.nrb; ++b) {
        sl += PL[b * cols + j];
        if (DR) sr += PR[b * cols + j];
      }
      if (dlambda) dlambda[j] = (T)(r ? sl * (double)r[j] : sl);
      if (colsum) colsum[j] = sl;
      if (DR) dr[j] = (T)sr;
    };
    if (par2) {
#pragma omp parallel for schedule(static)
      for (int64_t j = 0; j < cols; ++j) col(j);
    } else {
      for (int64_t j = 0; j < cols; ++j) col(j);
    }
  }
  return GMPNN_OK;
}

// epilogue_backward_impl with its template flags from run-time values: DR = (dr != NULL),
// SCALE = scale (dZ ⊙ r; needs r).
template <typename T>
gmpnn_status epilogue_backward_any(int act, bool scale, T* dZ, T* dlambda, double* colsum, T* dr,
                                   const T* dY, const T* Z, const T* r, int64_t rows,
                                   int64_t cols) {
  auto go = [&](auto act_c, auto dr_c, auto scale_c) {
    return epilogue_backward_impl<T, decltype(act_c)::value, decltype(dr_c)::value,
                                  decltype(scale_c)::value>(dZ, dlambda, colsum, dr, dY, Z, r,
                                                            rows, cols);
  };
  using Relu = std::integral_constant<int, GMPNN_ACT_RELU>;
  using Id = std::integral_constant<int, GMPNN_ACT_IDENTITY>;
  using Y = std::true_type;
  using N = std::false_type;
  if (act == GMPNN_ACT_RELU)
    return dr ? (scale ? go(Relu{}, Y{}, Y{}) : go(Relu{}, Y{}, N{}))
              : (scale ? go(Relu{}, N{}, Y{}) : go(Relu{}, N{}, N{}));
  return dr ? (scale ? go(Id{}, Y{}, Y{}) : go(Id{}, Y{}, N{}))
            : (scale ? go(Id{}, N{}, Y{}) : go(Id{}, N{}, N{}));
}

#if GMPNN_SIMD_SINCOS
// ------------------------------------------------------------------ fused backward, small fan-in
// gmp_dense_backward of a layer whose input needs no gradient (an MLP's first layer) and whose
// fan-in n is small (2 … kFusedBackwardMaxN): one read of dY and Z forms G' = dY ⊙ act'(Z), the
// column sums S (in the epilogue's order, so dλ and S are bit-identical to the separate pass)
// and D = G'ᵀ·X as n vectors of L lanes per group of L units (one FMA per feature and row), and
// writes neither G' nor D to memory the size of the activations. The rows go in tiles of
// kFusedRowTile, the units in pairs of groups, the features in passes of at most 5–6 (register
// pressure); the passes after the first read G' back from a tile buffer in L1. GmP's reverse
// scan (§4) then reads D as it stands ([k][lane]: no transposes in); SP stores it as dW. The
// separate route wrote the rows×cols G', read it back and packed it for the GEMM.
// gmp_bench --threads 1, "dense_backward, no dX" against "epilogue_backward + gemm", float:
// 1024×13×100 49 against 73 µs, 1024×4×100 23 against 38 µs, 32×13×100 1.7 against 2.7 µs.
constexpr int64_t kFusedBackwardMaxN = 16;

// cnt (1 … L) values from p, zero in the lanes past them (masked: nothing past p[cnt−1] is read).
inline __m256 load_lanes(const float* p, int64_t cnt) {
  if (cnt == 8) return _mm256_loadu_ps(p);
  const __m256i m =
      _mm256_cmpgt_epi32(_mm256_set1_epi32((int)cnt), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  return _mm256_maskload_ps(p, m);
}
inline __m256d load_lanes(const double* p, int64_t cnt) {
  if (cnt == 4) return _mm256_loadu_pd(p);
  const __m256i m = _mm256_cmpgt_epi64(_mm256_set1_epi64x(cnt), _mm256_setr_epi64x(0, 1, 2, 3));
  return _mm256_maskload_pd(p, m);
}
inline __m256 relu_mask(__m256 dy, __m256 z) {
  return _mm256_and_ps(dy, _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_GT_OQ));
}
inline __m256d relu_mask(__m256d dy, __m256d z) {
  return _mm256_and_pd(dy, _mm256_cmp_pd(z, _mm256_setzero_pd(), _CMP_GT_OQ));
}
inline __m256 fmadd_lanes(float x, __m256 m, __m256 acc) {
  return _mm256_fmadd_ps(_mm256_set1_ps(x), m, acc);
}
inline __m256d fmadd_lanes(double x, __m256d m, __m256d acc) {
  return _mm256_fmadd_pd(_mm256_set1_pd(x), m, acc);
}

// One pass of a pair of groups (2·L units: a float32 pair's dY and Z values are one 64-byte
// line per row) over rows [i0, i1) of a tile: a0/a1[k − K0] += Σ_rows x_k·m for K0 ≤ k < K1, where
// m = dY ⊙ act'(Z) on each group's lanes. The FIRST pass forms m (into mb, [row][2·L], for the
// later passes to read) and, per run of kSumRows rows from i0, Σ m in the storage type, added to
// blk0/blk1 in double as the epilogue's column sums are. Ten accumulator chains (2 × 5) cover the
// FMA latency; with m, the S runs, a broadcast and zero they fill the 16 vector registers (a
// later pass, without the S runs, takes 2 × 6). With a group's 13 accumulators GCC spilled them.
// FULL: both groups whole (plain loads); otherwise masked loads, and cnt1 ≤ 0 (a lone last group)
// reads nothing for the second. Out of line: inlined into the tile loop they spilled again; and
// without the unroll pragmas GCC kept a0/a1 in memory, copied in by 16-byte halves (a
// store-forwarding stall per accumulator and call).
template <typename T, int ACT, int N, int K0, int K1, bool FULL, bool FIRST>
__attribute__((noinline)) void fused_rows(const T* dY, const T* Z, const T* X, int64_t cols,
                                          int64_t j0, int64_t cnt0, int64_t cnt1, int64_t i0,
                                          int64_t i1, T* a0p, T* a1p, __m256d* blk0,
                                          __m256d* blk1, T* mb) {
  typedef Lanes<T> LT;
  typedef typename LT::V V;
  constexpr int KN = K1 - K0, L = LT::L, NH = LT::NH;
  V a0[KN], a1[KN];
#pragma GCC unroll 16
  for (int k = 0; k < KN; ++k) {
    a0[k] = LT::load(a0p + L * k);
    a1[k] = LT::load(a1p + L * k);
  }
  auto mask = [&](const T* p, const T* q, int64_t cnt) {
    if (!FULL && cnt <= 0) return V{};
    V m = FULL ? LT::load(p) : load_lanes(p, cnt);
    if (ACT == GMPNN_ACT_RELU) m = relu_mask(m, FULL ? LT::load(q) : load_lanes(q, cnt));
    return m;
  };
  for (int64_t g0 = i0; g0 < i1; g0 += kSumRows) {
    const int64_t g1 = std::min(i1, g0 + kSumRows);
    V s0 = V{}, s1 = V{};
    for (int64_t i = g0; i < g1; ++i) {
      T* mi = mb + (i - i0) * 2 * L;
      V m0, m1;
      if (FIRST) {
        const int64_t o = i * cols + j0;
        m0 = mask(dY + o, Z + o, cnt0);
        m1 = mask(dY + o + L, Z + o + L, cnt1);
        LT::store(mi, m0);
        LT::store(mi + L, m1);
        s0 = s0 + m0;
        s1 = s1 + m1;
      } else {
        m0 = LT::load(mi);
        m1 = LT::load(mi + L);
      }
      const T* x = X + i * N + K0;
#pragma GCC unroll 16
      for (int k = 0; k < KN; ++k) {
        a0[k] = fmadd_lanes(x[k], m0, a0[k]);
        a1[k] = fmadd_lanes(x[k], m1, a1[k]);
      }
    }
    if (FIRST) {
      __m256d w[NH];
      LT::widen(s0, w);
      for (int h = 0; h < NH; ++h) blk0[h] = _mm256_add_pd(blk0[h], w[h]);
      LT::widen(s1, w);
      for (int h = 0; h < NH; ++h) blk1[h] = _mm256_add_pd(blk1[h], w[h]);
    }
  }
#pragma GCC unroll 16
  for (int k = 0; k < KN; ++k) {
    LT::store(a0p + L * k, a0[k]);
    LT::store(a1p + L * k, a1[k]);
  }
}

// The end of the feature block that starts at K0: 5 features for the first pass (it carries S),
// then the rest in as few passes of at most 6 as possible, evenly split.
constexpr int fused_block_end(int N, int K0) {
  if (K0 == 0) return N < 5 ? N : 5;
  const int rest = N - K0, passes = (rest + 5) / 6;
  return K0 + (rest + passes - 1) / passes;
}

// The passes of one pair over rows [c0, c1) of a tile.
template <typename T, int ACT, int N, int K0, bool FULL>
inline void fused_passes(const T* dY, const T* Z, const T* X, int64_t cols, int64_t j0,
                         int64_t cnt0, int64_t cnt1, int64_t c0, int64_t c1, T* a0, T* a1,
                         __m256d* blk0, __m256d* blk1, T* mb) {
  constexpr int L = Lanes<T>::L, K1 = fused_block_end(N, K0);
  fused_rows<T, ACT, N, K0, K1, FULL, K0 == 0>(dY, Z, X, cols, j0, cnt0, cnt1, c0, c1,
                                               a0 + L * K0, a1 + L * K0, blk0, blk1, mb);
  if constexpr (K1 < N)
    fused_passes<T, ACT, N, K1, FULL>(dY, Z, X, cols, j0, cnt0, cnt1, c0, c1, a0, a1, blk0, blk1,
                                      mb);
}

// Rows per tile of the fused backward: every group's passes over a tile run while its dY and Z
// lines are in L1 (a 64-byte line holds two float groups). A multiple of kSumRows, so the S runs
// start where the epilogue's do.
constexpr int64_t kFusedRowTile = 64;

// Groups [g0, g1) of one thread (g0 even: pairs are aligned). Outputs as gmp_dense_backward's
// (each optional): dW (SP: D), dθ with gu (GmP: the scan of D with P started at r),
// dλ = r ⊙ S (r NULL: S) and S itself. With P = ⌈(g1 − g0) / 2⌉ pairs, acc: 2·P·N·L values,
// 32-byte aligned; sums: 4·P·NH double vectors.
template <typename T, int ACT, int N>
void fused_backward_range(T* dW, T* dtheta, T* dlambda, double* S, double* gu, const T* dY,
                          const T* Z, const T* X, const T* theta, const double* cache, const T* r,
                          int64_t rows, int64_t cols, int64_t g0, int64_t g1, T* acc,
                          __m256d* sums, double* scratch) {
  typedef Lanes<T> LT;
  constexpr int L = LT::L, NH = LT::NH;
  const int64_t ng = g1 - g0, npair = (ng + 1) / 2;
  const Tiling tl = make_tiling(rows, cols);
  std::fill(acc, acc + 2 * npair * N * L, T(0));
  __m256d* sum = sums;                // [2·npair][NH]: Σ over row blocks
  __m256d* blk = sums + 2 * npair * NH;  // [2·npair][NH]: this row block's partial
  for (int64_t q = 0; q < 2 * npair * NH; ++q) sum[q] = _mm256_setzero_pd();
  auto cnt_of = [&](int64_t gi) { return std::min<int64_t>(L, cols - (g0 + gi) * L); };
  alignas(32) T mb[kFusedRowTile * 2 * L];  // one tile's m of a pair
  // S as epilogue_backward_impl forms it: storage-type sums over kSumRows rows, folded into a
  // double partial per row block, the blocks' partials added in order.
  for (int64_t b0 = 0; b0 < rows; b0 += tl.brows) {
    const int64_t b1 = std::min(rows, b0 + tl.brows);
    for (int64_t q = 0; q < 2 * npair * NH; ++q) blk[q] = _mm256_setzero_pd();
    for (int64_t c0 = b0; c0 < b1; c0 += kFusedRowTile) {
      const int64_t c1 = std::min(b1, c0 + kFusedRowTile);
      for (int64_t p = 0; p < npair; ++p) {
        const int64_t gi = 2 * p, j0 = (g0 + gi) * L, cnt0 = cnt_of(gi);
        const int64_t cnt1 = gi + 1 < ng ? cnt_of(gi + 1) : 0;
        T* a0 = acc + gi * N * L;
        if (cnt0 == L && cnt1 == L)
          fused_passes<T, ACT, N, 0, true>(dY, Z, X, cols, j0, cnt0, cnt1, c0, c1, a0, a0 + N * L,
                                           blk + gi * NH, blk + (gi + 1) * NH, mb);
        else
          fused_passes<T, ACT, N, 0, false>(dY, Z, X, cols, j0, cnt0, cnt1, c0, c1, a0,
                                            a0 + N * L, blk + gi * NH, blk + (gi + 1) * NH, mb);
      }
    }
    for (int64_t q = 0; q < 2 * npair * NH; ++q) sum[q] = _mm256_add_pd(sum[q], blk[q]);
  }
  for (int64_t gi = 0; gi < ng; ++gi) {
    const int64_t j0 = (g0 + gi) * L, cnt = cnt_of(gi);
    T* a = acc + gi * N * L;
    alignas(32) double sd[L];
    for (int h = 0; h < NH; ++h) _mm256_store_pd(sd + 4 * h, sum[gi * NH + h]);
    for (int64_t l = 0; l < cnt; ++l) {
      if (S) S[j0 + l] = sd[l];
      if (dlambda) dlambda[j0 + l] = (T)(r ? sd[l] * (double)r[j0 + l] : sd[l]);
    }
    if constexpr (std::is_same<T, float>::value && N - 1 <= kFloatScanMax) {
      // float32 with the cache: a pair's two scans together (gi even: pairs start there), once
      // the second group's S and dλ are out too.
      if (dtheta && cache && gi % 2 == 0 && gi + 1 < ng) {
        const int64_t j1 = j0 + L, cnt1 = cnt_of(gi + 1);
        for (int h = 0; h < NH; ++h) _mm256_store_pd(sd + 4 * h, sum[(gi + 1) * NH + h]);
        for (int64_t l = 0; l < cnt1; ++l) {
          if (S) S[j1 + l] = sd[l];
          if (dlambda) dlambda[j1 + l] = (T)(r ? sd[l] * (double)r[j1 + l] : sd[l]);
        }
        direction_backward_pair_f32<N - 1>(dtheta, j0, cnt, cnt1, cache + cache_offset(j0 / L, N),
                                           cache + cache_offset(j1 / L, N), r, gu, a, a + N * L);
        ++gi;
        continue;
      }
    }
    if (dtheta) {
      // D as it stands: n vectors of L lanes, the scan's [k][lane] (§4).
      direction_backward_group<T, N - 1>(dtheta, nullptr, theta, j0, cnt, N, scratch,
                                  cache ? cache + cache_offset(j0 / L, N) : nullptr, r, gu, a);
      continue;
    }
    const Rows<T> w = group_rows<T>(dW, j0, cnt, N);
    constexpr int NB = N & ~(L - 1);
    for (int k0 = 0; k0 < NB; k0 += L) {
      typename LT::V v[L];
      for (int l = 0; l < L; ++l) v[l] = LT::load(a + L * (k0 + l));
      store_block<T>(w, cnt, k0, v);
    }
    for (int k = NB; k < N; ++k) store_col<T>(w, cnt, k, LT::load(a + L * k));
  }
}

template <typename T, int ACT, int N>
gmpnn_status fused_backward_groups(T* dW, T* dtheta, T* dlambda, double* S, double* gu,
                                   const T* dY, const T* Z, const T* X, const T* theta,
                                   const double* cache, const T* r, int64_t rows, int64_t cols) {
  constexpr int64_t L = Lanes<T>::L, NH = Lanes<T>::NH;
  const int64_t ng = (cols + L - 1) / L, npair = (ng + 1) / 2;
  const bool par = npair > 1 && rows * cols * N >= 128 * kParallelGrain;
  bool oom = false;
  parallel_region(par, [&] {
    // Whole pairs per thread.
    const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t per = (npair + nt - 1) / nt, p0 = std::min(npair, t * per),
                  p1 = std::min(npair, p0 + per);
    if (p0 >= p1) return;
    const int64_t g0 = 2 * p0, g1 = std::min(ng, 2 * p1), npr = p1 - p0;
    // Accumulators and sums: on the stack for up to 8 pairs (128 float or 64 double units).
    constexpr int64_t kStackPairs = 8;
    alignas(32) T acc_small[kStackPairs * 2 * N * L];
    alignas(32) double sums_small[kStackPairs * 4 * NH * 4];
    alignas(32) double scratch[bwd_scratch_doubles<T>(kFusedBackwardMaxN - 1)];
    std::unique_ptr<double[]> heap;
    T* acc = acc_small;
    double* sums = sums_small;
    if (npr > kStackPairs) {
      const int64_t acc_doubles = (npr * 2 * N * L * (int64_t)sizeof(T) + 7) / 8;
      heap.reset(new (std::nothrow) double[(size_t)(acc_doubles + npr * 4 * NH * 4 + 8)]);
      if (!heap) {
#pragma omp atomic write
        oom = true;
        return;
      }
      double* base = (double*)(((uintptr_t)heap.get() + 31) & ~(uintptr_t)31);
      acc = reinterpret_cast<T*>(base);
      sums = base + ((acc_doubles + 3) & ~int64_t(3));
    }
    fused_backward_range<T, ACT, N>(dW, dtheta, dlambda, S, gu, dY, Z, X, theta, cache, r, rows,
                                    cols, g0, g1, acc, reinterpret_cast<__m256d*>(sums), scratch);
  });
  if (oom)
    return gmpnn_set_error(GMPNN_E_OOM,
                           "gmp_dense_backward: scratch allocation failed (%lld units)",
                           (long long)cols);
  return GMPNN_OK;
}

// The fused backward when it applies (returns false otherwise, nothing written; *st its status
// when it ran): no dX, 2 ≤ n ≤ kFusedBackwardMaxN, rows > 0; either GmP's dθ (theta given) or
// SP's dW (theta and r NULL).
template <typename T>
bool fused_backward(gmpnn_status* st, int act, T* dW, T* dtheta, T* dlambda, double* S,
                    double* gu, const T* dY, const T* Z, const T* X, const T* theta,
                    const double* cache, const T* r, int64_t rows, int64_t n, int64_t cols) {
  if (n < 2 || n > kFusedBackwardMaxN || rows <= 0 || cols <= 0) return false;
  if (theta ? !dtheta : (r || !dW)) return false;
  auto go = [&](auto act_c, auto n_c) {
    *st = fused_backward_groups<T, decltype(act_c)::value, decltype(n_c)::value>(
        dW, dtheta, dlambda, S, gu, dY, Z, X, theta, cache, r, rows, cols);
  };
  auto with_n = [&](auto act_c) {
    switch (n) {
#define GMPNN_FUSED_N(k) \
  case k: go(act_c, std::integral_constant<int, k>{}); break;
      GMPNN_FUSED_N(2) GMPNN_FUSED_N(3) GMPNN_FUSED_N(4) GMPNN_FUSED_N(5) GMPNN_FUSED_N(6)
      GMPNN_FUSED_N(7) GMPNN_FUSED_N(8) GMPNN_FUSED_N(9) GMPNN_FUSED_N(10) GMPNN_FUSED_N(11)
      GMPNN_FUSED_N(12) GMPNN_FUSED_N(13) GMPNN_FUSED_N(14) GMPNN_FUSED_N(15) GMPNN_FUSED_N(16)
#undef GMPNN_FUSED_N
    }
  };
  if (act == GMPNN_ACT_RELU)
    with_n(std::integral_constant<int, GMPNN_ACT_RELU>{});
  else
    with_n(std::integral_constant<int, GMPNN_ACT_IDENTITY>{});
  return true;
}
#else
template <typename T>
bool fused_backward(gmpnn_status*, int, T*, T*, T*, double*, double*, const T*, const T*,
                    const T*, const T*, const double*, const T*, int64_t, int64_t, int64_t) {
  return false;
}
#endif  // GMPNN_SIMD_SINCOS

// Whether every r_j is positive and finite (no early exit: a loop the compiler vectorizes).
template <typename T>
bool all_positive_finite(const T* r, int64_t cols) {
  int bad = 0;
  for (int64_t j = 0; j < cols; ++j)
    bad |= !(r[j] > T(0)) | (r[j] > std::numeric_limits<T>::max());
  return bad == 0;
}

// Whether gmp_dense_backward takes what it needs of z from Y instead of Z (gmp.h): without r,
// Y = act(Z) holds all of it (the ReLU mask, and act(z) for dr); with r it reads only the ReLU
// mask (dr is Σ_k D_k·W_k + λ·S), which the sign of Y = r ⊙ act(z) gives where every r_j is
// positive and finite (r_positive); identity reads nothing. The fused forwards then leave Z
// unwritten: a 455×13→100 float64 step moves 364 KB less, and the backward reads the Y that the
// next layer has just read (its SP step 2–3 % faster in a quiet phase of the development VM,
// ~12 % in a slow one: bench/RESULTS.md).
inline bool dense_backward_reads_y(int act, bool has_r, bool r_positive) {
  return !has_r || act == GMPNN_ACT_IDENTITY || r_positive;
}
// The same from r itself (the positivity scan only where it decides), for the dense forward and
// the backward; gmp_dense_forward_theta passes the positivity its fold check already has.
template <typename T>
bool dense_backward_reads_y(int act, const T* r, int64_t cols) {
  return dense_backward_reads_y(act, r != nullptr,
                                r && act != GMPNN_ACT_IDENTITY && all_positive_finite(r, cols));
}

// r, or (r == NULL: the SP/WN bias epilogue, r = 1) a thread-local row of ones of length cols.
template <typename T>
const T* radius_or_ones(const void* r, int64_t cols) {
  if (r) return (const T*)r;
  thread_local std::vector<T> ones;
  if ((int64_t)ones.size() < cols) ones.assign((size_t)cols, T(1));
  return ones.data();
}

gmpnn_status check_epilogue(const char* op, int64_t rows, int64_t cols, int act) {
  if (rows < 0 || cols < 0)
    return gmpnn_set_error(GMPNN_E_ARG, "%s: rows and cols must be >= 0 (got %lld x %lld)", op,
                           (long long)rows, (long long)cols);
  if (act != GMPNN_ACT_IDENTITY && act != GMPNN_ACT_RELU)
    return gmpnn_set_error(GMPNN_E_ARG, "%s: act must be 0 (identity) or 1 (relu), got %d", op,
                           act);
  return GMPNN_OK;
}

}  // namespace

namespace gmpnn_cpu {
namespace {
// The kernels' sin/cos pass over any n (the tail padded, so every element goes through it);
// std::sin / std::cos rounded to T without AVX2.
template <typename T>
void sincos_entry(const T* x, T* s, T* c, int64_t n) {
#if GMPNN_SIMD_SINCOS
  constexpr int64_t L = Lanes<T>::L;
  const int64_t nL = n & ~(L - 1);
  sincos_lanes<T>(x, s, c, nL);
  if (nL < n) {
    alignas(32) T xs[L] = {}, ss[L], cs[L];
    std::copy(x + nL, x + n, xs);
    sincos_lanes<T>(xs, ss, cs, L);
    std::copy(ss, ss + (n - nL), s + nL);
    std::copy(cs, cs + (n - nL), c + nL);
  }
#else
  for (int64_t i = 0; i < n; ++i) {
    s[i] = (T)std::sin((double)x[i]);
    c[i] = (T)std::cos((double)x[i]);
  }
#endif
}
}  // namespace
void sincos_f64(const double* x, double* s, double* c, int64_t n) { sincos_entry(x, s, c, n); }
void sincos_f32(const float* x, float* s, float* c, int64_t n) { sincos_entry(x, s, c, n); }
}  // namespace gmpnn_cpu

#define GMP_REQUIRE(ptr, op)                                                            \
  do {                                                                                  \
    if (!(ptr)) return gmpnn_set_error(GMPNN_E_ARG, "%s: %s is NULL", op, #ptr);       \
  } while (0)

// gmp_direction_backward with an optional sin/cos cache, dθ scaled by r and g·u out (each
// optional; gmp_dense_backward passes them).
static gmpnn_status direction_backward_entry(gmpnn_dtype dt, void* dtheta, const void* dU,
                                             const void* theta, const double* cache, int64_t m,
                                             int64_t n, const void* r = nullptr,
                                             double* gu = nullptr) {
  const char* op = "gmp_direction_backward";
  gmpnn_status st = check_direction(op, m, n);
  if (st != GMPNN_OK) return st;
  if (m == 0) return GMPNN_OK;
  GMP_REQUIRE(dtheta, op);
  GMP_REQUIRE(dU, op);
  GMP_REQUIRE(theta, op);
  GMPNN_DISPATCH_FLOAT(dt, op,
                       return direction_backward_impl<T>((T*)dtheta, (const T*)dU,
                                                         (const T*)theta, m, n, cache,
                                                         (const T*)r, gu));
}

extern "C" gmpnn_status gmpnn_cpu_gmp_direction_forward(gmpnn_dtype dt, void* U,
                                                        const void* theta, int64_t m, int64_t n) {
  return gmpnn_cpu_gmp_direction_forward_cached(dt, U, nullptr, theta, m, n);
}

extern "C" gmpnn_status gmpnn_cpu_gmp_direction_forward_cached(gmpnn_dtype dt, void* U,
                                                               double* cache, const void* theta,
                                                               int64_t m, int64_t n) {
  const char* op = "gmp_direction_forward";
  gmpnn_status st = check_direction(op, m, n);
  if (st != GMPNN_OK) return st;
  if (m == 0) return GMPNN_OK;
  GMP_REQUIRE(U, op);
  GMP_REQUIRE(theta, op);
  GMPNN_DISPATCH_FLOAT(dt, op,
                       return direction_forward_impl<T>((T*)U, (const T*)theta, m, n, cache));
}

extern "C" gmpnn_status gmpnn_cpu_gmp_direction_backward(gmpnn_dtype dt, void* dtheta,
                                                         const void* dU, const void* theta,
                                                         int64_t m, int64_t n) {
  return direction_backward_entry(dt, dtheta, dU, theta, nullptr, m, n);
}

extern "C" gmpnn_status gmpnn_cpu_gmp_direction_inverse(gmpnn_dtype dt, void* theta, void* r,
                                                        const void* W, int64_t m, int64_t n,
                                                        int abs_last) {
  const char* op = "gmp_direction_inverse";
  gmpnn_status st = check_direction(op, m, n);
  if (st != GMPNN_OK) return st;
  if (m == 0) return GMPNN_OK;
  GMP_REQUIRE(theta, op);
  GMP_REQUIRE(r, op);
  GMP_REQUIRE(W, op);
  GMPNN_DISPATCH_FLOAT(dt, op,
                       return direction_inverse_impl<T>((T*)theta, (T*)r, (const T*)W, m, n,
                                                        abs_last));
}

extern "C" gmpnn_status gmpnn_cpu_gmp_epilogue_forward(gmpnn_dtype dt, void* Y, void* Z,
                                                       const void* lambda, const void* r,
                                                       int64_t rows, int64_t cols, int act) {
  const char* op = "gmp_epilogue_forward";
  gmpnn_status st = check_epilogue(op, rows, cols, act);
  if (st != GMPNN_OK) return st;
  if (rows == 0 || cols == 0) return GMPNN_OK;
  GMP_REQUIRE(Y, op);
  GMP_REQUIRE(Z, op);
  GMP_REQUIRE(lambda, op);
  GMPNN_DISPATCH_FLOAT(dt, op, {
    const T* rr = radius_or_ones<T>(r, cols);  // r NULL: r = 1 (the SP/WN bias epilogue)
    if (act == GMPNN_ACT_RELU)
      epilogue_forward_impl<T, GMPNN_ACT_RELU>((T*)Y, (T*)Z, (const T*)lambda, rr, rows, cols);
    else
      epilogue_forward_impl<T, GMPNN_ACT_IDENTITY>((T*)Y, (T*)Z, (const T*)lambda, rr, rows, cols);
    return GMPNN_OK;
  });
}

extern "C" gmpnn_status gmpnn_cpu_gmp_epilogue_backward(gmpnn_dtype dt, void* dZ, void* dlambda,
                                                        void* dr, const void* dY, const void* Z,
                                                        const void* r, int64_t rows, int64_t cols,
                                                        int act) {
  const char* op = "gmp_epilogue_backward";
  gmpnn_status st = check_epilogue(op, rows, cols, act);
  if (st != GMPNN_OK) return st;
  if (cols == 0) return GMPNN_OK;
  if (rows == 0) {
    // Empty sums: the column gradients are zero.
    GMPNN_DISPATCH_FLOAT(dt, op, {
      for (int64_t j = 0; j < cols; ++j) {
        if (dlambda) ((T*)dlambda)[j] = T(0);
        if (dr) ((T*)dr)[j] = T(0);
      }
      return GMPNN_OK;
    });
  }
  GMP_REQUIRE(dZ, op);
  GMP_REQUIRE(dY, op);
  GMP_REQUIRE(Z, op);
  // r NULL: r = 1 (the SP/WN bias epilogue), no scaling of dZ.
  GMPNN_DISPATCH_FLOAT(dt, op,
                       return epilogue_backward_any<T>(act, r != nullptr, (T*)dZ, (T*)dlambda,
                                                       nullptr, (T*)dr, (const T*)dY,
                                                       (const T*)Z, (const T*)r, rows, cols));
}

extern "C" gmpnn_status gmpnn_cpu_gmp_dense_forward(gmpnn_dtype dt, void* Y, void* Z, const void* X,
                                                    const void* W, const void* lambda,
                                                    const void* r, int64_t rows, int64_t n,
                                                    int64_t cols, int act) {
  const char* op = "gmp_dense_forward";
  gmpnn_status st = check_epilogue(op, rows, cols, act);
  if (st != GMPNN_OK) return st;
  if (n < 0) return gmpnn_set_error(GMPNN_E_ARG, "%s: n must be >= 0 (got %lld)", op, (long long)n);
  if (rows == 0 || cols == 0) return GMPNN_OK;
  GMP_REQUIRE(Y, op);
  GMP_REQUIRE(Z, op);
  GMP_REQUIRE(lambda, op);
  if (n > 0) {
    GMP_REQUIRE(X, op);
    GMP_REQUIRE(W, op);
  }
  GMPNN_DISPATCH_FLOAT(dt, op, {
    const bool write_z = !dense_backward_reads_y(act, (const T*)r, cols);
    if (n > 0 && gmpnn_cpu::dense_forward_fused<T>((T*)Y, (T*)Z, (const T*)X, (const T*)W,
                                                    (const T*)lambda, (const T*)r, rows, n, cols,
                                                    act, write_z))
      return GMPNN_OK;
    // Wide fan-in, Y alone: the blocked GEMM into Y with the epilogue on its tiles. Otherwise
    // (Z wanted too, gemm_small's shapes, n = 0) the GEMM into Z, then the epilogue pass: storing
    // Z and Y from the tiles measured slower than that pass (455x64x100, 76 against 72 µs).
    if (!write_z && gmpnn_cpu::dense_forward_blocked_applies(rows, n, cols))
      return gmpnn_cpu::dense_forward_blocked<T>((T*)Y, (const T*)X, (const T*)W, (const T*)lambda,
                                                 (const T*)r, rows, n, cols, act);
    st = gmpnn_cpu_gemm(dt, Z, X, W, 0, 1, rows, cols, n, n, n, cols, 1.0, 0.0);
    if (st != GMPNN_OK) return st;
    return gmpnn_cpu_gmp_epilogue_forward(dt, Y, Z, lambda, r, rows, cols, act);
  });
}

extern "C" gmpnn_status gmpnn_cpu_gmp_dense_forward_theta(gmpnn_dtype dt, void* Y, void* Z,
                                                          void* U, double* cache, const void* X,
                                                          const void* theta, const void* lambda,
                                                          const void* r, int64_t rows, int64_t n,
                                                          int64_t cols, int act) {
#if GMPNN_SIMD_SINCOS
  // Fan-in ≤ 16: u(θ) goes straight into the product's packed operand too (the GEMM skips its
  // pack of U). When every r_j is positive and finite, r is folded into the product (gmp.h):
  // r ⊙ act(x·u + λ) = act(x·(r ⊙ u) + r ⊙ λ) for ReLU and identity, so the packed operand holds
  // r ⊙ u(θ), λ becomes r ⊙ λ and the epilogue loses its multiply by r, one FP operation per
  // element of Y beside the product's K FMAs (455×13→100: 0.7 µs of ~15). Z would then be r ⊙ z,
  // of the same sign, but it is not written at all: the backward reads the sign from Y there
  // (dense_backward_reads_y). Otherwise the same values as the two calls below.
  if (n >= 2 && cols > 0 && gmpnn_cpu::dense_forward_packed_applies(rows, n) && theta && Y &&
      Z && X && lambda && check_epilogue("gmp_dense_forward", rows, cols, act) == GMPNN_OK) {
    GMPNN_DISPATCH_FLOAT(dt, "gmp_dense_forward", {
      T* bp = gmpnn_cpu::dense_pack_buffer<T>(gmpnn_cpu::dense_pack_len<T>(n, cols));
      const T* rp = (const T*)r;
      const T* lam = (const T*)lambda;
      const bool positive = r && all_positive_finite(rp, cols);
      bool fold = positive;
      thread_local std::vector<T> t_lambda;  // r ⊙ λ, kept between calls
      if (fold) {
        try {
          if ((int64_t)t_lambda.size() < cols) t_lambda.resize((size_t)cols);
          T* rl = t_lambda.data();
          for (int64_t j = 0; j < cols; ++j) rl[j] = rp[j] * lam[j];
        } catch (const std::bad_alloc&) {
          fold = false;
        }
      }
      if (bp) {
        direction_forward_impl<T>((T*)U, (const T*)theta, cols, n, cache, bp, fold ? rp : nullptr);
        return gmpnn_cpu::dense_forward_packed<T>(
            (T*)Y, (T*)Z, (const T*)X, bp, fold ? t_lambda.data() : lam, fold ? nullptr : rp, rows,
            n, cols, act, !dense_backward_reads_y(act, r != nullptr, positive));
      }
    });
  }
#endif
  // No U wanted: u(θ) into this thread's scratch for the product (kept between calls, as the
  // packed operand's is: no allocation per step).
  if (!U && cols > 0 && n > 0) {
    thread_local std::vector<double> t_u;
    try {
      const size_t len = (size_t)((cols * n * (dt == GMPNN_F32 ? 4 : 8) + 7) / 8);
      if (t_u.size() < len) t_u.resize(len);
    } catch (const std::bad_alloc&) {
      return gmpnn_set_error(GMPNN_E_OOM,
                             "gmp_dense_forward_theta: scratch for u(theta) (%lld x %lld)",
                             (long long)cols, (long long)n);
    }
    U = t_u.data();
  }
  gmpnn_status st = gmpnn_cpu_gmp_direction_forward_cached(dt, U, cache, theta, cols, n);
  if (st != GMPNN_OK) return st;
  return gmpnn_cpu_gmp_dense_forward(dt, Y, Z, X, U, lambda, r, rows, n, cols, act);
}

// gmp_dense_backward with a radius (§4), r kept out of the pass over the activations:
//   G' = dY ⊙ act'(Z), S = Σ_rows G'  (the SP pass: no ×r per element, no Σ dY·act(z))
//   dX = G'·(r ⊙ W), D = G'ᵀ·X, dU = r ⊙ D, dλ = r ⊙ S,
//   dr = Σ_rows G' ⊙ Z = D·w + λ·S   (z = x·w + λ, and act(z) = act'(z)·z for ReLU and identity)
// so what GmP adds to SP is O(cols·n), not O(rows·cols). With θ the reverse scan runs on D with
// its prefix products started at r (dθ of r ⊙ D) and its last R is D·u: dr costs nothing more.
// Without θ, D is the weight gradient (scaled by r in place) or scratch for dr. rows > 0.
template <typename T>
gmpnn_status dense_backward_radius(T* dX, T* dW, T* dtheta, T* dlambda, T* dr, T* dZ, const T* dY,
                                   const T* Z, const T* X, const T* W, const T* theta,
                                   const double* cache, const T* lambda, const T* r, int64_t rows,
                                   int64_t n, int64_t cols, int act) {
  const char* op = "gmp_dense_backward";
  // S and g·u per unit: on the stack for up to kSmallCols units (no allocation per step in the
  // MLPs), else on the heap.
  constexpr int64_t kSmallCols = 512;
  double small[2 * kSmallCols];
  std::vector<double> heap;
  std::vector<T> rW, Dscratch;
  double *S = nullptr, *gu = nullptr;
  try {
    if (dr) {
      if (cols > kSmallCols) heap.resize((size_t)(2 * cols));
      S = cols > kSmallCols ? heap.data() : small;
      gu = S + cols;
      std::fill(S, S + cols, 0.0);
    }
    if (dX && n > 0) rW.resize((size_t)(cols * n));
    if (dr && !dW) Dscratch.resize((size_t)(cols * n));
  } catch (const std::bad_alloc&) {
    return gmpnn_set_error(GMPNN_E_OOM, "%s: scratch allocation failed (%lld x %lld)", op,
                           (long long)cols, (long long)n);
  }
  // A first layer with a small fan-in (GmP): one pass over the activations (fused_backward);
  // otherwise the epilogue pass, the products and the scan.
  gmpnn_status st = GMPNN_OK;
  T* D = dW ? dW : Dscratch.data();
  const bool fused = !dX && dtheta &&
                     fused_backward<T>(&st, act, nullptr, dtheta, dlambda, S, gu, dY, Z, X, theta,
                                       cache, r, rows, n, cols);
  if (!fused) {
    st = epilogue_backward_any<T>(act, false, dZ, dlambda, S, nullptr, dY, Z, r, rows, cols);
    if (st != GMPNN_OK) return st;
    const gmpnn_dtype dt = sizeof(T) == 4 ? GMPNN_F32 : GMPNN_F64;
    if (dX && n > 0) {
      for (int64_t j = 0; j < cols; ++j) {
        const T rj = r[j];
        const T* w = W + j * n;
        T* o = rW.data() + j * n;
#pragma omp simd
        for (int64_t k = 0; k < n; ++k) o[k] = rj * w[k];
      }
      st = gmpnn_cpu_gemm(dt, dX, dZ, rW.data(), 0, 0, rows, n, cols, cols, n, n, 1.0, 0.0);
      if (st != GMPNN_OK) return st;
    }
    if ((dW || dr) && n > 0) {
      st = gmpnn_cpu_gemm(dt, D, dZ, X, 1, 0, cols, n, rows, cols, n, n, 1.0, 0.0);
      if (st != GMPNN_OK) return st;
    }
    if (dtheta)
      st = direction_backward_entry(dt, dtheta, D, theta, cache, cols, n, r, dr ? gu : nullptr);
  }
  if (st != GMPNN_OK) return st;
  if (dtheta) {
    if (dr)
      for (int64_t j = 0; j < cols; ++j)
        dr[j] = (T)(gu[(size_t)j] + (double)lambda[j] * S[(size_t)j]);
    return GMPNN_OK;
  }
  for (int64_t j = 0; j < cols; ++j) {
    T* d = D + j * n;
    if (dr) {
      const T* w = W + j * n;
      const double s = sum_in_double(0, n, [&](int64_t k) { return (double)d[k] * (double)w[k]; });
      dr[j] = (T)(s + (double)lambda[j] * S[(size_t)j]);
    }
    if (dW) {
      const T rj = r[j];
#pragma omp simd
      for (int64_t k = 0; k < n; ++k) d[k] *= rj;
    }
  }
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cpu_gmp_dense_backward(gmpnn_dtype dt, void* dX, void* dW, void* dtheta,
                                                     void* dlambda, void* dr, void* dZ,
                                                     const void* dY, const void* Z, const void* Y,
                                                     const void* X,
                                                     const void* W, const void* theta,
                                                     const double* cache, const void* lambda,
                                                     const void* r, int64_t rows, int64_t n,
                                                     int64_t cols, int act) {
  const char* op = "gmp_dense_backward";
  gmpnn_status st = check_epilogue(op, rows, cols, act);
  if (st != GMPNN_OK) return st;
  if (n < 0 || (theta && n < 2))
    return gmpnn_set_error(GMPNN_E_ARG, "%s: n must be >= %d (got %lld)", op, theta ? 2 : 0,
                           (long long)n);
  const bool want_dtheta = theta && dtheta;
  if (want_dtheta && !dW)
    return gmpnn_set_error(GMPNN_E_ARG, "%s: dtheta needs dW as scratch for dU", op);
  // What the backward reads of z: Z, or Y where that determines it (the fused forwards then left
  // Z unwritten).
  bool reads_y = true;
  GMPNN_DISPATCH_FLOAT(dt, op, { reads_y = dense_backward_reads_y(act, (const T*)r, cols); });
  const void* M = reads_y ? Y : Z;
  if (r) {
    if (cols == 0) return GMPNN_OK;
    if (dr) GMP_REQUIRE(lambda, op);
    // With theta, dW is dU (scratch) only when dθ is wanted.
    void* dWr = (!theta || want_dtheta) ? dW : nullptr;
    if (rows == 0) {
      // Empty sums: dλ, dr and dW are zero (dX is empty).
      GMPNN_DISPATCH_FLOAT(dt, op, {
        if (dlambda) std::fill((T*)dlambda, (T*)dlambda + cols, T(0));
        if (dr) std::fill((T*)dr, (T*)dr + cols, T(0));
        if (dWr) std::fill((T*)dWr, (T*)dWr + cols * n, T(0));
      });
    } else {
      GMP_REQUIRE(dZ, op);
      GMP_REQUIRE(dY, op);
      if (reads_y) GMP_REQUIRE(Y, op); else GMP_REQUIRE(Z, op);
      // W only for dX, and for dr without the scan (dr = Σ_k D_k·W_k + λ·S).
      if (n > 0 && (dX || (dr && !want_dtheta))) GMP_REQUIRE(W, op);
      if (n > 0 && (dX || dWr || dr)) GMP_REQUIRE(X, op);
      GMPNN_DISPATCH_FLOAT(dt, op, {
        return dense_backward_radius<T>(
            (T*)dX, (T*)dWr, want_dtheta ? (T*)dtheta : nullptr, (T*)dlambda, (T*)dr, (T*)dZ,
            (const T*)dY, (const T*)M, (const T*)X, (const T*)W, (const T*)theta, cache,
            (const T*)lambda, (const T*)r, rows, n, cols, act);
      });
    }
    // rows == 0: dθ of a zero dU.
    if (want_dtheta) return direction_backward_entry(dt, dtheta, dW, theta, cache, cols, n);
    return GMPNN_OK;
  }
  // r = 1 (SP/WN): G_Z, dλ, dr; then dX = G_Z·W and dW = G_Zᵀ·X (both zero when rows == 0), then
  // dθ. An SP first layer with a small fan-in takes the one-pass fused_backward. Y = act(Z) is
  // what is read of z here.
  if (rows > 0 && cols > 0) GMP_REQUIRE(Y, op);
  if (!dX && !dr && !theta && dW && rows > 0 && M && dY && X) {
    GMPNN_DISPATCH_FLOAT(dt, op, {
      gmpnn_status fst = GMPNN_OK;
      if (fused_backward<T>(&fst, act, (T*)dW, nullptr, (T*)dlambda, nullptr, nullptr,
                            (const T*)dY, (const T*)M, (const T*)X, nullptr, nullptr, nullptr, rows,
                            n, cols))
        return fst;
    });
  }
  st = gmpnn_cpu_gmp_epilogue_backward(dt, dZ, dlambda, dr, dY, M, r, rows, cols, act);
  if (st != GMPNN_OK) return st;
  if (dX && n > 0) {
    st = gmpnn_cpu_gemm(dt, dX, dZ, W, 0, 0, rows, n, cols, cols, n, n, 1.0, 0.0);
    if (st != GMPNN_OK) return st;
  }
  if (dW && (!theta || want_dtheta) && n > 0 && cols > 0) {
    st = gmpnn_cpu_gemm(dt, dW, dZ, X, 1, 0, cols, n, rows, cols, n, n, 1.0, 0.0);
    if (st != GMPNN_OK) return st;
  }
  if (want_dtheta) return direction_backward_entry(dt, dtheta, dW, theta, cache, cols, n);
  return GMPNN_OK;
}

// ------------------------------------------------------------------------ weight normalization
// gmp.h gmpnn_cpu_weight_norm_forward / _backward: one row per unit, sums in double
// (sum_in_double: an `omp simd` reduction of float terms into a double does not vectorize),
// results rounded once.
namespace {
template <typename T>
inline double row_dot(const T* a, const T* b, int64_t n) {
  return sum_in_double(0, n, [&](int64_t k) { return (double)a[k] * (double)b[k]; });
}

template <typename T>
void weight_norm_forward_impl(T* W, const T* v, const T* g, int64_t rows, int64_t n) {
  parallel_region(rows > 1 && rows * n >= kParallelGrain, [&] {
#pragma omp for schedule(static)
    for (int64_t j = 0; j < rows; ++j) {
      const T* vj = v + j * n;
      const double s = (double)g[j] / std::sqrt(row_dot(vj, vj, n));
      T* wj = W + j * n;
#pragma omp simd
      for (int64_t k = 0; k < n; ++k) wj[k] = (T)(s * (double)vj[k]);
    }
  });
}

template <typename T>
void weight_norm_backward_impl(T* dv, T* dg, const T* dW, const T* v, const T* g, int64_t rows,
                               int64_t n) {
  parallel_region(rows > 1 && rows * n >= kParallelGrain, [&] {
#pragma omp for schedule(static)
    for (int64_t j = 0; j < rows; ++j) {
      const T *vj = v + j * n, *dj = dW + j * n;
      const double ss = row_dot(vj, vj, n), t = row_dot(dj, vj, n), nu = std::sqrt(ss);
      if (dg) dg[j] = (T)(t / nu);
      if (dv) {
        const double s = (double)g[j] / nu, c = t / ss;
        T* o = dv + j * n;
#pragma omp simd
        for (int64_t k = 0; k < n; ++k) o[k] = (T)(s * ((double)dj[k] - c * (double)vj[k]));
      }
    }
  });
}

gmpnn_status check_weight_norm(const char* op, int64_t rows, int64_t n) {
  if (rows < 0 || n < 1)
    return gmpnn_set_error(GMPNN_E_ARG, "%s: need rows >= 0 and n >= 1 (got %lld, %lld)", op,
                           (long long)rows, (long long)n);
  return GMPNN_OK;
}
}  // namespace

extern "C" gmpnn_status gmpnn_cpu_weight_norm_forward(gmpnn_dtype dt, void* W, const void* v,
                                                      const void* g, int64_t rows, int64_t n) {
  const char* op = "weight_norm_forward";
  gmpnn_status st = check_weight_norm(op, rows, n);
  if (st != GMPNN_OK || rows == 0) return st;
  GMP_REQUIRE(W, op);
  GMP_REQUIRE(v, op);
  GMP_REQUIRE(g, op);
  GMPNN_DISPATCH_FLOAT(dt, op, {
    weight_norm_forward_impl<T>((T*)W, (const T*)v, (const T*)g, rows, n);
    return GMPNN_OK;
  });
}

extern "C" gmpnn_status gmpnn_cpu_weight_norm_backward(gmpnn_dtype dt, void* dv, void* dg,
                                                       const void* dW, const void* v,
                                                       const void* g, int64_t rows, int64_t n) {
  const char* op = "weight_norm_backward";
  gmpnn_status st = check_weight_norm(op, rows, n);
  if (st != GMPNN_OK || rows == 0 || (!dv && !dg)) return st;
  GMP_REQUIRE(dW, op);
  GMP_REQUIRE(v, op);
  GMP_REQUIRE(g, op);
  GMPNN_DISPATCH_FLOAT(dt, op, {
    weight_norm_backward_impl<T>((T*)dv, (T*)dg, (const T*)dW, (const T*)v, (const T*)g, rows, n);
    return GMPNN_OK;
  });
}
