/* Loss kernels. Forward writes the mean loss into loss[0] (=); backward writes dpred (=),
 * scaled by `scale` (the upstream gradient of the mean, i.e. dL/dloss / n is applied inside). */
#ifndef GMPNN_LOSS_H
#define GMPNN_LOSS_H
#include "gmpnn/common.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  GMPNN_LOSS_MSE = 0,         /* mean (p - t)^2 */
  GMPNN_LOSS_MAE = 1,         /* mean |p - t|; subgradient 0 at p == t */
  GMPNN_LOSS_BCE_LOGITS = 2,  /* mean softplus(p) - t·p, stable form; t in [0, 1] */
  GMPNN_LOSS_COUNT = 3
} gmpnn_loss_kind;

/* loss[0] = mean_i l(pred[i], target[i]), i < n (n >= 1). */
gmpnn_status gmpnn_cpu_loss_forward(gmpnn_dtype dt, void* loss, const void* pred,
                                    const void* target, int64_t n, int kind);
gmpnn_status gmpnn_cuda_loss_forward(gmpnn_dtype dt, void* loss, const void* pred,
                                     const void* target, int64_t n, int kind);
/* dpred[i] = (upstream / n) · ∂l/∂pred[i]; upstream read from dloss[0]. */
gmpnn_status gmpnn_cpu_loss_backward(gmpnn_dtype dt, void* dpred, const void* dloss,
                                     const void* pred, const void* target, int64_t n, int kind);
gmpnn_status gmpnn_cuda_loss_backward(gmpnn_dtype dt, void* dpred, const void* dloss,
                                      const void* pred, const void* target, int64_t n, int kind);

/* Softmax cross-entropy over rows of logits [N, C]; labels [N] hold class indices stored as
 * numbers of dtype dt. loss[0] = mean_n (logsumexp(logits[n]) - logits[n, labels[n]]);
 * probs [N, C] receives softmax(logits) for the backward. A label outside [0, C) is an error. */
gmpnn_status gmpnn_cpu_softmax_xent_forward(gmpnn_dtype dt, void* loss, void* probs,
                                            const void* logits, const void* labels, int64_t N,
                                            int64_t C);
gmpnn_status gmpnn_cuda_softmax_xent_forward(gmpnn_dtype dt, void* loss, void* probs,
                                             const void* logits, const void* labels, int64_t N,
                                             int64_t C);
/* dlogits[n, c] = (upstream / N) · (probs[n, c] - 1[c == labels[n]]); upstream = dloss[0]. */
gmpnn_status gmpnn_cpu_softmax_xent_backward(gmpnn_dtype dt, void* dlogits, const void* dloss,
                                             const void* probs, const void* labels, int64_t N,
                                             int64_t C);
gmpnn_status gmpnn_cuda_softmax_xent_backward(gmpnn_dtype dt, void* dlogits, const void* dloss,
                                              const void* probs, const void* labels, int64_t N,
                                              int64_t C);

#ifdef __cplusplus
}
#endif
#endif
