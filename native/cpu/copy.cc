// Strided copy CPU kernel (gmpnn/copy.h): every layout change of a tensor goes through here.
#include <cstring>

#include "cpu_util.h"
#include "gmpnn/copy.h"

namespace {

template <typename T>
void copy_impl(T* out, int64_t oo, const int64_t* os, const T* in, int64_t io, const int64_t* is,
               int ndim, const int64_t* shape) {
  int64_t inner = ndim ? shape[ndim - 1] : 1;
  int64_t osi = ndim ? os[ndim - 1] : 0, isi = ndim ? is[ndim - 1] : 0;
  int64_t outer = 1;
  for (int d = 0; d + 1 < ndim; ++d) outer *= shape[d];
  const bool par = outer * inner >= gmpnn_cpu::kParallelGrain && outer > 1;
  gmpnn_cpu::parallel_region(par, [&] {
#pragma omp for schedule(static)
  for (int64_t o = 0; o < outer; ++o) {
    int64_t ooff = oo, ioff = io, rem = o;
    for (int d = ndim - 2; d >= 0; --d) {
      int64_t idx = rem % shape[d];
      rem /= shape[d];
      ooff += idx * os[d];
      ioff += idx * is[d];
    }
    T* po = out + ooff;
    const T* pi = in + ioff;
    if (osi == 1 && isi == 1) {
      std::memcpy(po, pi, (size_t)inner * sizeof(T));
    } else {
      for (int64_t i = 0; i < inner; ++i) po[i * osi] = pi[i * isi];
    }
  }
  });
}

}  // namespace

extern "C" gmpnn_status gmpnn_cpu_copy_strided(gmpnn_dtype dt, void* out, int64_t out_offset,
                                               const int64_t* out_strides, const void* in,
                                               int64_t in_offset, const int64_t* in_strides,
                                               int ndim, const int64_t* shape) {
  if (ndim < 0 || ndim > GMPNN_MAX_DIMS)
    return gmpnn_set_error(GMPNN_E_ARG, "copy_strided: ndim %d out of range", ndim);
  for (int d = 0; d < ndim; ++d) {
    if (shape[d] < 0) return gmpnn_set_error(GMPNN_E_SHAPE, "copy_strided: negative extent");
    if (shape[d] == 0) return GMPNN_OK;
  }
  GMPNN_DISPATCH_FLOAT(dt, "copy_strided",
                       copy_impl<T>((T*)out, out_offset, out_strides, (const T*)in, in_offset,
                                    in_strides, ndim, shape);
                       return GMPNN_OK);
}
