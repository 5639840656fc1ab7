/* 2-D pooling kernels, NHWC (the VGG-6 / ResNet pools of GMP_SPEC.md §6).
 *
 *   in  [N, H, W, C],  out [N, OH, OW, C]; window KH × KW, stride, top / left padding.
 *   The window of out[n, oh, ow, c] covers rows oh·sh − ph … + KH − 1 and columns ow·sw − pw … +
 *   KW − 1; positions outside the input are padding (ignored by max, counted or not by avg).
 *
 * max: out = the largest element of the window (NaN propagates: the first NaN wins); argmax
 * [N, OH, OW, C] gets its position ih·W + iw inside the image plane, stored as a number of the
 * tensor's dtype (exact in float32 up to 2^24 pixels per plane), ties to the first position in
 * row-major window order. A window with no input element gives out = 0, argmax = −1.
 * avg: out = window sum / divisor, divisor = KH·KW (count_include_pad != 0) or the number of
 * input elements in the window (0 elements: out = 0).
 * Backward: max scatters dout to argmax; avg spreads dout / divisor over the window.
 * Write rule: every output is written (=). float32 and float64.
 */
#ifndef GMPNN_POOL_H
#define GMPNN_POOL_H
#include "gmpnn/common.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int64_t N, H, W, C;         /* input [N, H, W, C] */
  int64_t KH, KW;             /* window */
  int64_t OH, OW;             /* output [N, OH, OW, C] */
  int64_t stride_h, stride_w; /* >= 1 */
  int64_t pad_h, pad_w;       /* top / left padding, >= 0 */
} gmpnn_pool2d_dims;

/* GMPNN_OK or E_SHAPE naming `op` (sizes >= 0, window and stride >= 1, pads >= 0). Inline so the
 * CPU and CUDA libraries share it without a link edge. */
static inline gmpnn_status gmpnn_pool2d_check_dims(const gmpnn_pool2d_dims* d, const char* op) {
  if (!d) return gmpnn_set_error(GMPNN_E_ARG, "%s: NULL dims", op);
  if (d->N < 0 || d->H < 0 || d->W < 0 || d->C < 0 || d->OH < 0 || d->OW < 0 || d->KH < 1 ||
      d->KW < 1 || d->stride_h < 1 || d->stride_w < 1 || d->pad_h < 0 || d->pad_w < 0)
    return gmpnn_set_error(GMPNN_E_SHAPE,
                           "%s: bad dims N=%lld H=%lld W=%lld C=%lld K=%lldx%lld out=%lldx%lld "
                           "stride=%lldx%lld pad=%lldx%lld",
                           op, (long long)d->N, (long long)d->H, (long long)d->W, (long long)d->C,
                           (long long)d->KH, (long long)d->KW, (long long)d->OH, (long long)d->OW,
                           (long long)d->stride_h, (long long)d->stride_w, (long long)d->pad_h,
                           (long long)d->pad_w);
  return GMPNN_OK;
}

gmpnn_status gmpnn_cpu_max_pool2d_forward(gmpnn_dtype dt, void* out, void* argmax, const void* in,
                                          const gmpnn_pool2d_dims* d);
gmpnn_status gmpnn_cuda_max_pool2d_forward(gmpnn_dtype dt, void* out, void* argmax,
                                           const void* in, const gmpnn_pool2d_dims* d);

/* din [N, H, W, C] from dout and the forward's argmax (both [N, OH, OW, C]). */
gmpnn_status gmpnn_cpu_max_pool2d_backward(gmpnn_dtype dt, void* din, const void* dout,
                                           const void* argmax, const gmpnn_pool2d_dims* d);
gmpnn_status gmpnn_cuda_max_pool2d_backward(gmpnn_dtype dt, void* din, const void* dout,
                                            const void* argmax, const gmpnn_pool2d_dims* d);

gmpnn_status gmpnn_cpu_avg_pool2d_forward(gmpnn_dtype dt, void* out, const void* in,
                                          const gmpnn_pool2d_dims* d, int count_include_pad);
gmpnn_status gmpnn_cuda_avg_pool2d_forward(gmpnn_dtype dt, void* out, const void* in,
                                           const gmpnn_pool2d_dims* d, int count_include_pad);

gmpnn_status gmpnn_cpu_avg_pool2d_backward(gmpnn_dtype dt, void* din, const void* dout,
                                           const gmpnn_pool2d_dims* d, int count_include_pad);
gmpnn_status gmpnn_cuda_avg_pool2d_backward(gmpnn_dtype dt, void* din, const void* dout,
                                            const gmpnn_pool2d_dims* d, int count_include_pad);

#ifdef __cplusplus
}
#endif
#endif
