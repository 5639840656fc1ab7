// CUDA elementwise kernels (gmpnn/eltwise.h): unary maps, broadcasting binary maps through
// element strides, affine, fill and cast. All write their output (=).
//
// Launch: grid-stride loops, 256 threads per block, grid_for(n) blocks; the op code is a kernel
// argument (uniform over the grid, so the switch does not diverge). float32 math uses the
// single-precision CUDA functions (expf, ...; no fast-math), float64 the double ones.
// Binary: the shape and both stride vectors travel by value in a small struct; each thread turns
// its linear output index into an index vector (last axis fastest) and dots it with the strides.
#include "common.cuh"
#include "gmpnn/eltwise.h"

namespace {

using namespace gmpnn_cuda;

template <typename T>
__device__ __forceinline__ T unary_op(T x, int op) {
  switch (op) {
    case GMPNN_UNARY_NEG: return -x;
    case GMPNN_UNARY_EXP: return exp(x);
    case GMPNN_UNARY_LOG: return log(x);
    case GMPNN_UNARY_SQRT: return sqrt(x);
    case GMPNN_UNARY_ABS: return fabs(x);
    case GMPNN_UNARY_RELU: return x > T(0) ? x : T(0);
    case GMPNN_UNARY_SIGMOID: return T(1) / (T(1) + exp(-x));
    case GMPNN_UNARY_TANH: return tanh(x);
    case GMPNN_UNARY_SIN: return sin(x);
    case GMPNN_UNARY_COS: return cos(x);
    case GMPNN_UNARY_SQUARE: return x * x;
    case GMPNN_UNARY_RECIPROCAL: return T(1) / x;
    case GMPNN_UNARY_SIGN: return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
    case GMPNN_UNARY_STEP: return x > T(0) ? T(1) : T(0);
    default: return x;
  }
}

template <typename T>
__device__ __forceinline__ T binary_op(T a, T b, int op) {
  switch (op) {
    case GMPNN_BINARY_ADD: return a + b;
    case GMPNN_BINARY_SUB: return a - b;
    case GMPNN_BINARY_MUL: return a * b;
    case GMPNN_BINARY_DIV: return a / b;
    // NaN propagates, as in torch.maximum / torch.minimum.
    case GMPNN_BINARY_MAX: return (a > b || a != a) ? a : b;
    case GMPNN_BINARY_MIN: return (a < b || a != a) ? a : b;
    case GMPNN_BINARY_POW: return pow(a, b);
    case GMPNN_BINARY_GT: return a > b ? T(1) : T(0);
    case GMPNN_BINARY_EQ: return a == b ? T(1) : T(0);
    case GMPNN_BINARY_MASK_POS: return b > T(0) ? a : T(0);
    default: return a;
  }
}

template <typename T>
__global__ void unary_kernel(T* out, const T* in, int64_t n, int op) {  // out may alias in
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    out[i] = unary_op<T>(in[i], op);
}

struct BinaryGeom {
  int ndim;
  int64_t shape[GMPNN_MAX_DIMS];
  int64_t a_strides[GMPNN_MAX_DIMS];
  int64_t b_strides[GMPNN_MAX_DIMS];
};

template <typename T>
__global__ void binary_kernel(T* out, const T* a, const T* b, int op, BinaryGeom g,
                              int64_t n) {  // out may alias a or b (in-place ops)
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t rem = i, ao = 0, bo = 0;
    for (int d = g.ndim - 1; d >= 0; --d) {
      int64_t idx = rem % g.shape[d];
      rem /= g.shape[d];
      ao += idx * g.a_strides[d];
      bo += idx * g.b_strides[d];
    }
    out[i] = binary_op<T>(a[ao], b[bo], op);
  }
}

template <typename T>
__global__ void affine_kernel(T* out, const T* in, int64_t n, T alpha, T beta) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    out[i] = alpha * in[i] + beta;
}

template <typename T>
__global__ void channel_affine_kernel(T* out, const T* in, const T* scale, const T* shift,
                                      int64_t n, int64_t cols) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t c = i % cols;
    out[i] = in[i] * (scale ? scale[c] : T(1)) + (shift ? shift[c] : T(0));
  }
}

template <typename T>
__global__ void fill_kernel(T* __restrict__ out, int64_t n, T value) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    out[i] = value;
}

template <typename To, typename Ti>
__global__ void cast_kernel(To* __restrict__ out, const Ti* __restrict__ in, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    out[i] = (To)in[i];
}

}  // namespace

extern "C" gmpnn_status gmpnn_cuda_unary(gmpnn_dtype dt, void* out, const void* in, int64_t n,
                                         int op) {
  const char* name = "gmpnn_cuda_unary";
  GMPNN_CUDA_REQUIRE(op >= 0 && op < GMPNN_UNARY_COUNT, GMPNN_E_ARG, "%s: unknown op %d", name, op);
  GMPNN_CUDA_REQUIRE(n >= 0, GMPNN_E_ARG, "%s: negative size %lld", name, (long long)n);
  if (n == 0) return GMPNN_OK;
  GMPNN_CUDA_REQUIRE(out && in, GMPNN_E_ARG, "%s: NULL pointer", name);
  GMPNN_CUDA_STREAM(name);
  GMPNN_CUDA_DISPATCH(dt, name,
                      unary_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(
                          (T*)out, (const T*)in, n, op));
  GMPNN_CUDA_LAUNCHED(name);
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_binary(gmpnn_dtype dt, void* out, const void* a, const void* b,
                                          int op, int ndim, const int64_t* shape,
                                          const int64_t* a_strides, const int64_t* b_strides) {
  const char* name = "gmpnn_cuda_binary";
  GMPNN_CUDA_REQUIRE(op >= 0 && op < GMPNN_BINARY_COUNT, GMPNN_E_ARG, "%s: unknown op %d", name,
                     op);
  GMPNN_CUDA_REQUIRE(ndim >= 0 && ndim <= GMPNN_MAX_DIMS, GMPNN_E_ARG, "%s: ndim %d not in 0..%d",
                     name, ndim, GMPNN_MAX_DIMS);
  GMPNN_CUDA_REQUIRE(ndim == 0 || (shape && a_strides && b_strides), GMPNN_E_ARG,
                     "%s: NULL shape or strides", name);
  BinaryGeom g;
  g.ndim = ndim;
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) {
    GMPNN_CUDA_REQUIRE(shape[d] >= 0, GMPNN_E_SHAPE, "%s: negative extent %lld on axis %d", name,
                       (long long)shape[d], d);
    g.shape[d] = shape[d];
    g.a_strides[d] = a_strides[d];
    g.b_strides[d] = b_strides[d];
    n *= shape[d];
  }
  if (n == 0) return GMPNN_OK;
  GMPNN_CUDA_REQUIRE(out && a && b, GMPNN_E_ARG, "%s: NULL pointer", name);
  GMPNN_CUDA_STREAM(name);
  GMPNN_CUDA_DISPATCH(dt, name,
                      binary_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(
                          (T*)out, (const T*)a, (const T*)b, op, g, n));
  GMPNN_CUDA_LAUNCHED(name);
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_affine(gmpnn_dtype dt, void* out, const void* in, int64_t n,
                                          double alpha, double beta) {
  const char* name = "gmpnn_cuda_affine";
  GMPNN_CUDA_REQUIRE(n >= 0, GMPNN_E_ARG, "%s: negative size %lld", name, (long long)n);
  if (n == 0) return GMPNN_OK;
  GMPNN_CUDA_REQUIRE(out && in, GMPNN_E_ARG, "%s: NULL pointer", name);
  GMPNN_CUDA_STREAM(name);
  GMPNN_CUDA_DISPATCH(dt, name,
                      affine_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(
                          (T*)out, (const T*)in, n, (T)alpha, (T)beta));
  GMPNN_CUDA_LAUNCHED(name);
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_channel_affine(gmpnn_dtype dt, void* out, const void* in,
                                                  const void* scale, const void* shift,
                                                  int64_t rows, int64_t cols) {
  const char* name = "gmpnn_cuda_channel_affine";
  GMPNN_CUDA_REQUIRE(rows >= 0 && cols >= 0, GMPNN_E_ARG, "%s: negative size (%lld x %lld)",
                     name, (long long)rows, (long long)cols);
  const int64_t n = rows * cols;
  if (n == 0) return GMPNN_OK;
  GMPNN_CUDA_REQUIRE(out && in, GMPNN_E_ARG, "%s: NULL pointer", name);
  GMPNN_CUDA_STREAM(name);
  GMPNN_CUDA_DISPATCH(dt, name,
                      channel_affine_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(
                          (T*)out, (const T*)in, (const T*)scale, (const T*)shift, n, cols));
  GMPNN_CUDA_LAUNCHED(name);
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_fill(gmpnn_dtype dt, void* out, int64_t n, double value) {
  const char* name = "gmpnn_cuda_fill";
  GMPNN_CUDA_REQUIRE(n >= 0, GMPNN_E_ARG, "%s: negative size %lld", name, (long long)n);
  if (n == 0) return GMPNN_OK;
  GMPNN_CUDA_REQUIRE(out, GMPNN_E_ARG, "%s: NULL pointer", name);
  GMPNN_CUDA_STREAM(name);
  GMPNN_CUDA_DISPATCH(dt, name,
                      fill_kernel<T><<<grid_for(n), kThreads, 0, stream>>>((T*)out, n, (T)value));
  GMPNN_CUDA_LAUNCHED(name);
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_cast(gmpnn_dtype out_dt, void* out, gmpnn_dtype in_dt,
                                        const void* in, int64_t n) {
  const char* name = "gmpnn_cuda_cast";
  GMPNN_CUDA_REQUIRE(n >= 0, GMPNN_E_ARG, "%s: negative size %lld", name, (long long)n);
  GMPNN_CUDA_REQUIRE((out_dt == GMPNN_F32 || out_dt == GMPNN_F64) &&
                         (in_dt == GMPNN_F32 || in_dt == GMPNN_F64),
                     GMPNN_E_DTYPE, "%s: unsupported dtypes %d -> %d", name, (int)in_dt,
                     (int)out_dt);
  if (n == 0) return GMPNN_OK;
  GMPNN_CUDA_REQUIRE(out && in, GMPNN_E_ARG, "%s: NULL pointer", name);
  GMPNN_CUDA_STREAM(name);
  if (out_dt == in_dt) {
    if (out != in)
      GMPNN_CUDA_TRY(name, cudaMemcpyAsync(out, in, (size_t)n * gmpnn_dtype_size(in_dt),
                                           cudaMemcpyDeviceToDevice, stream));
    return GMPNN_OK;
  }
  if (out_dt == GMPNN_F32)
    cast_kernel<float, double><<<grid_for(n), kThreads, 0, stream>>>((float*)out,
                                                                     (const double*)in, n);
  else
    cast_kernel<double, float><<<grid_for(n), kThreads, 0, stream>>>((double*)out,
                                                                     (const float*)in, n);
  GMPNN_CUDA_LAUNCHED(name);
  return GMPNN_OK;
}
