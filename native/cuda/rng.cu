// CUDA random fills (gmpnn/rng.h) from the shared Philox4x32-10 of gmpnn/philox.h, so CPU and GPU
// draw the same numbers: element i of the output is stream element offset + i of `seed`.
// Uniform: low + (high - low)·U; normal: mean + std·N (Box–Muller), both in double as on the CPU,
// rounded once to the output dtype.
//
// Launch: one grid-stride pass, 256 threads per block; each thread computes one Philox block per
// element (the generator is counter-based, so no state and no ordering between threads).
#include <cmath>

#include "common.cuh"
#include "gmpnn/philox.h"
#include "gmpnn/rng.h"

namespace {

using namespace gmpnn_cuda;

template <typename T>
__global__ void uniform_kernel(T* __restrict__ out, int64_t n, uint64_t seed, uint64_t offset,
                               double low, double high) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    out[i] = (T)(low + (high - low) * gmpnn_philox_uniform(seed, offset + (uint64_t)i));
}

template <typename T>
__global__ void normal_kernel(T* __restrict__ out, int64_t n, uint64_t seed, uint64_t offset,
                              double mean, double std) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    out[i] = (T)(mean + std * gmpnn_philox_normal(seed, offset + (uint64_t)i));
}

}  // namespace

extern "C" gmpnn_status gmpnn_cuda_rng_uniform(gmpnn_dtype dt, void* out, int64_t n, uint64_t seed,
                                               uint64_t offset, double low, double high) {
  const char* name = "gmpnn_cuda_rng_uniform";
  GMPNN_CUDA_REQUIRE(n >= 0, GMPNN_E_ARG, "%s: negative size", name);
  if (n == 0) return GMPNN_OK;
  GMPNN_CUDA_REQUIRE(out, GMPNN_E_ARG, "%s: NULL pointer", name);
  GMPNN_CUDA_STREAM(name);
  GMPNN_CUDA_DISPATCH(dt, name,
                      uniform_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(
                          (T*)out, n, seed, offset, low, high));
  GMPNN_CUDA_LAUNCHED(name);
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_rng_normal(gmpnn_dtype dt, void* out, int64_t n, uint64_t seed,
                                              uint64_t offset, double mean, double std) {
  const char* name = "gmpnn_cuda_rng_normal";
  GMPNN_CUDA_REQUIRE(n >= 0, GMPNN_E_ARG, "%s: negative size", name);
  if (n == 0) return GMPNN_OK;
  GMPNN_CUDA_REQUIRE(out, GMPNN_E_ARG, "%s: NULL pointer", name);
  GMPNN_CUDA_STREAM(name);
  GMPNN_CUDA_DISPATCH(dt, name,
                      normal_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(
                          (T*)out, n, seed, offset, mean, std));
  GMPNN_CUDA_LAUNCHED(name);
  return GMPNN_OK;
}
