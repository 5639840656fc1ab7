// CUDA GEMM (gmpnn/gemm.h), row-major: C[M,N] = alpha · op(A) · op(B) + beta · C, float32 and
// float64, every transpose combination, arbitrary lda/ldb/ldc, beta == 0 never reads C.
//
// Algorithm: classic shared-memory tiling with a 2-D register micro-tile (SGEMM_CUDA "2D
// blocktiling"). A block of 256 threads (16 x 16) owns a BM x BN tile of C; each K step stages a
// BM x BK slab of op(A) and a BK x BN slab of op(B) in shared memory (stored k-major: As[k][m],
// Bs[k][n]) and every thread accumulates a TM x TN micro-tile in registers. A thread owns rows
// ty + 16·i and columns tx + 16·j (strided, not blocked), so shared-memory reads of B are
// conflict-free across a warp, A reads are broadcasts, and the C stores are coalesced.
// Global loads are coalesced along whichever axis is contiguous in memory for the given transpose
// flag; out-of-range elements (edges, K tail) are staged as zeros, so M, N, K need not be
// multiples of the tile. Bad sizes / leading dimensions are GMPNN_E_ARG, as on the CPU.
// Accumulation is in the input precision (fma), as in cuBLAS.
//
// Configurations (template <T, BM, BN, BK, TM, TN>):
//   float32, M >= 128 and N >= 128:  128 x 128 x 8, 8 x 8 per thread
//   otherwise (and all float64):      64 x  64 x 16, 4 x 4 per thread
// Grid: (ceil(N / BN), min(ceil(M / BM), 65535)), with a stride loop over row tiles.
#include "common.cuh"
#include "gmpnn/gemm.h"

namespace {

using namespace gmpnn_cuda;

template <typename T, int BM, int BN, int BK, int TM, int TN>
__global__ void __launch_bounds__(256)
    gemm_tiled_kernel(T* __restrict__ C, const T* __restrict__ A, const T* __restrict__ B,
                      int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, int64_t lda,
                      int64_t ldb, int64_t ldc, T alpha, T beta, int read_c) {
  static_assert(BM == 16 * TM && BN == 16 * TN, "256 threads = 16 x 16 micro-tiles");
  static_assert((BM * BK) % 256 == 0 && (BN * BK) % 256 == 0, "slabs split evenly over 256");
  __shared__ T As[BK][BM + 1];
  __shared__ T Bs[BK][BN + 1];
  const int tid = threadIdx.x;
  const int tx = tid % 16, ty = tid / 16;
  const int64_t n0 = (int64_t)blockIdx.x * BN;

  for (int64_t m0 = (int64_t)blockIdx.y * BM; m0 < M; m0 += (int64_t)gridDim.y * BM) {
    T acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TN; ++j) acc[i][j] = T(0);

    for (int64_t k0 = 0; k0 < K; k0 += BK) {
      // Stage op(A)[m0 : m0+BM, k0 : k0+BK].
#pragma unroll
      for (int q = 0; q < (BM * BK) / 256; ++q) {
        int idx = tid + 256 * q;
        int mm, kk;
        if (trans_a) {  // A stored [K, M]: contiguous along m
          mm = idx % BM;
          kk = idx / BM;
        } else {  // A stored [M, K]: contiguous along k
          kk = idx % BK;
          mm = idx / BK;
        }
        int64_t gm = m0 + mm, gk = k0 + kk;
        T v = T(0);
        if (gm < M && gk < K) v = trans_a ? A[gk * lda + gm] : A[gm * lda + gk];
        As[kk][mm] = v;
      }
      // Stage op(B)[k0 : k0+BK, n0 : n0+BN].
#pragma unroll
      for (int q = 0; q < (BN * BK) / 256; ++q) {
        int idx = tid + 256 * q;
        int nn, kk;
        if (trans_b) {  // B stored [N, K]: contiguous along k
          kk = idx % BK;
          nn = idx / BK;
        } else {  // B stored [K, N]: contiguous along n
          nn = idx % BN;
          kk = idx / BN;
        }
        int64_t gn = n0 + nn, gk = k0 + kk;
        T v = T(0);
        if (gn < N && gk < K) v = trans_b ? B[gn * ldb + gk] : B[gk * ldb + gn];
        Bs[kk][nn] = v;
      }
      __syncthreads();
#pragma unroll
      for (int k = 0; k < BK; ++k) {
        T a[TM], b[TN];
#pragma unroll
        for (int i = 0; i < TM; ++i) a[i] = As[k][ty + 16 * i];
#pragma unroll
        for (int j = 0; j < TN; ++j) b[j] = Bs[k][tx + 16 * j];
#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
          for (int j = 0; j < TN; ++j) acc[i][j] = fma(a[i], b[j], acc[i][j]);
      }
      __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < TM; ++i) {
      int64_t row = m0 + ty + 16 * i;
      if (row >= M) continue;
#pragma unroll
      for (int j = 0; j < TN; ++j) {
        int64_t col = n0 + tx + 16 * j;
        if (col >= N) continue;
        T* c = C + row * ldc + col;
        T v = alpha * acc[i][j];
        if (read_c) v = fma(beta, *c, v);
        *c = v;
      }
    }
  }
}

template <typename T, int BM, int BN, int BK, int TM, int TN>
void launch_gemm(T* C, const T* A, const T* B, int trans_a, int trans_b, int64_t M, int64_t N,
                 int64_t K, int64_t lda, int64_t ldb, int64_t ldc, double alpha, double beta,
                 cudaStream_t stream) {
  int64_t gy = (M + BM - 1) / BM;
  dim3 grid((unsigned)((N + BN - 1) / BN), (unsigned)(gy > 65535 ? 65535 : gy));
  gemm_tiled_kernel<T, BM, BN, BK, TM, TN><<<grid, 256, 0, stream>>>(
      C, A, B, trans_a, trans_b, M, N, K, lda, ldb, ldc, (T)alpha, (T)beta, beta != 0.0);
}

template <typename T>
void gemm_dispatch(T* C, const T* A, const T* B, int trans_a, int trans_b, int64_t M, int64_t N,
                   int64_t K, int64_t lda, int64_t ldb, int64_t ldc, double alpha, double beta,
                   cudaStream_t stream) {
  if (sizeof(T) == 4 && M >= 128 && N >= 128)
    launch_gemm<T, 128, 128, 8, 8, 8>(C, A, B, trans_a, trans_b, M, N, K, lda, ldb, ldc, alpha,
                                      beta, stream);
  else
    launch_gemm<T, 64, 64, 16, 4, 4>(C, A, B, trans_a, trans_b, M, N, K, lda, ldb, ldc, alpha,
                                     beta, stream);
}

}  // namespace

extern "C" gmpnn_status gmpnn_cuda_gemm(gmpnn_dtype dt, void* C, const void* A, const void* B,
                                        int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                                        int64_t lda, int64_t ldb, int64_t ldc, double alpha,
                                        double beta) {
  const char* name = "gmpnn_cuda_gemm";
  GMPNN_CUDA_REQUIRE(M >= 0 && N >= 0 && K >= 0, GMPNN_E_ARG,
                     "%s: negative size M=%lld N=%lld K=%lld", name, (long long)M, (long long)N,
                     (long long)K);
  if (M == 0 || N == 0) return GMPNN_OK;
  GMPNN_CUDA_REQUIRE(ldc >= N, GMPNN_E_ARG, "%s: ldc=%lld < N=%lld", name, (long long)ldc,
                     (long long)N);
  if (K > 0) {
    int64_t need_a = trans_a ? M : K, need_b = trans_b ? K : N;
    GMPNN_CUDA_REQUIRE(lda >= need_a, GMPNN_E_ARG, "%s: lda=%lld < %lld (trans_a=%d)", name,
                       (long long)lda, (long long)need_a, trans_a);
    GMPNN_CUDA_REQUIRE(ldb >= need_b, GMPNN_E_ARG, "%s: ldb=%lld < %lld (trans_b=%d)", name,
                       (long long)ldb, (long long)need_b, trans_b);
    GMPNN_CUDA_REQUIRE(A && B, GMPNN_E_ARG, "%s: NULL A or B", name);
  }
  GMPNN_CUDA_REQUIRE(C, GMPNN_E_ARG, "%s: NULL C", name);
  GMPNN_CUDA_REQUIRE((N + 63) / 64 <= 0x7fffffff, GMPNN_E_SHAPE, "%s: N=%lld too large", name,
                     (long long)N);
  GMPNN_CUDA_STREAM(name);
  GMPNN_CUDA_DISPATCH(dt, name,
                      gemm_dispatch<T>((T*)C, (const T*)A, (const T*)B, trans_a != 0,
                                       trans_b != 0, M, N, K, lda, ldb, ldc, alpha, beta,
                                       stream));
  GMPNN_CUDA_LAUNCHED(name);
  return GMPNN_OK;
}
