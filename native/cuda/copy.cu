// CUDA strided copy (gmpnn/copy.h): out[out_offset + Σ idx·out_strides] =
// in[in_offset + Σ idx·in_strides] for every index vector idx < shape. Writes out (=).
//
// Launch: grid-stride loop over the n = Π shape elements, 256 threads per block. Axes of extent 1
// are dropped and adjacent axes that are contiguous in both views (stride_d = stride_{d+1} ·
// shape_{d+1} on both sides) are merged on the host first, so a plain contiguous copy becomes one
// axis and a transpose two; each thread then splits its linear index (last axis fastest) into the
// remaining axes. The geometry travels by value in the kernel arguments.
#include "common.cuh"
#include "gmpnn/copy.h"

namespace {

using namespace gmpnn_cuda;

struct CopyGeom {
  int ndim;
  int64_t shape[GMPNN_MAX_DIMS];
  int64_t out_strides[GMPNN_MAX_DIMS];
  int64_t in_strides[GMPNN_MAX_DIMS];
};

template <typename T>
__global__ void copy_strided_kernel(T* __restrict__ out, const T* __restrict__ in, CopyGeom g,
                                    int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t rem = i, oo = 0, io = 0;
    for (int d = g.ndim - 1; d >= 0; --d) {
      int64_t idx = rem % g.shape[d];
      rem /= g.shape[d];
      oo += idx * g.out_strides[d];
      io += idx * g.in_strides[d];
    }
    out[oo] = in[io];
  }
}

}  // namespace

extern "C" gmpnn_status gmpnn_cuda_copy_strided(gmpnn_dtype dt, void* out, int64_t out_offset,
                                                const int64_t* out_strides, const void* in,
                                                int64_t in_offset, const int64_t* in_strides,
                                                int ndim, const int64_t* shape) {
  const char* name = "gmpnn_cuda_copy_strided";
  GMPNN_CUDA_REQUIRE(ndim >= 0 && ndim <= GMPNN_MAX_DIMS, GMPNN_E_ARG, "%s: ndim %d not in 0..%d",
                     name, ndim, GMPNN_MAX_DIMS);
  GMPNN_CUDA_REQUIRE(ndim == 0 || (shape && out_strides && in_strides), GMPNN_E_ARG,
                     "%s: NULL shape or strides", name);
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) {
    GMPNN_CUDA_REQUIRE(shape[d] >= 0, GMPNN_E_SHAPE, "%s: negative extent %lld on axis %d", name,
                       (long long)shape[d], d);
    n *= shape[d];
  }
  if (n == 0) return GMPNN_OK;
  GMPNN_CUDA_REQUIRE(out && in, GMPNN_E_ARG, "%s: NULL pointer", name);
  // Drop unit axes, merge axes contiguous in both views.
  CopyGeom g;
  g.ndim = 0;
  for (int d = 0; d < ndim; ++d) {
    if (shape[d] == 1) continue;
    if (g.ndim > 0) {
      int k = g.ndim - 1;
      if (g.out_strides[k] == out_strides[d] * shape[d] && g.in_strides[k] == in_strides[d] * shape[d]) {
        g.shape[k] *= shape[d];
        g.out_strides[k] = out_strides[d];
        g.in_strides[k] = in_strides[d];
        continue;
      }
    }
    g.shape[g.ndim] = shape[d];
    g.out_strides[g.ndim] = out_strides[d];
    g.in_strides[g.ndim] = in_strides[d];
    ++g.ndim;
  }
  GMPNN_CUDA_STREAM(name);
  GMPNN_CUDA_DISPATCH(dt, name,
                      copy_strided_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(
                          (T*)out + out_offset, (const T*)in + in_offset, g, n));
  GMPNN_CUDA_LAUNCHED(name);
  return GMPNN_OK;
}
