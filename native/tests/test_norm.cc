// Tests of the CPU batch normalization kernels (gmpnn/norm.h) against loops written here from the
// definition in long double: the statistics, y, and the backward's dx, dγ, dβ (each alone too),
// float64 and float32, shapes from one row or one channel to enough rows to split the column sums
// over threads (values the same for 1 and 2 threads, bit for bit), rows with a large common offset
// (the two-pass variance), the backward formula against central differences, and the argument
// checks. Outputs are poisoned with NaN first.
#include "gmpnn/norm.h"

#include <omp.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "harness.h"

using gmpnn_test::Rand;

namespace {

template <typename T>
constexpr gmpnn_dtype dtype_of() {
  return sizeof(T) == 4 ? GMPNN_F32 : GMPNN_F64;
}

template <typename T>
struct BnRun {
  std::vector<T> y, mean, var, dx, dg, db;
};

template <typename T>
BnRun<T> run_bn(const std::vector<T>& x, const std::vector<T>& gamma, const std::vector<T>& beta,
                const std::vector<T>& dy, int64_t rows, int64_t C, double eps) {
  const T nan = std::numeric_limits<T>::quiet_NaN();
  BnRun<T> o{std::vector<T>(x.size(), nan), std::vector<T>((size_t)C, nan),
             std::vector<T>((size_t)C, nan), std::vector<T>(x.size(), nan),
             std::vector<T>((size_t)C, nan), std::vector<T>((size_t)C, nan)};
  CHECK_OK(gmpnn_cpu_batch_norm_forward(dtype_of<T>(), o.y.data(), o.mean.data(), o.var.data(),
                                        x.data(), gamma.data(), beta.data(), rows, C, eps));
  CHECK_OK(gmpnn_cpu_batch_norm_backward(dtype_of<T>(), o.dx.data(), o.dg.data(), o.db.data(),
                                         dy.data(), x.data(), gamma.data(), o.mean.data(),
                                         o.var.data(), rows, C, eps));
  return o;
}

template <typename T>
void same_bits(const char* what, const std::vector<T>& a, const std::vector<T>& b) {
  CHECK(a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
  if (std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) != 0) std::printf("    %s differs\n", what);
}

template <typename T>
void check_bn(int64_t rows, int64_t C, double offset, uint64_t seed) {
  Rand rng(seed);
  const size_t N = (size_t)(rows * C);
  std::vector<T> x = rng.vec<T>(N, offset - 1, offset + 1), gamma = rng.vec<T>((size_t)C, -1.5, 1.5),
                 beta = rng.vec<T>((size_t)C), dy = rng.vec<T>(N);
  const double eps = 1e-3;
  omp_set_num_threads(1);
  const BnRun<T> a = run_bn(x, gamma, beta, dy, rows, C, eps);
  omp_set_num_threads(2);
  const BnRun<T> b = run_bn(x, gamma, beta, dy, rows, C, eps);
  char what[120];
  std::snprintf(what, sizeof what, "batch norm %s rows=%lld C=%lld offset=%g", sizeof(T) == 4 ? "f32" : "f64",
                (long long)rows, (long long)C, offset);
  const std::string w(what);
  same_bits((w + " y, 1 vs 2 threads").c_str(), a.y, b.y);
  same_bits((w + " dx, 1 vs 2 threads").c_str(), a.dx, b.dx);
  same_bits((w + " dgamma, 1 vs 2 threads").c_str(), a.dg, b.dg);
  // The reference, from the statistics as the kernel rounded them (the contract), in long double.
  std::vector<T> wm((size_t)C), wv((size_t)C), wy(N), wdx(N), wdg((size_t)C), wdb((size_t)C);
  for (int64_t c = 0; c < C; ++c) {
    long double s = 0, q = 0, sg = 0, sgx = 0;
    for (int64_t r = 0; r < rows; ++r) s += x[r * C + c];
    wm[c] = (T)(s / rows);
    for (int64_t r = 0; r < rows; ++r) q += ((long double)x[r * C + c] - s / rows) * ((long double)x[r * C + c] - s / rows);
    wv[c] = (T)(q / rows);
    const long double mu = a.mean[c], is = 1 / std::sqrt((long double)a.var[c] + eps);
    for (int64_t r = 0; r < rows; ++r) {
      const long double xh = ((long double)x[r * C + c] - mu) * is;
      wy[r * C + c] = (T)(gamma[c] * xh + beta[c]);
      sg += dy[r * C + c];
      sgx += dy[r * C + c] * xh;
    }
    wdb[c] = (T)sg;
    wdg[c] = (T)sgx;
    for (int64_t r = 0; r < rows; ++r) {
      const long double xh = ((long double)x[r * C + c] - mu) * is;
      wdx[r * C + c] = (T)(gamma[c] * is * (dy[r * C + c] - sg / rows - xh * sgx / rows));
    }
  }
  // The sums over the rows: float32 adds groups of 16 rows in float (~16·e·√rows of the terms'
  // size), float64 carries up to ~rows·e in double.
  const double e = sizeof(T) == 4 ? 1.2e-7 : 2.3e-16,
               sr = sizeof(T) == 4 ? 16 * std::sqrt((double)rows) : (double)rows;
  // The mean of values near `offset` and the variance: a few roundings of the sums.
  CHECK_CLOSE((w + " mean").c_str(), a.mean.data(), wm.data(), (size_t)C, 4 * e * (1 + std::fabs(offset)), 4 * e);
  CHECK_CLOSE((w + " var").c_str(), a.var.data(), wv.data(), (size_t)C, 4 * e, 16 * e);
  CHECK_CLOSE((w + " y").c_str(), a.y.data(), wy.data(), N, 8 * e * (1 + std::fabs(offset)), 8 * e);
  CHECK_CLOSE((w + " dbeta").c_str(), a.db.data(), wdb.data(), (size_t)C, 4 * e * sr, 4 * e);
  CHECK_CLOSE((w + " dgamma").c_str(), a.dg.data(), wdg.data(), (size_t)C, 8 * e * sr, 8 * e);
  CHECK_CLOSE((w + " dx").c_str(), a.dx.data(), wdx.data(), N, 16 * e * (1 + std::fabs(offset)), 16 * e);
  // Each gradient alone: the same values.
  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> dx(N, nan), dg((size_t)C, nan), db((size_t)C, nan);
  CHECK_OK(gmpnn_cpu_batch_norm_backward(dtype_of<T>(), dx.data(), nullptr, nullptr, dy.data(), x.data(),
                                         gamma.data(), a.mean.data(), a.var.data(), rows, C, eps));
  CHECK_OK(gmpnn_cpu_batch_norm_backward(dtype_of<T>(), nullptr, dg.data(), nullptr, dy.data(), x.data(),
                                         gamma.data(), a.mean.data(), a.var.data(), rows, C, eps));
  CHECK_OK(gmpnn_cpu_batch_norm_backward(dtype_of<T>(), nullptr, nullptr, db.data(), dy.data(), x.data(),
                                         gamma.data(), a.mean.data(), a.var.data(), rows, C, eps));
  same_bits((w + " dx alone").c_str(), dx, a.dx);
  same_bits((w + " dgamma alone").c_str(), dg, a.dg);
  same_bits((w + " dbeta alone").c_str(), db, a.db);
}

// The backward formula: central differences of L = Σ dy ⊙ y(x, γ, β) in double, where y uses the
// batch statistics of the perturbed x (so ∂μ/∂x and ∂σ/∂x are part of it).
void check_bn_central_differences() {
  Rand rng(4321);
  const int64_t rows = 6, C = 3;
  const size_t N = (size_t)(rows * C);
  std::vector<double> x = rng.vec<double>(N), gamma = rng.vec<double>((size_t)C, 0.5, 1.5),
                      beta = rng.vec<double>((size_t)C), dy = rng.vec<double>(N);
  const double eps = 1e-3, h = 1e-6;
  auto loss = [&](const std::vector<double>& xx, const std::vector<double>& gg, const std::vector<double>& bb) {
    std::vector<double> y(N), m((size_t)C), v((size_t)C);
    CHECK_OK(gmpnn_cpu_batch_norm_forward(GMPNN_F64, y.data(), m.data(), v.data(), xx.data(), gg.data(), bb.data(), rows, C, eps));
    double l = 0;
    for (size_t i = 0; i < N; ++i) l += dy[i] * y[i];
    return l;
  };
  const BnRun<double> a = run_bn(x, gamma, beta, dy, rows, C, eps);
  std::vector<double> nx(N), ng((size_t)C), nb((size_t)C);
  for (size_t i = 0; i < N; ++i) {
    std::vector<double> p = x, q = x;
    p[i] += h;
    q[i] -= h;
    nx[i] = (loss(p, gamma, beta) - loss(q, gamma, beta)) / (2 * h);
  }
  for (size_t c = 0; c < (size_t)C; ++c) {
    std::vector<double> p = gamma, q = gamma;
    p[c] += h;
    q[c] -= h;
    ng[c] = (loss(x, p, beta) - loss(x, q, beta)) / (2 * h);
    p = beta;
    q = beta;
    p[c] += h;
    q[c] -= h;
    nb[c] = (loss(x, gamma, p) - loss(x, gamma, q)) / (2 * h);
  }
  CHECK_CLOSE("batch norm dx vs central differences", a.dx.data(), nx.data(), N, 1e-7, 1e-6);
  CHECK_CLOSE("batch norm dgamma vs central differences", a.dg.data(), ng.data(), (size_t)C, 1e-7, 1e-6);
  CHECK_CLOSE("batch norm dbeta vs central differences", a.db.data(), nb.data(), (size_t)C, 1e-7, 1e-6);
}


// Mean-only batch normalization: the means and y against long double (from the mean as rounded),
// dx = (dy − mean(dy))·s, in place too, 1 vs 2 threads bit for bit, and the argument checks.
template <typename T>
void check_mbn(int64_t rows, int64_t C, double offset, uint64_t seed) {
  Rand rng(seed);
  const size_t N = (size_t)(rows * C);
  std::vector<T> x = rng.vec<T>(N, offset - 1, offset + 1), dy = rng.vec<T>(N);
  const double s = 0.9995;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> y1(N, nan), m1((size_t)C, nan), dx1(N, nan), y2(N, nan), m2((size_t)C, nan), dx2(N, nan);
  omp_set_num_threads(1);
  CHECK_OK(gmpnn_cpu_mean_only_batch_norm_forward(dtype_of<T>(), y1.data(), m1.data(), x.data(), rows, C, s));
  CHECK_OK(gmpnn_cpu_mean_only_batch_norm_backward(dtype_of<T>(), dx1.data(), dy.data(), rows, C, s));
  omp_set_num_threads(2);
  CHECK_OK(gmpnn_cpu_mean_only_batch_norm_forward(dtype_of<T>(), y2.data(), m2.data(), x.data(), rows, C, s));
  CHECK_OK(gmpnn_cpu_mean_only_batch_norm_backward(dtype_of<T>(), dx2.data(), dy.data(), rows, C, s));
  char what[120];
  std::snprintf(what, sizeof what, "mean-only batch norm %s rows=%lld C=%lld offset=%g",
                sizeof(T) == 4 ? "f32" : "f64", (long long)rows, (long long)C, offset);
  const std::string w(what);
  same_bits((w + " y, 1 vs 2 threads").c_str(), y1, y2);
  same_bits((w + " dx, 1 vs 2 threads").c_str(), dx1, dx2);
  std::vector<T> wm((size_t)C), wy(N), wdx(N);
  for (int64_t c = 0; c < C; ++c) {
    long double sx = 0, sg = 0;
    for (int64_t r = 0; r < rows; ++r) {
      sx += x[r * C + c];
      sg += dy[r * C + c];
    }
    wm[c] = (T)(sx / rows);
    for (int64_t r = 0; r < rows; ++r) {
      wy[r * C + c] = (T)(((long double)x[r * C + c] - m1[c]) * s);
      wdx[r * C + c] = (T)(((long double)dy[r * C + c] - sg / rows) * s);
    }
  }
  const double e = sizeof(T) == 4 ? 1.2e-7 : 2.3e-16;
  CHECK_CLOSE((w + " mean").c_str(), m1.data(), wm.data(), (size_t)C, 16 * e * (1 + std::fabs(offset)), 4 * e);
  CHECK_CLOSE((w + " y").c_str(), y1.data(), wy.data(), N, 4 * e * (1 + std::fabs(offset)), 4 * e);
  CHECK_CLOSE((w + " dx").c_str(), dx1.data(), wdx.data(), N, 16 * e, 4 * e);
  std::vector<T> g = dy;  // in place: dx over dy
  CHECK_OK(gmpnn_cpu_mean_only_batch_norm_backward(dtype_of<T>(), g.data(), g.data(), rows, C, s));
  same_bits((w + " dx in place").c_str(), g, dx2);
}
}  // namespace

GMPNN_TEST(norm_batch_norm) {
  const int saved = omp_get_max_threads();
  const int64_t shapes[][2] = {{1, 1}, {455, 100}, {7, 3}, {2, 130}, {3000, 64}, {40000, 3}};
  uint64_t seed = 7100;
  for (const auto& s : shapes)
    for (double offset : {0.0, 1000.0}) {
      check_bn<float>(s[0], s[1], offset, seed++);
      check_bn<double>(s[0], s[1], offset, seed++);
    }
  omp_set_num_threads(saved);
  check_bn_central_differences();
  double a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, o[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  CHECK(gmpnn_cpu_batch_norm_forward(GMPNN_F64, o, o, o, a, a, a, 0, 2, 1e-5) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_batch_norm_forward(GMPNN_F64, o, o, o, a, a, a, 2, 0, 1e-5) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_batch_norm_forward(GMPNN_F64, o, o, o, a, a, a, 2, 2, -1.0) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_batch_norm_forward(GMPNN_F64, o, o, o, nullptr, a, a, 2, 2, 1e-5) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_batch_norm_backward(GMPNN_F64, o, o, o, nullptr, a, a, a, a, 2, 2, 1e-5) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_batch_norm_forward((gmpnn_dtype)5, o, o, o, a, a, a, 2, 2, 1e-5) == GMPNN_E_DTYPE);
  for (double v : o) CHECK(v == 0);  // nothing written by the failing calls
}

GMPNN_TEST(norm_mean_only_batch_norm) {
  const int saved = omp_get_max_threads();
  const int64_t shapes[][2] = {{1, 1}, {455, 100}, {7, 3}, {3000, 64}, {40000, 3}};
  uint64_t seed = 7300;
  for (const auto& sh : shapes)
    for (double offset : {0.0, 1000.0}) {
      check_mbn<float>(sh[0], sh[1], offset, seed++);
      check_mbn<double>(sh[0], sh[1], offset, seed++);
    }
  omp_set_num_threads(saved);
  double a[4] = {1, 2, 3, 4}, o[4] = {0, 0, 0, 0};
  CHECK(gmpnn_cpu_mean_only_batch_norm_forward(GMPNN_F64, o, o, a, 0, 2, 1.0) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_mean_only_batch_norm_forward(GMPNN_F64, o, o, a, 2, 2, INFINITY) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_mean_only_batch_norm_backward(GMPNN_F64, o, nullptr, 2, 2, 1.0) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_mean_only_batch_norm_forward((gmpnn_dtype)4, o, o, a, 2, 2, 1.0) == GMPNN_E_DTYPE);
  for (double v : o) CHECK(v == 0);
}
