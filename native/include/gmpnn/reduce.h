/* Reductions over the middle axis of an [outer, R, inner] view. Write their output (=). */
#ifndef GMPNN_REDUCE_H
#define GMPNN_REDUCE_H
#include "gmpnn/common.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  GMPNN_REDUCE_SUM = 0,
  GMPNN_REDUCE_MAX = 1,
  GMPNN_REDUCE_MIN = 2,
  GMPNN_REDUCE_ARGMAX = 3, /* index (as a number of dtype dt) of the first maximum */
  GMPNN_REDUCE_COUNT = 4
} gmpnn_reduce_op;

/* out[o, i] = reduce_{r < R} in[o, r, i]; out is [outer, inner]. R >= 1.
 * Sums accumulate in double for float32 inputs. */
gmpnn_status gmpnn_cpu_reduce(gmpnn_dtype dt, void* out, const void* in, int op, int64_t outer,
                              int64_t R, int64_t inner);
gmpnn_status gmpnn_cuda_reduce(gmpnn_dtype dt, void* out, const void* in, int op, int64_t outer,
                               int64_t R, int64_t inner);

#ifdef __cplusplus
}
#endif
#endif
