// 2-D pooling CPU kernels (gmpnn/pool.h), NHWC: the 2×2 max pools of VGG-6 and the 3×3/2 max
// pool of the ResNet stem (GMP_SPEC.md §6), and average pooling.
//
// NHWC keeps the channels of one pixel contiguous, so every kernel walks the window positions in
// the outer loops and the channels in a vectorizable inner loop. Parallel work:
//   forward (max, avg)     one output row (n, oh) per task; rows are disjoint.
//   max backward           a scatter to the recorded argmax: one (image, channel block) per task,
//                          which owns that part of din (zeroed first), so no two tasks collide.
//   avg backward           a gather: each input pixel sums dout / divisor over the windows that
//                          contain it (oh from ceil((ih + ph − KH + 1)/sh) to floor((ih + ph)/sh)),
//                          one input row (n, ih) per task; deterministic, no atomics.
// Every parallel region enters gmpnn_cpu::FtzScope.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "cpu_util.h"
#include "gmpnn/pool.h"

namespace {

using gmpnn_cpu::FtzScope;
using gmpnn_cpu::kParallelGrain;

inline bool parallel_for(int64_t work) { return work >= kParallelGrain; }

// Valid window range along one axis for output index o: [k0, k1) of the window positions whose
// input coordinate o·s − p + k lies in [0, L).
inline void window(int64_t o, int64_t s, int64_t p, int64_t K, int64_t L, int64_t* k0,
                   int64_t* k1) {
  const int64_t i0 = o * s - p;
  *k0 = std::max<int64_t>(0, -i0);
  *k1 = std::min<int64_t>(K, L - i0);
  if (*k1 < *k0) *k1 = *k0;
}

template <typename T>
void max_forward(T* out, T* argmax, const T* in, const gmpnn_pool2d_dims& d) {
  const int64_t C = d.C, rows = d.N * d.OH;
  const bool par = parallel_for(d.N * d.OH * d.OW * C * d.KH * d.KW);
#pragma omp parallel if (par)
  {
    FtzScope ftz;
#pragma omp for schedule(static)
    for (int64_t row = 0; row < rows; ++row) {
      const int64_t n = row / d.OH, oh = row - n * d.OH;
      const T* img = in + n * d.H * d.W * C;
      int64_t kh0, kh1;
      window(oh, d.stride_h, d.pad_h, d.KH, d.H, &kh0, &kh1);
      for (int64_t ow = 0; ow < d.OW; ++ow) {
        T* o = out + (row * d.OW + ow) * C;
        T* a = argmax + (row * d.OW + ow) * C;
        int64_t kw0, kw1;
        window(ow, d.stride_w, d.pad_w, d.KW, d.W, &kw0, &kw1);
        if (kh1 == kh0 || kw1 == kw0) {  // the window holds no input element
          for (int64_t c = 0; c < C; ++c) {
            o[c] = T(0);
            a[c] = T(-1);
          }
          continue;
        }
        bool first = true;
        for (int64_t kh = kh0; kh < kh1; ++kh)
          for (int64_t kw = kw0; kw < kw1; ++kw) {
            const int64_t ih = oh * d.stride_h - d.pad_h + kh, iw = ow * d.stride_w - d.pad_w + kw;
            const T* src = img + (ih * d.W + iw) * C;
            const T pos = (T)(ih * d.W + iw);
            if (first) {
              for (int64_t c = 0; c < C; ++c) {
                o[c] = src[c];
                a[c] = pos;
              }
              first = false;
              continue;
            }
            // Take v when it is larger, or NaN while the best so far is not (first NaN wins).
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) {
              const T v = src[c], b = o[c];
              const bool take = (v > b) || (v != v && b == b);
              o[c] = take ? v : b;
              a[c] = take ? pos : a[c];
            }
          }
      }
    }
  }
}

template <typename T>
void max_backward(T* din, const T* dout, const T* argmax, const gmpnn_pool2d_dims& d) {
  const int64_t C = d.C, plane = d.H * d.W, P = d.OH * d.OW;
  const int64_t cb = C >= 128 ? 64 : C;  // channel block per task
  const int64_t nblk = (C + cb - 1) / cb;
  const bool par = parallel_for(d.N * (plane + P) * C);
#pragma omp parallel if (par)
  {
    FtzScope ftz;
#pragma omp for schedule(static) collapse(2)
    for (int64_t n = 0; n < d.N; ++n)
      for (int64_t b = 0; b < nblk; ++b) {
        const int64_t c0 = b * cb, c1 = std::min(C, c0 + cb);
        T* img = din + n * plane * C;
        for (int64_t p = 0; p < plane; ++p)
          for (int64_t c = c0; c < c1; ++c) img[p * C + c] = T(0);
        const T* g = dout + n * P * C;
        const T* a = argmax + n * P * C;
        for (int64_t q = 0; q < P; ++q)
          for (int64_t c = c0; c < c1; ++c) {
            const int64_t pos = (int64_t)a[q * C + c];
            if (pos >= 0 && pos < plane) img[pos * C + c] += g[q * C + c];
          }
      }
  }
}

inline int64_t divisor(const gmpnn_pool2d_dims& d, int64_t kh0, int64_t kh1, int64_t kw0,
                       int64_t kw1, int include_pad) {
  return include_pad ? d.KH * d.KW : (kh1 - kh0) * (kw1 - kw0);
}

template <typename T>
void avg_forward(T* out, const T* in, const gmpnn_pool2d_dims& d, int include_pad) {
  const int64_t C = d.C, rows = d.N * d.OH;
  const bool par = parallel_for(d.N * d.OH * d.OW * C * d.KH * d.KW);
#pragma omp parallel if (par)
  {
    FtzScope ftz;
#pragma omp for schedule(static)
    for (int64_t row = 0; row < rows; ++row) {
      const int64_t n = row / d.OH, oh = row - n * d.OH;
      const T* img = in + n * d.H * d.W * C;
      int64_t kh0, kh1;
      window(oh, d.stride_h, d.pad_h, d.KH, d.H, &kh0, &kh1);
      for (int64_t ow = 0; ow < d.OW; ++ow) {
        T* o = out + (row * d.OW + ow) * C;
        int64_t kw0, kw1;
        window(ow, d.stride_w, d.pad_w, d.KW, d.W, &kw0, &kw1);
        for (int64_t c = 0; c < C; ++c) o[c] = T(0);
        const int64_t cnt = divisor(d, kh0, kh1, kw0, kw1, include_pad);
        if (cnt == 0 || kh1 == kh0 || kw1 == kw0) continue;
        for (int64_t kh = kh0; kh < kh1; ++kh)
          for (int64_t kw = kw0; kw < kw1; ++kw) {
            const int64_t ih = oh * d.stride_h - d.pad_h + kh, iw = ow * d.stride_w - d.pad_w + kw;
            const T* src = img + (ih * d.W + iw) * C;
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) o[c] += src[c];
          }
        const T inv = T(1) / (T)cnt;
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) o[c] *= inv;
      }
    }
  }
}

// First output index whose window reaches input coordinate i: o·s − p + K − 1 >= i.
inline int64_t first_out(int64_t i, int64_t s, int64_t p, int64_t K) {
  const int64_t num = i + p - K + 1;
  return num <= 0 ? 0 : (num + s - 1) / s;
}

template <typename T>
void avg_backward(T* din, const T* dout, const gmpnn_pool2d_dims& d, int include_pad) {
  const int64_t C = d.C, rows = d.N * d.H;
  const bool par = parallel_for(d.N * d.H * d.W * C * d.KH * d.KW);
#pragma omp parallel if (par)
  {
    FtzScope ftz;
#pragma omp for schedule(static)
    for (int64_t row = 0; row < rows; ++row) {
      const int64_t n = row / d.H, ih = row - n * d.H;
      const int64_t oh0 = first_out(ih, d.stride_h, d.pad_h, d.KH);
      const int64_t oh1 = std::min(d.OH - 1, (ih + d.pad_h) / d.stride_h);
      for (int64_t iw = 0; iw < d.W; ++iw) {
        T* dst = din + (row * d.W + iw) * C;
        for (int64_t c = 0; c < C; ++c) dst[c] = T(0);
        const int64_t ow0 = first_out(iw, d.stride_w, d.pad_w, d.KW);
        const int64_t ow1 = std::min(d.OW - 1, (iw + d.pad_w) / d.stride_w);
        for (int64_t oh = oh0; oh <= oh1; ++oh) {
          int64_t kh0, kh1;
          window(oh, d.stride_h, d.pad_h, d.KH, d.H, &kh0, &kh1);
          for (int64_t ow = ow0; ow <= ow1; ++ow) {
            int64_t kw0, kw1;
            window(ow, d.stride_w, d.pad_w, d.KW, d.W, &kw0, &kw1);
            const T inv = T(1) / (T)divisor(d, kh0, kh1, kw0, kw1, include_pad);
            const T* g = dout + ((n * d.OH + oh) * d.OW + ow) * C;
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) dst[c] += g[c] * inv;
          }
        }
      }
    }
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

#define GMPNN_POOL_CHECK(op, d, a, b, c)            \
  do {                                              \
    gmpnn_status st_ = check(op, d, a, b, c);       \
    if (st_ != GMPNN_OK) return st_;                \
  } while (0)

extern "C" gmpnn_status gmpnn_cpu_max_pool2d_forward(gmpnn_dtype dt, void* out, void* argmax,
                                                     const void* in, const gmpnn_pool2d_dims* d) {
  const char* op = "max_pool2d_forward";
  GMPNN_POOL_CHECK(op, d, out, argmax, in);
  GMPNN_DISPATCH_FLOAT(dt, op, max_forward<T>((T*)out, (T*)argmax, (const T*)in, *d); return GMPNN_OK);
}

extern "C" gmpnn_status gmpnn_cpu_max_pool2d_backward(gmpnn_dtype dt, void* din, const void* dout,
                                                      const void* argmax,
                                                      const gmpnn_pool2d_dims* d) {
  const char* op = "max_pool2d_backward";
  GMPNN_POOL_CHECK(op, d, din, dout, argmax);
  GMPNN_DISPATCH_FLOAT(dt, op, max_backward<T>((T*)din, (const T*)dout, (const T*)argmax, *d); return GMPNN_OK);
}

extern "C" gmpnn_status gmpnn_cpu_avg_pool2d_forward(gmpnn_dtype dt, void* out, const void* in,
                                                     const gmpnn_pool2d_dims* d,
                                                     int count_include_pad) {
  const char* op = "avg_pool2d_forward";
  GMPNN_POOL_CHECK(op, d, out, in, in);
  GMPNN_DISPATCH_FLOAT(dt, op, avg_forward<T>((T*)out, (const T*)in, *d, count_include_pad); return GMPNN_OK);
}

extern "C" gmpnn_status gmpnn_cpu_avg_pool2d_backward(gmpnn_dtype dt, void* din, const void* dout,
                                                      const gmpnn_pool2d_dims* d,
                                                      int count_include_pad) {
  const char* op = "avg_pool2d_backward";
  GMPNN_POOL_CHECK(op, d, din, dout, dout);
  GMPNN_DISPATCH_FLOAT(dt, op, avg_backward<T>((T*)din, (const T*)dout, *d, count_include_pad); return GMPNN_OK);
}
