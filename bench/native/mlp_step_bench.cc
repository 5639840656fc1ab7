// The native calls of an MLP training step (rows × n → 100 ReLU → 1, the UCI layers), as SP and
// as GmP take them, without the binding or JavaScript: what GmP's kernels add to a step, and how
// much of bench/mlp_step_breakdown.js's figure the kernels alone account for. The calls and their
// order are the step's: layer 1 forward (SP: gmp_dense_forward; GmP: gmp_dense_forward_theta
// with the sin/cos cache), layer 2 forward and backward (dense(1), with dX), layer 1 backward
// (no dX; GmP: dθ and dr, the dU scratch in dW), then Adam on every parameter tensor (lr 0, so
// both models keep their values). SP and GmP steps alternate, so the paired differences see the
// same machine; medians over the steps after warm-up.
//   mlp_step_bench [--rows 455] [--features 13] [--steps 20000] [--dtype f32|f64] [--threads 1]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "gmpnn/device.h"
#include "gmpnn/gmp.h"
#include "gmpnn/optim.h"

namespace {

using Clock = std::chrono::steady_clock;

void check(gmpnn_status s) {
  if (s != GMPNN_OK) {
    std::fprintf(stderr, "mlp_step_bench: %s\n", gmpnn_last_error());
    std::exit(1);
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename T>
void run(int64_t B, int64_t n, int steps) {
  const gmpnn_dtype dt = sizeof(T) == 4 ? GMPNN_F32 : GMPNN_F64;
  const int64_t m = 100;
  std::mt19937 rng(1);
  auto vec = [&](int64_t k, double lo, double hi) {
    std::uniform_real_distribution<double> u(lo, hi);
    std::vector<T> v((size_t)k);
    for (auto& x : v) x = (T)u(rng);
    return v;
  };
  auto X = vec(B * n, -1, 1), W = vec(m * n, -1, 1), theta = vec(m * (n - 1), 0.2, 2.9),
       lambda = vec(m, -0.1, 0.1), radius = vec(m, 0.5, 1.5), W2 = vec(m, -1, 1), b2 = vec(1, -1, 1),
       dY2 = vec(B, -1, 1);
  std::vector<T> Y((size_t)(B * m)), Z(Y.size()), Y2((size_t)B), Z2((size_t)B), dZ2((size_t)B),
      dH(Y.size()), dZ(Y.size()), dW((size_t)(m * n)), dtheta(theta.size()), dl((size_t)m),
      dr((size_t)m), dW2((size_t)m), db2(1);
  std::vector<double> cache((size_t)gmpnn_gmp_direction_cache_len(m, n));
  struct Moments {
    std::vector<T> m, v;
  };
  auto moments = [](size_t k) { return Moments{std::vector<T>(k), std::vector<T>(k)}; };
  Moments mW = moments(W.size()), mth = moments(theta.size()), ml = moments(lambda.size()),
          mr = moments(radius.size()), mW2 = moments(W2.size()), mb2 = moments(1);
  int64_t step = 0;
  auto adam = [&](std::vector<T>& p, Moments& s, const std::vector<T>& g) {
    check(gmpnn_cpu_adam_step(dt, p.data(), s.m.data(), s.v.data(), g.data(), (int64_t)p.size(), 0.0,
                              0.9, 0.999, 1e-8, 0.0, 0, step));
  };
  const char* names[] = {"layer 1 forward", "layer 2 forward + backward", "layer 1 backward", "Adam",
                         "step"};
  constexpr int kPhases = 5;
  std::vector<double> t[2][kPhases];
  const int warm = std::max(200, steps / 10);
  for (int i = 0; i < warm + steps; ++i)
    for (int gmp = 0; gmp < 2; ++gmp) {
      ++step;
      const auto t0 = Clock::now();
      if (gmp)
        check(gmpnn_cpu_gmp_dense_forward_theta(dt, Y.data(), Z.data(), nullptr, cache.data(), X.data(),
                                                theta.data(), lambda.data(), radius.data(), B, n, m,
                                                GMPNN_ACT_RELU));
      else
        check(gmpnn_cpu_gmp_dense_forward(dt, Y.data(), Z.data(), X.data(), W.data(), lambda.data(),
                                          nullptr, B, n, m, GMPNN_ACT_RELU));
      const auto t1 = Clock::now();
      check(gmpnn_cpu_gmp_dense_forward(dt, Y2.data(), Z2.data(), Y.data(), W2.data(), b2.data(), nullptr,
                                        B, m, 1, GMPNN_ACT_IDENTITY));
      check(gmpnn_cpu_gmp_dense_backward(dt, dH.data(), dW2.data(), nullptr, db2.data(), nullptr,
                                         dZ2.data(), dY2.data(), Z2.data(), Y2.data(), Y.data(),
                                         W2.data(), nullptr, nullptr, b2.data(), nullptr, B, m, 1,
                                         GMPNN_ACT_IDENTITY));
      const auto t2 = Clock::now();
      if (gmp)
        check(gmpnn_cpu_gmp_dense_backward(dt, nullptr, dW.data(), dtheta.data(), dl.data(), dr.data(),
                                           dZ.data(), dH.data(), Z.data(), Y.data(), X.data(), nullptr,
                                           theta.data(), cache.data(), lambda.data(), radius.data(), B,
                                           n, m, GMPNN_ACT_RELU));
      else
        check(gmpnn_cpu_gmp_dense_backward(dt, nullptr, dW.data(), nullptr, dl.data(), nullptr,
                                           dZ.data(), dH.data(), Z.data(), Y.data(), X.data(), W.data(),
                                           nullptr, nullptr, lambda.data(), nullptr, B, n, m,
                                           GMPNN_ACT_RELU));
      const auto t3 = Clock::now();
      if (gmp) {
        adam(theta, mth, dtheta);
        adam(lambda, ml, dl);
        adam(radius, mr, dr);
      } else {
        adam(W, mW, dW);
        adam(lambda, ml, dl);
      }
      adam(W2, mW2, dW2);
      adam(b2, mb2, db2);
      const auto t4 = Clock::now();
      if (i < warm) continue;
      const Clock::time_point marks[] = {t0, t1, t2, t3, t4};
      for (int p = 0; p < kPhases - 1; ++p)
        t[gmp][p].push_back(std::chrono::duration<double, std::nano>(marks[p + 1] - marks[p]).count());
      t[gmp][kPhases - 1].push_back(std::chrono::duration<double, std::nano>(t4 - t0).count());
    }
  std::printf("MLP step's native calls: %lldx%lld -> 100 ReLU -> 1, %s, %d thread(s), %d steps each, SP "
              "and GmP alternating\n\n",
              (long long)B, (long long)n, sizeof(T) == 4 ? "float32" : "float64", gmpnn_cpu_num_threads(),
              steps);
  std::printf("| phase | SP ns | GmP ns | GmP - SP ns (paired median) |\n|---|---|---|---|\n");
  for (int p = 0; p < kPhases; ++p) {
    std::vector<double> d(t[0][p].size());
    for (size_t i = 0; i < d.size(); ++i) d[i] = t[1][p][i] - t[0][p][i];
    std::printf("| %s | %.0f | %.0f | %.0f |\n", names[p], median(t[0][p]), median(t[1][p]), median(d));
  }
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 455, features = 13;
  int steps = 20000, threads = 1;
  bool f64 = false;
  for (int i = 1; i < argc; ++i) {
    const bool more = i + 1 < argc;
    if (!std::strcmp(argv[i], "--rows") && more) rows = std::atoll(argv[++i]);
    else if (!std::strcmp(argv[i], "--features") && more) features = std::atoll(argv[++i]);
    else if (!std::strcmp(argv[i], "--steps") && more) steps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--threads") && more) threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--dtype") && more) f64 = !std::strcmp(argv[++i], "f64");
    else {
      std::fprintf(stderr, "usage: mlp_step_bench [--rows R] [--features N] [--steps S] [--dtype f32|f64] [--threads T]\n");
      return 2;
    }
  }
  if (rows < 1 || features < 2 || steps < 1 || threads < 1) {
    std::fprintf(stderr, "mlp_step_bench: need rows >= 1, features >= 2, steps >= 1, threads >= 1\n");
    return 2;
  }
  // One thread by default: with two, the backward's scan splits across threads and the figure is
  // not the single-thread step mlp_bench --threads 1 measures.
  gmpnn_cpu_set_num_threads(threads);
  if (f64)
    run<double>(rows, features, steps);
  else
    run<float>(rows, features, steps);
  return 0;
}
