// Fused optimizer CPU kernels (gmpnn/optim.h): one pass over param, grad and state per step.
#include <cmath>

#include "cpu_util.h"
#include "gmpnn/optim.h"

namespace {

template <typename T>
void sgd_impl(T* p, T* buf, const T* g, int64_t n, double lr, double momentum, double dampening,
              double weight_decay, int nesterov, int first_step) {
  const T lr_ = (T)lr, mu = (T)momentum, damp = (T)(1 - dampening), wd = (T)weight_decay;
  gmpnn_cpu::parallel_region(n >= gmpnn_cpu::kParallelGrain, [&] {
#pragma omp for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    T d = g[i] + wd * p[i];
    if (mu != T(0)) {
      T b = first_step ? d : mu * buf[i] + damp * d;
      buf[i] = b;
      d = nesterov ? d + mu * b : b;
    }
    p[i] -= lr_ * d;
  }
  });
}

// The step's bias corrections, lr/(1 − β1^t) and 1/√(1 − β2^t): two pow, a division and a square
// root, ~60 ns of latency that a foreach step (adamStepMany) paid again for every tensor. Every
// tensor of one step has the same (lr, β1, β2, t), so they are computed once and kept.
struct AdamCorrections {
  double lr = -1, beta1 = -1, beta2 = -1;
  int64_t step = -1;
  double step_size = 0, inv_sqrt_bc2 = 0;
};

inline const AdamCorrections& adam_corrections(double lr, double beta1, double beta2,
                                               int64_t step) {
  thread_local AdamCorrections c;
  if (c.step != step || c.lr != lr || c.beta1 != beta1 || c.beta2 != beta2) {
    c.lr = lr, c.beta1 = beta1, c.beta2 = beta2, c.step = step;
    c.step_size = lr / (1 - std::pow(beta1, (double)step));
    c.inv_sqrt_bc2 = 1.0 / std::sqrt(1 - std::pow(beta2, (double)step));
  }
  return c;
}

template <typename T>
void adam_range(T* p, T* m, T* v, const T* g, int64_t lo, int64_t hi, T b1, T b2, T e, T wd,
                T step_size, T inv_sqrt_bc2, T decay) {
#pragma omp simd
  for (int64_t i = lo; i < hi; ++i) {
    T gi = g[i] + wd * p[i];
    T mi = b1 * m[i] + (T(1) - b1) * gi;
    T vi = b2 * v[i] + (T(1) - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = decay * p[i] - step_size * mi / (std::sqrt(vi) * inv_sqrt_bc2 + e);
  }
}

template <typename T>
void adam_impl(T* p, T* m, T* v, const T* g, int64_t n, double lr, double beta1, double beta2,
               double eps, double weight_decay, int decoupled, int64_t step) {
  const AdamCorrections& c = adam_corrections(lr, beta1, beta2, step);
  const T b1 = (T)beta1, b2 = (T)beta2, e = (T)eps, wd = decoupled ? T(0) : (T)weight_decay;
  const T step_size = (T)c.step_size, inv_sqrt_bc2 = (T)c.inv_sqrt_bc2;
  const T decay = decoupled ? (T)(1 - lr * weight_decay) : T(1);
  if (n < gmpnn_cpu::kParallelGrain) {
    // A small tensor (most of an MLP's): the loop alone, without an orphaned `omp for`'s
    // runtime calls.
    gmpnn_cpu::FtzScope ftz;
    adam_range(p, m, v, g, 0, n, b1, b2, e, wd, step_size, inv_sqrt_bc2, decay);
    return;
  }
  gmpnn_cpu::parallel_region(true, [&] {
    const int nt = omp_get_num_threads(), t = omp_get_thread_num();
    // Static chunks of whole vectors, as `omp for simd schedule(static)` gave.
    const int64_t chunk = ((n + nt - 1) / nt + 15) & ~int64_t(15);
    adam_range(p, m, v, g, std::min(n, t * chunk), std::min(n, (t + 1) * chunk), b1, b2, e, wd,
               step_size, inv_sqrt_bc2, decay);
  });
}

}  // namespace

extern "C" gmpnn_status gmpnn_cpu_sgd_step(gmpnn_dtype dt, void* param, void* momentum_buf,
                                           const void* grad, int64_t n, double lr,
                                           double momentum, double dampening,
                                           double weight_decay, int nesterov, int first_step) {
  if (n < 0) return gmpnn_set_error(GMPNN_E_ARG, "sgd_step: negative size");
  if (momentum != 0 && !momentum_buf)
    return gmpnn_set_error(GMPNN_E_ARG, "sgd_step: momentum needs a momentum buffer");
  GMPNN_DISPATCH_FLOAT(dt, "sgd_step",
                       sgd_impl<T>((T*)param, (T*)momentum_buf, (const T*)grad, n, lr, momentum,
                                   dampening, weight_decay, nesterov, first_step);
                       return GMPNN_OK);
}

extern "C" gmpnn_status gmpnn_cpu_adam_step(gmpnn_dtype dt, void* param, void* m, void* v,
                                            const void* grad, int64_t n, double lr, double beta1,
                                            double beta2, double eps, double weight_decay,
                                            int decoupled, int64_t step) {
  if (n < 0 || step < 1) return gmpnn_set_error(GMPNN_E_ARG, "adam_step: bad size or step");
  GMPNN_DISPATCH_FLOAT(dt, "adam_step",
                       adam_impl<T>((T*)param, (T*)m, (T*)v, (const T*)grad, n, lr, beta1, beta2,
                                    eps, weight_decay, decoupled, step);
                       return GMPNN_OK);
}
