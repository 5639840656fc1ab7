// Random fills on the CPU from the shared Philox generator (gmpnn/rng.h, gmpnn/philox.h).
#include <cmath>

#include "cpu_util.h"
#include "gmpnn/philox.h"
#include "gmpnn/rng.h"

namespace {

template <typename T>
void uniform_impl(T* o, int64_t n, uint64_t seed, uint64_t offset, double low, double high) {
  gmpnn_cpu::parallel_region(n >= gmpnn_cpu::kParallelGrain, [&] {
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i)
      o[i] = (T)(low + (high - low) * gmpnn_philox_uniform(seed, offset + (uint64_t)i));
  });
}

template <typename T>
void normal_impl(T* o, int64_t n, uint64_t seed, uint64_t offset, double mean, double std) {
  gmpnn_cpu::parallel_region(n >= gmpnn_cpu::kParallelGrain, [&] {
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i)
      o[i] = (T)(mean + std * gmpnn_philox_normal(seed, offset + (uint64_t)i));
  });
}

}  // namespace

extern "C" gmpnn_status gmpnn_cpu_rng_uniform(gmpnn_dtype dt, void* out, int64_t n, uint64_t seed,
                                              uint64_t offset, double low, double high) {
  if (n < 0) return gmpnn_set_error(GMPNN_E_ARG, "rng_uniform: negative size");
  GMPNN_DISPATCH_FLOAT(dt, "rng_uniform",
                       uniform_impl<T>((T*)out, n, seed, offset, low, high);
                       return GMPNN_OK);
}

extern "C" gmpnn_status gmpnn_cpu_rng_normal(gmpnn_dtype dt, void* out, int64_t n, uint64_t seed,
                                             uint64_t offset, double mean, double std) {
  if (n < 0) return gmpnn_set_error(GMPNN_E_ARG, "rng_normal: negative size");
  GMPNN_DISPATCH_FLOAT(dt, "rng_normal",
                       normal_impl<T>((T*)out, n, seed, offset, mean, std);
                       return GMPNN_OK);
}
