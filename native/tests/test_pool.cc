// Tests of the CPU pooling kernels (gmpnn/pool.h) against loops written here from the definition:
// max and average pooling forward and backward in float64 and float32 on odd sizes, 2×2/2 (VGG),
// 3×3/2 with padding 1 (ResNet stem), overlapping and gapped windows, average with and without the
// padding in the divisor; max-pool ties (first position wins), NaN propagation, windows with no
// input element, argmax positions, and the dims checks. Outputs are poisoned with NaN first.
#include "gmpnn/pool.h"

#include <cmath>
#include <cstdio>
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

// (N, H, W, C, KH, KW, sh, sw, ph, pw); OH/OW from the symmetric-padding formula.
struct Case {
  int64_t N, H, W, C, KH, KW, sh, sw, ph, pw;
};
const Case kCases[] = {
    {2, 8, 8, 3, 2, 2, 2, 2, 0, 0},     // VGG 2×2/2
    {2, 7, 9, 5, 2, 2, 2, 2, 0, 0},     // odd sizes: last row / column dropped
    {1, 9, 9, 4, 3, 3, 2, 2, 1, 1},     // ResNet stem 3×3/2 pad 1
    {3, 5, 6, 1, 3, 3, 1, 1, 1, 1},     // overlapping, C = 1
    {1, 10, 7, 7, 2, 3, 3, 2, 0, 1},    // gapped rows, mixed strides
    {2, 4, 4, 130, 3, 3, 1, 1, 1, 1},   // channel blocks in the max backward
    {1, 6, 6, 2, 6, 6, 1, 1, 0, 0},     // global window
    {12, 32, 32, 16, 2, 2, 2, 2, 0, 0}, // large enough to run threaded
};

gmpnn_pool2d_dims dims_of(const Case& c) {
  gmpnn_pool2d_dims d{};
  d.N = c.N; d.H = c.H; d.W = c.W; d.C = c.C; d.KH = c.KH; d.KW = c.KW;
  d.stride_h = c.sh; d.stride_w = c.sw; d.pad_h = c.ph; d.pad_w = c.pw;
  d.OH = (c.H + 2 * c.ph - c.KH) / c.sh + 1;
  d.OW = (c.W + 2 * c.pw - c.KW) / c.sw + 1;
  return d;
}

// Visits the input positions of window (oh, ow) in row-major order.
template <typename F>
void each_tap(const gmpnn_pool2d_dims& d, int64_t oh, int64_t ow, F f) {
  for (int64_t kh = 0; kh < d.KH; ++kh)
    for (int64_t kw = 0; kw < d.KW; ++kw) {
      const int64_t ih = oh * d.stride_h - d.pad_h + kh, iw = ow * d.stride_w - d.pad_w + kw;
      if (ih >= 0 && ih < d.H && iw >= 0 && iw < d.W) f(ih, iw);
    }
}

template <typename T>
void check_max(const gmpnn_pool2d_dims& d, uint64_t seed) {
  const size_t nx = d.N * d.H * d.W * d.C, ny = d.N * d.OH * d.OW * d.C;
  Rand rng(seed);
  // Values on a coarse grid so ties happen.
  std::vector<T> x(nx), gy = rng.vec<T>(ny);
  for (auto& v : x) v = (T)std::round(rng.uniform(-4, 4));
  std::vector<double> y_ref(ny), a_ref(ny), dx_ref(nx, 0.0);
  for (int64_t n = 0; n < d.N; ++n)
    for (int64_t oh = 0; oh < d.OH; ++oh)
      for (int64_t ow = 0; ow < d.OW; ++ow)
        for (int64_t c = 0; c < d.C; ++c) {
          const size_t yi = ((n * d.OH + oh) * d.OW + ow) * d.C + c;
          double best = -INFINITY;
          int64_t arg = -1;
          each_tap(d, oh, ow, [&](int64_t ih, int64_t iw) {
            const double v = x[((n * d.H + ih) * d.W + iw) * d.C + c];
            if (arg < 0 || v > best) {
              best = v;
              arg = ih * d.W + iw;
            }
          });
          y_ref[yi] = arg < 0 ? 0 : best;
          a_ref[yi] = (double)arg;
          if (arg >= 0) dx_ref[(n * d.H * d.W + arg) * d.C + c] += gy[yi];
        }
  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> y(ny, nan), a(ny, nan), dx(nx, nan);
  CHECK_OK(gmpnn_cpu_max_pool2d_forward(dtype_of<T>(), y.data(), a.data(), x.data(), &d));
  CHECK_CLOSE("max forward", y.data(), y_ref.data(), ny, 0, 0);
  CHECK_CLOSE("max argmax", a.data(), a_ref.data(), ny, 0, 0);
  CHECK_OK(gmpnn_cpu_max_pool2d_backward(dtype_of<T>(), dx.data(), gy.data(), a.data(), &d));
  CHECK_CLOSE("max backward", dx.data(), dx_ref.data(), nx, 1e-6, 1e-6);
}

template <typename T>
void check_avg(const gmpnn_pool2d_dims& d, int include_pad, uint64_t seed) {
  const size_t nx = d.N * d.H * d.W * d.C, ny = d.N * d.OH * d.OW * d.C;
  Rand rng(seed);
  std::vector<T> x = rng.vec<T>(nx), gy = rng.vec<T>(ny);
  std::vector<double> y_ref(ny, 0.0), dx_ref(nx, 0.0);
  for (int64_t n = 0; n < d.N; ++n)
    for (int64_t oh = 0; oh < d.OH; ++oh)
      for (int64_t ow = 0; ow < d.OW; ++ow) {
        int64_t cnt = 0;
        each_tap(d, oh, ow, [&](int64_t, int64_t) { ++cnt; });
        const double div = include_pad ? (double)(d.KH * d.KW) : (double)cnt;
        for (int64_t c = 0; c < d.C; ++c) {
          const size_t yi = ((n * d.OH + oh) * d.OW + ow) * d.C + c;
          double s = 0;
          each_tap(d, oh, ow, [&](int64_t ih, int64_t iw) {
            const size_t xi = ((n * d.H + ih) * d.W + iw) * d.C + c;
            s += x[xi];
            dx_ref[xi] += gy[yi] / div;
          });
          y_ref[yi] = s / div;
        }
      }
  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> y(ny, nan), dx(nx, nan);
  const double tol = sizeof(T) == 4 ? 1e-5 : 1e-13;
  CHECK_OK(gmpnn_cpu_avg_pool2d_forward(dtype_of<T>(), y.data(), x.data(), &d, include_pad));
  CHECK_CLOSE(include_pad ? "avg forward (pad counted)" : "avg forward", y.data(), y_ref.data(), ny, tol, tol);
  CHECK_OK(gmpnn_cpu_avg_pool2d_backward(dtype_of<T>(), dx.data(), gy.data(), &d, include_pad));
  CHECK_CLOSE(include_pad ? "avg backward (pad counted)" : "avg backward", dx.data(), dx_ref.data(), nx, tol, tol);
}

}  // namespace

GMPNN_TEST(pool_max_matches_definition) {
  uint64_t seed = 1;
  for (const Case& c : kCases) {
    check_max<double>(dims_of(c), ++seed);
    check_max<float>(dims_of(c), ++seed);
  }
}

GMPNN_TEST(pool_avg_matches_definition) {
  uint64_t seed = 50;
  for (const Case& c : kCases)
    for (int inc = 0; inc <= 1; ++inc) {
      check_avg<double>(dims_of(c), inc, ++seed);
      check_avg<float>(dims_of(c), inc, ++seed);
    }
}

GMPNN_TEST(pool_max_nan_ties_and_empty_windows) {
  // One image, one channel, 2×2 input, 2×2 window, stride 1, pad 1 -> 3×3 output windows.
  gmpnn_pool2d_dims d{1, 2, 2, 1, 2, 2, 3, 3, 1, 1, 1, 1};
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> x = {1, nan, 1, 0.5}, y(9), a(9);
  CHECK_OK(gmpnn_cpu_max_pool2d_forward(GMPNN_F64, y.data(), a.data(), x.data(), &d));
  CHECK(y[0] == 1 && a[0] == 0);           // window holds only x[0]
  CHECK(std::isnan(y[1]) && a[1] == 1);    // NaN propagates
  CHECK(std::isnan(y[4]) && a[4] == 1);    // NaN wins over the larger neighbours
  CHECK(y[6] == 1 && a[6] == 2);           // window holds only x[2]
  CHECK(y[7] == 1 && a[7] == 2);           // tie 1 vs 0.5, the 1 comes first
  // All -inf: the first position is still recorded, so the gradient is routed somewhere.
  std::vector<double> xi = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
  CHECK_OK(gmpnn_cpu_max_pool2d_forward(GMPNN_F64, y.data(), a.data(), xi.data(), &d));
  CHECK(a[4] == 0);
  // A window past the input (explicit OH larger than the image): out 0, argmax -1, no gradient.
  gmpnn_pool2d_dims e{1, 2, 2, 1, 1, 1, 3, 1, 1, 1, 0, 0};
  std::vector<double> ye(3, nan), ae(3, nan), g = {1, 2, 3}, dx(4, nan);
  CHECK_OK(gmpnn_cpu_max_pool2d_forward(GMPNN_F64, ye.data(), ae.data(), x.data(), &e));
  CHECK(ye[2] == 0 && ae[2] == -1);
  CHECK_OK(gmpnn_cpu_max_pool2d_backward(GMPNN_F64, dx.data(), g.data(), ae.data(), &e));
  CHECK(dx[0] == 1 && dx[2] == 2 && dx[1] == 0 && dx[3] == 0);
}

GMPNN_TEST(pool_rejects_bad_dims) {
  gmpnn_pool2d_dims d{1, 4, 4, 1, 2, 2, 2, 2, 2, 2, 0, 0};
  d.stride_h = 0;
  std::vector<float> x(16), y(4), a(4);
  CHECK(gmpnn_cpu_max_pool2d_forward(GMPNN_F32, y.data(), a.data(), x.data(), &d) == GMPNN_E_SHAPE);
  CHECK(gmpnn_cpu_avg_pool2d_forward(GMPNN_F32, y.data(), x.data(), &d, 1) == GMPNN_E_SHAPE);
  d.stride_h = 2;
  CHECK(gmpnn_cpu_avg_pool2d_backward(GMPNN_F32, nullptr, y.data(), &d, 1) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_max_pool2d_backward((gmpnn_dtype)9, x.data(), y.data(), a.data(), &d) == GMPNN_E_DTYPE);
}
