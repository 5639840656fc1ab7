// CUDA parity tests for the pooling kernels (gmpnn/pool.h) against the CPU twins: max (values,
// argmax positions, gradients; ties on a coarse value grid and a NaN) and average (with and without
// the padding in the divisor), float32 and float64, on VGG 2×2/2, ResNet 3×3/2 pad 1, overlapping,
// gapped and global windows and odd sizes. Outputs are poisoned with NaN first. Skips without a GPU.
#include "gmpnn/pool.h"

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

// N, H, W, C, KH, KW, OH, OW, sh, sw, ph, pw
const gmpnn_pool2d_dims kCases[] = {
    {2, 8, 8, 3, 2, 2, 4, 4, 2, 2, 0, 0},      {2, 7, 9, 5, 2, 2, 3, 4, 2, 2, 0, 0},
    {1, 9, 9, 4, 3, 3, 5, 5, 2, 2, 1, 1},      {3, 5, 6, 1, 3, 3, 5, 6, 1, 1, 1, 1},
    {1, 10, 7, 7, 2, 3, 3, 4, 3, 2, 0, 1},     {1, 6, 6, 2, 6, 6, 1, 1, 1, 1, 0, 0},
    {16, 32, 32, 128, 2, 2, 16, 16, 2, 2, 0, 0},
};

template <typename T>
void run() {
  Rand rng(17 + sizeof(T));
  for (const gmpnn_pool2d_dims& d : kCases) {
    const size_t nx = d.N * d.H * d.W * d.C, ny = d.N * d.OH * d.OW * d.C;
    std::vector<T> x(nx), g = rng.vec<T>(ny);
    for (auto& v : x) v = (T)std::round(rng.uniform(-4, 4));
    if (nx > 5) x[5] = std::numeric_limits<T>::quiet_NaN();
    std::vector<T> y(ny), a(ny), dx(nx);
    CHECK_OK(gmpnn_cpu_max_pool2d_forward(dtype_of<T>(), y.data(), a.data(), x.data(), &d));
    CHECK_OK(gmpnn_cpu_max_pool2d_backward(dtype_of<T>(), dx.data(), g.data(), a.data(), &d));
    Dev<T> gx(x), gg(g), gy(nans<T>(ny)), ga(nans<T>(ny)), gdx(nans<T>(nx));
    CHECK_OK(gmpnn_cuda_max_pool2d_forward(dtype_of<T>(), gy.p, ga.p, gx.p, &d));
    CHECK_OK(gmpnn_cuda_max_pool2d_backward(dtype_of<T>(), gdx.p, gg.p, ga.p, &d));
    CHECK_CLOSE("max forward", gy.down().data(), y.data(), ny, 0, 0);
    CHECK_CLOSE("max argmax", ga.down().data(), a.data(), ny, 0, 0);
    CHECK_CLOSE("max backward", gdx.down().data(), dx.data(), nx, 1e-6, 1e-6);
    std::vector<T> xr = rng.vec<T>(nx);
    Dev<T> gxr(xr);
    for (int inc = 0; inc <= 1; ++inc) {
      std::vector<T> ya(ny), dxa(nx);
      CHECK_OK(gmpnn_cpu_avg_pool2d_forward(dtype_of<T>(), ya.data(), xr.data(), &d, inc));
      CHECK_OK(gmpnn_cpu_avg_pool2d_backward(dtype_of<T>(), dxa.data(), g.data(), &d, inc));
      Dev<T> gya(nans<T>(ny)), gdxa(nans<T>(nx));
      CHECK_OK(gmpnn_cuda_avg_pool2d_forward(dtype_of<T>(), gya.p, gxr.p, &d, inc));
      CHECK_OK(gmpnn_cuda_avg_pool2d_backward(dtype_of<T>(), gdxa.p, gg.p, &d, inc));
      const double tol = sizeof(T) == 4 ? 1e-5 : 1e-13;
      CHECK_CLOSE("avg forward", gya.down().data(), ya.data(), ny, tol, tol);
      CHECK_CLOSE("avg backward", gdxa.down().data(), dxa.data(), nx, tol, tol);
    }
  }
}

}  // namespace
#endif

GMPNN_TEST(pool_cuda_parity) { CUDA_TEST_BODY(run<float>(); run<double>()); }
