// CUDA parity test of the batch normalization kernels (gmpnn/norm.h) against the CPU twin: the
// statistics, y, and dx, dγ, dβ (together and each alone), float32 and float64, shapes from one
// row or channel to row counts that split the column sums over many blocks, channel counts around
// the 32-column block edge, and rows with a large common offset. Outputs are poisoned with NaN.
#include "gmpnn/norm.h"

#include <cmath>
#include <string>
#include <vector>

#include "harness.h"

#include "cuda_test_util.h"
#ifdef GMPNN_WITH_CUDA
namespace {

template <typename T>
void run_batch_norm() {
  Rand rng(91 + sizeof(T));
  const int64_t shapes[][2] = {{1, 1}, {455, 100}, {7, 31}, {9, 33}, {5000, 64}, {100000, 3}, {3, 1000}};
  for (const auto& s : shapes)
    for (double offset : {0.0, 100.0}) {
      const int64_t rows = s[0], C = s[1];
      const size_t N = (size_t)(rows * C);
      const std::string what = " rows=" + std::to_string(rows) + " C=" + std::to_string(C) +
                               " offset=" + std::to_string(offset);
      std::vector<T> x = rng.vec<T>(N, offset - 1, offset + 1), gamma = rng.vec<T>((size_t)C, -1.5, 1.5),
                     beta = rng.vec<T>((size_t)C), dy = rng.vec<T>(N);
      const double eps = 1e-3;
      std::vector<T> wy(N), wm((size_t)C), wv((size_t)C), wdx(N), wdg((size_t)C), wdb((size_t)C);
      CHECK_OK(gmpnn_cpu_batch_norm_forward(dtype_of<T>(), wy.data(), wm.data(), wv.data(), x.data(),
                                            gamma.data(), beta.data(), rows, C, eps));
      CHECK_OK(gmpnn_cpu_batch_norm_backward(dtype_of<T>(), wdx.data(), wdg.data(), wdb.data(), dy.data(),
                                             x.data(), gamma.data(), wm.data(), wv.data(), rows, C, eps));
      Dev<T> dx_(x), dg_(gamma), db_(beta), ddy(dy), wm_(wm), wv_(wv), oy(nans<T>(N)), om(nans<T>((size_t)C)),
          ov(nans<T>((size_t)C)), odx(nans<T>(N)), odg(nans<T>((size_t)C)), odb(nans<T>((size_t)C)),
          odx2(nans<T>(N)), odg2(nans<T>((size_t)C)), odb2(nans<T>((size_t)C));
      CHECK_OK(gmpnn_cuda_batch_norm_forward(dtype_of<T>(), oy.p, om.p, ov.p, dx_.p, dg_.p, db_.p, rows, C, eps));
      // The backward from the CPU's statistics, so that both sides start from the same values.
      CHECK_OK(gmpnn_cuda_batch_norm_backward(dtype_of<T>(), odx.p, odg.p, odb.p, ddy.p, dx_.p, dg_.p, wm_.p,
                                              wv_.p, rows, C, eps));
      CHECK_OK(gmpnn_cuda_batch_norm_backward(dtype_of<T>(), odx2.p, nullptr, nullptr, ddy.p, dx_.p, dg_.p,
                                              wm_.p, wv_.p, rows, C, eps));
      CHECK_OK(gmpnn_cuda_batch_norm_backward(dtype_of<T>(), nullptr, odg2.p, odb2.p, ddy.p, dx_.p, dg_.p,
                                              wm_.p, wv_.p, rows, C, eps));
      const double big = 1 + std::fabs(offset), sr = std::sqrt((double)rows + 1);
      CHECK_CLOSE(("batch norm mean" + what).c_str(), om.down().data(), wm.data(), (size_t)C, tol<T>() * big, tol<T>());
      CHECK_CLOSE(("batch norm var" + what).c_str(), ov.down().data(), wv.data(), (size_t)C, tol<T>(), tol<T>());
      CHECK_CLOSE(("batch norm y" + what).c_str(), oy.down().data(), wy.data(), N, tol<T>() * big, tol<T>());
      CHECK_CLOSE(("batch norm dx" + what).c_str(), odx.down().data(), wdx.data(), N, tol<T>() * big, tol<T>());
      CHECK_CLOSE(("batch norm dgamma" + what).c_str(), odg.down().data(), wdg.data(), (size_t)C, tol<T>() * sr, tol<T>());
      CHECK_CLOSE(("batch norm dbeta" + what).c_str(), odb.down().data(), wdb.data(), (size_t)C, tol<T>() * sr, tol<T>());
      CHECK_CLOSE(("batch norm dx alone" + what).c_str(), odx2.down().data(), wdx.data(), N, tol<T>() * big, tol<T>());
      CHECK_CLOSE(("batch norm dgamma alone" + what).c_str(), odg2.down().data(), wdg.data(), (size_t)C, tol<T>() * sr, tol<T>());
      CHECK_CLOSE(("batch norm dbeta alone" + what).c_str(), odb2.down().data(), wdb.data(), (size_t)C, tol<T>() * sr, tol<T>());
    }
}


template <typename T>
void run_mean_only_batch_norm() {
  Rand rng(97 + sizeof(T));
  const int64_t shapes[][2] = {{1, 1}, {455, 100}, {9, 33}, {5000, 64}, {100000, 3}};
  for (const auto& s : shapes)
    for (double offset : {0.0, 100.0}) {
      const int64_t rows = s[0], C = s[1];
      const size_t N = (size_t)(rows * C);
      const std::string what = " rows=" + std::to_string(rows) + " C=" + std::to_string(C) +
                               " offset=" + std::to_string(offset);
      std::vector<T> x = rng.vec<T>(N, offset - 1, offset + 1), dy = rng.vec<T>(N);
      const double sc = 0.9995;
      std::vector<T> wy(N), wm((size_t)C), wdx(N);
      CHECK_OK(gmpnn_cpu_mean_only_batch_norm_forward(dtype_of<T>(), wy.data(), wm.data(), x.data(), rows, C, sc));
      CHECK_OK(gmpnn_cpu_mean_only_batch_norm_backward(dtype_of<T>(), wdx.data(), dy.data(), rows, C, sc));
      Dev<T> dx_(x), ddy(dy), oy(nans<T>(N)), om(nans<T>((size_t)C)), odx(nans<T>(N));
      CHECK_OK(gmpnn_cuda_mean_only_batch_norm_forward(dtype_of<T>(), oy.p, om.p, dx_.p, rows, C, sc));
      CHECK_OK(gmpnn_cuda_mean_only_batch_norm_backward(dtype_of<T>(), odx.p, ddy.p, rows, C, sc));
      const double big = 1 + std::fabs(offset);
      CHECK_CLOSE(("mbn mean" + what).c_str(), om.down().data(), wm.data(), (size_t)C, tol<T>() * big, tol<T>());
      CHECK_CLOSE(("mbn y" + what).c_str(), oy.down().data(), wy.data(), N, tol<T>() * big, tol<T>());
      CHECK_CLOSE(("mbn dx" + what).c_str(), odx.down().data(), wdx.data(), N, tol<T>(), tol<T>());
      // In place (dx over dy), as the CPU allows.
      CHECK_OK(gmpnn_cuda_mean_only_batch_norm_backward(dtype_of<T>(), ddy.p, ddy.p, rows, C, sc));
      CHECK_CLOSE(("mbn dx in place" + what).c_str(), ddy.down().data(), wdx.data(), N, tol<T>(), tol<T>());
    }
}
}  // namespace
#endif

GMPNN_TEST(norm_cuda_parity_batch_norm) {
  CUDA_TEST_BODY(run_batch_norm<float>(); run_batch_norm<double>());
}
GMPNN_TEST(norm_cuda_parity_mean_only_batch_norm) {
  CUDA_TEST_BODY(run_mean_only_batch_norm<float>(); run_mean_only_batch_norm<double>());
}
