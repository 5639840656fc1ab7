/* Elementwise kernels: unary maps, broadcasting binary maps, scalar maps, fill, cast.
 * All write their output (=). */
#ifndef GMPNN_ELTWISE_H
#define GMPNN_ELTWISE_H
#include "gmpnn/common.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  GMPNN_UNARY_NEG = 0,
  GMPNN_UNARY_EXP = 1,
  GMPNN_UNARY_LOG = 2,
  GMPNN_UNARY_SQRT = 3,
  GMPNN_UNARY_ABS = 4,
  GMPNN_UNARY_RELU = 5,
  GMPNN_UNARY_SIGMOID = 6,
  GMPNN_UNARY_TANH = 7,
  GMPNN_UNARY_SIN = 8,
  GMPNN_UNARY_COS = 9,
  GMPNN_UNARY_SQUARE = 10,
  GMPNN_UNARY_RECIPROCAL = 11,
  GMPNN_UNARY_SIGN = 12,     /* -1, 0, +1 */
  GMPNN_UNARY_STEP = 13,     /* 1 where x > 0, else 0 (the ReLU mask; 0 at x = 0) */
  GMPNN_UNARY_COUNT = 14
} gmpnn_unary_op;

typedef enum {
  GMPNN_BINARY_ADD = 0,
  GMPNN_BINARY_SUB = 1,
  GMPNN_BINARY_MUL = 2,
  GMPNN_BINARY_DIV = 3,
  GMPNN_BINARY_MAX = 4,
  GMPNN_BINARY_MIN = 5,
  GMPNN_BINARY_POW = 6,
  GMPNN_BINARY_GT = 7,        /* 1 where a > b, else 0 */
  GMPNN_BINARY_EQ = 8,        /* 1 where a == b, else 0 */
  GMPNN_BINARY_MASK_POS = 9,  /* a * (b > 0): ReLU backward with a = dY, b = X or Y */
  GMPNN_BINARY_COUNT = 10
} gmpnn_binary_op;

/* out[i] = op(in[i]), i < n. out may alias in. */
gmpnn_status gmpnn_cpu_unary(gmpnn_dtype dt, void* out, const void* in, int64_t n, int op);
gmpnn_status gmpnn_cuda_unary(gmpnn_dtype dt, void* out, const void* in, int64_t n, int op);

/* out (contiguous, shape[ndim]) = op(a, b), where a and b are read through element strides
 * (stride 0 broadcasts that axis). ndim in 0..GMPNN_MAX_DIMS; ndim 0 is one element. */
gmpnn_status gmpnn_cpu_binary(gmpnn_dtype dt, void* out, const void* a, const void* b, int op,
                              int ndim, const int64_t* shape, const int64_t* a_strides,
                              const int64_t* b_strides);
gmpnn_status gmpnn_cuda_binary(gmpnn_dtype dt, void* out, const void* a, const void* b, int op,
                               int ndim, const int64_t* shape, const int64_t* a_strides,
                               const int64_t* b_strides);

/* out[i] = alpha * in[i] + beta, i < n. out may alias in. */
gmpnn_status gmpnn_cpu_affine(gmpnn_dtype dt, void* out, const void* in, int64_t n, double alpha,
                              double beta);
gmpnn_status gmpnn_cuda_affine(gmpnn_dtype dt, void* out, const void* in, int64_t n, double alpha,
                               double beta);

/* Per-channel affine map of a channels-last [rows, cols] array (the normalization layers):
 * out[r, c] = in[r, c]·scale[c] + shift[c]. scale NULL means 1, shift NULL means 0; out may alias
 * in. */
gmpnn_status gmpnn_cpu_channel_affine(gmpnn_dtype dt, void* out, const void* in, const void* scale,
                                      const void* shift, int64_t rows, int64_t cols);
gmpnn_status gmpnn_cuda_channel_affine(gmpnn_dtype dt, void* out, const void* in,
                                       const void* scale, const void* shift, int64_t rows,
                                       int64_t cols);

/* out[i] = value, i < n. */
gmpnn_status gmpnn_cpu_fill(gmpnn_dtype dt, void* out, int64_t n, double value);
gmpnn_status gmpnn_cuda_fill(gmpnn_dtype dt, void* out, int64_t n, double value);

/* out[i] = (out_dt) in[i], i < n (float32 <-> float64, or a plain copy when the dtypes agree). */
gmpnn_status gmpnn_cpu_cast(gmpnn_dtype out_dt, void* out, gmpnn_dtype in_dt, const void* in,
                            int64_t n);
gmpnn_status gmpnn_cuda_cast(gmpnn_dtype out_dt, void* out, gmpnn_dtype in_dt, const void* in,
                             int64_t n);

#ifdef __cplusplus
}
#endif
#endif
