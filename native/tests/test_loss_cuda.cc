// CUDA parity tests for the loss kernels (gmpnn/loss.h): MSE / MAE / BCE-with-logits forward and
// backward, softmax cross-entropy forward (loss and probs) and backward, against the CPU twins, on
// sizes 1, primes and large n (several partial-sum blocks); MAE ties p == t (subgradient 0); bad
// labels refused with GMPNN_E_ARG. Outputs are poisoned with NaN first.
#include "gmpnn/loss.h"
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "gmpnn/device.h"
#include "harness.h"

#include "cuda_test_util.h"
#ifdef GMPNN_WITH_CUDA
namespace {

template <typename T>
void run_pointwise() {
  Rand rng(13 + sizeof(T));
  const int64_t sizes[] = {1, 2, 7, 1000, 100003, 300007};
  for (int kind = 0; kind < GMPNN_LOSS_COUNT; ++kind)
    for (int64_t n : sizes) {
      std::vector<T> p = rng.vec<T>((size_t)n, -4, 4), t;
      if (kind == GMPNN_LOSS_BCE_LOGITS) {
        t = rng.vec<T>((size_t)n, 0, 1);
        for (size_t i = 0; i < t.size(); i += 3) t[i] = T(i % 2);
      } else {
        t = rng.vec<T>((size_t)n, -4, 4);
        for (size_t i = 0; i < t.size(); i += 5) t[i] = p[i];  // ties
      }
      std::vector<T> dloss = {T(1.75)};
      std::vector<T> want_l = nans<T>(1), want_g = nans<T>((size_t)n);
      CHECK_OK(gmpnn_cpu_loss_forward(dtype_of<T>(), want_l.data(), p.data(), t.data(), n, kind));
      CHECK_OK(gmpnn_cpu_loss_backward(dtype_of<T>(), want_g.data(), dloss.data(), p.data(),
                                       t.data(), n, kind));
      Dev<T> dp(p), dt(t), dl(nans<T>(1)), dd(dloss), dg(nans<T>((size_t)n));
      CHECK_OK(gmpnn_cuda_loss_forward(dtype_of<T>(), dl.p, dp.p, dt.p, n, kind));
      CHECK_OK(gmpnn_cuda_loss_backward(dtype_of<T>(), dg.p, dd.p, dp.p, dt.p, n, kind));
      std::string what = "loss kind " + std::to_string(kind) + " n=" + std::to_string(n);
      CHECK_CLOSE((what + " forward").c_str(), dl.down().data(), want_l.data(), 1, tol<T>(),
                  tol<T>());
      CHECK_CLOSE((what + " backward").c_str(), dg.down().data(), want_g.data(), (size_t)n,
                  tol<T>() * 2.0 / (double)n, tol<T>());
    }
}

template <typename T>
void run_xent() {
  Rand rng(17 + sizeof(T));
  const int64_t shapes[][2] = {{1, 1}, {1, 10}, {7, 3}, {33, 1000}, {1000, 10}, {257, 37}};
  for (const auto& s : shapes) {
    const int64_t N = s[0], C = s[1];
    std::vector<T> z = rng.vec<T>((size_t)(N * C), -6, 6), y((size_t)N);
    for (auto& v : y) v = (T)(rng.next() % (uint64_t)C);
    std::vector<T> dloss = {T(0.8)};
    std::vector<T> want_l = nans<T>(1), want_p = nans<T>((size_t)(N * C)),
                   want_g = nans<T>((size_t)(N * C));
    CHECK_OK(gmpnn_cpu_softmax_xent_forward(dtype_of<T>(), want_l.data(), want_p.data(), z.data(),
                                            y.data(), N, C));
    CHECK_OK(gmpnn_cpu_softmax_xent_backward(dtype_of<T>(), want_g.data(), dloss.data(),
                                             want_p.data(), y.data(), N, C));
    Dev<T> dz(z), dy(y), dl(nans<T>(1)), dp(nans<T>((size_t)(N * C))), dd(dloss),
        dg(nans<T>((size_t)(N * C)));
    CHECK_OK(gmpnn_cuda_softmax_xent_forward(dtype_of<T>(), dl.p, dp.p, dz.p, dy.p, N, C));
    CHECK_OK(gmpnn_cuda_softmax_xent_backward(dtype_of<T>(), dg.p, dd.p, dp.p, dy.p, N, C));
    std::string what = "xent [" + std::to_string(N) + "," + std::to_string(C) + "]";
    CHECK_CLOSE((what + " loss").c_str(), dl.down().data(), want_l.data(), 1, tol<T>(), tol<T>());
    CHECK_CLOSE((what + " probs").c_str(), dp.down().data(), want_p.data(), (size_t)(N * C),
                tol<T>() * 1e-3, tol<T>());
    CHECK_CLOSE((what + " dlogits").c_str(), dg.down().data(), want_g.data(), (size_t)(N * C),
                tol<T>() * 1e-3, tol<T>());
  }
  // A label outside [0, C) or not an integer is an error on both devices.
  const T bad_labels[] = {T(3), T(-1), T(1.5)};
  for (T bad : bad_labels) {
    std::vector<T> z = rng.vec<T>(6), y = {T(0), bad};
    std::vector<T> l(1), p(6), g(6), dloss = {T(1)};
    CHECK(gmpnn_cpu_softmax_xent_forward(dtype_of<T>(), l.data(), p.data(), z.data(), y.data(), 2,
                                         3) == GMPNN_E_ARG);
    Dev<T> dz(z), dy(y), dl(1), dp(6), dg(6), dd(dloss);
    CHECK(gmpnn_cuda_softmax_xent_forward(dtype_of<T>(), dl.p, dp.p, dz.p, dy.p, 2, 3) ==
          GMPNN_E_ARG);
    CHECK(gmpnn_cuda_softmax_xent_backward(dtype_of<T>(), dg.p, dd.p, dp.p, dy.p, 2, 3) ==
          GMPNN_E_ARG);
  }
}

}  // namespace
#endif

GMPNN_TEST(loss_cuda_parity_pointwise) {
  CUDA_TEST_BODY(run_pointwise<float>(); run_pointwise<double>());
}
GMPNN_TEST(loss_cuda_parity_softmax_xent) { CUDA_TEST_BODY(run_xent<float>(); run_xent<double>()); }
