// CPU batch normalization (gmpnn/norm.h), training mode over the rows of a channels-last
// [rows, C] array. Column sums: groups of kSumRows rows in the storage type, added into double
// partials by fixed blocks of rows (about kParallelGrain elements each, in parallel), the blocks'
// partials added in block order, so the values do not depend on the thread count. The element
// arithmetic runs in the storage type (float32: eight lanes) from the statistics as rounded.
// Forward: the sums of x, then of (x − μ)² (two passes: no cancellation when |μ| ≫ σ), then y;
// backward: the sums of dy and dy·x̂ in one pass, then dx. What the composed ops did in nine
// passes forward and six backward (src/ops/norm.ts before the kernel).
#include <algorithm>
#include <cmath>
#include <new>
#include <vector>

#include "cpu_util.h"
#include "gmpnn/norm.h"

namespace {

using gmpnn_cpu::kParallelGrain;
using gmpnn_cpu::kSumRows;
using gmpnn_cpu::parallel_region;

struct RowBlocks {
  int64_t rows_per_block, blocks;
  bool par;
};
inline RowBlocks row_blocks(int64_t rows, int64_t C) {
  RowBlocks b;
  b.rows_per_block = std::max<int64_t>(1, kParallelGrain / C);
  b.blocks = (rows + b.rows_per_block - 1) / b.rows_per_block;
  b.par = b.blocks > 1 && rows * C >= 2 * kParallelGrain;
  return b;
}

// What a column-sum pass adds up per element: x; (x − μ)²; or dy and dy·x̂ (two sums).
enum SumMode { kSumX = 0, kSumSq = 1, kSumGrad = 2 };

// out[k·C + c] = the pass's k-th sum over the rows of column c (k < 2 for kSumGrad, else k = 0),
// by the row blocks of rb; part holds blocks·K·C partials. mu and is: μ and σ⁻¹ per column.
template <typename T, int MODE>
void column_sums(double* out, double* part, const RowBlocks& rb, int64_t rows, int64_t C,
                 const T* x, const T* dy, const T* mu, const T* is) {
  constexpr int K = MODE == kSumGrad ? 2 : 1;
  parallel_region(rb.par, [&] {
    std::vector<T> acc((size_t)(K * C));  // this thread's group sums
#pragma omp for schedule(static)
    for (int64_t b = 0; b < rb.blocks; ++b) {
      double* __restrict p = part + b * K * C;
      std::fill(p, p + K * C, 0.0);
      const int64_t r1 = std::min(rows, (b + 1) * rb.rows_per_block);
      for (int64_t g0 = b * rb.rows_per_block; g0 < r1; g0 += kSumRows) {
        T* __restrict a0 = acc.data();
        T* __restrict a1 = acc.data() + (K - 1) * C;
        std::fill(acc.begin(), acc.end(), T(0));
        for (int64_t r = g0; r < std::min(r1, g0 + kSumRows); ++r) {
          const T* __restrict xr = x + r * C;
          if (MODE == kSumX) {
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) a0[c] += xr[c];
          } else if (MODE == kSumSq) {
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) {
              const T d = xr[c] - mu[c];
              a0[c] += d * d;
            }
          } else {
            const T* __restrict gr = dy + r * C;
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) {
              a0[c] += gr[c];
              a1[c] += gr[c] * ((xr[c] - mu[c]) * is[c]);
            }
          }
        }
#pragma omp simd
        for (int64_t i = 0; i < K * C; ++i) p[i] += (double)acc[(size_t)i];
      }
    }
  });
  std::fill(out, out + K * C, 0.0);
  for (int64_t b = 0; b < rb.blocks; ++b)
    for (int64_t i = 0; i < K * C; ++i) out[i] += part[b * K * C + i];
}

// Column means of x, rounded to T, into m.
template <typename T>
void column_means(T* m, const T* x, int64_t rows, int64_t C, const RowBlocks& rb) {
  std::vector<double> part((size_t)(rb.blocks * C)), s((size_t)C);
  column_sums<T, kSumX>(s.data(), part.data(), rb, rows, C, x, nullptr, nullptr, nullptr);
  for (int64_t c = 0; c < C; ++c) m[c] = (T)(s[c] / (double)rows);
}

template <typename T>
void bn_forward(T* y, T* mean, T* var, const T* x, const T* gamma, const T* beta, int64_t rows,
                int64_t C, double eps) {
  const RowBlocks rb = row_blocks(rows, C);
  column_means<T>(mean, x, rows, C, rb);
  std::vector<double> part((size_t)(rb.blocks * C)), s((size_t)C);
  std::vector<T> a((size_t)C);
  column_sums<T, kSumSq>(s.data(), part.data(), rb, rows, C, x, nullptr, mean, nullptr);
  for (int64_t c = 0; c < C; ++c) {
    var[c] = (T)(s[c] / (double)rows);
    a[c] = (T)((double)gamma[c] / std::sqrt((double)var[c] + eps));  // γ·σ⁻¹
  }
  const T* __restrict mu = mean;
  const T* __restrict av = a.data();
  parallel_region(rb.par, [&] {
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const T* __restrict xr = x + r * C;
      T* __restrict yr = y + r * C;
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mu[c]) * av[c] + beta[c];
    }
  });
}

template <typename T>
void bn_backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* gamma,
                 const T* mean, const T* var, int64_t rows, int64_t C, double eps) {
  const RowBlocks rb = row_blocks(rows, C);
  std::vector<double> part((size_t)(rb.blocks * 2 * C)), s((size_t)(2 * C));
  std::vector<T> is((size_t)C);
  for (int64_t c = 0; c < C; ++c) is[c] = (T)(1.0 / std::sqrt((double)var[c] + eps));
  // s[c] = Σ dy, s[C + c] = Σ dy·x̂
  column_sums<T, kSumGrad>(s.data(), part.data(), rb, rows, C, x, dy, mean, is.data());
  for (int64_t c = 0; c < C; ++c) {
    if (dbeta) dbeta[c] = (T)s[c];
    if (dgamma) dgamma[c] = (T)s[C + c];
  }
  if (!dx) return;
  std::vector<T> a((size_t)C), mg((size_t)C), mgx((size_t)C);
  for (int64_t c = 0; c < C; ++c) {
    a[c] = (T)((double)gamma[c] / std::sqrt((double)var[c] + eps));
    mg[c] = (T)(s[c] / (double)rows);
    mgx[c] = (T)(s[C + c] / (double)rows);
  }
  const T *__restrict mu = mean, *__restrict iv = is.data(), *__restrict av = a.data(),
          *__restrict m1 = mg.data(), *__restrict m2 = mgx.data();
  parallel_region(rb.par, [&] {
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const T *__restrict gr = dy + r * C, *__restrict xr = x + r * C;
      T* __restrict o = dx + r * C;
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) o[c] = av[c] * (gr[c] - m1[c] - ((xr[c] - mu[c]) * iv[c]) * m2[c]);
    }
  });
}


// (x − μ)·s per element, μ per column (the MBN forward, and its backward with dy and mean(dy)).
// out may alias x.
template <typename T>
void center_scale(T* out, const T* x, const T* mu, T s, int64_t rows, int64_t C, bool par) {
  parallel_region(par, [&] {
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const T* xr = x + r * C;
      T* o = out + r * C;
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) o[c] = (xr[c] - mu[c]) * s;
    }
  });
}

gmpnn_status check_bn(const char* op, int64_t rows, int64_t C, double eps) {
  if (rows < 1 || C < 1)
    return gmpnn_set_error(GMPNN_E_ARG, "%s: need rows >= 1 and C >= 1 (got %lld, %lld)", op,
                           (long long)rows, (long long)C);
  if (!(eps >= 0) || !std::isfinite(eps))
    return gmpnn_set_error(GMPNN_E_ARG, "%s: eps must be finite and >= 0 (got %g)", op, eps);
  return GMPNN_OK;
}

gmpnn_status check_mbn(const char* op, int64_t rows, int64_t C, double scale) {
  const gmpnn_status st = check_bn(op, rows, C, 0.0);
  if (st != GMPNN_OK) return st;
  if (!std::isfinite(scale)) return gmpnn_set_error(GMPNN_E_ARG, "%s: scale must be finite", op);
  return GMPNN_OK;
}

}  // namespace

extern "C" gmpnn_status gmpnn_cpu_batch_norm_forward(gmpnn_dtype dt, void* y, void* mean,
                                                     void* var, const void* x, const void* gamma,
                                                     const void* beta, int64_t rows, int64_t C,
                                                     double eps) {
  const char* op = "batch_norm_forward";
  gmpnn_status st = check_bn(op, rows, C, eps);
  if (st != GMPNN_OK) return st;
  if (!y || !mean || !var || !x || !gamma || !beta)
    return gmpnn_set_error(GMPNN_E_ARG, "%s: NULL pointer", op);
  try {
    GMPNN_DISPATCH_FLOAT(dt, op, {
      bn_forward<T>((T*)y, (T*)mean, (T*)var, (const T*)x, (const T*)gamma, (const T*)beta, rows,
                    C, eps);
      return GMPNN_OK;
    });
  } catch (const std::bad_alloc&) {
    return gmpnn_set_error(GMPNN_E_OOM, "%s: scratch for the column sums (%lld channels)", op,
                           (long long)C);
  }
}

extern "C" gmpnn_status gmpnn_cpu_batch_norm_backward(gmpnn_dtype dt, void* dx, void* dgamma,
                                                      void* dbeta, const void* dy, const void* x,
                                                      const void* gamma, const void* mean,
                                                      const void* var, int64_t rows, int64_t C,
                                                      double eps) {
  const char* op = "batch_norm_backward";
  gmpnn_status st = check_bn(op, rows, C, eps);
  if (st != GMPNN_OK) return st;
  if (!dx && !dgamma && !dbeta) return GMPNN_OK;
  if (!dy || !x || !gamma || !mean || !var)
    return gmpnn_set_error(GMPNN_E_ARG, "%s: NULL pointer", op);
  try {
    GMPNN_DISPATCH_FLOAT(dt, op, {
      bn_backward<T>((T*)dx, (T*)dgamma, (T*)dbeta, (const T*)dy, (const T*)x, (const T*)gamma,
                     (const T*)mean, (const T*)var, rows, C, eps);
      return GMPNN_OK;
    });
  } catch (const std::bad_alloc&) {
    return gmpnn_set_error(GMPNN_E_OOM, "%s: scratch for the column sums (%lld channels)", op,
                           (long long)C);
  }
}

extern "C" gmpnn_status gmpnn_cpu_mean_only_batch_norm_forward(gmpnn_dtype dt, void* y, void* mean,
                                                               const void* x, int64_t rows,
                                                               int64_t C, double scale) {
  const char* op = "mean_only_batch_norm_forward";
  gmpnn_status st = check_mbn(op, rows, C, scale);
  if (st != GMPNN_OK) return st;
  if (!y || !mean || !x) return gmpnn_set_error(GMPNN_E_ARG, "%s: NULL pointer", op);
  try {
    GMPNN_DISPATCH_FLOAT(dt, op, {
      const RowBlocks rb = row_blocks(rows, C);
      column_means<T>((T*)mean, (const T*)x, rows, C, rb);
      center_scale<T>((T*)y, (const T*)x, (const T*)mean, (T)scale, rows, C, rb.par);
      return GMPNN_OK;
    });
  } catch (const std::bad_alloc&) {
    return gmpnn_set_error(GMPNN_E_OOM, "%s: scratch for the column sums (%lld channels)", op,
                           (long long)C);
  }
}

extern "C" gmpnn_status gmpnn_cpu_mean_only_batch_norm_backward(gmpnn_dtype dt, void* dx,
                                                                const void* dy, int64_t rows,
                                                                int64_t C, double scale) {
  const char* op = "mean_only_batch_norm_backward";
  gmpnn_status st = check_mbn(op, rows, C, scale);
  if (st != GMPNN_OK) return st;
  if (!dx || !dy) return gmpnn_set_error(GMPNN_E_ARG, "%s: NULL pointer", op);
  try {
    GMPNN_DISPATCH_FLOAT(dt, op, {
      const RowBlocks rb = row_blocks(rows, C);
      std::vector<T> mg((size_t)C);
      column_means<T>(mg.data(), (const T*)dy, rows, C, rb);
      center_scale<T>((T*)dx, (const T*)dy, mg.data(), (T)scale, rows, C, rb.par);
      return GMPNN_OK;
    });
  } catch (const std::bad_alloc&) {
    return gmpnn_set_error(GMPNN_E_OOM, "%s: scratch for the column sums (%lld channels)", op,
                           (long long)C);
  }
}
