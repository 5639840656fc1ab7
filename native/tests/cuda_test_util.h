// Shared helpers of the CUDA parity tests (test_*_cuda.cc): device buffers from the caching
// allocator, NaN poison, tolerances by precision, and CUDA_TEST_BODY, which skips with the reason
// when no GPU answers or the build has no CUDA.
#pragma once
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "gmpnn/device.h"
#include "harness.h"

#ifdef GMPNN_WITH_CUDA
namespace {

using gmpnn_test::Rand;

template <typename T>
constexpr gmpnn_dtype dtype_of() {
  return sizeof(T) == 4 ? GMPNN_F32 : GMPNN_F64;
}
// Parity tolerance by precision (relative, and absolute for values near zero).
template <typename T>
constexpr double tol() {
  return sizeof(T) == 4 ? 1e-5 : 1e-12;
}
template <typename T>
std::vector<T> nans(size_t n) {
  return std::vector<T>(n, std::numeric_limits<T>::quiet_NaN());
}

// A device buffer from the caching allocator, filled from / read back to host vectors.
template <typename T>
struct Dev {
  T* p = nullptr;
  size_t n = 0;
  explicit Dev(size_t n_) : n(n_) {
    CHECK_OK(gmpnn_cuda_malloc((void**)&p, (n ? n : 1) * sizeof(T)));
  }
  explicit Dev(const std::vector<T>& h) : Dev(h.size()) { up(h); }
  ~Dev() { gmpnn_cuda_free(p); }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
  void up(const std::vector<T>& h) {
    if (n) CHECK_OK(gmpnn_cuda_memcpy(p, h.data(), n * sizeof(T), GMPNN_H2D));
  }
  std::vector<T> down() const {
    std::vector<T> h(n);
    if (n) CHECK_OK(gmpnn_cuda_memcpy(h.data(), p, n * sizeof(T), GMPNN_D2H));
    return h;
  }
};

// True when a GPU answers; otherwise marks the test skipped with the reason.
bool have_gpu() {
  std::string why;
  if (gmpnn_test::cuda_available(&why)) return true;
  gmpnn_test::skip(why);
  return false;
}

}  // namespace
// The test's buffers go back to the caching allocator; emptying it afterwards returns them to the
// driver, so compute-sanitizer's leak check (scripts/gpu_check.sh) sees only real leaks.
#define CUDA_TEST_BODY(...)              \
  do {                                   \
    if (!have_gpu()) return;             \
    __VA_ARGS__;                         \
    CHECK_OK(gmpnn_cuda_empty_cache());  \
  } while (0)
#else
#define CUDA_TEST_BODY(...) gmpnn_test::skip("built without CUDA")
#endif
