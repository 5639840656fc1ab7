// CUDA parity tests for the elementwise kernels (gmpnn/eltwise.h): each CUDA kernel against its CPU
// twin on fresh random inputs, sizes 1, primes and non-multiples of the block size, outputs
// poisoned with NaN first so an element the kernel forgets to write fails.
#include "gmpnn/eltwise.h"
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

const int64_t kSizes[] = {1, 2, 13, 257, 1000, 10007};

template <typename T>
std::vector<T> unary_input(Rand& rng, int op, size_t n) {
  std::vector<T> x;
  if (op == GMPNN_UNARY_LOG || op == GMPNN_UNARY_SQRT) {
    x = rng.vec<T>(n, 0.01, 3.0);
  } else if (op == GMPNN_UNARY_RECIPROCAL) {
    x = rng.vec<T>(n, 0.1, 2.0);
    for (size_t i = 0; i < n; i += 2) x[i] = -x[i];
  } else {
    x = rng.vec<T>(n, -3.0, 3.0);
    for (size_t i = 0; i < n; i += 7) x[i] = T(0);  // SIGN / STEP / RELU at exactly 0
  }
  return x;
}

template <typename T>
void run_unary() {
  Rand rng(11 + sizeof(T));
  for (int op = 0; op < GMPNN_UNARY_COUNT; ++op) {
    for (int64_t n : kSizes) {
      std::vector<T> x = unary_input<T>(rng, op, (size_t)n), want = nans<T>((size_t)n);
      CHECK_OK(gmpnn_cpu_unary(dtype_of<T>(), want.data(), x.data(), n, op));
      Dev<T> din(x), dout(nans<T>((size_t)n));
      CHECK_OK(gmpnn_cuda_unary(dtype_of<T>(), dout.p, din.p, n, op));
      std::string what = "unary op " + std::to_string(op) + " n=" + std::to_string(n);
      CHECK_CLOSE(what.c_str(), dout.down().data(), want.data(), (size_t)n, tol<T>(), tol<T>());
    }
  }
  // In place (out aliases in).
  std::vector<T> x = rng.vec<T>(1001, -2, 2), want(1001);
  CHECK_OK(gmpnn_cpu_unary(dtype_of<T>(), want.data(), x.data(), 1001, GMPNN_UNARY_TANH));
  Dev<T> d(x);
  CHECK_OK(gmpnn_cuda_unary(dtype_of<T>(), d.p, d.p, 1001, GMPNN_UNARY_TANH));
  CHECK_CLOSE("unary in place", d.down().data(), want.data(), 1001, tol<T>(), tol<T>());
  CHECK(gmpnn_cuda_unary(dtype_of<T>(), d.p, d.p, 10, GMPNN_UNARY_COUNT) == GMPNN_E_ARG);
}

struct BinCase {
  int ndim;
  int64_t shape[4];
  int64_t a_strides[4];
  int64_t b_strides[4];
};

int64_t extent(int ndim, const int64_t* shape, const int64_t* strides) {
  int64_t e = 1;
  for (int d = 0; d < ndim; ++d) e += (shape[d] - 1) * strides[d];
  return e;
}

template <typename T>
void run_binary() {
  Rand rng(23 + sizeof(T));
  const BinCase cases[] = {
      {0, {0}, {0}, {0}},                                    // one element
      {1, {1}, {1}, {1}},                                    // one element, 1-D
      {1, {1031}, {1}, {1}},                                 // plain, prime length
      {1, {257}, {1}, {0}},                                  // b scalar broadcast
      {2, {7, 13}, {13, 1}, {0, 1}},                         // row-vector broadcast
      {2, {13, 7}, {1, 13}, {1, 0}},                         // a transposed, b column broadcast
      {3, {3, 5, 17}, {85, 17, 1}, {0, 17, 1}},              // broadcast over the batch axis
      {4, {2, 1, 19, 3}, {57, 57, 3, 1}, {0, 0, 1, 19}},     // b permuted + broadcast
  };
  for (const BinCase& c : cases) {
    int64_t n = 1;
    for (int d = 0; d < c.ndim; ++d) n *= c.shape[d];
    int64_t na = extent(c.ndim, c.shape, c.a_strides), nb = extent(c.ndim, c.shape, c.b_strides);
    for (int op = 0; op < GMPNN_BINARY_COUNT; ++op) {
      std::vector<T> a = rng.vec<T>((size_t)na, -2, 2), b = rng.vec<T>((size_t)nb, -2, 2);
      if (op == GMPNN_BINARY_POW)
        for (auto& v : a) v = std::fabs(v) + T(0.1);
      if (op == GMPNN_BINARY_DIV)
        for (auto& v : b) v = v < 0 ? v - T(0.2) : v + T(0.2);
      if (op == GMPNN_BINARY_EQ || op == GMPNN_BINARY_GT)  // make ties happen
        for (size_t i = 0; i < a.size(); i += 2) a[i] = b[i % b.size()];
      std::vector<T> want = nans<T>((size_t)n);
      CHECK_OK(gmpnn_cpu_binary(dtype_of<T>(), want.data(), a.data(), b.data(), op, c.ndim,
                                c.shape, c.a_strides, c.b_strides));
      Dev<T> da(a), db(b), dout(nans<T>((size_t)n));
      CHECK_OK(gmpnn_cuda_binary(dtype_of<T>(), dout.p, da.p, db.p, op, c.ndim, c.shape,
                                 c.a_strides, c.b_strides));
      std::string what = "binary op " + std::to_string(op) + " ndim=" + std::to_string(c.ndim) +
                         " n=" + std::to_string(n);
      CHECK_CLOSE(what.c_str(), dout.down().data(), want.data(), (size_t)n, tol<T>(), tol<T>());
    }
  }
}

template <typename T>
void run_affine_fill() {
  Rand rng(37 + sizeof(T));
  for (int64_t n : kSizes) {
    std::vector<T> x = rng.vec<T>((size_t)n, -5, 5), want = nans<T>((size_t)n);
    CHECK_OK(gmpnn_cpu_affine(dtype_of<T>(), want.data(), x.data(), n, -1.75, 0.3));
    Dev<T> din(x), dout(nans<T>((size_t)n));
    CHECK_OK(gmpnn_cuda_affine(dtype_of<T>(), dout.p, din.p, n, -1.75, 0.3));
    CHECK_CLOSE("affine", dout.down().data(), want.data(), (size_t)n, tol<T>(), tol<T>());
    CHECK_OK(gmpnn_cuda_affine(dtype_of<T>(), din.p, din.p, n, 2.0, -1.0));  // in place
    CHECK_OK(gmpnn_cpu_affine(dtype_of<T>(), x.data(), x.data(), n, 2.0, -1.0));
    CHECK_CLOSE("affine in place", din.down().data(), x.data(), (size_t)n, tol<T>(), tol<T>());

    std::vector<T> fwant = nans<T>((size_t)n);
    CHECK_OK(gmpnn_cpu_fill(dtype_of<T>(), fwant.data(), n, 0.1));
    CHECK_OK(gmpnn_cuda_fill(dtype_of<T>(), dout.p, n, 0.1));
    CHECK_CLOSE("fill", dout.down().data(), fwant.data(), (size_t)n, 0.0, 0.0);
  }
}

template <typename T>
void run_channel_affine() {
  Rand rng(43 + sizeof(T));
  const int64_t shapes[][2] = {{1, 1}, {7, 3}, {513, 17}, {4096, 32}, {3, 1031}};
  for (auto& sh : shapes) {
    const int64_t R = sh[0], C = sh[1];
    const size_t n = (size_t)(R * C);
    std::vector<T> x = rng.vec<T>(n, -5, 5), a = rng.vec<T>((size_t)C), b = rng.vec<T>((size_t)C);
    Dev<T> dx(x), da(a), db(b), dout(nans<T>(n));
    for (int mode = 0; mode < 4; ++mode) {
      const bool ws = mode == 0 || mode == 1, wb = mode == 0 || mode == 2;
      std::vector<T> want = nans<T>(n);
      CHECK_OK(gmpnn_cpu_channel_affine(dtype_of<T>(), want.data(), x.data(), ws ? a.data() : nullptr,
                                        wb ? b.data() : nullptr, R, C));
      CHECK_OK(gmpnn_cuda_channel_affine(dtype_of<T>(), dout.p, dx.p, ws ? da.p : nullptr,
                                         wb ? db.p : nullptr, R, C));
      CHECK_CLOSE("channel_affine", dout.down().data(), want.data(), n, tol<T>(), tol<T>());
    }
  }
}

template <typename To, typename Ti>
void run_cast_pair() {
  Rand rng(41 + sizeof(To) * 3 + sizeof(Ti));
  for (int64_t n : kSizes) {
    std::vector<Ti> x = rng.vec<Ti>((size_t)n, -1e3, 1e3);
    std::vector<To> want = nans<To>((size_t)n);
    CHECK_OK(gmpnn_cpu_cast(dtype_of<To>(), want.data(), dtype_of<Ti>(), x.data(), n));
    Dev<Ti> din(x);
    Dev<To> dout(nans<To>((size_t)n));
    CHECK_OK(gmpnn_cuda_cast(dtype_of<To>(), dout.p, dtype_of<Ti>(), din.p, n));
    CHECK_CLOSE("cast", dout.down().data(), want.data(), (size_t)n, 0.0, 0.0);
  }
}

}  // namespace
#endif

GMPNN_TEST(eltwise_cuda_parity_unary) { CUDA_TEST_BODY(run_unary<float>(); run_unary<double>()); }
GMPNN_TEST(eltwise_cuda_parity_binary) {
  CUDA_TEST_BODY(run_binary<float>(); run_binary<double>());
}
GMPNN_TEST(eltwise_cuda_parity_channel_affine) {
  CUDA_TEST_BODY(run_channel_affine<float>(); run_channel_affine<double>());
}
GMPNN_TEST(eltwise_cuda_parity_affine_fill) {
  CUDA_TEST_BODY(run_affine_fill<float>(); run_affine_fill<double>());
}
GMPNN_TEST(eltwise_cuda_parity_cast) {
  CUDA_TEST_BODY(run_cast_pair<float, double>(); run_cast_pair<double, float>();
                 run_cast_pair<float, float>(); run_cast_pair<double, double>());
}
