// Loss CPU kernels (gmpnn/loss.h): MSE, MAE, BCE with logits, softmax cross-entropy.
// Forward means accumulate in double; backward reads the upstream gradient from a buffer so the
// autograd engine needs no host round trip.
#include <algorithm>
#include <cmath>

#include "cpu_util.h"
#include "gmpnn/loss.h"

namespace {

// The pointwise losses, one instantiation per kind so that the loops below carry no switch and
// vectorize (MAE's sign was a branch per element: half of them mispredicted on random residuals).
template <int KIND, typename T>
inline double pointwise_loss(T p, T t) {
  const double d = (double)p - (double)t;
  if constexpr (KIND == GMPNN_LOSS_MSE) return d * d;
  if constexpr (KIND == GMPNN_LOSS_MAE) return std::fabs(d);
  if constexpr (KIND == GMPNN_LOSS_BCE_LOGITS) {
    // softplus(p) - t·p = max(p, 0) - t·p + log1p(exp(-|p|))
    const double x = (double)p;
    return (x > 0 ? x : 0) - (double)t * x + std::log1p(std::exp(-std::fabs(x)));
  }
}

template <int KIND, typename T>
inline T pointwise_grad(T p, T t) {
  if constexpr (KIND == GMPNN_LOSS_MSE) return T(2) * (p - t);
  if constexpr (KIND == GMPNN_LOSS_MAE) return T(int(p > t) - int(p < t));  // 0 at p = t and for NaN
  if constexpr (KIND == GMPNN_LOSS_BCE_LOGITS) {
    const T s = p >= T(0) ? T(1) / (T(1) + std::exp(-p)) : std::exp(p) / (T(1) + std::exp(p));
    return s - t;
  }
}

template <typename T>
int64_t label_of(const T* labels, int64_t n, int64_t C) {
  T v = labels[n];
  int64_t k = (int64_t)v;
  if (!(v >= T(0)) || (T)k != v || k >= C) return -1;
  return k;
}

// Forward: the mean in double, blocks of partial sums (sum_in_double) spread over the threads.
template <int KIND, typename T>
gmpnn_status loss_forward_impl(T* loss, const T* p, const T* t, int64_t n) {
  double s = 0;
  constexpr int64_t kBlock = 1024;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  gmpnn_cpu::parallel_region(n >= gmpnn_cpu::kParallelGrain, [&] {
    double local = 0;
#pragma omp for schedule(static)
    for (int64_t b = 0; b < blocks; ++b) {
      local += gmpnn_cpu::sum_in_double(b * kBlock, std::min(n, (b + 1) * kBlock),
                                        [&](int64_t i) { return pointwise_loss<KIND, T>(p[i], t[i]); });
    }
#pragma omp atomic
    s += local;
  });
  *loss = (T)(s / (double)n);
  return GMPNN_OK;
}

template <int KIND, typename T>
gmpnn_status loss_backward_impl(T* g, const T* dloss, const T* p, const T* t, int64_t n) {
  const T scale = (T)((double)*dloss / (double)n);
  gmpnn_cpu::parallel_region(n >= gmpnn_cpu::kParallelGrain, [&] {
#pragma omp for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) g[i] = scale * pointwise_grad<KIND, T>(p[i], t[i]);
  });
  return GMPNN_OK;
}

template <typename T>
gmpnn_status xent_forward_impl(T* loss, T* pr, const T* z, const T* y, int64_t N, int64_t C) {
  for (int64_t n = 0; n < N; ++n)
    if (label_of(y, n, C) < 0)
      return gmpnn_set_error(GMPNN_E_ARG,
                             "softmax_xent_forward: label %g at row %lld is not a class in "
                             "[0, %lld)",
                             (double)y[n], (long long)n, (long long)C);
  double total = 0;
  gmpnn_cpu::parallel_region(N * C >= gmpnn_cpu::kParallelGrain, [&] {
  double local = 0;
#pragma omp for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const T* row = z + n * C;
    T* prow = pr + n * C;
    double mx = row[0];
    for (int64_t c = 1; c < C; ++c) mx = row[c] > mx ? row[c] : mx;
    double se = 0;
    for (int64_t c = 0; c < C; ++c) se += std::exp((double)row[c] - mx);
    const double inv = 1.0 / se;
    for (int64_t c = 0; c < C; ++c) prow[c] = (T)(std::exp((double)row[c] - mx) * inv);
    local += std::log(se) + mx - (double)row[label_of(y, n, C)];
  }
#pragma omp atomic
  total += local;
  });
  *loss = (T)(total / (double)N);
  return GMPNN_OK;
}

template <typename T>
gmpnn_status xent_backward_impl(T* g, const T* dloss, const T* pr, const T* y, int64_t N,
                                int64_t C) {
  for (int64_t n = 0; n < N; ++n)
    if (label_of(y, n, C) < 0)
      return gmpnn_set_error(GMPNN_E_ARG, "softmax_xent_backward: bad label at row %lld",
                             (long long)n);
  const T scale = (T)((double)*dloss / (double)N);
  gmpnn_cpu::parallel_region(N * C >= gmpnn_cpu::kParallelGrain, [&] {
#pragma omp for schedule(static)
    for (int64_t n = 0; n < N; ++n) {
      int64_t k = label_of(y, n, C);
      for (int64_t c = 0; c < C; ++c)
        g[n * C + c] = scale * (pr[n * C + c] - (c == k ? T(1) : T(0)));
    }
  });
  return GMPNN_OK;
}

}  // namespace

extern "C" gmpnn_status gmpnn_cpu_loss_forward(gmpnn_dtype dt, void* loss, const void* pred,
                                               const void* target, int64_t n, int kind) {
  if (kind < 0 || kind >= GMPNN_LOSS_COUNT)
    return gmpnn_set_error(GMPNN_E_ARG, "loss_forward: bad kind %d", kind);
  if (n < 1) return gmpnn_set_error(GMPNN_E_SHAPE, "loss_forward: empty input");
  GMPNN_DISPATCH_FLOAT(dt, "loss_forward", {
    auto* l = (T*)loss;
    auto* p = (const T*)pred;
    auto* t = (const T*)target;
    switch (kind) {
      case GMPNN_LOSS_MSE: return loss_forward_impl<GMPNN_LOSS_MSE, T>(l, p, t, n);
      case GMPNN_LOSS_MAE: return loss_forward_impl<GMPNN_LOSS_MAE, T>(l, p, t, n);
      default: return loss_forward_impl<GMPNN_LOSS_BCE_LOGITS, T>(l, p, t, n);
    }
  });
}

extern "C" gmpnn_status gmpnn_cpu_loss_backward(gmpnn_dtype dt, void* dpred, const void* dloss,
                                                const void* pred, const void* target, int64_t n,
                                                int kind) {
  if (kind < 0 || kind >= GMPNN_LOSS_COUNT)
    return gmpnn_set_error(GMPNN_E_ARG, "loss_backward: bad kind %d", kind);
  if (n < 1) return gmpnn_set_error(GMPNN_E_SHAPE, "loss_backward: empty input");
  GMPNN_DISPATCH_FLOAT(dt, "loss_backward", {
    auto* g = (T*)dpred;
    auto* dl = (const T*)dloss;
    auto* p = (const T*)pred;
    auto* t = (const T*)target;
    switch (kind) {
      case GMPNN_LOSS_MSE: return loss_backward_impl<GMPNN_LOSS_MSE, T>(g, dl, p, t, n);
      case GMPNN_LOSS_MAE: return loss_backward_impl<GMPNN_LOSS_MAE, T>(g, dl, p, t, n);
      default: return loss_backward_impl<GMPNN_LOSS_BCE_LOGITS, T>(g, dl, p, t, n);
    }
  });
}

extern "C" gmpnn_status gmpnn_cpu_softmax_xent_forward(gmpnn_dtype dt, void* loss, void* probs,
                                                       const void* logits, const void* labels,
                                                       int64_t N, int64_t C) {
  if (N < 1 || C < 1)
    return gmpnn_set_error(GMPNN_E_SHAPE, "softmax_xent_forward: bad shape [%lld, %lld]",
                           (long long)N, (long long)C);
  GMPNN_DISPATCH_FLOAT(dt, "softmax_xent_forward",
                       return xent_forward_impl<T>((T*)loss, (T*)probs, (const T*)logits,
                                                   (const T*)labels, N, C));
}

extern "C" gmpnn_status gmpnn_cpu_softmax_xent_backward(gmpnn_dtype dt, void* dlogits,
                                                        const void* dloss, const void* probs,
                                                        const void* labels, int64_t N,
                                                        int64_t C) {
  if (N < 1 || C < 1) return gmpnn_set_error(GMPNN_E_SHAPE, "softmax_xent_backward: bad shape");
  GMPNN_DISPATCH_FLOAT(dt, "softmax_xent_backward",
                       return xent_backward_impl<T>((T*)dlogits, (const T*)dloss,
                                                    (const T*)probs, (const T*)labels, N, C));
}
