// CUDA reductions over the middle axis of an [outer, R, inner] view (gmpnn/reduce.h): sum, max,
// min, argmax. Writes out (=). Every accumulator is a double (float32 sums accumulate in double;
// max/min values convert exactly) plus the index of the element it came from, so the combine is
// order-independent for max/min/argmax: the larger value wins, a NaN beats any number (NaN
// propagates, as on the CPU), and ties go to the lower index (the first maximum).
//
// Launch:
//  - inner == 1 (contiguous rows): a group of G threads per row, G = 32 (a warp, 8 rows per
//    256-thread block) when rows are many or short, else G = 256 (one block per row); each thread
//    strides over the row, then a shuffle / shared-memory tree combines the group. Grid-stride
//    over rows.
//  - inner > 1: blocks of 32 x 8 threads; x runs over 32 consecutive inner indices (coalesced
//    loads), y splits R into 8 strided parts combined in shared memory in a fixed order; grid
//    (ceil(inner / 32), min(outer, 65535)) with a stride loop over outer.
// Both are deterministic for a given shape.
#include <cfloat>

#include "common.cuh"
#include "gmpnn/reduce.h"

namespace {

using namespace gmpnn_cuda;

struct Acc {
  double v;
  int64_t idx;
};

__device__ __forceinline__ Acc identity(int op) {
  Acc a;
  a.idx = INT64_MAX;
  a.v = op == GMPNN_REDUCE_SUM ? 0.0 : (op == GMPNN_REDUCE_MIN ? HUGE_VAL : -HUGE_VAL);
  return a;
}

__device__ __forceinline__ Acc combine(int op, Acc a, Acc b) {
  if (op == GMPNN_REDUCE_SUM) {
    a.v += b.v;
    return a;
  }
  bool an = a.v != a.v, bn = b.v != b.v;
  if (an || bn) {
    if (an && bn) return a.idx <= b.idx ? a : b;
    return an ? a : b;
  }
  if (a.v == b.v) return a.idx <= b.idx ? a : b;
  bool a_wins = (op == GMPNN_REDUCE_MIN) ? (a.v < b.v) : (a.v > b.v);
  return a_wins ? a : b;
}

__device__ __forceinline__ Acc shfl_down(Acc a, int o) {
  a.v = __shfl_down_sync(0xffffffffu, a.v, o);
  a.idx = __shfl_down_sync(0xffffffffu, a.idx, o);
  return a;
}

template <typename T>
__device__ __forceinline__ T result(int op, Acc a) {
  return op == GMPNN_REDUCE_ARGMAX ? (T)a.idx : (T)a.v;
}

// inner == 1, G threads per row.
template <typename T, int G>
__global__ void reduce_rows_kernel(T* __restrict__ out, const T* __restrict__ in, int op,
                                   int64_t outer, int64_t R) {
  constexpr int kRowsPerBlock = 256 / G;
  __shared__ Acc shared[256];
  int lane = threadIdx.x % G, slot = threadIdx.x / G;
  for (int64_t row0 = (int64_t)blockIdx.x * kRowsPerBlock; row0 < outer;
       row0 += (int64_t)gridDim.x * kRowsPerBlock) {
    int64_t row = row0 + slot;
    Acc acc = identity(op);
    if (row < outer) {
      const T* p = in + row * R;
      for (int64_t r = lane; r < R; r += G) {
        Acc e;
        e.v = (double)p[r];
        e.idx = r;
        acc = combine(op, acc, e);
      }
    }
    if (G == 32) {
      for (int o = 16; o > 0; o >>= 1) acc = combine(op, acc, shfl_down(acc, o));
      if (lane == 0 && row < outer) out[row] = result<T>(op, acc);
    } else {
      shared[threadIdx.x] = acc;
      __syncthreads();
      for (int s = G / 2; s > 0; s >>= 1) {
        if (lane < s) shared[threadIdx.x] = combine(op, shared[threadIdx.x], shared[threadIdx.x + s]);
        __syncthreads();
      }
      if (lane == 0 && row < outer) out[row] = result<T>(op, shared[threadIdx.x]);
      __syncthreads();
    }
  }
}

// inner > 1: block (32, 8).
template <typename T>
__global__ void reduce_cols_kernel(T* __restrict__ out, const T* __restrict__ in, int op,
                                   int64_t outer, int64_t R, int64_t inner) {
  __shared__ Acc shared[8][33];
  int64_t i = (int64_t)blockIdx.x * 32 + threadIdx.x;
  for (int64_t o = blockIdx.y; o < outer; o += gridDim.y) {
    Acc acc = identity(op);
    if (i < inner) {
      const T* p = in + o * R * inner + i;
      for (int64_t r = threadIdx.y; r < R; r += 8) {
        Acc e;
        e.v = (double)p[r * inner];
        e.idx = r;
        acc = combine(op, acc, e);
      }
    }
    shared[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && i < inner) {
      Acc a = shared[0][threadIdx.x];
      for (int y = 1; y < 8; ++y) a = combine(op, a, shared[y][threadIdx.x]);
      out[o * inner + i] = result<T>(op, a);
    }
    __syncthreads();
  }
}

template <typename T>
gmpnn_status launch(T* out, const T* in, int op, int64_t outer, int64_t R, int64_t inner,
                    cudaStream_t stream) {
  if (inner == 1) {
    if (outer >= 256 || R <= 512) {
      unsigned blocks = grid_for(outer, 8);
      reduce_rows_kernel<T, 32><<<blocks, 256, 0, stream>>>(out, in, op, outer, R);
    } else {
      unsigned blocks = outer > 65535 ? 65535u : (unsigned)outer;
      reduce_rows_kernel<T, 256><<<blocks, 256, 0, stream>>>(out, in, op, outer, R);
    }
  } else {
    dim3 grid((unsigned)((inner + 31) / 32), outer > 65535 ? 65535u : (unsigned)outer);
    reduce_cols_kernel<T><<<grid, dim3(32, 8), 0, stream>>>(out, in, op, outer, R, inner);
  }
  return GMPNN_OK;
}

}  // namespace

extern "C" gmpnn_status gmpnn_cuda_reduce(gmpnn_dtype dt, void* out, const void* in, int op,
                                          int64_t outer, int64_t R, int64_t inner) {
  const char* name = "gmpnn_cuda_reduce";
  GMPNN_CUDA_REQUIRE(op >= 0 && op < GMPNN_REDUCE_COUNT, GMPNN_E_ARG, "%s: unknown op %d", name,
                     op);
  GMPNN_CUDA_REQUIRE(outer >= 0 && inner >= 0 && R >= 1, GMPNN_E_SHAPE,
                     "%s: bad view [%lld, %lld, %lld] (R must be >= 1)", name, (long long)outer,
                     (long long)R, (long long)inner);
  GMPNN_CUDA_REQUIRE(inner <= (int64_t)65535 * 32 * 1024, GMPNN_E_SHAPE,
                     "%s: inner extent %lld too large", name, (long long)inner);
  if (outer == 0 || inner == 0) return GMPNN_OK;
  GMPNN_CUDA_REQUIRE(out && in, GMPNN_E_ARG, "%s: NULL pointer", name);
  GMPNN_CUDA_STREAM(name);
  GMPNN_CUDA_DISPATCH(dt, name, launch<T>((T*)out, (const T*)in, op, outer, R, inner, stream));
  GMPNN_CUDA_LAUNCHED(name);
  return GMPNN_OK;
}
