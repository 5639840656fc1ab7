// CPU kernel tests of the core families (eltwise, reduce, copy, loss, optim, rng) against plain
// loops written here from each header's contract, on awkward sizes and both dtypes.
#include <cmath>
#include <vector>

#include "gmpnn/copy.h"
#include "gmpnn/eltwise.h"
#include "gmpnn/loss.h"
#include "gmpnn/optim.h"
#include "gmpnn/philox.h"
#include "gmpnn/reduce.h"
#include "gmpnn/rng.h"
#include "harness.h"

using gmpnn_test::Rand;

namespace {
template <typename T>
constexpr gmpnn_dtype dt_of() { return sizeof(T) == 8 ? GMPNN_F64 : GMPNN_F32; }
template <typename T>
double tol() { return sizeof(T) == 8 ? 1e-13 : 2e-6; }
const int64_t kSizes[] = {1, 7, 31, 1000, 40009};

double ref_unary(int op, double x) {
  switch (op) {
    case GMPNN_UNARY_NEG: return -x;
    case GMPNN_UNARY_EXP: return std::exp(x);
    case GMPNN_UNARY_LOG: return std::log(x);
    case GMPNN_UNARY_SQRT: return std::sqrt(x);
    case GMPNN_UNARY_ABS: return std::fabs(x);
    case GMPNN_UNARY_RELU: return x > 0 ? x : 0;
    case GMPNN_UNARY_SIGMOID: return 1 / (1 + std::exp(-x));
    case GMPNN_UNARY_TANH: return std::tanh(x);
    case GMPNN_UNARY_SIN: return std::sin(x);
    case GMPNN_UNARY_COS: return std::cos(x);
    case GMPNN_UNARY_SQUARE: return x * x;
    case GMPNN_UNARY_RECIPROCAL: return 1 / x;
    case GMPNN_UNARY_SIGN: return (x > 0) - (x < 0);
    default: return x > 0 ? 1 : 0;
  }
}

double ref_binary(int op, double a, double b) {
  switch (op) {
    case GMPNN_BINARY_ADD: return a + b;
    case GMPNN_BINARY_SUB: return a - b;
    case GMPNN_BINARY_MUL: return a * b;
    case GMPNN_BINARY_DIV: return a / b;
    case GMPNN_BINARY_MAX: return std::fmax(a, b);
    case GMPNN_BINARY_MIN: return std::fmin(a, b);
    case GMPNN_BINARY_POW: return std::pow(a, b);
    case GMPNN_BINARY_GT: return a > b;
    case GMPNN_BINARY_EQ: return a == b;
    default: return b > 0 ? a : 0;
  }
}

template <typename T>
void unary_case() {
  Rand rng(1);
  for (int64_t n : kSizes)
    for (int op = 0; op < GMPNN_UNARY_COUNT; ++op) {
      auto x = rng.vec<T>(n, 0.1, 3);  // positive, so log/sqrt are defined
      for (int64_t i = 0; i < n; i += 3) x[i] = -x[i];
      if (op == GMPNN_UNARY_LOG || op == GMPNN_UNARY_SQRT)
        for (auto& v : x) v = std::fabs(v);
      std::vector<T> out(n, (T)NAN), want(n);
      for (int64_t i = 0; i < n; ++i) want[i] = (T)ref_unary(op, x[i]);
      CHECK_OK(gmpnn_cpu_unary(dt_of<T>(), out.data(), x.data(), n, op));
      CHECK_CLOSE("unary", out.data(), want.data(), n, tol<T>(), tol<T>());
    }
}

template <typename T>
void binary_case() {
  Rand rng(2);
  // out [5, 7, 3]; a is [5, 1, 3] (broadcast axis 1), b is [7, 1] (broadcast axes 0 and 2)
  const int64_t shape[3] = {5, 7, 3};
  const int64_t as[3] = {3, 0, 1}, bs[3] = {0, 1, 0};
  auto a = rng.vec<T>(15, 0.5, 2), b = rng.vec<T>(7, 0.5, 2);
  b[3] = a[0];  // one exact tie for EQ/GT/MAX
  for (int op = 0; op < GMPNN_BINARY_COUNT; ++op) {
    std::vector<T> out(105, (T)NAN), want(105);
    for (int i = 0; i < 5; ++i)
      for (int j = 0; j < 7; ++j)
        for (int k = 0; k < 3; ++k)
          want[(i * 7 + j) * 3 + k] = (T)ref_binary(op, a[i * 3 + k], b[j]);
    CHECK_OK(gmpnn_cpu_binary(dt_of<T>(), out.data(), a.data(), b.data(), op, 3, shape, as, bs));
    CHECK_CLOSE("binary", out.data(), want.data(), 105, tol<T>(), tol<T>());
  }
  // large contiguous case through the threaded path
  const int64_t n = 40009, s1[1] = {n}, st[1] = {1};
  auto x = rng.vec<T>(n), y = rng.vec<T>(n);
  std::vector<T> out(n), want(n);
  for (int64_t i = 0; i < n; ++i) want[i] = x[i] * y[i];
  CHECK_OK(gmpnn_cpu_binary(dt_of<T>(), out.data(), x.data(), y.data(), GMPNN_BINARY_MUL, 1, s1, st, st));
  CHECK_CLOSE("binary large", out.data(), want.data(), n, 0, 0);
}

// Broadcasting over awkward axis patterns (the kernel drops extent-1 axes and merges axes both
// operands step through as one): every case against an odometer written here. Masks: bit d set
// means the operand broadcasts along axis d (stride 0).
template <typename T>
void binary_axes_case() {
  Rand rng(3);
  struct Case {
    int ndim;
    int64_t shape[4];
    int amask, bmask;
  };
  const Case cases[] = {
      {2, {100, 13}, 0, 0},  {2, {100, 13}, 0, 2},  {2, {100, 13}, 0, 1}, {2, {1, 13}, 0, 1},
      {3, {4, 1, 5}, 0, 4},  {3, {4, 6, 5}, 2, 5},  {4, {2, 3, 1, 4}, 1, 8}, {4, {3, 1, 1, 7}, 0, 9},
      {1, {9}, 1, 0},        {3, {1, 1, 1}, 7, 0},  {4, {2, 2, 2, 2}, 5, 10}, {3, {3, 0, 4}, 0, 2},
      {0, {0}, 0, 0}};
  for (const Case& c : cases) {
    int64_t as[4] = {0, 0, 0, 0}, bs[4] = {0, 0, 0, 0}, na = 1, nb = 1, n = 1;
    for (int d = c.ndim - 1; d >= 0; --d) {
      as[d] = (c.amask >> d & 1) ? 0 : na;
      bs[d] = (c.bmask >> d & 1) ? 0 : nb;
      if (!(c.amask >> d & 1)) na *= c.shape[d];
      if (!(c.bmask >> d & 1)) nb *= c.shape[d];
      n *= c.shape[d];
    }
    auto a = rng.vec<T>((size_t)std::max<int64_t>(na, 1), 0.5, 2),
         b = rng.vec<T>((size_t)std::max<int64_t>(nb, 1), 0.5, 2);
    std::vector<T> out((size_t)std::max<int64_t>(n, 1), (T)NAN), want(out.size(), (T)NAN);
    for (int64_t i = 0; i < n; ++i) {
      int64_t rem = i, ao = 0, bo = 0;
      for (int d = c.ndim - 1; d >= 0; --d) {
        const int64_t idx = rem % c.shape[d];
        rem /= c.shape[d];
        ao += idx * as[d];
        bo += idx * bs[d];
      }
      want[(size_t)i] = a[(size_t)ao] - b[(size_t)bo];
    }
    CHECK_OK(gmpnn_cpu_binary(dt_of<T>(), out.data(), a.data(), b.data(), GMPNN_BINARY_SUB, c.ndim,
                              c.shape, as, bs));
    CHECK_CLOSE("binary axes", out.data(), want.data(), (size_t)n, 0, 0);
    if (n == 0) CHECK(std::isnan((double)out[0]));  // nothing written
  }
}
}  // namespace

GMPNN_TEST(eltwise_cpu_unary) { unary_case<float>(); unary_case<double>(); }
GMPNN_TEST(eltwise_cpu_binary_broadcast) { binary_case<float>(); binary_case<double>(); }
GMPNN_TEST(eltwise_cpu_binary_axes) { binary_axes_case<float>(); binary_axes_case<double>(); }

GMPNN_TEST(eltwise_cpu_affine_fill_cast) {
  Rand rng(3);
  for (int64_t n : kSizes) {
    auto x = rng.vec<double>(n);
    std::vector<double> out(n), want(n);
    for (int64_t i = 0; i < n; ++i) want[i] = 2.5 * x[i] - 1;
    CHECK_OK(gmpnn_cpu_affine(GMPNN_F64, out.data(), x.data(), n, 2.5, -1));
    CHECK_CLOSE("affine", out.data(), want.data(), n, 1e-15, 1e-15);
    std::vector<float> f(n, NAN), fwant(n, 3.25f);
    CHECK_OK(gmpnn_cpu_fill(GMPNN_F32, f.data(), n, 3.25));
    CHECK_CLOSE("fill", f.data(), fwant.data(), n, 0, 0);
    std::vector<float> c(n);
    CHECK_OK(gmpnn_cpu_cast(GMPNN_F32, c.data(), GMPNN_F64, x.data(), n));
    for (int64_t i = 0; i < n; ++i) fwant[i] = (float)x[i];
    CHECK_CLOSE("cast", c.data(), fwant.data(), n, 0, 0);
  }
  CHECK(gmpnn_cpu_unary(GMPNN_F32, nullptr, nullptr, 1, 99) == GMPNN_E_ARG);
}

namespace {
template <typename T>
void channel_affine_case() {
  Rand rng(5);
  const int64_t shapes[][2] = {{1, 1}, {7, 3}, {33, 17}, {4096, 32}, {3, 1031}, {0, 5}};
  for (auto& sh : shapes) {
    const int64_t R = sh[0], C = sh[1];
    auto x = rng.vec<T>(R * C);
    auto a = rng.vec<T>(C);
    auto b = rng.vec<T>(C);
    for (int mode = 0; mode < 4; ++mode) {  // scale and shift, scale only, shift only, neither
      const T* sa = (mode == 0 || mode == 1) ? a.data() : nullptr;
      const T* sb = (mode == 0 || mode == 2) ? b.data() : nullptr;
      std::vector<T> want(R * C), out(R * C, T(NAN));
      for (int64_t r = 0; r < R; ++r)
        for (int64_t c = 0; c < C; ++c)
          want[r * C + c] = x[r * C + c] * (sa ? sa[c] : T(1)) + (sb ? sb[c] : T(0));
      CHECK_OK(gmpnn_cpu_channel_affine(dt_of<T>(), out.data(), x.data(), sa, sb, R, C));
      std::string what = "channel_affine " + std::to_string(R) + "x" + std::to_string(C) +
                         " mode " + std::to_string(mode);
      CHECK_CLOSE(what.c_str(), out.data(), want.data(), R * C, 1e-6, 1e-6);
      // in place
      std::vector<T> y = x;
      CHECK_OK(gmpnn_cpu_channel_affine(dt_of<T>(), y.data(), y.data(), sa, sb, R, C));
      CHECK_CLOSE((what + " in place").c_str(), y.data(), want.data(), R * C, 1e-6, 1e-6);
    }
  }
  CHECK(gmpnn_cpu_channel_affine(dt_of<T>(), nullptr, nullptr, nullptr, nullptr, 2, 2) ==
        GMPNN_E_ARG);
  CHECK(gmpnn_cpu_channel_affine(dt_of<T>(), nullptr, nullptr, nullptr, nullptr, -1, 2) ==
        GMPNN_E_ARG);
}
}  // namespace

GMPNN_TEST(eltwise_cpu_channel_affine) { channel_affine_case<float>(); channel_affine_case<double>(); }

namespace {
template <typename T>
void reduce_case() {
  Rand rng(4);
  const int64_t views[][3] = {{1, 1, 1}, {3, 7, 1}, {1, 5, 13}, {4, 31, 9}, {2, 40009, 1}, {3, 1, 5}};
  for (auto& v : views) {
    int64_t O = v[0], R = v[1], I = v[2];
    auto x = rng.vec<T>(O * R * I);
    if (R > 2) x[(0 * R + 2) * I] = x[(0 * R + 1) * I];  // a tie for argmax
    for (int op = 0; op < GMPNN_REDUCE_COUNT; ++op) {
      std::vector<T> out(O * I, (T)NAN), want(O * I);
      for (int64_t o = 0; o < O; ++o)
        for (int64_t i = 0; i < I; ++i) {
          double s = 0, best = x[o * R * I + i];
          int64_t arg = 0;
          for (int64_t r = 0; r < R; ++r) {
            double val = x[(o * R + r) * I + i];
            s += val;
            if (op == GMPNN_REDUCE_MIN ? val < best : val > best) best = val, arg = r;
          }
          want[o * I + i] = (T)(op == GMPNN_REDUCE_SUM ? s : op == GMPNN_REDUCE_ARGMAX ? arg : best);
        }
      CHECK_OK(gmpnn_cpu_reduce(dt_of<T>(), out.data(), x.data(), op, O, R, I));
      CHECK_CLOSE("reduce", out.data(), want.data(), O * I, tol<T>() * 10, tol<T>() * 10);
    }
  }
}
}  // namespace

GMPNN_TEST(reduce_cpu_all_ops) { reduce_case<float>(); reduce_case<double>(); }

GMPNN_TEST(copy_cpu_permute_slice_broadcast) {
  Rand rng(5);
  // permute [2, 3, 5] -> [5, 2, 3], reading from offset 1 of a larger buffer
  auto x = rng.vec<double>(31);
  const int64_t shape[3] = {5, 2, 3};
  const int64_t in_st[3] = {1, 15, 5}, out_st[3] = {6, 3, 1};
  std::vector<double> out(30, NAN), want(30);
  for (int a = 0; a < 5; ++a)
    for (int b = 0; b < 2; ++b)
      for (int c = 0; c < 3; ++c) want[a * 6 + b * 3 + c] = x[1 + a + 15 * b + 5 * c];
  CHECK_OK(gmpnn_cpu_copy_strided(GMPNN_F64, out.data(), 0, out_st, x.data(), 1, in_st, 3, shape));
  CHECK_CLOSE("permute", out.data(), want.data(), 30, 0, 0);
  // broadcast a row into [4, 3] at an output offset (zero input stride)
  std::vector<float> big(20, -1.f), row = {1, 2, 3};
  const int64_t bshape[2] = {4, 3}, bin[2] = {0, 1}, bout[2] = {3, 1};
  CHECK_OK(gmpnn_cpu_copy_strided(GMPNN_F32, big.data(), 5, bout, row.data(), 0, bin, 2, bshape));
  for (int i = 0; i < 20; ++i) {
    float w = (i >= 5 && i < 17) ? row[(i - 5) % 3] : -1.f;
    CHECK(big[i] == w);
  }
}

namespace {
template <typename T>
void loss_case() {
  Rand rng(6);
  for (int64_t n : kSizes) {
    auto p = rng.vec<T>(n, -3, 3), t = rng.vec<T>(n, -3, 3);
    if (n > 1) p[1] = t[1];  // a tie: MAE's subgradient there is 0
    for (int kind = 0; kind < GMPNN_LOSS_COUNT; ++kind) {
      if (kind == GMPNN_LOSS_BCE_LOGITS)
        for (auto& v : t) v = (T)(std::fabs((double)v) / 3);
      double s = 0;
      std::vector<T> gwant(n);
      const double up = 0.7;
      for (int64_t i = 0; i < n; ++i) {
        double d = (double)p[i] - (double)t[i];
        double sig = 1 / (1 + std::exp(-(double)p[i]));
        if (kind == GMPNN_LOSS_MSE) s += d * d, gwant[i] = (T)(up / n * 2 * d);
        if (kind == GMPNN_LOSS_MAE) s += std::fabs(d), gwant[i] = (T)(up / n * ((d > 0) - (d < 0)));
        if (kind == GMPNN_LOSS_BCE_LOGITS)
          s += -(double)t[i] * std::log(sig) - (1 - (double)t[i]) * std::log(1 - sig),
              gwant[i] = (T)(up / n * (sig - (double)t[i]));
      }
      T loss = (T)NAN, want = (T)(s / n), dl = (T)up;
      CHECK_OK(gmpnn_cpu_loss_forward(dt_of<T>(), &loss, p.data(), t.data(), n, kind));
      CHECK_CLOSE("loss", &loss, &want, 1, tol<T>() * 10, tol<T>() * 10);
      std::vector<T> g(n, (T)NAN);
      CHECK_OK(gmpnn_cpu_loss_backward(dt_of<T>(), g.data(), &dl, p.data(), t.data(), n, kind));
      CHECK_CLOSE("dloss", g.data(), gwant.data(), n, tol<T>(), tol<T>() * 10);
    }
  }
}
}  // namespace

GMPNN_TEST(loss_cpu_pointwise) { loss_case<float>(); loss_case<double>(); }

GMPNN_TEST(loss_cpu_softmax_xent) {
  Rand rng(7);
  for (int64_t C : {1, 3, 1000}) {
    const int64_t N = 5;
    auto z = rng.vec<double>(N * C, -5, 5);
    std::vector<double> y(N), probs(N * C, NAN), g(N * C, NAN), pwant(N * C), gwant(N * C);
    double total = 0, up = 1.3;
    for (int64_t n = 0; n < N; ++n) {
      y[n] = (double)((n * 7) % C);
      double se = 0;
      for (int64_t c = 0; c < C; ++c) se += std::exp(z[n * C + c]);
      for (int64_t c = 0; c < C; ++c) {
        pwant[n * C + c] = std::exp(z[n * C + c]) / se;
        gwant[n * C + c] = up / N * (pwant[n * C + c] - (c == (int64_t)y[n]));
      }
      total += std::log(se) - z[n * C + (int64_t)y[n]];
    }
    double loss = NAN, want = total / N;
    CHECK_OK(gmpnn_cpu_softmax_xent_forward(GMPNN_F64, &loss, probs.data(), z.data(), y.data(), N, C));
    CHECK_CLOSE("xent", &loss, &want, 1, 1e-12, 1e-12);
    CHECK_CLOSE("probs", probs.data(), pwant.data(), N * C, 1e-14, 1e-12);
    CHECK_OK(gmpnn_cpu_softmax_xent_backward(GMPNN_F64, g.data(), &up, probs.data(), y.data(), N, C));
    CHECK_CLOSE("dlogits", g.data(), gwant.data(), N * C, 1e-14, 1e-12);
    y[2] = (double)C;  // out of range
    CHECK(gmpnn_cpu_softmax_xent_forward(GMPNN_F64, &loss, probs.data(), z.data(), y.data(), N, C) == GMPNN_E_ARG);
  }
}

GMPNN_TEST(optim_cpu_sgd_adam) {
  Rand rng(8);
  for (int64_t n : kSizes) {
    auto p = rng.vec<double>(n), g = rng.vec<double>(n);
    std::vector<double> buf(n), m(n, 0.0), v(n, 0.0);
    std::vector<double> ps = p, pa = p, bufw(n);
    for (int step = 1; step <= 3; ++step) {
      CHECK_OK(gmpnn_cpu_sgd_step(GMPNN_F64, ps.data(), buf.data(), g.data(), n, 0.1, 0.9, 0.0, 0.01, 1, step == 1));
      CHECK_OK(gmpnn_cpu_adam_step(GMPNN_F64, pa.data(), m.data(), v.data(), g.data(), n, 0.01, 0.9, 0.999, 1e-8, 0.0, 0, step));
    }
    // closed forms for a constant gradient
    for (int64_t i = 0; i < std::min<int64_t>(n, 50); ++i) {
      double x = p[i], b = 0;
      for (int step = 1; step <= 3; ++step) {
        double d = g[i] + 0.01 * x;
        b = step == 1 ? d : 0.9 * b + d;
        x -= 0.1 * (d + 0.9 * b);
      }
      CHECK(std::fabs(ps[i] - x) < 1e-13);
      // Adam with constant g: m̂ = g, v̂ = g², so each step moves lr·g/(|g| + eps)
      double xa = p[i] - 3 * 0.01 * g[i] / (std::fabs(g[i]) + 1e-8);
      CHECK(std::fabs(pa[i] - xa) < 1e-9);
    }
  }
}

// The bias corrections are kept between calls (one computation per foreach step): a call whose
// lr, betas or step differ from the previous call's must not reuse them. Calls alternate between
// settings; each must match the formula computed here.
GMPNN_TEST(optim_cpu_adam_corrections_follow_arguments) {
  Rand rng(9);
  const int64_t n = 5;
  struct Setting {
    double lr, b1, b2;
    int64_t step;
  };
  const Setting settings[] = {{0.01, 0.9, 0.999, 3}, {0.02, 0.9, 0.999, 3}, {0.02, 0.8, 0.999, 3},
                              {0.02, 0.8, 0.99, 3},  {0.02, 0.8, 0.99, 4},  {0.01, 0.9, 0.999, 3}};
  for (int round = 0; round < 2; ++round)
    for (const Setting& st : settings) {
      auto p = rng.vec<double>(n), g = rng.vec<double>(n), m = rng.vec<double>(n),
           v = rng.vec<double>(n);
      for (auto& x : v) x = std::fabs(x);
      std::vector<double> pw = p, mw = m, vw = v;
      CHECK_OK(gmpnn_cpu_adam_step(GMPNN_F64, p.data(), m.data(), v.data(), g.data(), n, st.lr,
                                   st.b1, st.b2, 1e-8, 0.0, 0, st.step));
      const double step_size = st.lr / (1 - std::pow(st.b1, (double)st.step));
      const double inv_sqrt_bc2 = 1.0 / std::sqrt(1 - std::pow(st.b2, (double)st.step));
      for (int64_t i = 0; i < n; ++i) {
        mw[i] = st.b1 * mw[i] + (1 - st.b1) * g[i];
        vw[i] = st.b2 * vw[i] + (1 - st.b2) * g[i] * g[i];
        pw[i] -= step_size * mw[i] / (std::sqrt(vw[i]) * inv_sqrt_bc2 + 1e-8);
      }
      CHECK_CLOSE("adam p", p.data(), pw.data(), n, 1e-15, 1e-14);
    }
}

GMPNN_TEST(rng_cpu_philox_streams) {
  // Known-answer test of Philox4x32-10 (Random123 kat_vectors: counter 0, key 0).
  gmpnn_philox_out r = gmpnn_philox4x32_10(0, 0);
  CHECK(r.v[0] == 0x6627e8d5u && r.v[1] == 0xe169c58du && r.v[2] == 0xbc57ac4cu && r.v[3] == 0x9b00dbd8u);
  // Offsets: element i of (seed, offset) equals element offset + i of (seed, 0).
  std::vector<double> a(100), b(90);
  CHECK_OK(gmpnn_cpu_rng_uniform(GMPNN_F64, a.data(), 100, 42, 0, -1, 1));
  CHECK_OK(gmpnn_cpu_rng_uniform(GMPNN_F64, b.data(), 90, 42, 10, -1, 1));
  CHECK_CLOSE("offset", b.data(), a.data() + 10, 90, 0, 0);
  std::vector<float> f(100);
  CHECK_OK(gmpnn_cpu_rng_uniform(GMPNN_F32, f.data(), 100, 42, 0, -1, 1));
  CHECK_CLOSE("f32 = rounded f64", f.data(), a.data(), 100, 1e-7, 0);
  std::vector<double> nrm(100000);
  CHECK_OK(gmpnn_cpu_rng_normal(GMPNN_F64, nrm.data(), 100000, 1, 0, 0, 1));
  double s = 0, s2 = 0;
  for (double x : nrm) s += x, s2 += x * x;
  CHECK(std::fabs(s / 1e5) < 0.02 && std::fabs(s2 / 1e5 - 1) < 0.02);
}
