// CPU GmP kernel timings (gmpnn/gmp.h): u(θ) forward and the dθ reverse scan for the paper's
// layer shapes, the vectorized sin/cos they use (vs std::sin + std::cos), and the fused epilogues
// at the MLP size and a VGG-6 conv output size, the dense forward fused vs GEMM + epilogue, and a
// dense layer's whole training step as SP and as GmP.
// Prints a markdown table: median time per call (µs) and effective bandwidth (bytes that the
// kernel must read and write, per second). Usage: gmp_bench [--threads N] [--min-ms T]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "gmpnn/device.h"
#include "gmpnn/gemm.h"
#include "gmpnn/gmp.h"
#include "gmpnn/norm.h"

namespace gmpnn_cpu {
void sincos_f64(const double* x, double* s, double* c, int64_t n);  // native/cpu/simd_math.h
void sincos_f32(const float* x, float* s, float* c, int64_t n);
}

namespace {

double g_min_ms = 200.0;

// Median of repeated timings, each timing batching enough calls to last ≥ ~1 ms.
double time_us(const std::function<void()>& fn) {
  fn();  // warm-up (page faults, OpenMP team)
  auto now = [] { return std::chrono::steady_clock::now(); };
  auto t0 = now();
  fn();
  double one = std::chrono::duration<double, std::micro>(now() - t0).count();
  int batch = std::max(1, (int)(1000.0 / std::max(one, 1e-3)));
  std::vector<double> samples;
  auto start = now();
  while (samples.size() < 5 ||
         std::chrono::duration<double, std::milli>(now() - start).count() < g_min_ms) {
    auto a = now();
    for (int i = 0; i < batch; ++i) fn();
    samples.push_back(std::chrono::duration<double, std::micro>(now() - a).count() / batch);
    if (samples.size() > 2000) break;
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

template <typename T>
std::vector<T> rand_vec(size_t n, double lo, double hi, unsigned seed) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = (T)d(g);
  return v;
}

void row(const char* kernel, const std::string& shape, const char* dt, double us, double bytes) {
  std::printf("| %-28s | %-19s | %-3s | %11.1f | %7.2f |\n", kernel, shape.c_str(), dt, us,
              bytes / (us * 1e-6) / 1e9);
}

void check(gmpnn_status st) {
  if (st != GMPNN_OK) {
    std::fprintf(stderr, "kernel failed: %s\n", gmpnn_last_error());
    std::exit(1);
  }
}

template <typename T>
void bench_direction(int64_t m, int64_t n) {
  const gmpnn_dtype dt = sizeof(T) == 4 ? GMPNN_F32 : GMPNN_F64;
  const char* dts = sizeof(T) == 4 ? "f32" : "f64";
  // Angles of a Glorot initialization, so the prefix products look like training-time ones.
  std::vector<T> W = rand_vec<T>((size_t)(m * n), -1, 1, 1), th((size_t)(m * (n - 1))),
                 r((size_t)m), U((size_t)(m * n)), dU = rand_vec<T>((size_t)(m * n), -1, 1, 2),
                 dth(th.size());
  check(gmpnn_cpu_gmp_direction_inverse(dt, th.data(), r.data(), W.data(), m, n, 0));
  const std::string shape = std::to_string(m) + "x" + std::to_string(n);
  const double s = sizeof(T);
  const double fb = s * (double)(m * (n - 1) + m * n);          // read θ, write U
  const double bb = s * (double)(2 * m * (n - 1) + m * n);      // read θ, dU; write dθ
  double tf = time_us([&] { check(gmpnn_cpu_gmp_direction_forward(dt, U.data(), th.data(), m, n)); });
  double tb = time_us([&] {
    check(gmpnn_cpu_gmp_direction_backward(dt, dth.data(), dU.data(), th.data(), m, n));
  });
  row("direction_forward", shape, dts, tf, fb);
  row("direction_backward", shape, dts, tb, bb);
  row("direction fwd+bwd", shape, dts, tf + tb, fb + bb);
}

// The vectorized sin/cos alone (both outputs), against scalar std::sin + std::cos.
void bench_sincos(int64_t n) {
  std::vector<double> x = rand_vec<double>((size_t)n, -3, 3, 6), s((size_t)n), c((size_t)n);
  const std::string shape = std::to_string(n);
  double tv = time_us([&] { gmpnn_cpu::sincos_f64(x.data(), s.data(), c.data(), n); });
  double ts = time_us([&] {
    for (int64_t i = 0; i < n; ++i) {
      s[(size_t)i] = std::sin(x[(size_t)i]);
      c[(size_t)i] = std::cos(x[(size_t)i]);
    }
  });
  row("sincos (simd, internal)", shape, "f64", tv, 24.0 * n);
  row("sincos (std::sin + cos)", shape, "f64", ts, 24.0 * n);
  // The float32 layers' kernel (sincos8f_ps), on float angles over the same range.
  std::vector<float> xf(x.begin(), x.end()), sf((size_t)n), cf((size_t)n);
  double tf = time_us([&] { gmpnn_cpu::sincos_f32(xf.data(), sf.data(), cf.data(), n); });
  row("sincos (simd, internal)", shape, "f32", tf, 12.0 * n);
}

template <typename T>
void bench_epilogue(int64_t rows, int64_t cols) {
  const gmpnn_dtype dt = sizeof(T) == 4 ? GMPNN_F32 : GMPNN_F64;
  const char* dts = sizeof(T) == 4 ? "f32" : "f64";
  const size_t N = (size_t)(rows * cols);
  std::vector<T> Z = rand_vec<T>(N, -1, 1, 3), Y(N), dY = rand_vec<T>(N, -1, 1, 4), dZ(N),
                 lambda((size_t)cols, T(0)), r = rand_vec<T>((size_t)cols, 0.5, 1.5, 5),
                 dl((size_t)cols), dr((size_t)cols);
  const std::string shape = std::to_string(rows) + "x" + std::to_string(cols);
  const double s = sizeof(T);
  // Forward: read Z, write Z, write Y. Backward: read dY, Z, write dZ. (λ, r, sums negligible.)
  // λ = 0 keeps Z unchanged across the repeated in-place calls.
  double tf = time_us([&] {
    check(gmpnn_cpu_gmp_epilogue_forward(dt, Y.data(), Z.data(), lambda.data(), r.data(), rows,
                                         cols, GMPNN_ACT_RELU));
  });
  double tb = time_us([&] {
    check(gmpnn_cpu_gmp_epilogue_backward(dt, dZ.data(), dl.data(), dr.data(), dY.data(),
                                          Z.data(), r.data(), rows, cols, GMPNN_ACT_RELU));
  });
  row("epilogue_forward (relu)", shape, dts, tf, 3 * s * N);
  row("epilogue_backward (relu)", shape, dts, tb, 3 * s * N);
}

// The dense layer's forward two ways: gmp_dense_forward (the epilogue fused into the product's
// stores for fan-in <= 16, applied to each finished tile of the blocked GEMM for wider ones; r
// positive, so Y alone is stored) and the GEMM followed by the separate epilogue pass. Bytes:
// read X and W, write Z and Y (the separate version also re-reads Z; the fused one skips Z).
template <typename T>
void bench_dense(int64_t rows, int64_t n, int64_t cols) {
  const gmpnn_dtype dt = sizeof(T) == 4 ? GMPNN_F32 : GMPNN_F64;
  const char* dts = sizeof(T) == 4 ? "f32" : "f64";
  std::vector<T> X = rand_vec<T>((size_t)(rows * n), -1, 1, 6), W = rand_vec<T>((size_t)(cols * n), -1, 1, 7),
                 lambda = rand_vec<T>((size_t)cols, -0.1, 0.1, 8), r = rand_vec<T>((size_t)cols, 0.5, 1.5, 9),
                 Z((size_t)(rows * cols)), Y((size_t)(rows * cols));
  const std::string shape = std::to_string(rows) + "x" + std::to_string(n) + "x" + std::to_string(cols);
  const double bytes = sizeof(T) * (double)(rows * n + cols * n + 2 * rows * cols);
  // Alternate the two versions sample by sample so a slow spell of the machine hits both.
  std::vector<double> tf, tg;
  for (int rep = 0; rep < 5; ++rep) {
    tf.push_back(time_us([&] {
      check(gmpnn_cpu_gmp_dense_forward(dt, Y.data(), Z.data(), X.data(), W.data(), lambda.data(),
                                        r.data(), rows, n, cols, GMPNN_ACT_RELU));
    }));
    tg.push_back(time_us([&] {
      check(gmpnn_cpu_gemm(dt, Z.data(), X.data(), W.data(), 0, 1, rows, cols, n, n, n, cols, 1.0, 0.0));
      check(gmpnn_cpu_gmp_epilogue_forward(dt, Y.data(), Z.data(), lambda.data(), r.data(), rows,
                                           cols, GMPNN_ACT_RELU));
    }));
  }
  std::sort(tf.begin(), tf.end());
  std::sort(tg.begin(), tg.end());
  row(n <= 16 ? "dense_forward (fused)" : "dense_forward (on tiles)", shape, dts, tf[2], bytes);
  row("gemm + epilogue_forward", shape, dts, tg[2], bytes);
}

// The dense layer's backward without dX (a first layer) two ways: gmp_dense_backward (SP; for
// fan-in <= 16 one read of dY and Z forms G', dλ and dW) and the separate epilogue pass followed by
// the GEMM dW = G'ᵀ·X. Bytes: read dY, Z and X, write dW (what the fused version must move; the
// separate one also writes and re-reads G').
template <typename T>
void bench_dense_backward(int64_t rows, int64_t n, int64_t cols) {
  const gmpnn_dtype dt = sizeof(T) == 4 ? GMPNN_F32 : GMPNN_F64;
  const char* dts = sizeof(T) == 4 ? "f32" : "f64";
  const size_t N = (size_t)(rows * cols);
  std::vector<T> X = rand_vec<T>((size_t)(rows * n), -1, 1, 10), Z = rand_vec<T>(N, -1, 1, 11),
                 dY = rand_vec<T>(N, -1, 1, 12), dZ(N), dW((size_t)(cols * n)), dl((size_t)cols);
  const std::string shape = std::to_string(rows) + "x" + std::to_string(n) + "x" + std::to_string(cols);
  const double bytes = sizeof(T) * (double)(rows * n + cols * n + 2 * rows * cols);
  std::vector<double> tf, tg;
  for (int rep = 0; rep < 5; ++rep) {
    tf.push_back(time_us([&] {
      // r NULL: the backward reads its Y argument, for which Z stands in (timing only).
      check(gmpnn_cpu_gmp_dense_backward(dt, nullptr, dW.data(), nullptr, dl.data(), nullptr,
                                         dZ.data(), dY.data(), Z.data(), Z.data(), X.data(),
                                         X.data(), nullptr, nullptr, nullptr, nullptr, rows, n,
                                         cols, GMPNN_ACT_RELU));
    }));
    tg.push_back(time_us([&] {
      check(gmpnn_cpu_gmp_epilogue_backward(dt, dZ.data(), dl.data(), nullptr, dY.data(), Z.data(),
                                            nullptr, rows, cols, GMPNN_ACT_RELU));
      check(gmpnn_cpu_gemm(dt, dW.data(), dZ.data(), X.data(), 1, 0, cols, n, rows, cols, n, n, 1.0, 0.0));
    }));
  }
  std::sort(tf.begin(), tf.end());
  std::sort(tg.begin(), tg.end());
  row("dense_backward, no dX", shape, dts, tf[2], bytes);
  row("epilogue_backward + gemm", shape, dts, tg[2], bytes);
}

// One dense layer's training step (forward + backward, no dX: the first layer) as SP runs it
// (dense_forward with r = NULL, dense_backward with theta = NULL) and as GmP runs it (u(θ) with the
// sin/cos cache, dense_forward with r, dense_backward with the reverse scan from the cache): what
// GmP adds to a step at these sizes. Bytes: X, W, Z, Y in the forward; dY, Z, dZ, X, dW in the
// backward.
template <typename T>
void bench_layer_step(int64_t rows, int64_t n, int64_t cols) {
  const gmpnn_dtype dt = sizeof(T) == 4 ? GMPNN_F32 : GMPNN_F64;
  const char* dts = sizeof(T) == 4 ? "f32" : "f64";
  const size_t N = (size_t)(rows * cols);
  std::vector<T> X = rand_vec<T>((size_t)(rows * n), -1, 1, 16), W = rand_vec<T>((size_t)(cols * n), -1, 1, 17),
                 th = rand_vec<T>((size_t)(cols * (n - 1)), 0.2, 2.9, 18),
                 lambda = rand_vec<T>((size_t)cols, -0.1, 0.1, 19), r = rand_vec<T>((size_t)cols, 0.5, 1.5, 20),
                 dY = rand_vec<T>(N, -1, 1, 21), Z(N), Y(N), dZ(N), dW((size_t)(cols * n)),
                 dth((size_t)(cols * (n - 1))), dl((size_t)cols), dr((size_t)cols), U((size_t)(cols * n));
  std::vector<double> cache((size_t)gmpnn_gmp_direction_cache_len(cols, n));
  const std::string shape = std::to_string(rows) + "x" + std::to_string(n) + "x" + std::to_string(cols);
  const double bytes = sizeof(T) * (double)(2 * rows * n + 2 * cols * n + 5 * N);
  std::vector<double> tsp, tgmp;
  for (int rep = 0; rep < 5; ++rep) {
    tsp.push_back(time_us([&] {
      check(gmpnn_cpu_gmp_dense_forward(dt, Y.data(), Z.data(), X.data(), W.data(), lambda.data(),
                                        nullptr, rows, n, cols, GMPNN_ACT_RELU));
      check(gmpnn_cpu_gmp_dense_backward(dt, nullptr, dW.data(), nullptr, dl.data(), nullptr,
                                         dZ.data(), dY.data(), Z.data(), Y.data(), X.data(),
                                         W.data(), nullptr, nullptr, nullptr, nullptr, rows, n,
                                         cols, GMPNN_ACT_RELU));
    }));
    tgmp.push_back(time_us([&] {
      check(gmpnn_cpu_gmp_direction_forward_cached(dt, U.data(), cache.data(), th.data(), cols, n));
      check(gmpnn_cpu_gmp_dense_forward(dt, Y.data(), Z.data(), X.data(), U.data(), lambda.data(),
                                        r.data(), rows, n, cols, GMPNN_ACT_RELU));
      check(gmpnn_cpu_gmp_dense_backward(dt, nullptr, dW.data(), dth.data(), dl.data(), dr.data(),
                                         dZ.data(), dY.data(), Z.data(), Y.data(), X.data(),
                                         U.data(), th.data(), cache.data(), lambda.data(),
                                         r.data(), rows, n, cols, GMPNN_ACT_RELU));
    }));
  }
  std::sort(tsp.begin(), tsp.end());
  std::sort(tgmp.begin(), tgmp.end());
  row("layer fwd+bwd, SP", shape, dts, tsp[2], bytes);
  row("layer fwd+bwd, GmP", shape, dts, tgmp[2], bytes);
}

}  // namespace

// The WN baseline's weight, forward and backward (dv and dg): one call each. Bytes: read v (and
// dW), write W (dv).
template <typename T>
void bench_weight_norm(int64_t rows, int64_t n) {
  const gmpnn_dtype dt = sizeof(T) == 4 ? GMPNN_F32 : GMPNN_F64;
  const char* dts = sizeof(T) == 4 ? "f32" : "f64";
  const size_t N = (size_t)(rows * n);
  std::vector<T> v = rand_vec<T>(N, -1, 1, 20), g = rand_vec<T>((size_t)rows, 0.5, 1.5, 21),
                 dW = rand_vec<T>(N, -1, 1, 22), W(N), dv(N), dg((size_t)rows);
  const std::string shape = std::to_string(rows) + "x" + std::to_string(n);
  const double s = sizeof(T);
  row("weight_norm_forward", shape, dts,
      time_us([&] { check(gmpnn_cpu_weight_norm_forward(dt, W.data(), v.data(), g.data(), rows, n)); }),
      2 * s * N);
  row("weight_norm_backward", shape, dts,
      time_us([&] {
        check(gmpnn_cpu_weight_norm_backward(dt, dv.data(), dg.data(), dW.data(), v.data(), g.data(), rows, n));
      }),
      3 * s * N);
}

// The BN baseline's batch normalization (gmpnn/norm.h), forward (statistics and y) and backward
// (dx, dγ, dβ): the MLP's [batch, 100] and a VGG-6 block's [N·H·W, 64]. Bytes: read x (twice
// forward, for the two-pass variance) and write y; read dy and x twice backward, write dx.
template <typename T>
void bench_batch_norm(int64_t rows, int64_t C) {
  const gmpnn_dtype dt = sizeof(T) == 4 ? GMPNN_F32 : GMPNN_F64;
  const char* dts = sizeof(T) == 4 ? "f32" : "f64";
  const size_t N = (size_t)(rows * C);
  std::vector<T> x = rand_vec<T>(N, -1, 3, 23), dy = rand_vec<T>(N, -1, 1, 24),
                 gamma = rand_vec<T>((size_t)C, 0.5, 1.5, 25), beta = rand_vec<T>((size_t)C, -1, 1, 26),
                 y(N), dx(N), mean((size_t)C), var((size_t)C), dg((size_t)C), db((size_t)C);
  const std::string shape = std::to_string(rows) + "x" + std::to_string(C);
  const double s = sizeof(T);
  row("batch_norm_forward", shape, dts, time_us([&] {
        check(gmpnn_cpu_batch_norm_forward(dt, y.data(), mean.data(), var.data(), x.data(),
                                           gamma.data(), beta.data(), rows, C, 1e-3));
      }),
      3 * s * N);
  row("batch_norm_backward", shape, dts, time_us([&] {
        check(gmpnn_cpu_batch_norm_backward(dt, dx.data(), dg.data(), db.data(), dy.data(), x.data(),
                                            gamma.data(), mean.data(), var.data(), rows, C, 1e-3));
      }),
      5 * s * N);
}

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc)
      gmpnn_cpu_set_num_threads(std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--min-ms") && i + 1 < argc)
      g_min_ms = std::atof(argv[++i]);
  }
  std::printf("gmpnn CPU GmP kernels, %d threads (median per call)\n\n", gmpnn_cpu_num_threads());
  std::printf("| %-28s | %-19s | %-3s | %11s | %7s |\n", "kernel", "m x n / rows x cols", "dt",
              "us", "GB/s");
  std::printf("|------------------------------|---------------------|-----|-------------|---------|\n");
  bench_sincos(4096);
  const int64_t shapes[][2] = {{100, 13}, {128, 27}, {128, 1152}, {256, 1152}, {512, 4608}};
  for (auto& sh : shapes) bench_direction<float>(sh[0], sh[1]);
  for (auto& sh : shapes) bench_direction<double>(sh[0], sh[1]);
  bench_epilogue<float>(1024, 100);
  bench_epilogue<double>(1024, 100);
  bench_epilogue<float>(262144, 128);
  for (int64_t n : {4, 13, 16, 64, 256}) bench_dense<float>(1024, n, 100);
  for (int64_t n : {13, 64}) bench_dense<double>(1024, n, 100);
  for (int64_t n : {4, 13, 16}) bench_dense_backward<float>(1024, n, 100);
  bench_dense_backward<float>(32, 13, 100);
  bench_dense_backward<double>(1024, 13, 100);
  for (int64_t b : {32, 455, 1024}) {
    bench_layer_step<float>(b, 13, 100);
    bench_layer_step<double>(b, 13, 100);
  }
  bench_layer_step<float>(1024, 16, 100);
  bench_layer_step<double>(1024, 16, 100);
  for (auto& sh : {std::pair<int64_t, int64_t>{100, 13}, {256, 1152}}) {
    bench_weight_norm<float>(sh.first, sh.second);
    bench_weight_norm<double>(sh.first, sh.second);
  }
  for (auto& sh : {std::pair<int64_t, int64_t>{455, 100}, {1024, 100}, {65536, 64}}) {
    bench_batch_norm<float>(sh.first, sh.second);
    bench_batch_norm<double>(sh.first, sh.second);
  }
  return 0;
}
