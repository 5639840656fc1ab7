// CUDA 2-D convolution kernels (gmpnn/conv.h), NHWC activations, [C_out, KH, KW, C_in] weights:
// the GmP conv of GMP_SPEC.md §3 (z = conv(x, reshape(u(θ))) + λ, epilogues from gmp.h) and its
// §4 gradients (data gradient ∂L/∂x, filter gradient G_U).
//
// A straightforward, correct first version (the CUDA issue replaces it with implicit-GEMM tensor
// core kernels): explicit im2col into a scratch buffer, one batch chunk at a time, and the
// library's GEMM (gmpnn_cuda_gemm) on the same stream:
//   forward   out[rows, C_out] = cols[rows, K] · Wᵀ
//   data      dcols[rows, K] = dout[rows, C_out] · W, then col2im as a gather: each input element
//             sums the dcols entries of the (oh, ow, kh, kw) that read it, so no atomics and the
//             result is deterministic; din is written (=)
//   filter    dW[C_out, K] = Σ_chunks doutᵀ · cols (beta = 1 after the first chunk), written (=)
// A chunk is a group of whole images whose im2col buffer stays under kChunkBytes. A 1×1, stride-1,
// unpadded convolution is a plain GEMM on the NHWC buffers.
#include "common.cuh"
#include "gmpnn/conv.h"
#include "gmpnn/gemm.h"

namespace {

using namespace gmpnn_cuda;

constexpr size_t kChunkBytes = size_t(256) << 20;

template <typename T>
constexpr gmpnn_dtype dtype_of() {
  return sizeof(T) == 4 ? GMPNN_F32 : GMPNN_F64;
}

struct Dims {
  int64_t N, H, W, C_in, C_out, KH, KW, OH, OW, sh, sw, ph, pw;
};

inline Dims dims(const gmpnn_conv2d_dims& d) {
  return {d.N, d.H, d.W, d.C_in, d.C_out, d.KH, d.KW, d.OH, d.OW, d.stride_h, d.stride_w, d.pad_h, d.pad_w};
}

// cols[r, (kh, kw, c)] for output pixels r of images [n0, n0 + nb): one thread per element.
template <typename T>
__global__ void im2col_kernel(T* __restrict__ cols, const T* __restrict__ in, Dims d, int64_t n0,
                              int64_t total) {
  const int64_t K = d.KH * d.KW * d.C_in, P = d.OH * d.OW;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t r = i / K, k = i - r * K;
    const int64_t c = k % d.C_in, kk = k / d.C_in, kw = kk % d.KW, kh = kk / d.KW;
    const int64_t n = n0 + r / P, p = r % P, oh = p / d.OW, ow = p % d.OW;
    const int64_t ih = oh * d.sh - d.ph + kh, iw = ow * d.sw - d.pw + kw;
    T v = T(0);
    if (ih >= 0 && ih < d.H && iw >= 0 && iw < d.W) v = in[((n * d.H + ih) * d.W + iw) * d.C_in + c];
    cols[i] = v;
  }
}

// din[n, ih, iw, c] = Σ dcols[(n − n0)·P + oh·OW + ow, (kh, kw, c)] over the taps that read it.
template <typename T>
__global__ void col2im_gather_kernel(T* __restrict__ din, const T* __restrict__ dcols, Dims d,
                                     int64_t n0, int64_t total) {
  const int64_t K = d.KH * d.KW * d.C_in, P = d.OH * d.OW;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t c = i % d.C_in, pix = i / d.C_in;
    const int64_t iw = pix % d.W, ih = (pix / d.W) % d.H, nl = pix / (d.W * d.H);
    T acc = T(0);
    for (int64_t kh = 0; kh < d.KH; ++kh) {
      const int64_t th = ih + d.ph - kh;
      if (th < 0 || th % d.sh) continue;
      const int64_t oh = th / d.sh;
      if (oh >= d.OH) continue;
      for (int64_t kw = 0; kw < d.KW; ++kw) {
        const int64_t tw = iw + d.pw - kw;
        if (tw < 0 || tw % d.sw) continue;
        const int64_t ow = tw / d.sw;
        if (ow >= d.OW) continue;
        acc += dcols[(nl * P + oh * d.OW + ow) * K + (kh * d.KW + kw) * d.C_in + c];
      }
    }
    din[(n0 * d.H * d.W) * d.C_in + i] = acc;
  }
}

inline bool pointwise(const Dims& d) {
  return d.KH == 1 && d.KW == 1 && d.sh == 1 && d.sw == 1 && d.ph == 0 && d.pw == 0 &&
         d.OH == d.H && d.OW == d.W;
}

inline int64_t images_per_chunk(const Dims& d, size_t elem) {
  const size_t per = (size_t)(d.OH * d.OW * d.KH * d.KW * d.C_in) * elem;
  int64_t nb = per ? (int64_t)(kChunkBytes / per) : d.N;
  if (nb < 1) nb = 1;
  if (nb > d.N) nb = d.N;
  return nb;
}

template <typename T>
gmpnn_status forward_impl(T* out, const T* in, const T* w, const Dims& d, cudaStream_t stream,
                          const char* op) {
  const int64_t P = d.OH * d.OW, K = d.KH * d.KW * d.C_in, M = d.N * P;
  if (M == 0 || d.C_out == 0) return GMPNN_OK;
  if (K == 0) {
    GMPNN_CUDA_TRY(op, cudaMemsetAsync(out, 0, sizeof(T) * M * d.C_out, stream));
    return GMPNN_OK;
  }
  if (pointwise(d))
    return gmpnn_cuda_gemm(dtype_of<T>(), out, in, w, 0, 1, M, d.C_out, K, K, K, d.C_out, 1.0, 0.0);
  const int64_t nb = images_per_chunk(d, sizeof(T));
  T* cols = nullptr;
  gmpnn_status st = scratch_alloc((void**)&cols, sizeof(T) * nb * P * K, op);
  if (st != GMPNN_OK) return st;
  for (int64_t n0 = 0; n0 < d.N && st == GMPNN_OK; n0 += nb) {
    const int64_t cnt = d.N - n0 < nb ? d.N - n0 : nb, rows = cnt * P;
    im2col_kernel<T><<<grid_for(rows * K), kThreads, 0, stream>>>(cols, in, d, n0, rows * K);
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) st = cuda_status(err, op, "im2col launch");
    if (st == GMPNN_OK)
      st = gmpnn_cuda_gemm(dtype_of<T>(), out + n0 * P * d.C_out, cols, w, 0, 1, rows, d.C_out, K,
                           K, K, d.C_out, 1.0, 0.0);
  }
  scratch_free(cols);
  return st;
}

template <typename T>
gmpnn_status data_impl(T* din, const T* dout, const T* w, const Dims& d, cudaStream_t stream,
                       const char* op) {
  const int64_t P = d.OH * d.OW, K = d.KH * d.KW * d.C_in, M = d.N * P;
  const int64_t in_size = d.N * d.H * d.W * d.C_in;
  if (in_size == 0) return GMPNN_OK;
  if (M == 0 || d.C_out == 0) {
    GMPNN_CUDA_TRY(op, cudaMemsetAsync(din, 0, sizeof(T) * in_size, stream));
    return GMPNN_OK;
  }
  if (pointwise(d))
    return gmpnn_cuda_gemm(dtype_of<T>(), din, dout, w, 0, 0, M, K, d.C_out, d.C_out, K, K, 1.0, 0.0);
  const int64_t nb = images_per_chunk(d, sizeof(T));
  T* dcols = nullptr;
  gmpnn_status st = scratch_alloc((void**)&dcols, sizeof(T) * nb * P * K, op);
  if (st != GMPNN_OK) return st;
  for (int64_t n0 = 0; n0 < d.N && st == GMPNN_OK; n0 += nb) {
    const int64_t cnt = d.N - n0 < nb ? d.N - n0 : nb, rows = cnt * P;
    st = gmpnn_cuda_gemm(dtype_of<T>(), dcols, dout + n0 * P * d.C_out, w, 0, 0, rows, K, d.C_out,
                         d.C_out, K, K, 1.0, 0.0);
    if (st != GMPNN_OK) break;
    const int64_t total = cnt * d.H * d.W * d.C_in;
    col2im_gather_kernel<T><<<grid_for(total), kThreads, 0, stream>>>(din, dcols, d, n0, total);
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) st = cuda_status(err, op, "col2im launch");
  }
  scratch_free(dcols);
  return st;
}

template <typename T>
gmpnn_status filter_impl(T* dw, const T* dout, const T* in, const Dims& d, cudaStream_t stream,
                         const char* op) {
  const int64_t P = d.OH * d.OW, K = d.KH * d.KW * d.C_in, M = d.N * P;
  const int64_t wsize = d.C_out * K;
  if (wsize == 0) return GMPNN_OK;
  if (M == 0) {
    GMPNN_CUDA_TRY(op, cudaMemsetAsync(dw, 0, sizeof(T) * wsize, stream));
    return GMPNN_OK;
  }
  if (pointwise(d))
    return gmpnn_cuda_gemm(dtype_of<T>(), dw, dout, in, 1, 0, d.C_out, K, M, d.C_out, K, K, 1.0, 0.0);
  const int64_t nb = images_per_chunk(d, sizeof(T));
  T* cols = nullptr;
  gmpnn_status st = scratch_alloc((void**)&cols, sizeof(T) * nb * P * K, op);
  if (st != GMPNN_OK) return st;
  for (int64_t n0 = 0; n0 < d.N && st == GMPNN_OK; n0 += nb) {
    const int64_t cnt = d.N - n0 < nb ? d.N - n0 : nb, rows = cnt * P;
    im2col_kernel<T><<<grid_for(rows * K), kThreads, 0, stream>>>(cols, in, d, n0, rows * K);
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) st = cuda_status(err, op, "im2col launch");
    if (st == GMPNN_OK)
      st = gmpnn_cuda_gemm(dtype_of<T>(), dw, dout + n0 * P * d.C_out, cols, 1, 0, d.C_out, K, rows,
                           d.C_out, K, K, 1.0, n0 == 0 ? 0.0 : 1.0);
  }
  scratch_free(cols);
  return st;
}

gmpnn_status check(const char* op, const gmpnn_conv2d_dims* d, const void* a, const void* b,
                   const void* c) {
  gmpnn_status st = gmpnn_conv2d_check_dims(d, op);
  if (st != GMPNN_OK) return st;
  const bool any = d->N * d->H * d->W * d->C_in > 0 || d->N * d->OH * d->OW * d->C_out > 0;
  if (any && (!a || !b || !c)) return gmpnn_set_error(GMPNN_E_ARG, "%s: NULL buffer", op);
  return GMPNN_OK;
}

}  // namespace

extern "C" gmpnn_status gmpnn_cuda_conv2d_forward(gmpnn_dtype dt, void* out, const void* in,
                                                  const void* weight, const gmpnn_conv2d_dims* d) {
  const char* op = "gmpnn_cuda_conv2d_forward";
  gmpnn_status st = check(op, d, out, in, weight);
  if (st != GMPNN_OK) return st;
  GMPNN_CUDA_STREAM(op);
  const Dims dd = dims(*d);
  GMPNN_CUDA_DISPATCH(dt, op, return forward_impl<T>((T*)out, (const T*)in, (const T*)weight, dd, stream, op));
}

extern "C" gmpnn_status gmpnn_cuda_conv2d_backward_data(gmpnn_dtype dt, void* din, const void* dout,
                                                        const void* weight,
                                                        const gmpnn_conv2d_dims* d) {
  const char* op = "gmpnn_cuda_conv2d_backward_data";
  gmpnn_status st = check(op, d, din, dout, weight);
  if (st != GMPNN_OK) return st;
  GMPNN_CUDA_STREAM(op);
  const Dims dd = dims(*d);
  GMPNN_CUDA_DISPATCH(dt, op, return data_impl<T>((T*)din, (const T*)dout, (const T*)weight, dd, stream, op));
}

extern "C" gmpnn_status gmpnn_cuda_conv2d_backward_filter(gmpnn_dtype dt, void* dweight,
                                                          const void* dout, const void* in,
                                                          const gmpnn_conv2d_dims* d) {
  const char* op = "gmpnn_cuda_conv2d_backward_filter";
  gmpnn_status st = check(op, d, dweight, dout, in);
  if (st != GMPNN_OK) return st;
  GMPNN_CUDA_STREAM(op);
  const Dims dd = dims(*d);
  GMPNN_CUDA_DISPATCH(dt, op, return filter_impl<T>((T*)dweight, (const T*)dout, (const T*)in, dd, stream, op));
}
