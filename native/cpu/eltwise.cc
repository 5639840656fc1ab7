// Elementwise CPU kernels (gmpnn/eltwise.h): unary maps, broadcasting binary maps over element
// strides, affine, fill, cast. Contiguous loops vectorize under -O3 -march=x86-64-v3; large
// tensors split across OpenMP threads.
#include <cmath>
#include <cstring>

#include "cpu_util.h"
#include "gmpnn/eltwise.h"

namespace {

template <typename T>
inline T unary_apply(int op, T x) {
  switch (op) {
    case GMPNN_UNARY_NEG: return -x;
    case GMPNN_UNARY_EXP: return std::exp(x);
    case GMPNN_UNARY_LOG: return std::log(x);
    case GMPNN_UNARY_SQRT: return std::sqrt(x);
    case GMPNN_UNARY_ABS: return std::fabs(x);
    case GMPNN_UNARY_RELU: return x > T(0) ? x : T(0);
    case GMPNN_UNARY_SIGMOID:
      // Two branches so that exp never overflows.
      return x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
    case GMPNN_UNARY_TANH: return std::tanh(x);
    case GMPNN_UNARY_SIN: return std::sin(x);
    case GMPNN_UNARY_COS: return std::cos(x);
    case GMPNN_UNARY_SQUARE: return x * x;
    case GMPNN_UNARY_RECIPROCAL: return T(1) / x;
    case GMPNN_UNARY_SIGN: return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
    case GMPNN_UNARY_STEP: return x > T(0) ? T(1) : T(0);
  }
  return x;
}

template <typename T>
inline T binary_apply(int op, T a, T b) {
  switch (op) {
    case GMPNN_BINARY_ADD: return a + b;
    case GMPNN_BINARY_SUB: return a - b;
    case GMPNN_BINARY_MUL: return a * b;
    case GMPNN_BINARY_DIV: return a / b;
    case GMPNN_BINARY_MAX: return a > b || std::isnan(a) ? a : b;
    case GMPNN_BINARY_MIN: return a < b || std::isnan(a) ? a : b;
    case GMPNN_BINARY_POW: return std::pow(a, b);
    case GMPNN_BINARY_GT: return a > b ? T(1) : T(0);
    case GMPNN_BINARY_EQ: return a == b ? T(1) : T(0);
    case GMPNN_BINARY_MASK_POS: return b > T(0) ? a : T(0);
  }
  return a;
}

// The switch sits outside the loop so each op's loop is a tight, vectorizable body.
template <typename T, int OP>
void unary_loop(T* out, const T* in, int64_t n) {
  gmpnn_cpu::parallel_region(n >= gmpnn_cpu::kParallelGrain, [&] {
#pragma omp for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) out[i] = unary_apply<T>(OP, in[i]);
  });
}

template <typename T>
gmpnn_status unary_impl(T* out, const T* in, int64_t n, int op) {
  switch (op) {
#define CASE(k) \
  case k: unary_loop<T, k>(out, in, n); break;
    CASE(0) CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7) CASE(8) CASE(9) CASE(10)
    CASE(11) CASE(12) CASE(13)
#undef CASE
  }
  return GMPNN_OK;
}

template <typename T, int OP>
void binary_loop(T* out, const T* a, const T* b, int ndim, const int64_t* shape,
                 const int64_t* as, const int64_t* bs) {
  // The innermost axis runs as a strided 1-D loop; the outer axes are walked by an odometer.
  int64_t inner = ndim ? shape[ndim - 1] : 1;
  int64_t ai = ndim ? as[ndim - 1] : 0, bi = ndim ? bs[ndim - 1] : 0;
  int64_t outer = 1;
  for (int d = 0; d + 1 < ndim; ++d) outer *= shape[d];
  const bool par = outer * inner >= gmpnn_cpu::kParallelGrain && outer > 1;
  gmpnn_cpu::parallel_region(par, [&] {
#pragma omp for schedule(static)
    for (int64_t o = 0; o < outer; ++o) {
      int64_t aoff = 0, boff = 0, rem = o;
      if (ndim == 2) {  // the common case, without the divisions
        aoff = o * as[0];
        boff = o * bs[0];
      } else {
        for (int d = ndim - 2; d >= 0; --d) {
          int64_t idx = rem % shape[d];
          rem /= shape[d];
          aoff += idx * as[d];
          boff += idx * bs[d];
        }
      }
      T* po = out + o * inner;
      const T* pa = a + aoff;
      const T* pb = b + boff;
      if (ai == 1 && bi == 1) {
#pragma omp simd
        for (int64_t i = 0; i < inner; ++i) po[i] = binary_apply<T>(OP, pa[i], pb[i]);
      } else if (ai == 1 && bi == 0) {
        const T bv = pb[0];
#pragma omp simd
        for (int64_t i = 0; i < inner; ++i) po[i] = binary_apply<T>(OP, pa[i], bv);
      } else if (ai == 0 && bi == 1) {
        const T av = pa[0];
#pragma omp simd
        for (int64_t i = 0; i < inner; ++i) po[i] = binary_apply<T>(OP, av, pb[i]);
      } else {
        for (int64_t i = 0; i < inner; ++i) po[i] = binary_apply<T>(OP, pa[i * ai], pb[i * bi]);
      }
    }
  });
}

// Drops extent-1 axes and merges each axis into the next where both operands step through them
// as one (a contiguous [100, 13] + [100, 13] becomes one loop of 1300, [100, 13] ⊙ [100, 1] keeps
// two axes). Writes at most ndim axes into sh, sa, sb; returns how many.
int coalesce_axes(int ndim, const int64_t* shape, const int64_t* as, const int64_t* bs,
                  int64_t* sh, int64_t* sa, int64_t* sb) {
  int m = 0;
  for (int d = 0; d < ndim; ++d) {
    if (shape[d] == 1) continue;
    if (m > 0 && sa[m - 1] == as[d] * shape[d] && sb[m - 1] == bs[d] * shape[d]) {
      sh[m - 1] *= shape[d];
      sa[m - 1] = as[d];
      sb[m - 1] = bs[d];
      continue;
    }
    sh[m] = shape[d];
    sa[m] = as[d];
    sb[m] = bs[d];
    ++m;
  }
  return m;
}

template <typename T>
void binary_impl(T* out, const T* a, const T* b, int op, int ndim_in, const int64_t* shape_in,
                 const int64_t* as_in, const int64_t* bs_in) {
  int64_t shape[GMPNN_MAX_DIMS], as[GMPNN_MAX_DIMS], bs[GMPNN_MAX_DIMS];
  const int ndim = coalesce_axes(ndim_in, shape_in, as_in, bs_in, shape, as, bs);
  switch (op) {
#define CASE(k) \
  case k: binary_loop<T, k>(out, a, b, ndim, shape, as, bs); break;
    CASE(0) CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7) CASE(8) CASE(9)
#undef CASE
  }
}

template <typename T>
void affine_impl(T* o, const T* x, int64_t n, double alpha, double beta) {
  const T al = (T)alpha, be = (T)beta;
  gmpnn_cpu::parallel_region(n >= gmpnn_cpu::kParallelGrain, [&] {
#pragma omp for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) o[i] = al * x[i] + be;
  });
}

template <typename T>
void channel_affine_impl(T* o, const T* x, const T* scale, const T* shift, int64_t rows,
                         int64_t cols) {
  gmpnn_cpu::parallel_region(rows * cols >= gmpnn_cpu::kParallelGrain && rows > 1, [&] {
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const T* xr = x + r * cols;
      T* orow = o + r * cols;
      if (scale && shift) {
#pragma omp simd
        for (int64_t c = 0; c < cols; ++c) orow[c] = xr[c] * scale[c] + shift[c];
      } else if (scale) {
#pragma omp simd
        for (int64_t c = 0; c < cols; ++c) orow[c] = xr[c] * scale[c];
      } else if (shift) {
#pragma omp simd
        for (int64_t c = 0; c < cols; ++c) orow[c] = xr[c] + shift[c];
      } else if (orow != xr) {
        std::memcpy(orow, xr, sizeof(T) * (size_t)cols);
      }
    }
  });
}

template <typename T>
void fill_impl(T* o, int64_t n, double value) {
  const T v = (T)value;
  gmpnn_cpu::parallel_region(n >= gmpnn_cpu::kParallelGrain, [&] {
#pragma omp for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) o[i] = v;
  });
}

}  // namespace

extern "C" gmpnn_status gmpnn_cpu_unary(gmpnn_dtype dt, void* out, const void* in, int64_t n,
                                        int op) {
  if (op < 0 || op >= GMPNN_UNARY_COUNT) return gmpnn_set_error(GMPNN_E_ARG, "unary: bad op %d", op);
  if (n < 0) return gmpnn_set_error(GMPNN_E_ARG, "unary: negative size");
  if (n == 0) return GMPNN_OK;
  GMPNN_DISPATCH_FLOAT(dt, "unary", return unary_impl<T>((T*)out, (const T*)in, n, op));
}

extern "C" gmpnn_status gmpnn_cpu_binary(gmpnn_dtype dt, void* out, const void* a, const void* b,
                                         int op, int ndim, const int64_t* shape,
                                         const int64_t* a_strides, const int64_t* b_strides) {
  if (op < 0 || op >= GMPNN_BINARY_COUNT)
    return gmpnn_set_error(GMPNN_E_ARG, "binary: bad op %d", op);
  if (ndim < 0 || ndim > GMPNN_MAX_DIMS)
    return gmpnn_set_error(GMPNN_E_ARG, "binary: ndim %d out of range", ndim);
  for (int d = 0; d < ndim; ++d)
    if (shape[d] == 0) return GMPNN_OK;
  GMPNN_DISPATCH_FLOAT(dt, "binary",
                       binary_impl<T>((T*)out, (const T*)a, (const T*)b, op, ndim, shape,
                                      a_strides, b_strides);
                       return GMPNN_OK);
}

extern "C" gmpnn_status gmpnn_cpu_affine(gmpnn_dtype dt, void* out, const void* in, int64_t n,
                                         double alpha, double beta) {
  if (n <= 0) return GMPNN_OK;
  GMPNN_DISPATCH_FLOAT(dt, "affine", affine_impl<T>((T*)out, (const T*)in, n, alpha, beta);
                       return GMPNN_OK);
}

extern "C" gmpnn_status gmpnn_cpu_channel_affine(gmpnn_dtype dt, void* out, const void* in,
                                                 const void* scale, const void* shift,
                                                 int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0)
    return gmpnn_set_error(GMPNN_E_ARG, "channel_affine: negative size (%lld x %lld)",
                           (long long)rows, (long long)cols);
  if (rows == 0 || cols == 0) return GMPNN_OK;
  if (!out || !in) return gmpnn_set_error(GMPNN_E_ARG, "channel_affine: NULL pointer");
  GMPNN_DISPATCH_FLOAT(dt, "channel_affine",
                       channel_affine_impl<T>((T*)out, (const T*)in, (const T*)scale,
                                              (const T*)shift, rows, cols);
                       return GMPNN_OK);
}

extern "C" gmpnn_status gmpnn_cpu_fill(gmpnn_dtype dt, void* out, int64_t n, double value) {
  if (n <= 0) return GMPNN_OK;
  GMPNN_DISPATCH_FLOAT(dt, "fill", fill_impl<T>((T*)out, n, value); return GMPNN_OK);
}

extern "C" gmpnn_status gmpnn_cpu_cast(gmpnn_dtype out_dt, void* out, gmpnn_dtype in_dt,
                                       const void* in, int64_t n) {
  if (n <= 0) return GMPNN_OK;
  if (out_dt == in_dt) {
    std::memmove(out, in, (size_t)n * gmpnn_dtype_size(in_dt));
    return GMPNN_OK;
  }
  if (out_dt == GMPNN_F32 && in_dt == GMPNN_F64) {
    float* o = (float*)out;
    const double* x = (const double*)in;
    for (int64_t i = 0; i < n; ++i) o[i] = (float)x[i];
    return GMPNN_OK;
  }
  if (out_dt == GMPNN_F64 && in_dt == GMPNN_F32) {
    double* o = (double*)out;
    const float* x = (const float*)in;
    for (int64_t i = 0; i < n; ++i) o[i] = (double)x[i];
    return GMPNN_OK;
  }
  return gmpnn_set_error(GMPNN_E_DTYPE, "cast: unsupported dtypes %d -> %d", (int)in_dt,
                         (int)out_dt);
}
