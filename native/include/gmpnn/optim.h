/* Fused optimizer updates over one parameter buffer (n elements). param and the state buffers
 * are updated in place; grad is read only. Semantics follow torch.optim. */
#ifndef GMPNN_OPTIM_H
#define GMPNN_OPTIM_H
#include "gmpnn/common.h"
#ifdef __cplusplus
extern "C" {
#endif

/* g = grad + weight_decay·param
 * if momentum != 0: buf = first_step ? g : momentum·buf + (1 - dampening)·g
 *                   g = nesterov ? g + momentum·buf : buf
 * param -= lr·g.   momentum_buf may be NULL when momentum == 0. */
gmpnn_status gmpnn_cpu_sgd_step(gmpnn_dtype dt, void* param, void* momentum_buf, const void* grad,
                                int64_t n, double lr, double momentum, double dampening,
                                double weight_decay, int nesterov, int first_step);
gmpnn_status gmpnn_cuda_sgd_step(gmpnn_dtype dt, void* param, void* momentum_buf,
                                 const void* grad, int64_t n, double lr, double momentum,
                                 double dampening, double weight_decay, int nesterov,
                                 int first_step);

/* Adam (decoupled = 0: g += wd·param) or AdamW (decoupled = 1: param -= lr·wd·param).
 * m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²;  step >= 1 is the bias-correction count;
 * param -= lr · (m / (1-β1^step)) / (sqrt(v / (1-β2^step)) + eps). */
gmpnn_status gmpnn_cpu_adam_step(gmpnn_dtype dt, void* param, void* m, void* v, const void* grad,
                                 int64_t n, double lr, double beta1, double beta2, double eps,
                                 double weight_decay, int decoupled, int64_t step);
gmpnn_status gmpnn_cuda_adam_step(gmpnn_dtype dt, void* param, void* m, void* v, const void* grad,
                                  int64_t n, double lr, double beta1, double beta2, double eps,
                                  double weight_decay, int decoupled, int64_t step);

#ifdef __cplusplus
}
#endif
#endif
