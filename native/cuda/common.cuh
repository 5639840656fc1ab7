// Internal helpers shared by the CUDA kernels (not part of the C ABI): the one stream, CUDA error
// -> gmpnn_status conversion, dtype dispatch, grid-size helpers and warp/block reductions.
//
// Error rule: no CUDA call aborts. Every runtime call goes through GMPNN_CUDA_TRY, every launch
// is followed by GMPNN_CUDA_LAUNCHED, and both return a gmpnn_status (GMPNN_E_OOM for
// cudaErrorMemoryAllocation, GMPNN_E_NO_DEVICE for "no driver / no device", else GMPNN_E_CUDA)
// with the CUDA error text recorded by gmpnn_set_error.
#pragma once
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "gmpnn/common.h"

namespace gmpnn_cuda {

// The one stream all gmpnn CUDA work is queued on, created on first use (never at static
// initialization). Returns a non-OK status (with text) when no device answers.
gmpnn_status get_stream(cudaStream_t* stream, const char* op);

// Converts a CUDA error into a status and records "<op>: <what> failed: <error text> (code)".
gmpnn_status cuda_status(cudaError_t err, const char* op, const char* what);

// Scratch memory from the caching allocator (freed blocks stay stream-ordered on the one stream,
// so a block may be handed back while kernels using it are still queued).
gmpnn_status scratch_alloc(void** ptr, size_t bytes, const char* op);
void scratch_free(void* ptr);

constexpr int kThreads = 256;  // default block size of the elementwise kernels

// Blocks for a grid-stride loop over n items: enough to fill any card, never more than needed.
inline unsigned grid_for(int64_t n, int threads = kThreads) {
  int64_t b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  if (b > 65536) b = 65536;
  return (unsigned)b;
}

// ----------------------------------------------------------------------------- reductions
template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  return v;  // lane 0 holds the sum
}

// Sum over the block (blockDim.x a multiple of 32, <= 1024); result valid in thread 0.
// Deterministic: fixed tree for a fixed block size.
template <typename T>
__device__ T block_sum(T v) {
  __shared__ T partial[32];
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // partial may still be read by a previous call
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  int nwarps = (blockDim.x + 31) >> 5;
  v = (threadIdx.x < nwarps) ? partial[threadIdx.x] : T(0);
  if (warp == 0) v = warp_sum(v);
  return v;
}

}  // namespace gmpnn_cuda

// Returns from the calling function with a status when a CUDA runtime call fails.
#define GMPNN_CUDA_TRY(op, expr)                                          \
  do {                                                                    \
    cudaError_t err_ = (expr);                                            \
    if (err_ != cudaSuccess) return gmpnn_cuda::cuda_status(err_, op, #expr); \
  } while (0)

// After a kernel launch: reports launch-configuration errors (and earlier asynchronous errors).
#define GMPNN_CUDA_LAUNCHED(op) GMPNN_CUDA_TRY(op, cudaGetLastError())

// Declares `cudaStream_t stream` for the kernel entry `op`, or returns the device error.
#define GMPNN_CUDA_STREAM(op)                                              \
  cudaStream_t stream = nullptr;                                           \
  do {                                                                     \
    gmpnn_status st_ = gmpnn_cuda::get_stream(&stream, op);                \
    if (st_ != GMPNN_OK) return st_;                                       \
  } while (0)

// Runs `body` with T = float or double according to dt; returns GMPNN_E_DTYPE otherwise.
#define GMPNN_CUDA_DISPATCH(dt, opname, ...)                                                 \
  do {                                                                                       \
    if ((dt) == GMPNN_F32) {                                                                 \
      using T = float;                                                                       \
      __VA_ARGS__;                                                                           \
    } else if ((dt) == GMPNN_F64) {                                                          \
      using T = double;                                                                      \
      __VA_ARGS__;                                                                           \
    } else {                                                                                 \
      return gmpnn_set_error(GMPNN_E_DTYPE, "%s: unsupported dtype %d", opname, (int)(dt));   \
    }                                                                                        \
  } while (0)

#define GMPNN_CUDA_REQUIRE(cond, code, ...) \
  do {                                      \
    if (!(cond)) return gmpnn_set_error(code, __VA_ARGS__); \
  } while (0)
