// Internal entry points of the CPU GEMM (native/cpu/gemm.cc) for other CPU kernels; not ABI.
#pragma once
#include <cstdint>

namespace gmpnn_cpu {

// Z = X·Wᵀ + lambda and Y = r ⊙ act(Z) in one pass (act: 0 identity, 1 ReLU; r may be NULL for
// r = 1), X [rows, n] row-major, W [cols, n] row-major, Z and Y [rows, cols]. Only for
// n <= kFusedDenseMaxK (returns false otherwise, doing nothing). T = float or double.
constexpr int64_t kFusedDenseMaxK = 16;
template <typename T>
bool dense_forward_fused(T* Y, T* Z, const T* X, const T* W, const T* lambda, const T* r,
                         int64_t rows, int64_t n, int64_t cols, int act);

}  // namespace gmpnn_cpu
