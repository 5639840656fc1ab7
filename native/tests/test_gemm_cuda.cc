// CUDA parity tests for GEMM (gmpnn/gemm.h) against the CPU reference (triple loop, double
// accumulation): every transpose combination, sizes of 1, primes and non-multiples of both CUDA
// tile configurations (64 x 64 x 16 and, for float32 from 128 x 128, 128 x 128 x 8), padded
// leading dimensions (padding must stay untouched), alpha/beta combinations, beta == 0 over a
// NaN-poisoned C (must not propagate) and K == 0 (C scaled by beta).
#include "gmpnn/gemm.h"
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "gmpnn/device.h"
#include "harness.h"

#include "cuda_test_util.h"
#ifdef GMPNN_WITH_CUDA
namespace {

template <typename T>
void run_gemm() {
  Rand rng(7 + sizeof(T));
  const int64_t sizes[][3] = {{1, 1, 1},    {1, 7, 3},     {17, 1, 5},    {64, 64, 16},
                              {65, 63, 17}, {127, 129, 31}, {128, 128, 8}, {257, 131, 67},
                              {3, 5, 0},    {130, 200, 1}, {33, 300, 129}};
  const double ab[][2] = {{1.0, 0.0}, {0.5, -1.5}, {-2.0, 1.0}};
  const T kPad = T(12345);
  for (const auto& s : sizes) {
    const int64_t M = s[0], N = s[1], K = s[2];
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (const auto& albe : ab)
          for (int pad = 0; pad < 2; ++pad) {
            const int64_t lda = (ta ? M : K) + 3 * pad, ldb = (tb ? K : N) + 2 * pad,
                          ldc = N + 5 * pad;
            const int64_t arows = ta ? K : M, brows = tb ? N : K;
            std::vector<T> A = rng.vec<T>((size_t)(arows * lda)),
                           B = rng.vec<T>((size_t)(brows * ldb));
            std::vector<T> C((size_t)(M * ldc), kPad);
            for (int64_t i = 0; i < M; ++i)
              for (int64_t j = 0; j < N; ++j)
                C[(size_t)(i * ldc + j)] = albe[1] == 0.0 ? std::numeric_limits<T>::quiet_NaN()
                                                          : (T)rng.uniform();
            std::vector<T> want = C;
            CHECK_OK(gmpnn_cpu_gemm_reference(dtype_of<T>(), want.data(), A.data(), B.data(), ta,
                                              tb, M, N, K, lda, ldb, ldc, albe[0], albe[1]));
            Dev<T> dA(A), dB(B), dC(C);
            CHECK_OK(gmpnn_cuda_gemm(dtype_of<T>(), dC.p, dA.p, dB.p, ta, tb, M, N, K, lda, ldb,
                                     ldc, albe[0], albe[1]));
            std::vector<T> got = dC.down();
            for (T v : got) CHECK(!std::isnan(v));
            char what[160];
            std::snprintf(what, sizeof what, "gemm M=%lld N=%lld K=%lld ta=%d tb=%d a=%g b=%g pad=%d",
                          (long long)M, (long long)N, (long long)K, ta, tb, albe[0], albe[1], pad);
            // Float accumulation on the GPU against a double reference: error grows with K.
            const double atol = tol<T>() * (1.0 + std::sqrt((double)K)) * 2;
            CHECK_CLOSE(what, got.data(), want.data(), got.size(), atol, tol<T>());
          }
  }
  // M == 0 / N == 0 are no-ops; bad leading dimensions are refused.
  Dev<T> d(16);
  CHECK_OK(gmpnn_cuda_gemm(dtype_of<T>(), d.p, d.p, d.p, 0, 0, 0, 4, 4, 4, 4, 4, 1.0, 0.0));
  CHECK(gmpnn_cuda_gemm(dtype_of<T>(), d.p, d.p, d.p, 0, 0, 4, 4, 4, 3, 4, 4, 1.0, 0.0) ==
        GMPNN_E_ARG);
}

}  // namespace
#endif

GMPNN_TEST(gemm_cuda_parity) { CUDA_TEST_BODY(run_gemm<float>(); run_gemm<double>()); }
