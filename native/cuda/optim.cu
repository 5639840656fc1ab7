// CUDA fused optimizer updates (gmpnn/optim.h): SGD (momentum, dampening, Nesterov, weight decay)
// and Adam / AdamW, following torch.optim. param and the state buffers are updated in place, grad
// is read only. The per-element arithmetic is the CPU twin's (native/cpu/optim.cc) in the same
// order and precision: scalar coefficients (bias corrections, lr / bc1, 1 / sqrt(bc2), AdamW's
// 1 - lr·wd) are formed in double on the host and rounded once to the parameter dtype.
//
// Launch: one grid-stride pass, 256 threads per block, grid_for(n) blocks.
#include <cmath>

#include "common.cuh"
#include "gmpnn/optim.h"

namespace {

using namespace gmpnn_cuda;

template <typename T>
__global__ void sgd_kernel(T* __restrict__ p, T* __restrict__ buf, const T* __restrict__ g,
                           int64_t n, T lr, T mu, T damp, T wd, int nesterov, int first_step) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    T d = g[i] + wd * p[i];
    if (mu != T(0)) {
      T b = first_step ? d : mu * buf[i] + damp * d;
      buf[i] = b;
      d = nesterov ? d + mu * b : b;
    }
    p[i] -= lr * d;
  }
}

template <typename T>
__global__ void adam_kernel(T* __restrict__ p, T* __restrict__ m, T* __restrict__ v,
                            const T* __restrict__ g, int64_t n, T b1, T b2, T e, T wd,
                            T step_size, T inv_sqrt_bc2, T decay) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    T gi = g[i] + wd * p[i];
    T mi = b1 * m[i] + (T(1) - b1) * gi;
    T vi = b2 * v[i] + (T(1) - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = decay * p[i] - step_size * mi / (sqrt(vi) * inv_sqrt_bc2 + e);
  }
}

}  // namespace

extern "C" gmpnn_status gmpnn_cuda_sgd_step(gmpnn_dtype dt, void* param, void* momentum_buf,
                                            const void* grad, int64_t n, double lr,
                                            double momentum, double dampening,
                                            double weight_decay, int nesterov, int first_step) {
  const char* name = "gmpnn_cuda_sgd_step";
  GMPNN_CUDA_REQUIRE(n >= 0, GMPNN_E_ARG, "%s: negative size", name);
  GMPNN_CUDA_REQUIRE(momentum == 0 || momentum_buf, GMPNN_E_ARG,
                     "%s: momentum needs a momentum buffer", name);
  if (n == 0) return GMPNN_OK;
  GMPNN_CUDA_REQUIRE(param && grad, GMPNN_E_ARG, "%s: NULL pointer", name);
  GMPNN_CUDA_STREAM(name);
  GMPNN_CUDA_DISPATCH(dt, name,
                      sgd_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(
                          (T*)param, (T*)momentum_buf, (const T*)grad, n, (T)lr, (T)momentum,
                          (T)(1 - dampening), (T)weight_decay, nesterov, first_step));
  GMPNN_CUDA_LAUNCHED(name);
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_adam_step(gmpnn_dtype dt, void* param, void* m, void* v,
                                             const void* grad, int64_t n, double lr, double beta1,
                                             double beta2, double eps, double weight_decay,
                                             int decoupled, int64_t step) {
  const char* name = "gmpnn_cuda_adam_step";
  GMPNN_CUDA_REQUIRE(n >= 0 && step >= 1, GMPNN_E_ARG, "%s: bad size or step", name);
  if (n == 0) return GMPNN_OK;
  GMPNN_CUDA_REQUIRE(param && m && v && grad, GMPNN_E_ARG, "%s: NULL pointer", name);
  GMPNN_CUDA_STREAM(name);
  const double bc1 = 1 - std::pow(beta1, (double)step);
  const double bc2 = 1 - std::pow(beta2, (double)step);
  GMPNN_CUDA_DISPATCH(dt, name,
                      adam_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(
                          (T*)param, (T*)m, (T*)v, (const T*)grad, n, (T)beta1, (T)beta2, (T)eps,
                          decoupled ? T(0) : (T)weight_decay, (T)(lr / bc1),
                          (T)(1.0 / std::sqrt(bc2)),
                          decoupled ? (T)(1 - lr * weight_decay) : T(1)));
  GMPNN_CUDA_LAUNCHED(name);
  return GMPNN_OK;
}
