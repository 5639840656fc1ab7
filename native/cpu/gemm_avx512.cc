// AVX-512 microkernels of the CPU GEMM (see gemm.cc for the blocking scheme and the contract).
// This file alone is compiled with -mavx512f/dq/bw/vl; gemm.cc calls it only when
// __builtin_cpu_supports("avx512f"), so nothing here may run (or be inlined) elsewhere.
//
//   f32: 12 x 32 tile = 12 rows x 2 zmm  -> 24 accumulators + 2 B vectors + 1 broadcast (of 32)
//   f64: 12 x 16 tile = 12 rows x 2 zmm  -> same register budget with 8 doubles per zmm
// Two B vectors per k keep 24 independent FMA chains in flight, more than the 2 FMA ports x
// 4-cycle latency needs. Written with GCC vector extensions, like the AVX2 kernel in gemm.cc:
// `acc += a * b` on 64-byte vectors becomes vfmadd231ps/pd with an embedded broadcast.
#include <cstdint>
#include <cstring>

namespace gmpnn_cpu {
namespace gemm_avx512 {
namespace {

template <typename T, int W>
struct Vec {
  typedef T type __attribute__((vector_size(sizeof(T) * W)));
};

// Same code as ukr_vec in gemm.cc, whose comment gives the contract (kept in step by hand; one
// copy per ISA because each is compiled with its own target flags). AM: how A is read.
enum AMode { kAPacked = 0, kARows = 1, kACols = 2 };

template <typename T, int MR, int NV, int VL, int AM>
void ukr_vec(int64_t kc, const T* __restrict A, int64_t lda, const T* __restrict B, T* C,
             int64_t ldc, T alpha, T beta, int m, int n) {
  typedef typename Vec<T, VL>::type V;
  constexpr int NR = NV * VL;
  for (int i = 0; i < MR && i < m; ++i) {
    __builtin_prefetch(C + i * ldc, 1);
    __builtin_prefetch(C + i * ldc + NR - 1, 1);
  }
  V acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NV; ++j) acc[i][j] = V{};
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    V b[NV];
    for (int j = 0; j < NV; ++j) b[j] = *(const V*)(B + j * VL);
    for (int i = 0; i < MR; ++i) {
      const T a = AM == kAPacked || AM == kACols ? A[i] : A[i * lda];
      for (int j = 0; j < NV; ++j) acc[i][j] += a * b[j];
    }
    A += AM == kAPacked ? MR : AM == kARows ? 1 : lda;
    B += NR;
  }
  if (m == MR && n == NR) {
    for (int i = 0; i < MR; ++i) {
      T* c = C + i * ldc;
      for (int j = 0; j < NV; ++j) {
        V r = alpha * acc[i][j];
        if (beta != T(0)) {
          V cv;
          std::memcpy(&cv, c + j * VL, sizeof(V));
          r += beta * cv;
        }
        std::memcpy(c + j * VL, &r, sizeof(V));
      }
    }
    return;
  }
  alignas(64) T tile[MR * NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NV; ++j) *(V*)(tile + i * NR + j * VL) = acc[i][j];
  for (int i = 0; i < m; ++i) {
    T* c = C + i * ldc;
    for (int j = 0; j < n; ++j)
      c[j] = beta == T(0) ? alpha * tile[i * NR + j] : alpha * tile[i * NR + j] + beta * c[j];
  }
}

}  // namespace

// Tile shapes must match kMrF32/kNrF32/kMrF64/kNrF64 declared in gemm.cc. Index = A mode.
extern void (*const ukr_f32[3])(int64_t, const float*, int64_t, const float*, float*, int64_t,
                                float, float, int, int);
extern void (*const ukr_f64[3])(int64_t, const double*, int64_t, const double*, double*, int64_t,
                                double, double, int, int);
void (*const ukr_f32[3])(int64_t, const float*, int64_t, const float*, float*, int64_t, float,
                         float, int, int) = {ukr_vec<float, 12, 2, 16, kAPacked>,
                                             ukr_vec<float, 12, 2, 16, kARows>,
                                             ukr_vec<float, 12, 2, 16, kACols>};
void (*const ukr_f64[3])(int64_t, const double*, int64_t, const double*, double*, int64_t, double,
                         double, int, int) = {ukr_vec<double, 12, 2, 8, kAPacked>,
                                              ukr_vec<double, 12, 2, 8, kARows>,
                                              ukr_vec<double, 12, 2, 8, kACols>};

}  // namespace gemm_avx512
}  // namespace gmpnn_cpu
