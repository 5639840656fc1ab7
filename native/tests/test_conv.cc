// Tests of the CPU convolution kernels (gmpnn/conv.h) against a direct 7-loop convolution
// written here from the definition (not the library's own reference), in float64 and float32:
// forward, data gradient and filter gradient on awkward shapes (C_in = 1, channel counts that are
// no vector width, odd spatial sizes, 1×1 / 3×3 / 7×7 / non-square kernels, strides 1–3, 'same'
// padding with the extra row at the bottom, windows that skip input pixels, empty batches), with
// the tiling forced small so band tiles, both scatter phases and both filter-gradient modes run.
// Outputs are poisoned with NaN first (the write rule is =). Also: the adjoint identities
// <conv(x, w), g> = <x, data(g)> = <w, filter(g)>, and the dims checks.
#include "gmpnn/conv.h"

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

// (N, H, W, C_in, C_out, KH, KW, stride_h, stride_w, pad_h, pad_w); OH / OW follow the symmetric
// padding formula unless `same` asks for TensorFlow 'same' (ceil(H / s), extra pad at the end).
struct Case {
  int64_t N, H, W, C_in, C_out, KH, KW, sh, sw, ph, pw;
  bool same;
};

const Case kCases[] = {
    {2, 5, 7, 1, 3, 3, 3, 1, 1, 1, 1, false},     // C_in = 1, 'same' 3×3
    {1, 9, 8, 3, 5, 3, 3, 2, 2, 0, 0, false},     // 'valid', stride 2
    {3, 11, 13, 5, 7, 7, 7, 2, 2, 3, 3, false},   // 7×7/2 stem-like
    {2, 6, 6, 13, 4, 1, 1, 1, 1, 0, 0, false},    // pointwise: plain GEMM
    {2, 7, 5, 6, 9, 1, 1, 2, 2, 0, 0, false},     // 1×1 / 2 shortcut
    {1, 4, 4, 2, 3, 5, 5, 1, 1, 2, 2, false},     // kernel larger than half the image
    {2, 8, 9, 3, 4, 3, 3, 2, 2, 0, 0, true},      // TF 'same' stride 2: asymmetric padding
    {2, 7, 7, 3, 5, 3, 3, 2, 2, 0, 0, true},      // TF 'same' stride 2, odd size
    {1, 3, 3, 2, 2, 3, 3, 3, 3, 1, 1, false},     // stride = kernel
    {2, 10, 3, 17, 6, 3, 1, 1, 1, 1, 0, false},   // non-square kernel
    {1, 9, 9, 2, 3, 2, 2, 3, 3, 0, 0, false},     // stride > kernel: uncovered input pixels
    {1, 5, 6, 7, 3, 3, 2, 1, 2, 2, 0, false},     // different strides and pads per axis
    {0, 5, 5, 3, 4, 3, 3, 1, 1, 1, 1, false},     // empty batch
    {2, 17, 15, 24, 40, 3, 3, 1, 1, 1, 1, false}, // big enough to run threaded
    {1, 12, 12, 40, 100, 3, 3, 1, 1, 1, 1, false}, // threaded, too few pixels for tiles: one team-wide tile
    {2, 10, 11, 9, 64, 3, 3, 1, 1, 1, 1, false},  // C_out = 64: the transposed filter gradient's widest
    // C_out >= 128: the forward packs im2col rows straight from the image (implicit GEMM).
    {2, 9, 9, 50, 131, 3, 3, 1, 1, 1, 1, false},  // K = 450 > KC: blocks start inside a kernel row
    {1, 11, 13, 1, 128, 7, 7, 2, 2, 3, 3, false}, // 7×7/2 stem, C_in = 1
    {2, 8, 9, 3, 130, 3, 3, 2, 2, 0, 0, true},    // TF 'same' stride 2: asymmetric padding
    {1, 5, 6, 7, 129, 3, 2, 1, 2, 2, 0, false},   // different strides and pads per axis
    // Stride 1 with at least 8 outputs: the direct (im2col-free) path for forward and data.
    {3, 7, 9, 11, 20, 3, 3, 1, 1, 1, 1, false},   // partial panel (20 = 16 + 4), odd C_in
    {2, 6, 7, 8, 9, 3, 3, 1, 1, 0, 0, false},     // 'valid': no padded copy for the forward
    {1, 6, 6, 3, 9, 3, 3, 1, 1, 3, 3, false},     // pad > KH − 1: the data gradient falls back
    {2, 5, 8, 10, 12, 5, 3, 1, 1, 2, 1, false},   // non-square kernel and pads
    // More stride-1 shapes for the direct path: C_in = 8, 13, 3 against its 6-row tiles.
    {2, 6, 7, 8, 16, 3, 3, 1, 1, 0, 0, false},    // 'valid' (unpadded image), C_in = 8: 6 + 2
    {1, 7, 5, 13, 32, 3, 2, 1, 1, 1, 0, false},   // non-square, C_in = 13
    {2, 5, 5, 3, 16, 5, 5, 1, 1, 2, 2, false},    // 5x5 'same', C_in = 3 (one short tile a tap)
    {3, 9, 9, 12, 48, 3, 3, 1, 1, 1, 1, false},   // several pixel blocks, threaded
};

gmpnn_conv2d_dims dims_of(const Case& c) {
  gmpnn_conv2d_dims d{};
  d.N = c.N; d.H = c.H; d.W = c.W; d.C_in = c.C_in; d.C_out = c.C_out; d.KH = c.KH; d.KW = c.KW;
  d.stride_h = c.sh; d.stride_w = c.sw; d.pad_h = c.ph; d.pad_w = c.pw;
  if (c.same) {
    d.OH = (c.H + c.sh - 1) / c.sh;
    d.OW = (c.W + c.sw - 1) / c.sw;
    d.pad_h = std::max<int64_t>(0, (d.OH - 1) * c.sh + c.KH - c.H) / 2;
    d.pad_w = std::max<int64_t>(0, (d.OW - 1) * c.sw + c.KW - c.W) / 2;
  } else {
    d.OH = (c.H + 2 * c.ph - c.KH) / c.sh + 1;
    d.OW = (c.W + 2 * c.pw - c.KW) / c.sw + 1;
  }
  return d;
}

std::string describe(const gmpnn_conv2d_dims& d) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "N%lld %lldx%lldx%lld -> %lld K%lldx%lld s%lldx%lld p%lldx%lld out %lldx%lld",
                (long long)d.N, (long long)d.H, (long long)d.W, (long long)d.C_in, (long long)d.C_out,
                (long long)d.KH, (long long)d.KW, (long long)d.stride_h, (long long)d.stride_w,
                (long long)d.pad_h, (long long)d.pad_w, (long long)d.OH, (long long)d.OW);
  return buf;
}

// The definition, in double: every (output, kernel tap, channel) triple visited once.
struct Direct {
  const gmpnn_conv2d_dims& d;
  bool valid(int64_t oh, int64_t ow, int64_t kh, int64_t kw, int64_t* ih, int64_t* iw) const {
    *ih = oh * d.stride_h - d.pad_h + kh;
    *iw = ow * d.stride_w - d.pad_w + kw;
    return *ih >= 0 && *ih < d.H && *iw >= 0 && *iw < d.W;
  }
  int64_t xi(int64_t n, int64_t ih, int64_t iw, int64_t c) const { return ((n * d.H + ih) * d.W + iw) * d.C_in + c; }
  int64_t wi(int64_t o, int64_t kh, int64_t kw, int64_t c) const { return ((o * d.KH + kh) * d.KW + kw) * d.C_in + c; }
  int64_t yi(int64_t n, int64_t oh, int64_t ow, int64_t o) const { return ((n * d.OH + oh) * d.OW + ow) * d.C_out + o; }
  template <typename F>
  void each(F f) const {
    for (int64_t n = 0; n < d.N; ++n)
      for (int64_t oh = 0; oh < d.OH; ++oh)
        for (int64_t ow = 0; ow < d.OW; ++ow)
          for (int64_t o = 0; o < d.C_out; ++o)
            for (int64_t kh = 0; kh < d.KH; ++kh)
              for (int64_t kw = 0; kw < d.KW; ++kw)
                for (int64_t c = 0; c < d.C_in; ++c) {
                  int64_t ih, iw;
                  if (valid(oh, ow, kh, kw, &ih, &iw)) f(yi(n, oh, ow, o), xi(n, ih, iw, c), wi(o, kh, kw, c));
                }
  }
};

struct Sizes {
  size_t x, w, y;
};
Sizes sizes(const gmpnn_conv2d_dims& d) {
  return {(size_t)(d.N * d.H * d.W * d.C_in), (size_t)(d.C_out * d.KH * d.KW * d.C_in),
          (size_t)(d.N * d.OH * d.OW * d.C_out)};
}

template <typename T>
void check_case(const gmpnn_conv2d_dims& d, uint64_t seed, const char* tag) {
  const Sizes s = sizes(d);
  Rand rng(seed);
  std::vector<T> x = rng.vec<T>(s.x), w = rng.vec<T>(s.w), gy = rng.vec<T>(s.y);
  std::vector<double> y_ref(s.y, 0.0), dx_ref(s.x, 0.0), dw_ref(s.w, 0.0);
  Direct ref{d};
  ref.each([&](int64_t yi, int64_t xi, int64_t wi) {
    y_ref[yi] += (double)x[xi] * (double)w[wi];
    dx_ref[xi] += (double)gy[yi] * (double)w[wi];
    dw_ref[wi] += (double)gy[yi] * (double)x[xi];
  });
  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> y(s.y, nan), dx(s.x, nan), dw(s.w, nan);
  // float32 tolerance grows with the fan-in summed over (and with M for the filter gradient).
  const double K = (double)(d.KH * d.KW * d.C_in);
  const double M = (double)(d.N * d.OH * d.OW);
  const double eps = sizeof(T) == 4 ? 2e-7 : 1e-15;
  const std::string what = std::string(tag) + " " + describe(d);
  CHECK_OK(gmpnn_cpu_conv2d_forward(dtype_of<T>(), y.data(), x.data(), w.data(), &d));
  CHECK_CLOSE((what + " forward").c_str(), y.data(), y_ref.data(), s.y, 8 * eps * K, 8 * eps * K);
  CHECK_OK(gmpnn_cpu_conv2d_backward_data(dtype_of<T>(), dx.data(), gy.data(), w.data(), &d));
  CHECK_CLOSE((what + " data").c_str(), dx.data(), dx_ref.data(), s.x, 8 * eps * K * d.C_out,
              8 * eps * K);
  CHECK_OK(gmpnn_cpu_conv2d_backward_filter(dtype_of<T>(), dw.data(), gy.data(), x.data(), &d));
  CHECK_CLOSE((what + " filter").c_str(), dw.data(), dw_ref.data(), s.w, 8 * eps * M, 8 * eps * M);
}

// Forced tilings: automatic, one pixel per tile, odd small tiles, and both filter modes.
const int64_t kTiles[][2] = {{0, 0}, {1, 1}, {3, 2}, {7, 1}, {5, 2}, {64, 0}};

template <typename T>
void run_all(uint64_t seed0, const char* tag) {
  uint64_t seed = seed0;
  for (const auto& tm : kTiles) {
    gmpnn_cpu_conv2d_set_tiling_for_testing(tm[0], (int)tm[1]);
    for (const Case& c : kCases) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s tile=%lld mode=%lld", tag, (long long)tm[0], (long long)tm[1]);
      check_case<T>(dims_of(c), ++seed, buf);
    }
  }
  gmpnn_cpu_conv2d_set_tiling_for_testing(0, 0);
  // The direct path forced on (every stride-1 case, whatever its size) and off (the im2col paths
  // on the cases the automatic choice sends to it).
  for (int direct : {1, 0}) {
    gmpnn_cpu_conv2d_set_direct_for_testing(direct);
    for (const Case& c : kCases) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s direct=%d", tag, direct);
      check_case<T>(dims_of(c), ++seed, buf);
    }
  }
  gmpnn_cpu_conv2d_set_direct_for_testing(-1);
}

template <typename T>
double dot(const std::vector<T>& a, const std::vector<T>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (double)a[i] * (double)b[i];
  return s;
}

}  // namespace

GMPNN_TEST(conv_direct_float64) { run_all<double>(100, "f64"); }

GMPNN_TEST(conv_direct_float32) { run_all<float>(200, "f32"); }

GMPNN_TEST(conv_library_reference_matches_direct) {
  for (const Case& c : kCases) {
    const gmpnn_conv2d_dims d = dims_of(c);
    const Sizes s = sizes(d);
    Rand rng(7);
    std::vector<double> x = rng.vec<double>(s.x), w = rng.vec<double>(s.w), gy = rng.vec<double>(s.y);
    std::vector<double> y(s.y), dx(s.x), dw(s.w), y2(s.y), dx2(s.x), dw2(s.w);
    CHECK_OK(gmpnn_cpu_conv2d_forward_reference(GMPNN_F64, y.data(), x.data(), w.data(), &d));
    CHECK_OK(gmpnn_cpu_conv2d_backward_data_reference(GMPNN_F64, dx.data(), gy.data(), w.data(), &d));
    CHECK_OK(gmpnn_cpu_conv2d_backward_filter_reference(GMPNN_F64, dw.data(), gy.data(), x.data(), &d));
    CHECK_OK(gmpnn_cpu_conv2d_forward(GMPNN_F64, y2.data(), x.data(), w.data(), &d));
    CHECK_OK(gmpnn_cpu_conv2d_backward_data(GMPNN_F64, dx2.data(), gy.data(), w.data(), &d));
    CHECK_OK(gmpnn_cpu_conv2d_backward_filter(GMPNN_F64, dw2.data(), gy.data(), x.data(), &d));
    CHECK_CLOSE("reference forward", y2.data(), y.data(), s.y, 1e-12, 1e-12);
    CHECK_CLOSE("reference data", dx2.data(), dx.data(), s.x, 1e-12, 1e-12);
    CHECK_CLOSE("reference filter", dw2.data(), dw.data(), s.w, 1e-12, 1e-12);
  }
}

// <conv(x, w), g> = <x, data(g)> = <w, filter(g)>: the two backward kernels are the adjoints of
// the forward one, on a shape large enough for the threaded paths.
GMPNN_TEST(conv_adjoint_identities) {
  gmpnn_conv2d_dims d = dims_of({4, 19, 21, 11, 37, 3, 3, 2, 2, 1, 1, false});
  for (int mode = 0; mode <= 2; ++mode) {
    gmpnn_cpu_conv2d_set_tiling_for_testing(0, mode);
    const Sizes s = sizes(d);
    Rand rng(11 + mode);
    std::vector<double> x = rng.vec<double>(s.x), w = rng.vec<double>(s.w), g = rng.vec<double>(s.y);
    std::vector<double> y(s.y), dx(s.x), dw(s.w);
    CHECK_OK(gmpnn_cpu_conv2d_forward(GMPNN_F64, y.data(), x.data(), w.data(), &d));
    CHECK_OK(gmpnn_cpu_conv2d_backward_data(GMPNN_F64, dx.data(), g.data(), w.data(), &d));
    CHECK_OK(gmpnn_cpu_conv2d_backward_filter(GMPNN_F64, dw.data(), g.data(), x.data(), &d));
    const double a = dot(y, g), b = dot(x, dx), c = dot(w, dw);
    CHECK(std::fabs(a - b) <= 1e-10 * (1 + std::fabs(a)));
    CHECK(std::fabs(a - c) <= 1e-10 * (1 + std::fabs(a)));
  }
  gmpnn_cpu_conv2d_set_tiling_for_testing(0, 0);
}

// Repeated calls give bit-identical results (static tile schedule, ordered partial sums).
GMPNN_TEST(conv_deterministic) {
  gmpnn_conv2d_dims d = dims_of({3, 16, 16, 16, 24, 3, 3, 1, 1, 1, 1, false});
  const Sizes s = sizes(d);
  Rand rng(5);
  std::vector<float> x = rng.vec<float>(s.x), w = rng.vec<float>(s.w), g = rng.vec<float>(s.y);
  std::vector<float> a(s.w), b(s.w), da(s.x), db(s.x);
  CHECK_OK(gmpnn_cpu_conv2d_backward_filter(GMPNN_F32, a.data(), g.data(), x.data(), &d));
  CHECK_OK(gmpnn_cpu_conv2d_backward_filter(GMPNN_F32, b.data(), g.data(), x.data(), &d));
  CHECK_OK(gmpnn_cpu_conv2d_backward_data(GMPNN_F32, da.data(), g.data(), w.data(), &d));
  CHECK_OK(gmpnn_cpu_conv2d_backward_data(GMPNN_F32, db.data(), g.data(), w.data(), &d));
  CHECK(a == b);
  CHECK(da == db);
}

GMPNN_TEST(conv_rejects_bad_dims) {
  gmpnn_conv2d_dims d = dims_of({1, 4, 4, 2, 2, 3, 3, 1, 1, 1, 1, false});
  std::vector<float> x(32), w(36), y(32);
  gmpnn_conv2d_dims bad = d;
  bad.stride_h = 0;
  CHECK(gmpnn_cpu_conv2d_forward(GMPNN_F32, y.data(), x.data(), w.data(), &bad) == GMPNN_E_SHAPE);
  bad = d;
  bad.pad_w = -1;
  CHECK(gmpnn_cpu_conv2d_backward_data(GMPNN_F32, x.data(), y.data(), w.data(), &bad) == GMPNN_E_SHAPE);
  bad = d;
  bad.KH = 0;
  CHECK(gmpnn_cpu_conv2d_backward_filter(GMPNN_F32, w.data(), y.data(), x.data(), &bad) == GMPNN_E_SHAPE);
  CHECK(gmpnn_cpu_conv2d_forward(GMPNN_F32, y.data(), x.data(), w.data(), nullptr) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_conv2d_forward(GMPNN_F32, nullptr, x.data(), w.data(), &d) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_conv2d_forward((gmpnn_dtype)7, y.data(), x.data(), w.data(), &d) == GMPNN_E_DTYPE);
  CHECK(std::string(gmpnn_last_error()).find("conv2d_forward") != std::string::npos);
}
