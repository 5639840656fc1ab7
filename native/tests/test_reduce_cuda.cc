// CUDA parity tests for the reductions (gmpnn/reduce.h): sum / max / min / argmax over the middle
// axis of [outer, R, inner] against the CPU twin, on shapes that hit both CUDA paths (contiguous
// rows with a warp or a block per row; strided columns), awkward extents and many ties (inputs
// quantized to quarters) so the first-maximum rule of argmax is exercised. Outputs start as NaN.
#include "gmpnn/reduce.h"
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

template <typename T>
void run_reduce() {
  Rand rng(5 + sizeof(T));
  const int64_t shapes[][3] = {{1, 1, 1},   {3, 7, 1},    {1, 1000, 1}, {1, 100003, 1},
                               {5, 1, 13},  {2, 517, 33}, {300, 3, 1},  {4, 37, 129},
                               {1, 3, 1},   {17, 2049, 1}, {2, 1, 1},   {3, 64, 1000}};
  for (const auto& s : shapes) {
    const int64_t outer = s[0], R = s[1], inner = s[2];
    const size_t nin = (size_t)(outer * R * inner), nout = (size_t)(outer * inner);
    for (int op = 0; op < GMPNN_REDUCE_COUNT; ++op) {
      std::vector<T> x = rng.vec<T>(nin, -3, 3);
      if (op != GMPNN_REDUCE_SUM)
        for (auto& v : x) v = std::round(v * 4) / 4;  // ties
      std::vector<T> want = nans<T>(nout);
      CHECK_OK(gmpnn_cpu_reduce(dtype_of<T>(), want.data(), x.data(), op, outer, R, inner));
      Dev<T> din(x), dout(nans<T>(nout));
      CHECK_OK(gmpnn_cuda_reduce(dtype_of<T>(), dout.p, din.p, op, outer, R, inner));
      std::string what = "reduce op " + std::to_string(op) + " [" + std::to_string(outer) + "," +
                         std::to_string(R) + "," + std::to_string(inner) + "]";
      // Sums accumulate in double on both devices (in a different order); max/min/argmax exact.
      double t = op == GMPNN_REDUCE_SUM ? tol<T>() : 0.0;
      CHECK_CLOSE(what.c_str(), dout.down().data(), want.data(), nout, t, t);
    }
  }
}

template <typename T>
void run_reduce_nan() {
  // NaN propagates through max / min and argmax points at the first NaN (the CPU rule).
  std::vector<T> x = {1, 5, std::numeric_limits<T>::quiet_NaN(), 7, std::numeric_limits<T>::quiet_NaN(), 2};
  for (int op = GMPNN_REDUCE_MAX; op <= GMPNN_REDUCE_ARGMAX; ++op) {
    std::vector<T> want(1);
    CHECK_OK(gmpnn_cpu_reduce(dtype_of<T>(), want.data(), x.data(), op, 1, 6, 1));
    Dev<T> din(x), dout(nans<T>(1));
    CHECK_OK(gmpnn_cuda_reduce(dtype_of<T>(), dout.p, din.p, op, 1, 6, 1));
    CHECK_CLOSE("reduce NaN", dout.down().data(), want.data(), 1, 0.0, 0.0);
  }
  Dev<T> d(4);
  CHECK(gmpnn_cuda_reduce(dtype_of<T>(), d.p, d.p, GMPNN_REDUCE_SUM, 1, 0, 1) != GMPNN_OK);
  CHECK(gmpnn_cuda_reduce(dtype_of<T>(), d.p, d.p, GMPNN_REDUCE_COUNT, 1, 1, 1) == GMPNN_E_ARG);
}

}  // namespace
#endif

GMPNN_TEST(reduce_cuda_parity) { CUDA_TEST_BODY(run_reduce<float>(); run_reduce<double>()); }
GMPNN_TEST(reduce_cuda_parity_nan) {
  CUDA_TEST_BODY(run_reduce_nan<float>(); run_reduce_nan<double>());
}
