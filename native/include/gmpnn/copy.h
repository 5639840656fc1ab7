/* Strided copy: the one layout kernel behind reshape-free transpose/permute, slice, concat,
 * broadcastTo and contiguous(). Writes out (=). */
#ifndef GMPNN_COPY_H
#define GMPNN_COPY_H
#include "gmpnn/common.h"
#ifdef __cplusplus
extern "C" {
#endif

/* For every index vector idx < shape[ndim]:
 *   out[out_offset + Σ idx_d·out_strides_d] = in[in_offset + Σ idx_d·in_strides_d]
 * Strides and offsets in elements; in_strides may be 0 (broadcast). */
gmpnn_status gmpnn_cpu_copy_strided(gmpnn_dtype dt, void* out, int64_t out_offset,
                                    const int64_t* out_strides, const void* in, int64_t in_offset,
                                    const int64_t* in_strides, int ndim, const int64_t* shape);
gmpnn_status gmpnn_cuda_copy_strided(gmpnn_dtype dt, void* out, int64_t out_offset,
                                     const int64_t* out_strides, const void* in, int64_t in_offset,
                                     const int64_t* in_strides, int ndim, const int64_t* shape);

#ifdef __cplusplus
}
#endif
#endif
