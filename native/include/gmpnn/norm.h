/* Batch normalization in training mode over the rows of a channels-last [rows, C] array (the BN
 * baseline: nn.BatchNorm after a dense layer, [B, C], or a convolution, [N·H·W, C]), GMP_SPEC.md
 * §5. Each entry writes its outputs (=). */
#ifndef GMPNN_NORM_H
#define GMPNN_NORM_H
#include "gmpnn/common.h"
#ifdef __cplusplus
extern "C" {
#endif

/* mean[c] = Σ_r x[r, c] / rows and var[c] = Σ_r (x[r, c] − mean[c])² / rows (biased, two passes),
 * rounded to the storage type; then y = (x − μ)·a + β[c] with μ = mean[c] as rounded and
 * a = γ[c]/sqrt(var[c] + eps). rows >= 1, C >= 1, eps >= 0. The CPU sums groups of 16 rows in the
 * storage type and the groups in double, by fixed blocks of rows (the same values for any thread
 * count), and runs the element arithmetic in the storage type; the CUDA twin sums and computes in
 * double. They agree to the parity tolerance. */
gmpnn_status gmpnn_cpu_batch_norm_forward(gmpnn_dtype dt, void* y, void* mean, void* var,
                                          const void* x, const void* gamma, const void* beta,
                                          int64_t rows, int64_t C, double eps);
gmpnn_status gmpnn_cuda_batch_norm_forward(gmpnn_dtype dt, void* y, void* mean, void* var,
                                           const void* x, const void* gamma, const void* beta,
                                           int64_t rows, int64_t C, double eps);

/* The backward from dy, with the forward's x, γ and its mean and var (as it wrote them):
 * x̂ = (x − μ)·σ⁻¹, dβ[c] = Σ_r dy, dγ[c] = Σ_r dy·x̂ and
 * dx = γ·σ⁻¹·(dy − dβ/rows − x̂·dγ/rows). dx, dgamma, dbeta may each be NULL (not wanted). */
gmpnn_status gmpnn_cpu_batch_norm_backward(gmpnn_dtype dt, void* dx, void* dgamma, void* dbeta,
                                           const void* dy, const void* x, const void* gamma,
                                           const void* mean, const void* var, int64_t rows,
                                           int64_t C, double eps);
gmpnn_status gmpnn_cuda_batch_norm_backward(gmpnn_dtype dt, void* dx, void* dgamma, void* dbeta,
                                            const void* dy, const void* x, const void* gamma,
                                            const void* mean, const void* var, int64_t rows,
                                            int64_t C, double eps);

/* Mean-only batch normalization in training mode (MBN; IMN after a GmP layer, GMP_SPEC.md §5):
 * mean[c] = Σ_r x[r, c] / rows rounded to the storage type, y = (x − mean[c])·scale. The CPU's
 * sums as batch_norm_forward's. */
gmpnn_status gmpnn_cpu_mean_only_batch_norm_forward(gmpnn_dtype dt, void* y, void* mean,
                                                    const void* x, int64_t rows, int64_t C,
                                                    double scale);
gmpnn_status gmpnn_cuda_mean_only_batch_norm_forward(gmpnn_dtype dt, void* y, void* mean,
                                                     const void* x, int64_t rows, int64_t C,
                                                     double scale);
/* Its backward: dx = (dy − Σ_r dy / rows)·scale (the batch mean's dependence on x removes each
 * channel's mean gradient). dx may alias dy. */
gmpnn_status gmpnn_cpu_mean_only_batch_norm_backward(gmpnn_dtype dt, void* dx, const void* dy,
                                                     int64_t rows, int64_t C, double scale);
gmpnn_status gmpnn_cuda_mean_only_batch_norm_backward(gmpnn_dtype dt, void* dx, const void* dy,
                                                      int64_t rows, int64_t C, double scale);

#ifdef __cplusplus
}
#endif
#endif
