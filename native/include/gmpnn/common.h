/* gmpnn C ABI — shared types.
 *
 * Every kernel is a plain C function on raw buffers and shapes, declared twice with the same
 * signature: gmpnn_cpu_<name> (native/cpu/) and gmpnn_cuda_<name> (native/cuda/). No Node and no
 * CUDA types cross this seam, so the same kernels are driven by the N-API binding and by the ctest
 * drivers in native/tests/ (the GPU machines have no Node).
 *
 * Conventions (llm.c): outputs first, const inputs next, dimensions last. Row-major, element
 * strides and offsets in elements. Parameter gradients accumulate (+=); activation gradients are
 * written (=) — each kernel header says which.
 */
#ifndef GMPNN_COMMON_H
#define GMPNN_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  GMPNN_OK = 0,
  GMPNN_E_ARG = 1,         /* bad argument (size, enum value, null pointer) */
  GMPNN_E_SHAPE = 2,       /* inconsistent shapes */
  GMPNN_E_DTYPE = 3,       /* dtype not supported by this kernel */
  GMPNN_E_OOM = 4,         /* allocation failed */
  GMPNN_E_CUDA = 5,        /* a CUDA runtime error; gmpnn_last_error() has its text */
  GMPNN_E_NO_DEVICE = 6,   /* CUDA requested but not compiled in, or no GPU answered */
  GMPNN_E_UNSUPPORTED = 7  /* combination not implemented on this device */
} gmpnn_status;

typedef enum { GMPNN_F32 = 0, GMPNN_F64 = 1 } gmpnn_dtype;

#define GMPNN_MAX_DIMS 8

static inline size_t gmpnn_dtype_size(gmpnn_dtype dt) { return dt == GMPNN_F64 ? 8 : 4; }

/* Message of the last failing call on this thread (empty when none). */
const char* gmpnn_last_error(void);
/* Used by kernels to record a message before returning a non-OK status. */
gmpnn_status gmpnn_set_error(gmpnn_status code, const char* fmt, ...);

#ifdef __cplusplus
}
#endif

#endif
