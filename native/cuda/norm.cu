// CUDA batch normalization (gmpnn/norm.h), the CPU twin's (native/cpu/norm.cc) formulas and
// rounding points: column sums in double, μ and var rounded to the storage type before use.
// Column sums: blocks of 32 columns × 8 row lanes over a range of rows (coalesced along the
// channels), each block's partials reduced in shared memory in a fixed order and written per row
// range; a one-thread-per-column launch adds the ranges in order and forms the statistics. Then an
// elementwise launch for y (forward) or dx (backward). Deterministic for a given shape.
#include <cmath>

#include "common.cuh"
#include "gmpnn/norm.h"

namespace {

using namespace gmpnn_cuda;

// What a column-sum pass adds up, per element: x; (x − μ)²; or dy and dy·x̂ (two sums).
enum SumMode { kSumX = 0, kSumSq = 1, kSumGrad = 2 };

// Block (32, 8): columns [bx·32, +32), rows [by·rchunk, +rchunk). part: [ry][K·C] partials.
template <typename T, int MODE>
__global__ void column_partials_kernel(double* __restrict__ part, const T* __restrict__ x,
                                       const T* __restrict__ dy, const double* __restrict__ mu,
                                       const double* __restrict__ is, int64_t rows, int64_t C,
                                       int64_t rchunk) {
  constexpr int K = MODE == kSumGrad ? 2 : 1;
  __shared__ double s_s[K][8][33];
  const int64_t c = (int64_t)blockIdx.x * 32 + threadIdx.x;
  const int64_t r0 = (int64_t)blockIdx.y * rchunk;
  const int64_t r1 = min(rows, r0 + rchunk);
  double s0 = 0.0, s1 = 0.0;
  if (c < C) {
    for (int64_t r = r0 + threadIdx.y; r < r1; r += 8) {
      const double v = (double)x[r * C + c];
      if (MODE == kSumX) {
        s0 += v;
      } else if (MODE == kSumSq) {
        const double d = v - mu[c];
        s0 += d * d;
      } else {
        const double g = (double)dy[r * C + c];
        s0 += g;
        s1 += g * ((v - mu[c]) * is[c]);
      }
    }
  }
  s_s[0][threadIdx.y][threadIdx.x] = s0;
  if (K == 2) s_s[K - 1][threadIdx.y][threadIdx.x] = s1;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    for (int k = 0; k < K; ++k) {
      double t = 0.0;
      for (int i = 0; i < 8; ++i) t += s_s[k][i][threadIdx.x];
      part[(int64_t)blockIdx.y * K * C + k * C + c] = t;
    }
  }
}

// One thread per column: the row ranges' partials in order, then what the pass produces.
template <typename T, int MODE>
__global__ void column_finish_kernel(const double* __restrict__ part, int64_t ry, int64_t rows,
                                     int64_t C, double eps, T* stat, double* __restrict__ mu,
                                     double* __restrict__ a, const T* __restrict__ gamma,
                                     T* dgamma, T* dbeta, double* __restrict__ mg,
                                     double* __restrict__ mgx) {
  constexpr int K = MODE == kSumGrad ? 2 : 1;
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C;
       c += (int64_t)gridDim.x * blockDim.x) {
    double s0 = 0.0, s1 = 0.0;
    for (int64_t b = 0; b < ry; ++b) {
      s0 += part[b * K * C + c];
      if (K == 2) s1 += part[b * K * C + C + c];
    }
    if (MODE == kSumX) {  // the mean, rounded to T where it is an output
      const T m = (T)(s0 / (double)rows);
      if (stat) stat[c] = m;
      mu[c] = (double)m;
    } else if (MODE == kSumSq) {
      stat[c] = (T)(s0 / (double)rows);  // var
      a[c] = (double)gamma[c] / sqrt((double)stat[c] + eps);
    } else {
      if (dbeta) dbeta[c] = (T)s0;
      if (dgamma) dgamma[c] = (T)s1;
      mg[c] = s0 / (double)rows;
      mgx[c] = s1 / (double)rows;
    }
  }
}

template <typename T>
__global__ void bn_stats_kernel(const T* __restrict__ mean, const T* __restrict__ var,
                                const T* __restrict__ gamma, int64_t C, double eps,
                                double* __restrict__ mu, double* __restrict__ is,
                                double* __restrict__ a) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C;
       c += (int64_t)gridDim.x * blockDim.x) {
    mu[c] = (double)mean[c];
    is[c] = 1.0 / sqrt((double)var[c] + eps);
    a[c] = (double)gamma[c] * is[c];
  }
}

template <typename T>
__global__ void bn_apply_kernel(T* __restrict__ y, const T* __restrict__ x,
                                const double* __restrict__ mu, const double* __restrict__ a,
                                const T* __restrict__ beta, int64_t rows, int64_t C) {
  const int64_t total = rows * C;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t c = i % C;
    y[i] = (T)(((double)x[i] - mu[c]) * a[c] + (double)beta[c]);
  }
}

template <typename T>
__global__ void bn_dx_kernel(T* __restrict__ dx, const T* __restrict__ dy, const T* __restrict__ x,
                             const double* __restrict__ mu, const double* __restrict__ is,
                             const double* __restrict__ a, const double* __restrict__ mg,
                             const double* __restrict__ mgx, int64_t rows, int64_t C) {
  const int64_t total = rows * C;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t c = i % C;
    const double xh = ((double)x[i] - mu[c]) * is[c];
    dx[i] = (T)(a[c] * ((double)dy[i] - mg[c] - xh * mgx[c]));
  }
}

// Row ranges for the column sums: enough blocks to fill the card (~2048), at least 64 rows each.
void row_split(int64_t rows, int64_t C, int64_t* ry, int64_t* rchunk) {
  const int64_t gx = (C + 31) / 32;
  int64_t n = (rows + 63) / 64, cap = 2048 / gx;
  if (cap < 1) cap = 1;
  if (n > cap) n = cap;
  if (n > 65535) n = 65535;
  *rchunk = (rows + n - 1) / n;
  *ry = (rows + *rchunk - 1) / *rchunk;
}

gmpnn_status check_bn(const char* op, int64_t rows, int64_t C, double eps) {
  if (rows < 1 || C < 1)
    return gmpnn_set_error(GMPNN_E_ARG, "%s: need rows >= 1 and C >= 1 (got %lld, %lld)", op,
                           (long long)rows, (long long)C);
  if (!(eps >= 0) || !std::isfinite(eps))
    return gmpnn_set_error(GMPNN_E_ARG, "%s: eps must be finite and >= 0 (got %g)", op, eps);
  if ((C + 31) / 32 > 0x7fffffff)
    return gmpnn_set_error(GMPNN_E_SHAPE, "%s: C %lld too large", op, (long long)C);
  return GMPNN_OK;
}

gmpnn_status check_mbn(const char* op, int64_t rows, int64_t C, double scale) {
  const gmpnn_status st = check_bn(op, rows, C, 0.0);
  if (st != GMPNN_OK) return st;
  if (!std::isfinite(scale)) return gmpnn_set_error(GMPNN_E_ARG, "%s: scale must be finite", op);
  return GMPNN_OK;
}

// (x − μ)·s per element (the MBN forward, and its backward with dy and mean(dy)); out may alias x.
template <typename T>
__global__ void center_scale_kernel(T* out, const T* x, const double* __restrict__ mu, double s,
                                    int64_t rows, int64_t C) {
  const int64_t total = rows * C;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x)
    out[i] = (T)(((double)x[i] - mu[i % C]) * s);
}

// Column means of x (rounded to T, into mean when it is not NULL, and as doubles into mu), then
// out = (x − μ)·s: the MBN forward, and its backward on dy.
gmpnn_status mean_center_scale(gmpnn_dtype dt, void* out, void* mean, const void* x, int64_t rows,
                               int64_t C, double scale, const char* op) {
  GMPNN_CUDA_REQUIRE(dt == GMPNN_F32 || dt == GMPNN_F64, GMPNN_E_DTYPE, "%s: unsupported dtype %d",
                     op, (int)dt);
  GMPNN_CUDA_STREAM(op);
  int64_t ry, rchunk;
  row_split(rows, C, &ry, &rchunk);
  void* scratch = nullptr;
  gmpnn_status st = scratch_alloc(&scratch, sizeof(double) * (size_t)((ry + 1) * C), op);
  if (st != GMPNN_OK) return st;
  double* part = (double*)scratch;
  double* mu = part + ry * C;
  const dim3 grid((unsigned)((C + 31) / 32), (unsigned)ry), block(32, 8);
  GMPNN_CUDA_DISPATCH(dt, op, {
    column_partials_kernel<T, kSumX><<<grid, block, 0, stream>>>(part, (const T*)x, nullptr,
                                                                 nullptr, nullptr, rows, C, rchunk);
    column_finish_kernel<T, kSumX><<<grid_for(C), kThreads, 0, stream>>>(
        part, ry, rows, C, 0.0, (T*)mean, mu, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
    center_scale_kernel<T><<<grid_for(rows * C), kThreads, 0, stream>>>((T*)out, (const T*)x, mu,
                                                                        scale, rows, C);
  });
  scratch_free(scratch);
  GMPNN_CUDA_LAUNCHED(op);
  return GMPNN_OK;
}

}  // namespace

extern "C" gmpnn_status gmpnn_cuda_batch_norm_forward(gmpnn_dtype dt, void* y, void* mean,
                                                      void* var, const void* x, const void* gamma,
                                                      const void* beta, int64_t rows, int64_t C,
                                                      double eps) {
  const char* op = "gmpnn_cuda_batch_norm_forward";
  gmpnn_status st = check_bn(op, rows, C, eps);
  if (st != GMPNN_OK) return st;
  if (!y || !mean || !var || !x || !gamma || !beta)
    return gmpnn_set_error(GMPNN_E_ARG, "%s: NULL pointer", op);
  GMPNN_CUDA_REQUIRE(dt == GMPNN_F32 || dt == GMPNN_F64, GMPNN_E_DTYPE, "%s: unsupported dtype %d",
                     op, (int)dt);
  GMPNN_CUDA_STREAM(op);
  int64_t ry, rchunk;
  row_split(rows, C, &ry, &rchunk);
  void* scratch = nullptr;
  st = scratch_alloc(&scratch, sizeof(double) * (size_t)((ry + 2) * C), op);
  if (st != GMPNN_OK) return st;
  double* part = (double*)scratch;
  double* mu = part + ry * C;
  double* a = mu + C;
  const dim3 grid((unsigned)((C + 31) / 32), (unsigned)ry), block(32, 8);
  GMPNN_CUDA_DISPATCH(dt, op, {
    column_partials_kernel<T, kSumX><<<grid, block, 0, stream>>>(part, (const T*)x, nullptr,
                                                                 nullptr, nullptr, rows, C, rchunk);
    column_finish_kernel<T, kSumX><<<grid_for(C), kThreads, 0, stream>>>(
        part, ry, rows, C, eps, (T*)mean, mu, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
    column_partials_kernel<T, kSumSq><<<grid, block, 0, stream>>>(part, (const T*)x, nullptr, mu,
                                                                  nullptr, rows, C, rchunk);
    column_finish_kernel<T, kSumSq><<<grid_for(C), kThreads, 0, stream>>>(
        part, ry, rows, C, eps, (T*)var, mu, a, (const T*)gamma, nullptr, nullptr, nullptr,
        nullptr);
    bn_apply_kernel<T><<<grid_for(rows * C), kThreads, 0, stream>>>(
        (T*)y, (const T*)x, mu, a, (const T*)beta, rows, C);
  });
  scratch_free(scratch);  // stream-ordered: safe while the kernels above are queued
  GMPNN_CUDA_LAUNCHED(op);
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_batch_norm_backward(gmpnn_dtype dt, void* dx, void* dgamma,
                                                       void* dbeta, const void* dy, const void* x,
                                                       const void* gamma, const void* mean,
                                                       const void* var, int64_t rows, int64_t C,
                                                       double eps) {
  const char* op = "gmpnn_cuda_batch_norm_backward";
  gmpnn_status st = check_bn(op, rows, C, eps);
  if (st != GMPNN_OK) return st;
  if (!dx && !dgamma && !dbeta) return GMPNN_OK;
  if (!dy || !x || !gamma || !mean || !var)
    return gmpnn_set_error(GMPNN_E_ARG, "%s: NULL pointer", op);
  GMPNN_CUDA_REQUIRE(dt == GMPNN_F32 || dt == GMPNN_F64, GMPNN_E_DTYPE, "%s: unsupported dtype %d",
                     op, (int)dt);
  GMPNN_CUDA_STREAM(op);
  int64_t ry, rchunk;
  row_split(rows, C, &ry, &rchunk);
  void* scratch = nullptr;
  st = scratch_alloc(&scratch, sizeof(double) * (size_t)((2 * ry + 5) * C), op);
  if (st != GMPNN_OK) return st;
  double* part = (double*)scratch;
  double* mu = part + 2 * ry * C;
  double* is = mu + C;
  double* a = is + C;
  double* mg = a + C;
  double* mgx = mg + C;
  const dim3 grid((unsigned)((C + 31) / 32), (unsigned)ry), block(32, 8);
  GMPNN_CUDA_DISPATCH(dt, op, {
    bn_stats_kernel<T><<<grid_for(C), kThreads, 0, stream>>>((const T*)mean, (const T*)var,
                                                            (const T*)gamma, C, eps, mu, is, a);
    column_partials_kernel<T, kSumGrad><<<grid, block, 0, stream>>>(part, (const T*)x, (const T*)dy,
                                                                    mu, is, rows, C, rchunk);
    column_finish_kernel<T, kSumGrad><<<grid_for(C), kThreads, 0, stream>>>(
        part, ry, rows, C, eps, nullptr, nullptr, nullptr, nullptr, (T*)dgamma, (T*)dbeta, mg, mgx);
    if (dx)
      bn_dx_kernel<T><<<grid_for(rows * C), kThreads, 0, stream>>>(
          (T*)dx, (const T*)dy, (const T*)x, mu, is, a, mg, mgx, rows, C);
  });
  scratch_free(scratch);
  GMPNN_CUDA_LAUNCHED(op);
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_mean_only_batch_norm_forward(gmpnn_dtype dt, void* y,
                                                                void* mean, const void* x,
                                                                int64_t rows, int64_t C,
                                                                double scale) {
  const char* op = "gmpnn_cuda_mean_only_batch_norm_forward";
  gmpnn_status st = check_mbn(op, rows, C, scale);
  if (st != GMPNN_OK) return st;
  if (!y || !mean || !x) return gmpnn_set_error(GMPNN_E_ARG, "%s: NULL pointer", op);
  return mean_center_scale(dt, y, mean, x, rows, C, scale, op);
}

extern "C" gmpnn_status gmpnn_cuda_mean_only_batch_norm_backward(gmpnn_dtype dt, void* dx,
                                                                 const void* dy, int64_t rows,
                                                                 int64_t C, double scale) {
  const char* op = "gmpnn_cuda_mean_only_batch_norm_backward";
  gmpnn_status st = check_mbn(op, rows, C, scale);
  if (st != GMPNN_OK) return st;
  if (!dx || !dy) return gmpnn_set_error(GMPNN_E_ARG, "%s: NULL pointer", op);
  return mean_center_scale(dt, dx, nullptr, dy, rows, C, scale, op);
}
