// Internal helpers shared by the CPU kernels (not part of the C ABI).
#pragma once
#include <omp.h>

#include <cstdint>
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

#include "gmpnn/common.h"

namespace gmpnn_cpu {

// Sets flush-to-zero / denormals-are-zero for the lifetime of the scope and restores the caller's
// MXCSR afterwards: kernels enter it at the top of every parallel region (so each OpenMP worker
// flushes) without changing the arithmetic of the Node main thread outside the kernel.
class FtzScope {
 public:
#if defined(__x86_64__) || defined(_M_X64)
  FtzScope() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040); }
  ~FtzScope() { _mm_setcsr(saved_); }

 private:
  unsigned saved_;
#else
  FtzScope() {}
#endif
};

#if defined(__AVX2__)
// In-register transposes of a 4×4 double / 8×8 float block (rows in, columns out): the
// direction kernels' [unit][k] ↔ [k][lane] moves and the GEMM's packing of op(B) = Wᵀ.
inline void transpose4(__m256d& r0, __m256d& r1, __m256d& r2, __m256d& r3) {
  const __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
  const __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
  r0 = _mm256_permute2f128_pd(t0, t2, 0x20);
  r1 = _mm256_permute2f128_pd(t1, t3, 0x20);
  r2 = _mm256_permute2f128_pd(t0, t2, 0x31);
  r3 = _mm256_permute2f128_pd(t1, t3, 0x31);
}

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
#endif

// Σ_{i in [lo, hi)} term(i) in double with eight partial sums. Written out because GCC does not
// vectorize `#pragma omp simd reduction(+ : s)` when the double sum takes float terms (the loss
// forward ran at one element per add latency, 4× slower than this).
template <typename F>
inline double sum_in_double(int64_t lo, int64_t hi, F&& term) {
  double acc[8] = {};
  int64_t i = lo;
  for (; i + 8 <= hi; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += term(i + j);
  for (; i < hi; ++i) acc[0] += term(i);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// Runs body in an OpenMP team when par, else directly on the calling thread (an `omp parallel
// if(false)` region still costs about a microsecond in libgomp, a third of a small MLP kernel).
// body may contain orphaned `#pragma omp for` loops: outside a team they run serially. Called
// from inside another team (a kernel used by a threaded kernel), such a loop would bind to that
// team and hand iterations to threads that never reach it, so there body gets a team of its own.
template <typename F>
inline void parallel_region(bool par, F&& body) {
  if (par) {
#pragma omp parallel
    {
      FtzScope ftz;
      body();
    }
  } else if (omp_in_parallel()) {
#pragma omp parallel num_threads(1)
    {
      FtzScope ftz;
      body();
    }
  } else {
    FtzScope ftz;
    body();
  }
}

// Below this much work (elements or flops) a kernel stays on the calling thread: waking the
// OpenMP team costs microseconds, more than small MLP layers take.
constexpr int64_t kParallelGrain = 1 << 15;

// Rows a column sum adds up in the storage type before its running sums in double take them (the
// dense epilogue's dλ and S, the normalizations' statistics): float32 stays eight lanes wide and
// the long sums stay in double at 1/kSumRows of the cost; a group sum adds a relative error of
// ~kSumRows·eps.
constexpr int64_t kSumRows = 16;

}  // namespace gmpnn_cpu

// Runs `body` with T = float or double according to dt; returns GMPNN_E_DTYPE otherwise.
// A #pragma cannot sit inside a macro argument: put OpenMP loops in a template function and
// call it from the body.
#define GMPNN_DISPATCH_FLOAT(dt, opname, ...)                                              \
  do {                                                                                     \
    if ((dt) == GMPNN_F32) {                                                               \
      using T = float;                                                                     \
      __VA_ARGS__;                                                                         \
    } else if ((dt) == GMPNN_F64) {                                                        \
      using T = double;                                                                    \
      __VA_ARGS__;                                                                         \
    } else {                                                                               \
      return gmpnn_set_error(GMPNN_E_DTYPE, "%s: unsupported dtype %d", opname, (int)(dt)); \
    }                                                                                      \
  } while (0)
