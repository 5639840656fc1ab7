/* GEMM, row-major:  C[M,N] = alpha · op(A) · op(B) + beta · C
 *   op(A) is [M,K]: A is stored [M,K] (lda >= K) or, with trans_a, [K,M] (lda >= M).
 *   op(B) is [K,N]: B is stored [K,N] (ldb >= N) or, with trans_b, [N,K] (ldb >= K).
 *   ldc >= N. beta == 0 means C is not read (NaN in C does not propagate).
 * M, N or K may be 0 (K == 0 scales C by beta). float32 and float64. */
#ifndef GMPNN_GEMM_H
#define GMPNN_GEMM_H
#include "gmpnn/common.h"
#ifdef __cplusplus
extern "C" {
#endif

gmpnn_status gmpnn_cpu_gemm(gmpnn_dtype dt, void* C, const void* A, const void* B, int trans_a,
                            int trans_b, int64_t M, int64_t N, int64_t K, int64_t lda,
                            int64_t ldb, int64_t ldc, double alpha, double beta);
gmpnn_status gmpnn_cuda_gemm(gmpnn_dtype dt, void* C, const void* A, const void* B, int trans_a,
                             int trans_b, int64_t M, int64_t N, int64_t K, int64_t lda,
                             int64_t ldb, int64_t ldc, double alpha, double beta);

/* Straightforward triple loop (double accumulation), the reference the tests compare with. */
gmpnn_status gmpnn_cpu_gemm_reference(gmpnn_dtype dt, void* C, const void* A, const void* B,
                                      int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                                      int64_t lda, int64_t ldb, int64_t ldc, double alpha,
                                      double beta);

/* Which CPU microkernel gemm runs on this machine: "avx512", "avx2" or "scalar". */
const char* gmpnn_cpu_gemm_isa(void);

#ifdef __cplusplus
}
#endif
#endif
