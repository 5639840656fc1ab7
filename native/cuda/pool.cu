// CUDA 2-D pooling kernels (gmpnn/pool.h), NHWC: the VGG-6 / ResNet max pools and average
// pooling (GMP_SPEC.md §6), with the same semantics as the CPU twins (native/cpu/pool.cc):
// max ties go to the first position in row-major window order, the first NaN wins, an empty
// window gives 0 and argmax −1; argmax holds ih·W + iw as a number of the tensor's dtype.
//
// One thread per element, channels fastest (coalesced), grid-stride loops. Both backward passes
// are gathers over the input (each input element sums the windows that contain it — for max only
// those whose argmax is this position), so there are no atomics and results are deterministic.
#include "common.cuh"
#include "gmpnn/pool.h"

namespace {

using namespace gmpnn_cuda;

struct Dims {
  int64_t N, H, W, C, KH, KW, OH, OW, sh, sw, ph, pw;
};
inline Dims dims(const gmpnn_pool2d_dims& d) {
  return {d.N, d.H, d.W, d.C, d.KH, d.KW, d.OH, d.OW, d.stride_h, d.stride_w, d.pad_h, d.pad_w};
}

__device__ __forceinline__ void window(int64_t o, int64_t s, int64_t p, int64_t K, int64_t L,
                                       int64_t* k0, int64_t* k1) {
  const int64_t i0 = o * s - p;
  *k0 = i0 < 0 ? -i0 : 0;
  *k1 = L - i0 < K ? L - i0 : K;
  if (*k1 < *k0) *k1 = *k0;
}

// Output windows that contain input coordinate i: [o0, o1] (empty when o1 < o0).
__device__ __forceinline__ void covering(int64_t i, int64_t s, int64_t p, int64_t K, int64_t O,
                                         int64_t* o0, int64_t* o1) {
  const int64_t num = i + p - K + 1;
  *o0 = num <= 0 ? 0 : (num + s - 1) / s;
  const int64_t hi = (i + p) / s;
  *o1 = hi < O - 1 ? hi : O - 1;
}

template <typename T>
__global__ void max_forward_kernel(T* __restrict__ out, T* __restrict__ argmax,
                                   const T* __restrict__ in, Dims d, int64_t total) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t c = i % d.C, q = i / d.C, ow = q % d.OW, oh = (q / d.OW) % d.OH,
                  n = q / (d.OW * d.OH);
    int64_t kh0, kh1, kw0, kw1;
    window(oh, d.sh, d.ph, d.KH, d.H, &kh0, &kh1);
    window(ow, d.sw, d.pw, d.KW, d.W, &kw0, &kw1);
    T best = T(0);
    int64_t arg = -1;
    for (int64_t kh = kh0; kh < kh1; ++kh)
      for (int64_t kw = kw0; kw < kw1; ++kw) {
        const int64_t ih = oh * d.sh - d.ph + kh, iw = ow * d.sw - d.pw + kw;
        const T v = in[((n * d.H + ih) * d.W + iw) * d.C + c];
        if (arg < 0 || v > best || (v != v && best == best)) {
          best = v;
          arg = ih * d.W + iw;
        }
      }
    out[i] = best;
    argmax[i] = (T)arg;
  }
}

template <typename T>
__global__ void max_backward_kernel(T* __restrict__ din, const T* __restrict__ dout,
                                    const T* __restrict__ argmax, Dims d, int64_t total) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t c = i % d.C, q = i / d.C, iw = q % d.W, ih = (q / d.W) % d.H,
                  n = q / (d.W * d.H);
    const T pos = (T)(ih * d.W + iw);
    int64_t oh0, oh1, ow0, ow1;
    covering(ih, d.sh, d.ph, d.KH, d.OH, &oh0, &oh1);
    covering(iw, d.sw, d.pw, d.KW, d.OW, &ow0, &ow1);
    T acc = T(0);
    for (int64_t oh = oh0; oh <= oh1; ++oh)
      for (int64_t ow = ow0; ow <= ow1; ++ow) {
        const int64_t o = ((n * d.OH + oh) * d.OW + ow) * d.C + c;
        if (argmax[o] == pos) acc += dout[o];
      }
    din[i] = acc;
  }
}

__device__ __forceinline__ int64_t divisor(const Dims& d, int64_t kh0, int64_t kh1, int64_t kw0,
                                           int64_t kw1, int include_pad) {
  return include_pad ? d.KH * d.KW : (kh1 - kh0) * (kw1 - kw0);
}

template <typename T>
__global__ void avg_forward_kernel(T* __restrict__ out, const T* __restrict__ in, Dims d,
                                   int include_pad, int64_t total) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t c = i % d.C, q = i / d.C, ow = q % d.OW, oh = (q / d.OW) % d.OH,
                  n = q / (d.OW * d.OH);
    int64_t kh0, kh1, kw0, kw1;
    window(oh, d.sh, d.ph, d.KH, d.H, &kh0, &kh1);
    window(ow, d.sw, d.pw, d.KW, d.W, &kw0, &kw1);
    T s = T(0);
    for (int64_t kh = kh0; kh < kh1; ++kh)
      for (int64_t kw = kw0; kw < kw1; ++kw) {
        const int64_t ih = oh * d.sh - d.ph + kh, iw = ow * d.sw - d.pw + kw;
        s += in[((n * d.H + ih) * d.W + iw) * d.C + c];
      }
    const int64_t cnt = divisor(d, kh0, kh1, kw0, kw1, include_pad);
    out[i] = (cnt == 0 || kh1 == kh0 || kw1 == kw0) ? T(0) : s * (T(1) / (T)cnt);
  }
}

template <typename T>
__global__ void avg_backward_kernel(T* __restrict__ din, const T* __restrict__ dout, Dims d,
                                    int include_pad, int64_t total) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t c = i % d.C, q = i / d.C, iw = q % d.W, ih = (q / d.W) % d.H,
                  n = q / (d.W * d.H);
    int64_t oh0, oh1, ow0, ow1;
    covering(ih, d.sh, d.ph, d.KH, d.OH, &oh0, &oh1);
    covering(iw, d.sw, d.pw, d.KW, d.OW, &ow0, &ow1);
    T acc = T(0);
    for (int64_t oh = oh0; oh <= oh1; ++oh) {
      int64_t kh0, kh1;
      window(oh, d.sh, d.ph, d.KH, d.H, &kh0, &kh1);
      for (int64_t ow = ow0; ow <= ow1; ++ow) {
        int64_t kw0, kw1;
        window(ow, d.sw, d.pw, d.KW, d.W, &kw0, &kw1);
        const T inv = T(1) / (T)divisor(d, kh0, kh1, kw0, kw1, include_pad);
        acc += dout[((n * d.OH + oh) * d.OW + ow) * d.C + c] * inv;
      }
    }
    din[i] = acc;
  }
}

gmpnn_status check(const char* op, const gmpnn_pool2d_dims* d, const void* a, const void* b,
                   const void* c) {
  gmpnn_status st = gmpnn_pool2d_check_dims(d, op);
  if (st != GMPNN_OK) return st;
  const bool any = d->N * d->C > 0 && (d->H * d->W > 0 || d->OH * d->OW > 0);
  if (any && (!a || !b || !c)) return gmpnn_set_error(GMPNN_E_ARG, "%s: NULL buffer", op);
  return GMPNN_OK;
}

}  // namespace

extern "C" gmpnn_status gmpnn_cuda_max_pool2d_forward(gmpnn_dtype dt, void* out, void* argmax,
                                                      const void* in, const gmpnn_pool2d_dims* d) {
  const char* op = "gmpnn_cuda_max_pool2d_forward";
  gmpnn_status st = check(op, d, out, argmax, in);
  if (st != GMPNN_OK) return st;
  const int64_t total = d->N * d->OH * d->OW * d->C;
  if (total == 0) return GMPNN_OK;
  GMPNN_CUDA_STREAM(op);
  const Dims dd = dims(*d);
  GMPNN_CUDA_DISPATCH(dt, op,
                      max_forward_kernel<T><<<grid_for(total), kThreads, 0, stream>>>(
                          (T*)out, (T*)argmax, (const T*)in, dd, total));
  GMPNN_CUDA_LAUNCHED(op);
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_max_pool2d_backward(gmpnn_dtype dt, void* din,
                                                       const void* dout, const void* argmax,
                                                       const gmpnn_pool2d_dims* d) {
  const char* op = "gmpnn_cuda_max_pool2d_backward";
  gmpnn_status st = check(op, d, din, dout, argmax);
  if (st != GMPNN_OK) return st;
  const int64_t total = d->N * d->H * d->W * d->C;
  if (total == 0) return GMPNN_OK;
  GMPNN_CUDA_STREAM(op);
  const Dims dd = dims(*d);
  GMPNN_CUDA_DISPATCH(dt, op,
                      max_backward_kernel<T><<<grid_for(total), kThreads, 0, stream>>>(
                          (T*)din, (const T*)dout, (const T*)argmax, dd, total));
  GMPNN_CUDA_LAUNCHED(op);
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_avg_pool2d_forward(gmpnn_dtype dt, void* out, const void* in,
                                                      const gmpnn_pool2d_dims* d,
                                                      int count_include_pad) {
  const char* op = "gmpnn_cuda_avg_pool2d_forward";
  gmpnn_status st = check(op, d, out, in, in);
  if (st != GMPNN_OK) return st;
  const int64_t total = d->N * d->OH * d->OW * d->C;
  if (total == 0) return GMPNN_OK;
  GMPNN_CUDA_STREAM(op);
  const Dims dd = dims(*d);
  GMPNN_CUDA_DISPATCH(dt, op,
                      avg_forward_kernel<T><<<grid_for(total), kThreads, 0, stream>>>(
                          (T*)out, (const T*)in, dd, count_include_pad, total));
  GMPNN_CUDA_LAUNCHED(op);
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_avg_pool2d_backward(gmpnn_dtype dt, void* din,
                                                       const void* dout,
                                                       const gmpnn_pool2d_dims* d,
                                                       int count_include_pad) {
  const char* op = "gmpnn_cuda_avg_pool2d_backward";
  gmpnn_status st = check(op, d, din, dout, dout);
  if (st != GMPNN_OK) return st;
  const int64_t total = d->N * d->H * d->W * d->C;
  if (total == 0) return GMPNN_OK;
  GMPNN_CUDA_STREAM(op);
  const Dims dd = dims(*d);
  GMPNN_CUDA_DISPATCH(dt, op,
                      avg_backward_kernel<T><<<grid_for(total), kThreads, 0, stream>>>(
                          (T*)din, (const T*)dout, dd, count_include_pad, total));
  GMPNN_CUDA_LAUNCHED(op);
  return GMPNN_OK;
}
