// CUDA parity tests for the random fills (gmpnn/rng.h): the same (seed, offset) must give the
// same numbers on CPU and GPU (shared Philox, double arithmetic on both sides), for uniform and
// normal draws, odd sizes and offsets that are not multiples of the Philox block (4) or the
// Box–Muller pair (2), including an offset above 2^32. Outputs start as NaN.
#include "gmpnn/rng.h"
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
void run_rng() {
  const int64_t sizes[] = {1, 3, 1000, 4097};
  const uint64_t offsets[] = {0, 1, 5, (1ull << 33) + 3};
  const uint64_t seeds[] = {0, 42, 0x9E3779B97F4A7C15ull};
  // libm and CUDA's log/sin/cos may differ in the last bit of a double.
  const double t = sizeof(T) == 4 ? 1e-6 : 1e-13;
  for (uint64_t seed : seeds)
    for (uint64_t off : offsets)
      for (int64_t n : sizes) {
        std::vector<T> wu = nans<T>((size_t)n), wn = nans<T>((size_t)n);
        CHECK_OK(gmpnn_cpu_rng_uniform(dtype_of<T>(), wu.data(), n, seed, off, -2.0, 3.0));
        CHECK_OK(gmpnn_cpu_rng_normal(dtype_of<T>(), wn.data(), n, seed, off, 0.5, 2.0));
        Dev<T> du(nans<T>((size_t)n)), dn(nans<T>((size_t)n));
        CHECK_OK(gmpnn_cuda_rng_uniform(dtype_of<T>(), du.p, n, seed, off, -2.0, 3.0));
        CHECK_OK(gmpnn_cuda_rng_normal(dtype_of<T>(), dn.p, n, seed, off, 0.5, 2.0));
        std::string what = "seed=" + std::to_string(seed) + " offset=" + std::to_string(off) +
                           " n=" + std::to_string(n);
        CHECK_CLOSE(("uniform " + what).c_str(), du.down().data(), wu.data(), (size_t)n, t, t);
        CHECK_CLOSE(("normal " + what).c_str(), dn.down().data(), wn.data(), (size_t)n, t, t);
      }
}

}  // namespace
#endif

GMPNN_TEST(rng_cuda_parity) { CUDA_TEST_BODY(run_rng<float>(); run_rng<double>()); }
