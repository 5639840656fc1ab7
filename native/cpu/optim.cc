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

template <typename T>
void adam_impl(T* p, T* m, T* v, const T* g, int64_t n, double lr, double beta1, double beta2,
               double eps, double weight_decay, int decoupled, int64_t step) {
  const double bc1 = 1 - std::pow(beta1, (double)step);
  const double bc2 = 1 - std::pow(beta2, (double)step);
  const T b1 = (T)beta1, b2 = (T)beta2, e = (T)eps, wd = decoupled ? T(0) : (T)weight_decay;
  const T step_size = (T)(lr / bc1), inv_sqrt_bc2 = (T)(1.0 / std::sqrt(bc2));
  const T decay = decoupled ? (T)(1 - lr * weight_decay) : T(1);
  gmpnn_cpu::parallel_region(n >= gmpnn_cpu::kParallelGrain, [&] {
#pragma omp for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    T gi = g[i] + wd * p[i];
    T mi = b1 * m[i] + (T(1) - b1) * gi;
    T vi = b2 * v[i] + (T(1) - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = decay * p[i] - step_size * mi / (std::sqrt(vi) * inv_sqrt_bc2 + e);
  }
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
