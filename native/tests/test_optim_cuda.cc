// CUDA parity tests for the fused optimizers (gmpnn/optim.h): SGD (plain with a NULL buffer,
// momentum with first step, dampening, Nesterov, weight decay) and Adam / AdamW, three
// consecutive steps on both devices from the same state, comparing parameters and state buffers,
// sizes 1, primes and non-multiples of the block size.
#include "gmpnn/optim.h"
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

const int64_t kSizes[] = {1, 5, 1031, 100003};

template <typename T>
void run_sgd() {
  Rand rng(19 + sizeof(T));
  struct Cfg {
    double lr, momentum, dampening, wd;
    int nesterov;
  };
  const Cfg cfgs[] = {{0.1, 0, 0, 0, 0}, {0.05, 0.9, 0, 0, 0}, {0.05, 0.9, 0.1, 1e-2, 0},
                      {0.01, 0.8, 0, 1e-3, 1}};
  for (const Cfg& c : cfgs)
    for (int64_t n : kSizes) {
      std::vector<T> p = rng.vec<T>((size_t)n), buf = nans<T>((size_t)n);
      Dev<T> dp(p), dbuf(buf);
      for (int step = 0; step < 3; ++step) {
        std::vector<T> g = rng.vec<T>((size_t)n);
        Dev<T> dg(g);
        T* hb = c.momentum != 0 ? buf.data() : nullptr;
        T* db = c.momentum != 0 ? dbuf.p : nullptr;
        CHECK_OK(gmpnn_cpu_sgd_step(dtype_of<T>(), p.data(), hb, g.data(), n, c.lr, c.momentum,
                                    c.dampening, c.wd, c.nesterov, step == 0));
        CHECK_OK(gmpnn_cuda_sgd_step(dtype_of<T>(), dp.p, db, dg.p, n, c.lr, c.momentum,
                                     c.dampening, c.wd, c.nesterov, step == 0));
      }
      std::string what = "sgd momentum=" + std::to_string(c.momentum) +
                         " nesterov=" + std::to_string(c.nesterov) + " n=" + std::to_string(n);
      CHECK_CLOSE((what + " param").c_str(), dp.down().data(), p.data(), (size_t)n, tol<T>(),
                  tol<T>());
      if (c.momentum != 0)
        CHECK_CLOSE((what + " buf").c_str(), dbuf.down().data(), buf.data(), (size_t)n, tol<T>(),
                    tol<T>());
    }
  Dev<T> d(4);
  CHECK(gmpnn_cuda_sgd_step(dtype_of<T>(), d.p, nullptr, d.p, 4, 0.1, 0.9, 0, 0, 0, 1) ==
        GMPNN_E_ARG);
}

template <typename T>
void run_adam() {
  Rand rng(29 + sizeof(T));
  for (int decoupled = 0; decoupled < 2; ++decoupled)
    for (double wd : {0.0, 0.01})
      for (int64_t n : kSizes) {
        std::vector<T> p = rng.vec<T>((size_t)n), m((size_t)n, T(0)), v((size_t)n, T(0));
        Dev<T> dp(p), dm(m), dv(v);
        for (int64_t step = 1; step <= 3; ++step) {
          std::vector<T> g = rng.vec<T>((size_t)n);
          Dev<T> dg(g);
          CHECK_OK(gmpnn_cpu_adam_step(dtype_of<T>(), p.data(), m.data(), v.data(), g.data(), n,
                                       1e-2, 0.9, 0.999, 1e-8, wd, decoupled, step));
          CHECK_OK(gmpnn_cuda_adam_step(dtype_of<T>(), dp.p, dm.p, dv.p, dg.p, n, 1e-2, 0.9, 0.999,
                                        1e-8, wd, decoupled, step));
        }
        std::string what = std::string(decoupled ? "adamw" : "adam") +
                           " wd=" + std::to_string(wd) + " n=" + std::to_string(n);
        CHECK_CLOSE((what + " param").c_str(), dp.down().data(), p.data(), (size_t)n, tol<T>(),
                    tol<T>());
        CHECK_CLOSE((what + " m").c_str(), dm.down().data(), m.data(), (size_t)n, tol<T>(),
                    tol<T>());
        CHECK_CLOSE((what + " v").c_str(), dv.down().data(), v.data(), (size_t)n, tol<T>(),
                    tol<T>());
      }
}

}  // namespace
#endif

GMPNN_TEST(optim_cuda_parity_sgd) { CUDA_TEST_BODY(run_sgd<float>(); run_sgd<double>()); }
GMPNN_TEST(optim_cuda_parity_adam) { CUDA_TEST_BODY(run_adam<float>(); run_adam<double>()); }
