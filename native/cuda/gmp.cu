// CUDA Geometric Parameterization kernels (gmpnn/gmp.h), following GMP_SPEC.md:
//   §2  u_k = P_{k-1}·cos θ_k (k < n), u_n = P_{n-1}, P_k = sin θ_1 ⋯ sin θ_k      (direction fwd)
//   §2  inverse map W -> (θ, r)                                                     (direction inv)
//   §4  R_{n-1} = g_n, R_{i-1} = g_i·c_i + s_i·R_i,  ∂L/∂θ_i = P_{i-1}·(c_i·R_i − s_i·g_i)
//       — the division-free reverse recurrence, no division by sin θ              (direction bwd)
//   §3/§4 fused epilogues: Z += λ, Y = r ⊙ act(Z);  G_Z = dY ⊙ act'(Z) ⊙ r, dλ = Σ_rows G_Z,
//       dr = Σ_rows dY ⊙ act(Z)                                                      (epilogues)
// Write rule: every output is written (=), parameter gradients included.
// Numerics mirror the CPU twin (native/cpu/gmp.cc): trigonometry and scans in double whatever the
// storage type, float results that would be subnormal are stored as signed zero, and the inverse
// map uses atan2(x_n, x_{n-1}) for the last angle with power-of-two scaling of the row.
//
// Direction kernels: one warp per unit (8 units per 256-thread block, grid-stride over units).
// The warp walks the unit's fan-in in chunks of 32 (coalesced loads); within a chunk the prefix
// product of sines is a shuffle scan (Hillis–Steele) and a carry holds the product of the chunks
// before. The backward runs two passes over the same chunks, so every element stays with one
// lane: a reverse pass computes R_i with a suffix scan of the affine maps R ↦ s_i·R + g_i·c_i
// (composition of (a, b) pairs) and stores t_i = c_i·R_i − s_i·g_i in dθ; a forward pass
// multiplies by P_{i-1}. The inverse uses a suffix sum-of-squares scan for the tail norms.
// Epilogues: one launch per layer for the forward (grid-stride, element per thread); the backward
// is one launch over blocks of 32 columns × a row range (32 × 8 threads) writing G_Z and per-block
// column partial sums in double, plus a small launch that adds the partials in a fixed order when
// the rows were split over several blocks. Deterministic for a given shape.
#include <cfloat>
#include <cmath>

#include "common.cuh"
#include "gmpnn/gmp.h"
#include "gmpnn/gemm.h"

namespace {

using namespace gmpnn_cuda;

constexpr unsigned kFull = 0xffffffffu;
constexpr int kUnitsPerBlock = kThreads / 32;

template <typename T>
__device__ __forceinline__ T store(double v);
template <>
__device__ __forceinline__ float store<float>(double v) {
  return fabs(v) < (double)FLT_MIN ? (float)copysign(0.0, v) : (float)v;
}
template <>
__device__ __forceinline__ double store<double>(double v) {
  return v;
}

// Inclusive prefix product over the warp (lane 0 first).
__device__ __forceinline__ double warp_prefix_product(double v, int lane) {
  for (int o = 1; o < 32; o <<= 1) {
    double t = __shfl_up_sync(kFull, v, o);
    if (lane >= o) v *= t;
  }
  return v;
}

// ------------------------------------------------------------------------------ direction

template <typename T>
__global__ void direction_forward_kernel(T* __restrict__ U, const T* __restrict__ theta,
                                         int64_t m, int64_t n) {
  const int lane = threadIdx.x & 31;
  const int64_t a = n - 1;  // angles per unit
  for (int64_t j = (int64_t)blockIdx.x * kUnitsPerBlock + (threadIdx.x >> 5); j < m;
       j += (int64_t)gridDim.x * kUnitsPerBlock) {
    const T* th = theta + j * a;
    T* u = U + j * n;
    double P = 1.0;  // product of the sines of all earlier chunks
    for (int64_t base = 0; base < a; base += 32) {
      const int64_t k = base + lane;
      double s = 1.0, c = 0.0;
      if (k < a) sincos((double)th[k], &s, &c);
      double incl = warp_prefix_product(s, lane);
      double excl = __shfl_up_sync(kFull, incl, 1);
      if (lane == 0) excl = 1.0;
      if (k < a) u[k] = store<T>(P * excl * c);  // P_{k-1}·c_k
      P *= __shfl_sync(kFull, incl, 31);
    }
    if (lane == 0) u[a] = store<T>(P);  // u_n = P_{n-1}
  }
}

template <typename T>
__global__ void direction_backward_kernel(T* __restrict__ dtheta, const T* __restrict__ dU,
                                          const T* __restrict__ theta, int64_t m, int64_t n) {
  const int lane = threadIdx.x & 31;
  const int64_t a = n - 1;
  const int64_t nchunks = (a + 31) / 32;
  for (int64_t j = (int64_t)blockIdx.x * kUnitsPerBlock + (threadIdx.x >> 5); j < m;
       j += (int64_t)gridDim.x * kUnitsPerBlock) {
    const T* th = theta + j * a;
    const T* g = dU + j * n;
    T* dth = dtheta + j * a;
    // Reverse pass: carry = R_{i_top} for the chunk's top angle, starting with R_{n-1} = g_n.
    double carry = (double)g[a];
    for (int64_t ch = nchunks - 1; ch >= 0; --ch) {
      const int64_t k = ch * 32 + lane;  // 0-based angle index, i = k + 1
      const bool valid = k < a;
      double s = 1.0, c = 0.0, gk = 0.0;
      if (valid) {
        sincos((double)th[k], &s, &c);
        gk = (double)g[k];
      }
      // Own map A_i(R) = s_i·R + g_i·c_i (identity on invalid lanes); suffix composition
      // S_l = A_l ∘ A_{l+1} ∘ … ∘ A_31 as (mul, add) pairs.
      double am = valid ? s : 1.0, ab = valid ? gk * c : 0.0;
      for (int o = 1; o < 32; o <<= 1) {
        double m2 = __shfl_down_sync(kFull, am, o);
        double b2 = __shfl_down_sync(kFull, ab, o);
        if (lane + o < 32) {
          ab = am * b2 + ab;
          am = am * m2;
        }
      }
      const double v = am * carry + ab;  // R_{i-1}
      double Ri = __shfl_down_sync(kFull, v, 1);
      if (lane == 31) Ri = carry;
      if (valid) dth[k] = (T)(c * Ri - s * gk);  // t_i; multiplied by P_{i-1} below
      carry = __shfl_sync(kFull, v, 0);
    }
    // Forward pass: ∂L/∂θ_i = P_{i-1}·t_i. Each lane rereads only what it wrote itself.
    double P = 1.0;
    for (int64_t base = 0; base < a; base += 32) {
      const int64_t k = base + lane;
      double s = 1.0;
      if (k < a) s = sin((double)th[k]);
      double incl = warp_prefix_product(s, lane);
      double excl = __shfl_up_sync(kFull, incl, 1);
      if (lane == 0) excl = 1.0;
      if (k < a) dth[k] = store<T>(P * excl * (double)dth[k]);
      P *= __shfl_sync(kFull, incl, 31);
    }
  }
}

template <typename T>
__global__ void direction_inverse_kernel(T* __restrict__ theta, T* __restrict__ r,
                                         const T* __restrict__ W, int64_t m, int64_t n,
                                         int abs_last) {
  const int lane = threadIdx.x & 31;
  const int64_t a = n - 1;
  const int64_t nchunks = (n + 31) / 32;
  for (int64_t j = (int64_t)blockIdx.x * kUnitsPerBlock + (threadIdx.x >> 5); j < m;
       j += (int64_t)gridDim.x * kUnitsPerBlock) {
    const T* x = W + j * n;
    T* th = theta + j * a;
    double amax = 0.0;  // fmax ignores NaN, as std::max(amax, NaN) does on the CPU
    for (int64_t k = lane; k < n; k += 32) amax = fmax(amax, fabs((double)x[k]));
    for (int o = 16; o > 0; o >>= 1) amax = fmax(amax, __shfl_xor_sync(kFull, amax, o));
    if (amax == 0.0) {  // zero row: all angles 0 (u = e1), r = 0
      for (int64_t k = lane; k < a; k += 32) th[k] = T(0);
      if (lane == 0) r[j] = T(0);
      continue;
    }
    int e = 0;
    frexp(amax, &e);
    const double scale = isfinite(amax) ? ldexp(1.0, -e) : 1.0;
    // Reverse pass over chunks: tail2_k = Σ_{q>k} (x_q·scale)².
    double carry = 0.0;
    for (int64_t ch = nchunks - 1; ch >= 0; --ch) {
      const int64_t k = ch * 32 + lane;
      double xv = 0.0;
      if (k < n) xv = (double)x[k] * scale;
      double incl = xv * xv;
      for (int o = 1; o < 32; o <<= 1) {
        double t = __shfl_down_sync(kFull, incl, o);
        if (lane + o < 32) incl += t;
      }
      double excl = __shfl_down_sync(kFull, incl, 1);
      if (lane == 31) excl = 0.0;
      const double tail2 = excl + carry;
      if (k < n - 2) {
        const double t = sqrt(tail2);
        th[k] = (t == 0.0 && xv == 0.0) ? T(0) : (T)atan2(t, xv);
      }
      carry += __shfl_sync(kFull, incl, 0);
    }
    if (lane == 0) {
      r[j] = (T)(sqrt(carry) / scale);
      double xl = (double)x[n - 1] * scale;
      const double xp = (double)x[n - 2] * scale;
      if (abs_last) xl = fabs(xl);
      if (xl == 0.0) xl = 0.0;  // -0 -> +0: θ = π (not −π) for x_{n−1} < 0
      th[n - 2] = (xl == 0.0 && xp == 0.0) ? T(0) : (T)atan2(xl, xp);
    }
  }
}

// ------------------------------------------------------------------------------ epilogues

template <typename T>
__device__ __forceinline__ T act_fn(int act, T z) {
  if (act == GMPNN_ACT_RELU) return z < T(0) ? T(0) : z;  // NaN propagates
  return z;
}

template <typename T>
__global__ void epilogue_forward_kernel(T* __restrict__ Y, T* __restrict__ Z,
                                        const T* __restrict__ lambda, const T* __restrict__ r,
                                        int64_t rows, int64_t cols, int act) {
  const int64_t total = rows * cols;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t j = i % cols;
    const T z = Z[i] + lambda[j];
    Z[i] = z;
    Y[i] = (r ? r[j] : T(1)) * act_fn<T>(act, z);
  }
}

// Block (32, 8): 32 columns × rows [by·rchunk, (by+1)·rchunk). dZ may alias dY (each element is
// read and written by one thread). With final != 0 (one row block) writes dλ, dr directly.
template <typename T>
__global__ void epilogue_backward_kernel(T* dZ, double* __restrict__ pl, double* __restrict__ pr,
                                         T* __restrict__ dlambda, T* __restrict__ dr, const T* dY,
                                         const T* __restrict__ Z, const T* __restrict__ r,
                                         int64_t rows, int64_t cols, int64_t rchunk, int act,
                                         int want, int final) {
  __shared__ double sl_s[8][33], sr_s[8][33];
  const int64_t j = (int64_t)blockIdx.x * 32 + threadIdx.x;
  const int64_t i0 = (int64_t)blockIdx.y * rchunk;
  const int64_t i1 = min(rows, i0 + rchunk);
  double sl = 0.0, sr = 0.0;
  if (j < cols) {
    const T rj = r ? r[j] : T(1);
    for (int64_t i = i0 + threadIdx.y; i < i1; i += 8) {
      const int64_t idx = i * cols + j;
      const T dy = dY[idx], z = Z[idx];
      const T mk = (act == GMPNN_ACT_RELU) ? (z > T(0) ? dy : T(0)) : dy;
      dZ[idx] = mk * rj;
      sl += (double)mk;
      sr += (double)dy * (double)act_fn<T>(act, z);
    }
  }
  if (!want) return;
  sl_s[threadIdx.y][threadIdx.x] = sl;
  sr_s[threadIdx.y][threadIdx.x] = sr;
  __syncthreads();
  if (threadIdx.y == 0 && j < cols) {
    double a = 0.0, b = 0.0;
    for (int y = 0; y < 8; ++y) {
      a += sl_s[y][threadIdx.x];
      b += sr_s[y][threadIdx.x];
    }
    if (final) {
      if (dlambda) dlambda[j] = (T)(a * (r ? (double)r[j] : 1.0));
      if (dr) dr[j] = (T)b;
    } else {
      pl[blockIdx.y * cols + j] = a;
      pr[blockIdx.y * cols + j] = b;
    }
  }
}

template <typename T>
__global__ void epilogue_colsum_kernel(T* __restrict__ dlambda, T* __restrict__ dr,
                                       const double* __restrict__ pl,
                                       const double* __restrict__ pr, const T* __restrict__ r,
                                       int64_t nblocks, int64_t cols) {
  for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < cols;
       j += (int64_t)gridDim.x * blockDim.x) {
    double a = 0.0, b = 0.0;
    for (int64_t q = 0; q < nblocks; ++q) {
      a += pl[q * cols + j];
      b += pr[q * cols + j];
    }
    if (dlambda) dlambda[j] = (T)(a * (r ? (double)r[j] : 1.0));
    if (dr) dr[j] = (T)b;
  }
}

gmpnn_status check_direction(const char* op, int64_t m, int64_t n) {
  if (m < 0) return gmpnn_set_error(GMPNN_E_ARG, "%s: m must be >= 0 (got %lld)", op, (long long)m);
  if (n < 2)
    return gmpnn_set_error(GMPNN_E_ARG, "%s: fan-in n must be >= 2 (got %lld)", op, (long long)n);
  return GMPNN_OK;
}

gmpnn_status check_epilogue(const char* op, int64_t rows, int64_t cols, int act) {
  if (rows < 0 || cols < 0)
    return gmpnn_set_error(GMPNN_E_ARG, "%s: rows and cols must be >= 0 (got %lld x %lld)", op,
                           (long long)rows, (long long)cols);
  if (act != GMPNN_ACT_IDENTITY && act != GMPNN_ACT_RELU)
    return gmpnn_set_error(GMPNN_E_ARG, "%s: act must be 0 (identity) or 1 (relu), got %d", op,
                           act);
  return GMPNN_OK;
}

unsigned unit_grid(int64_t m) { return grid_for(m, kUnitsPerBlock); }

gmpnn_status check_weight_norm(const char* op, int64_t rows, int64_t n) {
  if (rows < 0 || n < 1)
    return gmpnn_set_error(GMPNN_E_ARG, "%s: need rows >= 0 and n >= 1 (got %lld, %lld)", op,
                           (long long)rows, (long long)n);
  return GMPNN_OK;
}

// ------------------------------------------------------------------------ weight normalization
// gmp.h gmpnn_cuda_weight_norm_forward / _backward, the CPU twin's formulas: one warp per row
// (grid-stride over rows), lane-strided sums in double reduced by warp shuffles (a fixed order per
// row length, so deterministic), results rounded once.
template <typename T>
__global__ void weight_norm_forward_kernel(T* W, const T* v, const T* g, int64_t rows, int64_t n) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = (int64_t)gridDim.x * kUnitsPerBlock;
  for (int64_t j = (int64_t)blockIdx.x * kUnitsPerBlock + (threadIdx.x >> 5); j < rows; j += warps) {
    const T* vj = v + j * n;
    double ss = 0.0;
    for (int64_t k = lane; k < n; k += 32) ss += (double)vj[k] * (double)vj[k];
    ss = __shfl_sync(kFull, warp_sum(ss), 0);
    const double s = (double)g[j] / sqrt(ss);
    for (int64_t k = lane; k < n; k += 32) W[j * n + k] = (T)(s * (double)vj[k]);
  }
}

template <typename T>
__global__ void weight_norm_backward_kernel(T* dv, T* dg, const T* dW, const T* v, const T* g,
                                            int64_t rows, int64_t n) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = (int64_t)gridDim.x * kUnitsPerBlock;
  for (int64_t j = (int64_t)blockIdx.x * kUnitsPerBlock + (threadIdx.x >> 5); j < rows; j += warps) {
    const T *vj = v + j * n, *dj = dW + j * n;
    double ss = 0.0, t = 0.0;
    for (int64_t k = lane; k < n; k += 32) {
      const double vk = (double)vj[k];
      ss += vk * vk;
      t += (double)dj[k] * vk;
    }
    ss = __shfl_sync(kFull, warp_sum(ss), 0);
    t = __shfl_sync(kFull, warp_sum(t), 0);
    const double nu = sqrt(ss);
    if (dg && lane == 0) dg[j] = (T)(t / nu);
    if (dv) {
      const double s = (double)g[j] / nu, c = t / ss;
      for (int64_t k = lane; k < n; k += 32)
        dv[j * n + k] = (T)(s * ((double)dj[k] - c * (double)vj[k]));
    }
  }
}


}  // namespace

#define GMP_CUDA_REQUIRE(ptr, op)                                                     \
  do {                                                                                \
    if (!(ptr)) return gmpnn_set_error(GMPNN_E_ARG, "%s: %s is NULL", op, #ptr);     \
  } while (0)

extern "C" gmpnn_status gmpnn_cuda_gmp_direction_forward(gmpnn_dtype dt, void* U,
                                                         const void* theta, int64_t m,
                                                         int64_t n) {
  const char* op = "gmpnn_cuda_gmp_direction_forward";
  gmpnn_status st = check_direction(op, m, n);
  if (st != GMPNN_OK) return st;
  if (m == 0) return GMPNN_OK;
  GMP_CUDA_REQUIRE(U, op);
  GMP_CUDA_REQUIRE(theta, op);
  GMPNN_CUDA_STREAM(op);
  GMPNN_CUDA_DISPATCH(dt, op,
                      direction_forward_kernel<T><<<unit_grid(m), kThreads, 0, stream>>>(
                          (T*)U, (const T*)theta, m, n));
  GMPNN_CUDA_LAUNCHED(op);
  return GMPNN_OK;
}

// The sin/cos cache is advisory (gmp.h): the device kernels recompute sin/cos in the backward,
// so the cache is neither written nor read here.
extern "C" gmpnn_status gmpnn_cuda_gmp_direction_forward_cached(gmpnn_dtype dt, void* U, double*,
                                                                const void* theta, int64_t m,
                                                                int64_t n) {
  return gmpnn_cuda_gmp_direction_forward(dt, U, theta, m, n);
}

extern "C" gmpnn_status gmpnn_cuda_gmp_direction_backward(gmpnn_dtype dt, void* dtheta,
                                                          const void* dU, const void* theta,
                                                          int64_t m, int64_t n) {
  const char* op = "gmpnn_cuda_gmp_direction_backward";
  gmpnn_status st = check_direction(op, m, n);
  if (st != GMPNN_OK) return st;
  if (m == 0) return GMPNN_OK;
  GMP_CUDA_REQUIRE(dtheta, op);
  GMP_CUDA_REQUIRE(dU, op);
  GMP_CUDA_REQUIRE(theta, op);
  GMPNN_CUDA_STREAM(op);
  GMPNN_CUDA_DISPATCH(dt, op,
                      direction_backward_kernel<T><<<unit_grid(m), kThreads, 0, stream>>>(
                          (T*)dtheta, (const T*)dU, (const T*)theta, m, n));
  GMPNN_CUDA_LAUNCHED(op);
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_gmp_direction_inverse(gmpnn_dtype dt, void* theta, void* r,
                                                         const void* W, int64_t m, int64_t n,
                                                         int abs_last) {
  const char* op = "gmpnn_cuda_gmp_direction_inverse";
  gmpnn_status st = check_direction(op, m, n);
  if (st != GMPNN_OK) return st;
  if (m == 0) return GMPNN_OK;
  GMP_CUDA_REQUIRE(theta, op);
  GMP_CUDA_REQUIRE(r, op);
  GMP_CUDA_REQUIRE(W, op);
  GMPNN_CUDA_STREAM(op);
  GMPNN_CUDA_DISPATCH(dt, op,
                      direction_inverse_kernel<T><<<unit_grid(m), kThreads, 0, stream>>>(
                          (T*)theta, (T*)r, (const T*)W, m, n, abs_last));
  GMPNN_CUDA_LAUNCHED(op);
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_gmp_epilogue_forward(gmpnn_dtype dt, void* Y, void* Z,
                                                        const void* lambda, const void* r,
                                                        int64_t rows, int64_t cols, int act) {
  const char* op = "gmpnn_cuda_gmp_epilogue_forward";
  gmpnn_status st = check_epilogue(op, rows, cols, act);
  if (st != GMPNN_OK) return st;
  if (rows == 0 || cols == 0) return GMPNN_OK;
  GMP_CUDA_REQUIRE(Y, op);
  GMP_CUDA_REQUIRE(Z, op);
  GMP_CUDA_REQUIRE(lambda, op);  // r may be NULL: r = 1 (the SP/WN bias epilogue)
  GMPNN_CUDA_STREAM(op);
  GMPNN_CUDA_DISPATCH(dt, op,
                      epilogue_forward_kernel<T><<<grid_for(rows * cols), kThreads, 0, stream>>>(
                          (T*)Y, (T*)Z, (const T*)lambda, (const T*)r, rows, cols, act));
  GMPNN_CUDA_LAUNCHED(op);
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_gmp_epilogue_backward(gmpnn_dtype dt, void* dZ, void* dlambda,
                                                         void* dr, const void* dY, const void* Z,
                                                         const void* r, int64_t rows,
                                                         int64_t cols, int act) {
  const char* op = "gmpnn_cuda_gmp_epilogue_backward";
  gmpnn_status st = check_epilogue(op, rows, cols, act);
  if (st != GMPNN_OK) return st;
  if (cols == 0) return GMPNN_OK;
  const bool want = dlambda || dr;
  if (rows > 0) {
    GMP_CUDA_REQUIRE(dZ, op);
    GMP_CUDA_REQUIRE(dY, op);
    GMP_CUDA_REQUIRE(Z, op);
  }
  // r may be NULL: r = 1 (the SP/WN bias epilogue).
  GMPNN_CUDA_REQUIRE(dt == GMPNN_F32 || dt == GMPNN_F64, GMPNN_E_DTYPE, "%s: unsupported dtype %d",
                     op, (int)dt);
  GMPNN_CUDA_REQUIRE((cols + 31) / 32 <= 0x7fffffff, GMPNN_E_SHAPE, "%s: cols %lld too large", op,
                     (long long)cols);
  GMPNN_CUDA_STREAM(op);
  if (rows == 0) {  // empty sums: the column gradients are zero
    if (dlambda) GMPNN_CUDA_TRY(op, cudaMemsetAsync(dlambda, 0, (size_t)cols * gmpnn_dtype_size(dt), stream));
    if (dr) GMPNN_CUDA_TRY(op, cudaMemsetAsync(dr, 0, (size_t)cols * gmpnn_dtype_size(dt), stream));
    return GMPNN_OK;
  }
  // Split the rows over enough blocks to fill the card (~2048 blocks), at least 64 rows each.
  const int64_t gx = (cols + 31) / 32;
  int64_t ry = (rows + 63) / 64;
  int64_t cap = 2048 / gx;
  if (cap < 1) cap = 1;
  if (ry > cap) ry = cap;
  if (ry > 65535) ry = 65535;
  const int64_t rchunk = (rows + ry - 1) / ry;
  ry = (rows + rchunk - 1) / rchunk;
  const bool split = want && ry > 1;
  void* scratch = nullptr;
  if (split) {
    st = scratch_alloc(&scratch, sizeof(double) * 2 * (size_t)(ry * cols), op);
    if (st != GMPNN_OK) return st;
  }
  double* pl = (double*)scratch;
  double* pr = split ? pl + ry * cols : nullptr;
  dim3 grid((unsigned)gx, (unsigned)ry);
  GMPNN_CUDA_DISPATCH(dt, op, {
    epilogue_backward_kernel<T><<<grid, dim3(32, 8), 0, stream>>>(
        (T*)dZ, pl, pr, (T*)dlambda, (T*)dr, (const T*)dY, (const T*)Z, (const T*)r, rows, cols,
        rchunk, act, want ? 1 : 0, split ? 0 : 1);
    if (split)
      epilogue_colsum_kernel<T><<<grid_for(cols), kThreads, 0, stream>>>(
          (T*)dlambda, (T*)dr, pl, pr, (const T*)r, ry, cols);
  });
  scratch_free(scratch);  // stream-ordered: safe while the kernels above are queued
  GMPNN_CUDA_LAUNCHED(op);
  return GMPNN_OK;
}

// The dense forward as two launches on the one stream (the library GEMM, then the epilogue):
// the same contract as the CPU entry; a fused tensor-core version is the CUDA issue's work.
extern "C" gmpnn_status gmpnn_cuda_gmp_dense_forward(gmpnn_dtype dt, void* Y, void* Z,
                                                     const void* X, const void* W,
                                                     const void* lambda, const void* r,
                                                     int64_t rows, int64_t n, int64_t cols,
                                                     int act) {
  const char* op = "gmpnn_cuda_gmp_dense_forward";
  gmpnn_status st = check_epilogue(op, rows, cols, act);
  if (st != GMPNN_OK) return st;
  if (n < 0) return gmpnn_set_error(GMPNN_E_ARG, "%s: n must be >= 0 (got %lld)", op, (long long)n);
  if (rows == 0 || cols == 0) return GMPNN_OK;
  st = gmpnn_cuda_gemm(dt, Z, X, W, 0, 1, rows, cols, n, n, n, cols, 1.0, 0.0);
  if (st != GMPNN_OK) return st;
  return gmpnn_cuda_gmp_epilogue_forward(dt, Y, Z, lambda, r, rows, cols, act);
}

extern "C" gmpnn_status gmpnn_cuda_gmp_dense_forward_theta(gmpnn_dtype dt, void* Y, void* Z,
                                                           void* U, double* cache, const void* X,
                                                           const void* theta, const void* lambda,
                                                           const void* r, int64_t rows, int64_t n,
                                                           int64_t cols, int act) {
  // No U wanted: u(θ) into a scratch from the caching allocator (one stream: the block is
  // reused only by work queued after this product).
  void* scratch = nullptr;
  if (!U && cols > 0 && n > 0) {
    gmpnn_status st = scratch_alloc(&scratch, (size_t)(cols * n) * (dt == GMPNN_F32 ? 4 : 8),
                                    "gmp_dense_forward_theta");
    if (st != GMPNN_OK) return st;
    U = scratch;
  }
  gmpnn_status st = gmpnn_cuda_gmp_direction_forward_cached(dt, U, cache, theta, cols, n);
  if (st == GMPNN_OK)
    st = gmpnn_cuda_gmp_dense_forward(dt, Y, Z, X, U, lambda, r, rows, n, cols, act);
  if (scratch) scratch_free(scratch);
  return st;
}

extern "C" gmpnn_status gmpnn_cuda_gmp_dense_backward(gmpnn_dtype dt, void* dX, void* dW,
                                                      void* dtheta, void* dlambda, void* dr,
                                                      void* dZ, const void* dY, const void* Z,
                                                      const void* /*Y: this forward writes Z*/,
                                                      const void* X, const void* W,
                                                      const void* theta, const double*,
                                                      const void* /*lambda*/, const void* r,
                                                      int64_t rows, int64_t n,
                                                      int64_t cols, int act) {
  const char* op = "gmp_dense_backward";
  gmpnn_status st = check_epilogue(op, rows, cols, act);
  if (st != GMPNN_OK) return st;
  if (n < 0 || (theta && n < 2))
    return gmpnn_set_error(GMPNN_E_ARG, "%s: n must be >= %d (got %lld)", op, theta ? 2 : 0,
                           (long long)n);
  const bool want_dtheta = theta && dtheta;
  if (want_dtheta && !dW)
    return gmpnn_set_error(GMPNN_E_ARG, "%s: dtheta needs dW as scratch for dU", op);
  // G_Z, dλ, dr; then dX = G_Z·W and dW = G_Zᵀ·X (both zero when rows == 0), then dθ.
  st = gmpnn_cuda_gmp_epilogue_backward(dt, dZ, dlambda, dr, dY, Z, r, rows, cols, act);
  if (st != GMPNN_OK) return st;
  if (dX && n > 0) {
    st = gmpnn_cuda_gemm(dt, dX, dZ, W, 0, 0, rows, n, cols, cols, n, n, 1.0, 0.0);
    if (st != GMPNN_OK) return st;
  }
  if (dW && (!theta || want_dtheta) && n > 0 && cols > 0) {
    st = gmpnn_cuda_gemm(dt, dW, dZ, X, 1, 0, cols, n, rows, cols, n, n, 1.0, 0.0);
    if (st != GMPNN_OK) return st;
  }
  if (want_dtheta) return gmpnn_cuda_gmp_direction_backward(dt, dtheta, dW, theta, cols, n);
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_weight_norm_forward(gmpnn_dtype dt, void* W, const void* v,
                                                       const void* g, int64_t rows, int64_t n) {
  const char* op = "gmpnn_cuda_weight_norm_forward";
  gmpnn_status st = check_weight_norm(op, rows, n);
  if (st != GMPNN_OK) return st;
  if (rows == 0) return GMPNN_OK;
  GMP_CUDA_REQUIRE(W, op);
  GMP_CUDA_REQUIRE(v, op);
  GMP_CUDA_REQUIRE(g, op);
  GMPNN_CUDA_STREAM(op);
  GMPNN_CUDA_DISPATCH(dt, op,
                      weight_norm_forward_kernel<T><<<unit_grid(rows), kThreads, 0, stream>>>(
                          (T*)W, (const T*)v, (const T*)g, rows, n));
  GMPNN_CUDA_LAUNCHED(op);
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_weight_norm_backward(gmpnn_dtype dt, void* dv, void* dg,
                                                        const void* dW, const void* v,
                                                        const void* g, int64_t rows, int64_t n) {
  const char* op = "gmpnn_cuda_weight_norm_backward";
  gmpnn_status st = check_weight_norm(op, rows, n);
  if (st != GMPNN_OK) return st;
  if (rows == 0 || (!dv && !dg)) return GMPNN_OK;
  GMP_CUDA_REQUIRE(dW, op);
  GMP_CUDA_REQUIRE(v, op);
  GMP_CUDA_REQUIRE(g, op);
  GMPNN_CUDA_STREAM(op);
  GMPNN_CUDA_DISPATCH(dt, op,
                      weight_norm_backward_kernel<T><<<unit_grid(rows), kThreads, 0, stream>>>(
                          (T*)dv, (T*)dg, (const T*)dW, (const T*)v, (const T*)g, rows, n));
  GMPNN_CUDA_LAUNCHED(op);
  return GMPNN_OK;
}
