/* Random fills from the shared Philox generator (gmpnn/philox.h). Write out (=).
 * Element i of the output is stream element offset + i of `seed`, on every device. */
#ifndef GMPNN_RNG_H
#define GMPNN_RNG_H
#include "gmpnn/common.h"
#ifdef __cplusplus
extern "C" {
#endif

/* out[i] = low + (high - low) · U(seed, offset + i), U in (0, 1). */
gmpnn_status gmpnn_cpu_rng_uniform(gmpnn_dtype dt, void* out, int64_t n, uint64_t seed,
                                   uint64_t offset, double low, double high);
gmpnn_status gmpnn_cuda_rng_uniform(gmpnn_dtype dt, void* out, int64_t n, uint64_t seed,
                                    uint64_t offset, double low, double high);
/* out[i] = mean + std · N(seed, offset + i). */
gmpnn_status gmpnn_cpu_rng_normal(gmpnn_dtype dt, void* out, int64_t n, uint64_t seed,
                                  uint64_t offset, double mean, double std);
gmpnn_status gmpnn_cuda_rng_normal(gmpnn_dtype dt, void* out, int64_t n, uint64_t seed,
                                   uint64_t offset, double mean, double std);

#ifdef __cplusplus
}
#endif
#endif
