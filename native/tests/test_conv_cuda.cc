// CUDA parity tests for the convolution kernels (gmpnn/conv.h) against the CPU twins: forward,
// data gradient and filter gradient in float32 and float64 on awkward shapes (C_in = 1, channel
// counts that are no vector width, odd sizes, 1×1 / 3×3 / 7×7 / non-square kernels, strides 1–3,
// asymmetric 'same' padding, uncovered input pixels, an empty batch) plus a VGG-sized layer.
// Outputs are poisoned with NaN first (the write rule is =). Skips, saying why, without a GPU.
#include "gmpnn/conv.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "gmpnn/device.h"
#include "harness.h"

#include "cuda_test_util.h"

#ifdef GMPNN_WITH_CUDA
namespace {

using gmpnn_test::Rand;

// N, H, W, C_in, C_out, KH, KW, OH, OW, sh, sw, ph, pw
const gmpnn_conv2d_dims kCases[] = {
    {2, 5, 7, 1, 3, 3, 3, 5, 7, 1, 1, 1, 1},
    {1, 9, 8, 3, 5, 3, 3, 4, 3, 2, 2, 0, 0},
    {3, 11, 13, 5, 7, 7, 7, 6, 7, 2, 2, 3, 3},
    {2, 6, 6, 13, 4, 1, 1, 6, 6, 1, 1, 0, 0},
    {2, 7, 5, 6, 9, 1, 1, 4, 3, 2, 2, 0, 0},
    {2, 8, 9, 3, 4, 3, 3, 4, 5, 2, 2, 0, 1},
    {1, 9, 9, 2, 3, 2, 2, 3, 3, 3, 3, 0, 0},
    {2, 10, 3, 17, 6, 3, 1, 10, 3, 1, 1, 1, 0},
    {0, 5, 5, 3, 4, 3, 3, 5, 5, 1, 1, 1, 1},
    {8, 16, 16, 128, 64, 3, 3, 16, 16, 1, 1, 1, 1},
};

template <typename T>
void run() {
  Rand rng(71 + sizeof(T));
  for (const gmpnn_conv2d_dims& d : kCases) {
    const size_t nx = d.N * d.H * d.W * d.C_in, nw = d.C_out * d.KH * d.KW * d.C_in,
                 ny = d.N * d.OH * d.OW * d.C_out;
    const double K = (double)(d.KH * d.KW * d.C_in), M = (double)(d.N * d.OH * d.OW);
    const double eps = sizeof(T) == 4 ? 1e-6 : 1e-14;
    std::vector<T> x = rng.vec<T>(nx), w = rng.vec<T>(nw), g = rng.vec<T>(ny);
    std::vector<T> y(ny), dx(nx), dw(nw);
    CHECK_OK(gmpnn_cpu_conv2d_forward(dtype_of<T>(), y.data(), x.data(), w.data(), &d));
    CHECK_OK(gmpnn_cpu_conv2d_backward_data(dtype_of<T>(), dx.data(), g.data(), w.data(), &d));
    CHECK_OK(gmpnn_cpu_conv2d_backward_filter(dtype_of<T>(), dw.data(), g.data(), x.data(), &d));
    Dev<T> gx(x), gw(w), gg(g), gy(nans<T>(ny)), gdx(nans<T>(nx)), gdw(nans<T>(nw));
    CHECK_OK(gmpnn_cuda_conv2d_forward(dtype_of<T>(), gy.p, gx.p, gw.p, &d));
    CHECK_OK(gmpnn_cuda_conv2d_backward_data(dtype_of<T>(), gdx.p, gg.p, gw.p, &d));
    CHECK_OK(gmpnn_cuda_conv2d_backward_filter(dtype_of<T>(), gdw.p, gg.p, gx.p, &d));
    const std::string s = " N" + std::to_string(d.N) + " C" + std::to_string(d.C_in) + "->" +
                          std::to_string(d.C_out) + " K" + std::to_string(d.KH) + "x" + std::to_string(d.KW);
    CHECK_CLOSE(("forward" + s).c_str(), gy.down().data(), y.data(), ny, 10 * eps * K, 10 * eps * K);
    CHECK_CLOSE(("data" + s).c_str(), gdx.down().data(), dx.data(), nx, 10 * eps * K * d.C_out, 10 * eps * K);
    CHECK_CLOSE(("filter" + s).c_str(), gdw.down().data(), dw.data(), nw, 10 * eps * M, 10 * eps * M);
  }
  gmpnn_conv2d_dims bad = kCases[0];
  bad.stride_w = 0;
  Dev<T> t(8);
  CHECK(gmpnn_cuda_conv2d_forward(dtype_of<T>(), t.p, t.p, t.p, &bad) == GMPNN_E_SHAPE);
}

}  // namespace
#endif

GMPNN_TEST(conv_cuda_parity) { CUDA_TEST_BODY(run<float>(); run<double>()); }
