/* Device memory and runtime. The CPU entries are always present; the CUDA entries exist when the
 * library was built with CUDA (GMPNN_WITH_CUDA) and report GMPNN_E_NO_DEVICE when no GPU
 * answers. CUDA memory goes through a caching allocator; all CUDA work is queued on one stream,
 * and host reads synchronize. */
#ifndef GMPNN_DEVICE_H
#define GMPNN_DEVICE_H
#include "gmpnn/common.h"
#ifdef __cplusplus
extern "C" {
#endif

/* 64-byte aligned host memory through a caching allocator (freed blocks are reused by size
 * class; GMPNN_CPU_CACHE_MB caps the cache, default 1024). gmpnn_cpu_malloc returns NULL on
 * failure. */
void* gmpnn_cpu_malloc(size_t bytes);
void gmpnn_cpu_free(void* ptr);
size_t gmpnn_cpu_cached_bytes(void);
void gmpnn_cpu_empty_cache(void);
/* Threads used by CPU kernels (OpenMP); n <= 0 restores the default. */
void gmpnn_cpu_set_num_threads(int n);
int gmpnn_cpu_num_threads(void);
/* Sets flush-to-zero and denormals-are-zero on the calling thread (MXCSR). CPU kernels call it
 * on their worker threads, since products of many sines reach subnormal floats (DESIGN.md). */
void gmpnn_cpu_enable_ftz(void);

/* Number of GPUs; on failure (no driver, error 35 ...) a status with gmpnn_last_error() text. */
gmpnn_status gmpnn_cuda_device_count(int* count);
gmpnn_status gmpnn_cuda_device_name(char* buf, size_t len);
gmpnn_status gmpnn_cuda_malloc(void** ptr, size_t bytes);
gmpnn_status gmpnn_cuda_free(void* ptr);
typedef enum { GMPNN_H2D = 1, GMPNN_D2H = 2, GMPNN_D2D = 3 } gmpnn_copy_kind;
/* Host-to-device is asynchronous on the stream; device-to-host synchronizes. */
gmpnn_status gmpnn_cuda_memcpy(void* dst, const void* src, size_t bytes, int kind);
gmpnn_status gmpnn_cuda_synchronize(void);
/* Bytes handed out to live buffers, and bytes held by the cache. */
gmpnn_status gmpnn_cuda_memory_stats(size_t* allocated, size_t* cached);
gmpnn_status gmpnn_cuda_empty_cache(void);

#ifdef __cplusplus
}
#endif
#endif
