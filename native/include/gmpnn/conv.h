/* 2-D convolution kernels, NHWC (GMP_SPEC.md §3: a GmP conv is z = conv(x, reshape(u(θ))) + λ).
 *
 *   in     [N, H, W, C_in]           activations, NHWC
 *   weight [C_out, KH, KW, C_in]     one output channel's fan-in is contiguous, (kh, kw, in) order
 *   out    [N, OH, OW, C_out]
 *   out[n, oh, ow, o] = Σ_{kh, kw, c} in[n, oh·sh − ph + kh, ow·sw − pw + kw, c] · weight[o, kh, kw, c]
 * pad_h / pad_w are the top / left padding; input positions outside [0, H) × [0, W) read as zero,
 * so OH and OW are free (the caller computes them: 'same' padding may be asymmetric, the extra
 * row / column going to the bottom / right as in TensorFlow). Bias-free: the bias (λ), activation
 * and ×r are applied by the GmP epilogues of gmp.h on `out` viewed as [N·OH·OW, C_out].
 *
 * Write rule: every output here is written (=), the filter gradient included; the autograd engine
 * accumulates across uses. float32 and float64. No aliasing between outputs and inputs.
 */
#ifndef GMPNN_CONV_H
#define GMPNN_CONV_H
#include "gmpnn/common.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int64_t N, H, W, C_in;      /* input  [N, H, W, C_in] */
  int64_t C_out, KH, KW;      /* weight [C_out, KH, KW, C_in] */
  int64_t OH, OW;             /* output [N, OH, OW, C_out] */
  int64_t stride_h, stride_w; /* >= 1 */
  int64_t pad_h, pad_w;       /* top / left padding, >= 0 */
} gmpnn_conv2d_dims;

/* Checks a dims struct (sizes >= 0, kernel and stride >= 1, pads >= 0); GMPNN_OK or E_SHAPE with
 * a message naming `op`. Inline so the CPU and CUDA libraries share it without a link edge. */
static inline gmpnn_status gmpnn_conv2d_check_dims(const gmpnn_conv2d_dims* d, const char* op) {
  if (!d) return gmpnn_set_error(GMPNN_E_ARG, "%s: NULL dims", op);
  if (d->N < 0 || d->H < 0 || d->W < 0 || d->C_in < 0 || d->C_out < 0 || d->OH < 0 || d->OW < 0 ||
      d->KH < 1 || d->KW < 1 || d->stride_h < 1 || d->stride_w < 1 || d->pad_h < 0 || d->pad_w < 0)
    return gmpnn_set_error(GMPNN_E_SHAPE,
                           "%s: bad dims N=%lld H=%lld W=%lld C_in=%lld C_out=%lld K=%lldx%lld "
                           "out=%lldx%lld stride=%lldx%lld pad=%lldx%lld",
                           op, (long long)d->N, (long long)d->H, (long long)d->W,
                           (long long)d->C_in, (long long)d->C_out, (long long)d->KH,
                           (long long)d->KW, (long long)d->OH, (long long)d->OW,
                           (long long)d->stride_h, (long long)d->stride_w, (long long)d->pad_h,
                           (long long)d->pad_w);
  return GMPNN_OK;
}

/* out [N, OH, OW, C_out] = conv(in, weight). */
gmpnn_status gmpnn_cpu_conv2d_forward(gmpnn_dtype dt, void* out, const void* in,
                                      const void* weight, const gmpnn_conv2d_dims* d);
gmpnn_status gmpnn_cuda_conv2d_forward(gmpnn_dtype dt, void* out, const void* in,
                                       const void* weight, const gmpnn_conv2d_dims* d);

/* Data gradient: din [N, H, W, C_in] = ∂L/∂in from dout [N, OH, OW, C_out] (written =). */
gmpnn_status gmpnn_cpu_conv2d_backward_data(gmpnn_dtype dt, void* din, const void* dout,
                                            const void* weight, const gmpnn_conv2d_dims* d);
gmpnn_status gmpnn_cuda_conv2d_backward_data(gmpnn_dtype dt, void* din, const void* dout,
                                             const void* weight, const gmpnn_conv2d_dims* d);

/* Filter gradient: dweight [C_out, KH, KW, C_in] = Σ_{n, oh, ow} dout ⊗ in-patch (written =). */
gmpnn_status gmpnn_cpu_conv2d_backward_filter(gmpnn_dtype dt, void* dweight, const void* dout,
                                              const void* in, const gmpnn_conv2d_dims* d);
gmpnn_status gmpnn_cuda_conv2d_backward_filter(gmpnn_dtype dt, void* dweight, const void* dout,
                                               const void* in, const gmpnn_conv2d_dims* d);

/* Straightforward 7-loop direct convolutions (double accumulation, single thread): the references
 * the tests and benchmarks compare with. Same contracts as the fast entries. */
gmpnn_status gmpnn_cpu_conv2d_forward_reference(gmpnn_dtype dt, void* out, const void* in,
                                                const void* weight, const gmpnn_conv2d_dims* d);
gmpnn_status gmpnn_cpu_conv2d_backward_data_reference(gmpnn_dtype dt, void* din, const void* dout,
                                                      const void* weight,
                                                      const gmpnn_conv2d_dims* d);
gmpnn_status gmpnn_cpu_conv2d_backward_filter_reference(gmpnn_dtype dt, void* dweight,
                                                        const void* dout, const void* in,
                                                        const gmpnn_conv2d_dims* d);

/* Testing hooks (not thread-safe with running kernels): tile_rows > 0 forces the number of output
 * pixels per im2col tile (0 restores the automatic choice); filter_mode 0 = automatic, 1 = per-
 * thread partial sums, 2 = sequential tiles into the threaded GEMM (beta = 1). */
void gmpnn_cpu_conv2d_set_tiling_for_testing(int64_t tile_rows, int filter_mode);
/* mode -1 = automatic, 0 = never, 1 = always where it applies (stride 1): the direct path, which
 * convolves from a zero-padded copy of the image without an im2col matrix (forward, and the data
 * gradient as the convolution of the padded output gradient with the flipped weight). */
void gmpnn_cpu_conv2d_set_direct_for_testing(int mode);

#ifdef __cplusplus
}
#endif
#endif
