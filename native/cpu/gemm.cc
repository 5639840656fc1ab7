// CPU GEMM (gmpnn/gemm.h): row-major C[M,N] = alpha·op(A)[M,K]·op(B)[K,N] + beta·C, float32 and
// float64, plus the triple-loop reference the tests compare with.
//
// Scheme (GotoBLAS / BLIS): the five loops around a register-tile microkernel.
//
//   for jc in N step NC            B block  [KC x NC] packed once, shared by all threads (L3)
//     for pc in K step KC
//       pack B[pc:pc+KC, jc:jc+NC] into NR-wide micro-panels    (threads split the panels)
//       barrier
//       for ic in row chunks taken from a counter (<= MC rows)   A block [MC x KC] (L2)
//         pack A[ic:ic+MC, pc:pc+KC] into MR-tall micro-panels  (private to the thread)
//         for jr in this thread's NR panels                      B micro-panel [KC x NR] (L1)
//           for ir in MC step MR
//             microkernel: MR x NR tile of C += A micro-panel · B micro-panel
//       barrier                                                  (B buffer is reused next)
//
// Packing copies op(A) / op(B) into contiguous, 64-byte aligned, zero-padded panels, so the
// microkernel never sees transposes, leading dimensions or edges; only its store of a partial
// tile is special. Exception: when a thread's share of N is at most kMaxPanelsInPlaceA NR panels
// (the skinny MLP shapes, e.g. dY·W with N = 13, and convolutions with C_out <= 128), packing A
// costs more than it saves: the microkernel then broadcasts from A in place.
// alpha is applied when the tile is stored; beta only on the first KC block (later blocks
// accumulate with beta = 1), and beta == 0 never reads C.
//
// Before all that, products with one tiny dimension (K <= 16, N <= 4 or M <= 4: the UCI MLP
// layers) take the "small-dimension paths" below: streaming forms without packing or blocking,
// which also carry the dense layer's fused epilogue (gemm_internal.h, gmp_dense_forward).
//
// Threads split C into tn column groups of B panels (tn = 1 unless M has too few MR tiles, as in
// the skinny MLP shapes); within a group the rows go out in chunks from a shared counter. Small problems stay on the calling thread: waking the OpenMP
// team costs more than a 1024x100x13 layer takes.
//
// Microkernels (run-time dispatch, see select_isa):
//   isa     tile (MR x NR)         MC / KC / NC
//   avx512  f32 12x32, f64 12x16   144/192/4096, 96/192/2048  (gemm_avx512.cc, -mavx512f)
//   avx2    f32  6x16, f64  6x8     96/384/4080, 96/256/2048  (this file, -march=x86-64-v3:
//                                   12 ymm accumulators + 2 B vectors + 1 broadcast of A)
//   scalar  f32/f64 4x8            128/256/2048, 96/256/2048  (plain C++, portable fallback)
// AVX2 blocking was tuned on the 2-core AMD EPYC (Zen 4, AVX-512 masked by the hypervisor) of
// the dev machine; the AVX-512 numbers follow the same cache budget but are untuned here.
// The vector kernels are written with GCC vector extensions: `acc += a * b` on vectors becomes a
// broadcast FMA (fp-contract=fast is GCC's default in GNU C++ mode, which CMake selects; with
// strict -std=c++17 the code stays correct but loses the fusion), and the same template is used
// for every width. GMPNN_GEMM_ISA=avx2|scalar forces a lower path.
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cpu_util.h"
#include "gmpnn/gemm.h"
#include "gemm_internal.h"

// ---------------------------------------------------------------- AVX-512 kernels (other TU)
namespace gmpnn_cpu {
namespace gemm_avx512 {
// Defined in gemm_avx512.cc; same contract as UkrFn below. Index = A mode (packed, rows, cols).
extern void (*const ukr_f32[3])(int64_t kc, const float* A, int64_t lda, const float* B, float* C,
                                int64_t ldc, float alpha, float beta, int m, int n);
extern void (*const ukr_f64[3])(int64_t kc, const double* A, int64_t lda, const double* B,
                                double* C, int64_t ldc, double alpha, double beta, int m, int n);
constexpr int kMrF32 = 12, kNrF32 = 32, kMrF64 = 12, kNrF64 = 16;
}  // namespace gemm_avx512
}  // namespace gmpnn_cpu

namespace {
using gmpnn_cpu::FtzScope;
#if defined(__AVX2__)
using gmpnn_cpu::transpose4;
using gmpnn_cpu::transpose8;
#endif

// ---------------------------------------------------------------- microkernels
// Contract: B is a kc x NR micro-panel (NR values per k), 64-byte aligned and zero-padded. A is
// MR x kc, either packed (AM = kAPacked: MR values per k, aligned, zero-padded) or read in place
// from op(A) (kARows: A[i*lda + k], A stored [M,K]; kACols: A[k*lda + i], stored [K,M]); in place
// it must have all MR rows. Writes the top-left m x n corner (m <= MR, n <= NR) of
// C = alpha·(A·B) + beta·C; beta == 0 does not read C.
enum AMode { kAPacked = 0, kARows = 1, kACols = 2 };
template <typename T>
using UkrFn = void (*)(int64_t kc, const T* A, int64_t lda, const T* B, T* C, int64_t ldc, T alpha,
                       T beta, int m, int n);

template <typename T, int W>
struct Vec {
  typedef T type __attribute__((vector_size(sizeof(T) * W)));
};

// Register-tiled microkernel: MR rows x NV vectors of VL lanes. The accumulators are a constant-
// size array, fully unrolled by the compiler into MR·NV registers.
template <typename T, int MR, int NV, int VL, int AM>
void ukr_vec(int64_t kc, const T* __restrict A, int64_t lda, const T* __restrict B, T* C,
             int64_t ldc, T alpha, T beta, int m, int n) {
  typedef typename Vec<T, VL>::type V;
  constexpr int NR = NV * VL;
  // Warm the cache lines of the C tile while the k loop runs.
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
          std::memcpy(&cv, c + j * VL, sizeof(V));  // C rows are not aligned
          r += beta * cv;
        }
        std::memcpy(c + j * VL, &r, sizeof(V));
      }
    }
    return;
  }
  // Partial tile (edge of C): spill the accumulators and store element by element.
  alignas(64) T tile[MR * NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NV; ++j) *(V*)(tile + i * NR + j * VL) = acc[i][j];
  for (int i = 0; i < m; ++i) {
    T* c = C + i * ldc;
    for (int j = 0; j < n; ++j)
      c[j] = beta == T(0) ? alpha * tile[i * NR + j] : alpha * tile[i * NR + j] + beta * c[j];
  }
}

// Portable fallback: plain loops over a small tile (the compiler may still vectorize them).
template <typename T, int MR, int NR, int AM>
void ukr_scalar(int64_t kc, const T* __restrict A, int64_t lda, const T* __restrict B, T* C,
                int64_t ldc, T alpha, T beta, int m, int n) {
  T acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int i = 0; i < MR; ++i) {
      const T a = AM == kAPacked || AM == kACols ? A[i] : A[i * lda];
      for (int j = 0; j < NR; ++j) acc[i][j] += a * B[j];
    }
    A += AM == kAPacked ? MR : AM == kARows ? 1 : lda;
    B += NR;
  }
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j)
      C[i * ldc + j] =
          beta == T(0) ? alpha * acc[i][j] : alpha * acc[i][j] + beta * C[i * ldc + j];
}

// ---------------------------------------------------------------- ISA table
enum Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };
const char* const kIsaName[] = {"scalar", "avx2", "avx512"};

// One microkernel with its blocking. MC is a multiple of MR, NC of NR. KC keeps the B micro-panel
// (KC·NR) within half of the 32 KiB L1; MC·KC (the A block) sits in L2; KC·NC in L3.
template <typename T>
struct Kernel {
  int mr, nr;
  UkrFn<T> fn[3];  // indexed by AMode
  int64_t mc, kc, nc;
};

#define GMPNN_UKR3(tmpl, ...) \
  { tmpl<__VA_ARGS__, kAPacked>, tmpl<__VA_ARGS__, kARows>, tmpl<__VA_ARGS__, kACols> }

template <typename T>
Kernel<T> kernel_for(Isa isa);

template <>
Kernel<float> kernel_for<float>(Isa isa) {
  namespace k5 = gmpnn_cpu::gemm_avx512;
  switch (isa) {
#if defined(__x86_64__)
    case kAvx512:
      return {k5::kMrF32, k5::kNrF32, {k5::ukr_f32[0], k5::ukr_f32[1], k5::ukr_f32[2]}, 144, 192,
              4096};
#endif
    case kAvx2: return {6, 16, GMPNN_UKR3(ukr_vec, float, 6, 2, 8), 96, 384, 4080};
    default: return {4, 8, GMPNN_UKR3(ukr_scalar, float, 4, 8), 128, 256, 2048};
  }
}
template <>
Kernel<double> kernel_for<double>(Isa isa) {
  namespace k5 = gmpnn_cpu::gemm_avx512;
  switch (isa) {
#if defined(__x86_64__)
    case kAvx512:
      return {k5::kMrF64, k5::kNrF64, {k5::ukr_f64[0], k5::ukr_f64[1], k5::ukr_f64[2]}, 96, 192,
              2048};
#endif
    case kAvx2: return {6, 8, GMPNN_UKR3(ukr_vec, double, 6, 2, 4), 96, 256, 2048};
    default: return {4, 8, GMPNN_UKR3(ukr_scalar, double, 4, 8), 96, 256, 2048};
  }
}

bool cpu_has(Isa isa) {
#if defined(GMPNN_GEMM_AVX512_LOGIC_CHECK)
  // Verification build only: gemm_avx512.cc compiled WITHOUT -mavx512f (its vector-extension
  // code then lowers to AVX2), so the 12x32 / 12x16 kernels can be tested on a CPU lacking
  // AVX-512. Never defined by CMake.
  if (isa == kAvx512) return true;
#endif
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (isa == kAvx512) return __builtin_cpu_supports("avx512f");
  if (isa == kAvx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return isa == kScalar;
}

// Best path the CPU supports, lowered by GMPNN_GEMM_ISA=avx2|scalar (never raised above it). The
// GmP float32 direction kernels follow it (avx512_selected).
Isa select_isa() {
  Isa best = cpu_has(kAvx512) ? kAvx512 : cpu_has(kAvx2) ? kAvx2 : kScalar;
  if (const char* env = std::getenv("GMPNN_GEMM_ISA")) {
    for (int i = 0; i < 3; ++i)
      if (std::strcmp(env, kIsaName[i]) == 0 && i < (int)best) best = (Isa)i;
  }
  return best;
}

// Chosen once (static init is thread-safe); the testing hooks below may change it.
Isa& current_isa() {
  static Isa isa = select_isa();
  return isa;
}
// Set by the testing hook when it forces "avx512": short AVX-512 kernels run on any CPU then.
bool g_avx512_short_forced = false;
// Testing override of MC/KC/NC (0 = the kernel's default), to reach every block edge with small
// matrices.
int64_t g_block_override[3] = {0, 0, 0};
// Testing switch for the small-dimension paths (on by default), so the tests reach both the
// streaming forms and the packed path on the same skinny shapes.
bool g_small_enabled = true;

// ---------------------------------------------------------------- scratch buffers
// Packed panels live in buffers of the calling thread that only grow: after the first call a
// GEMM allocates nothing (a fresh multi-MB malloc would page-fault on every call). Per calling
// thread, so concurrent GEMMs from different threads (Node workers) do not share them.
struct Scratch {
  void* p = nullptr;
  size_t bytes = 0;
  ~Scratch() { std::free(p); }
  void* get(size_t n) {
    if (n > bytes) {
      std::free(p);
      n = (n + 4095) & ~size_t(4095);
      p = std::aligned_alloc(64, n);
      bytes = p ? n : 0;
    }
    return p;
  }
};
thread_local Scratch t_pack_a, t_pack_b;

// ---------------------------------------------------------------- packing
// op(A)(i, k) and op(B)(k, j) for the stored layouts; or, for A with `conv`, the im2col matrix
// of an image (pixels × fan-in), which pack_a gathers from the image.
template <typename T>
struct Operand {
  const T* p;
  int64_t ld;
  bool trans;
  const gmpnn_cpu::Im2colView<T>* conv = nullptr;
};

// Values of im2col row `i` (pixel v.r0 + i), columns [kb, ke), into dst[0], dst[stride], ...
// A kernel row (kh) is one span of KW·C_in values, contiguous in the image where in bounds.
template <typename T>
void im2col_segment(T* dst, int64_t stride, const gmpnn_cpu::Im2colView<T>& v, int64_t i,
                    int64_t kb, int64_t ke) {
  const gmpnn_conv2d_dims& d = *v.d;
  const int64_t C = d.C_in, rowlen = d.KW * C, P = d.OH * d.OW;
  const int64_t r = v.r0 + i, n = r / P, p = r - n * P, oh = p / d.OW, ow = p - oh * d.OW;
  const int64_t ih0 = oh * d.stride_h - d.pad_h, iw0 = ow * d.stride_w - d.pad_w;
  const int64_t lo = std::max<int64_t>(0, -iw0) * C;                   // first valid span index
  const int64_t hi = std::max(lo, std::min<int64_t>(d.KW, d.W - iw0) * C);  // one past the last
  for (int64_t k = kb; k < ke;) {
    const int64_t kh = k / rowlen, s = k - kh * rowlen, e = std::min(rowlen, s + (ke - k));
    const int64_t ih = ih0 + kh;
    T* o = dst + (k - kb) * stride;
    if (ih < 0 || ih >= d.H) {
      for (int64_t t = s; t < e; ++t, o += stride) *o = T(0);
    } else {
      const T* src = v.img + ((n * d.H + ih) * d.W + iw0) * C;  // src[t] for t in [lo, hi)
      const int64_t a = std::min(std::max(s, lo), e), b = std::max(a, std::min(e, hi));
      int64_t t = s;
      for (; t < a; ++t, o += stride) *o = T(0);
      for (; t < b; ++t, o += stride) *o = src[t];
      for (; t < e; ++t, o += stride) *o = T(0);
    }
    k += e - s;
  }
}

// n contiguous values, n one of the tile widths (MR or NR, a run-time value here): a memcpy of
// a constant size is inlined as a few vector moves, while a run-time size is a libc call per
// k row (measured: 20 % of a VGG-6 filter gradient in __memmove for the 64-byte rows of B).
template <typename T>
inline void copy_run(T* d, const T* s, int n) {
  switch (n) {
    case 4: std::memcpy(d, s, sizeof(T) * 4); return;
    case 6: std::memcpy(d, s, sizeof(T) * 6); return;
    case 8: std::memcpy(d, s, sizeof(T) * 8); return;
    case 12: std::memcpy(d, s, sizeof(T) * 12); return;
    case 16: std::memcpy(d, s, sizeof(T) * 16); return;
    case 32: std::memcpy(d, s, sizeof(T) * 32); return;
    default: std::memcpy(d, s, sizeof(T) * (size_t)n);
  }
}

// A block rows [i0, i0+mc) x cols [k0, k0+kc) -> micro-panels of MR rows, each stored k-major
// (MR contiguous values per k), rows beyond mc zero-filled.
template <typename T>
void pack_a(T* dst, const Operand<T>& a, int64_t i0, int64_t mc, int64_t k0, int64_t kc, int MR) {
  if (a.conv) {  // rows of the im2col matrix, gathered from the image
    for (int64_t ip = 0; ip < mc; ip += MR, dst += kc * MR) {
      const int rows = (int)std::min<int64_t>(MR, mc - ip);
      for (int i = 0; i < MR; ++i) {
        if (i < rows)
          im2col_segment(dst + i, MR, *a.conv, i0 + ip + i, k0, k0 + kc);
        else
          for (int64_t k = 0; k < kc; ++k) dst[k * MR + i] = T(0);
      }
    }
    return;
  }
  for (int64_t ip = 0; ip < mc; ip += MR) {
    const int rows = (int)std::min<int64_t>(MR, mc - ip);
    if (a.trans) {
      // Stored [K, M]: the MR values of one k are contiguous.
      const T* src = a.p + k0 * a.ld + (i0 + ip);
      if (rows == MR) {
        for (int64_t k = 0; k < kc; ++k, dst += MR) copy_run(dst, src + k * a.ld, MR);
      } else {
        for (int64_t k = 0; k < kc; ++k, dst += MR) {
          const T* s = src + k * a.ld;
          int i = 0;
          for (; i < rows; ++i) dst[i] = s[i];
          for (; i < MR; ++i) dst[i] = T(0);
        }
      }
    } else {
      // Stored [M, K]: walk each of the MR rows along k (unit stride reads, strided writes).
      for (int i = 0; i < MR; ++i) {
        T* d = dst + i;
        if (i < rows) {
          const T* s = a.p + (i0 + ip + i) * a.ld + k0;
          for (int64_t k = 0; k < kc; ++k) d[k * MR] = s[k];
        } else {
          for (int64_t k = 0; k < kc; ++k) d[k * MR] = T(0);
        }
      }
      dst += kc * MR;
    }
  }
}

// B panels [p0, p1) (of NR columns, counted from column j0) x rows [k0, k0+kc): each panel is
// stored k-major (NR contiguous values per k), columns beyond n zero-filled.
template <typename T>
void pack_b(T* dst, const Operand<T>& b, int64_t j0, int64_t n, int64_t p0, int64_t p1, int64_t k0,
            int64_t kc, int NR) {
  for (int64_t p = p0; p < p1; ++p) {
    T* d = dst + p * kc * NR;
    const int64_t jp = j0 + p * NR;
    const int cols = (int)std::min<int64_t>(NR, n - p * NR);
    if (!b.trans) {
      // Stored [K, N]: the NR values of one k are contiguous.
      const T* src = b.p + k0 * b.ld + jp;
      for (int64_t k = 0; k < kc; ++k, d += NR) {
        const T* s = src + k * b.ld;
        if (cols == NR) {
          copy_run(d, s, NR);
        } else {
          int j = 0;
          for (; j < cols; ++j) d[j] = s[j];
          for (; j < NR; ++j) d[j] = T(0);
        }
      }
    } else {
      // Stored [N, K]: walk each of the NR columns along k.
      for (int j = 0; j < NR; ++j) {
        if (j < cols) {
          const T* s = b.p + (jp + j) * b.ld + k0;
          for (int64_t k = 0; k < kc; ++k) d[k * NR + j] = s[k];
        } else {
          for (int64_t k = 0; k < kc; ++k) d[k * NR + j] = T(0);
        }
      }
    }
  }
}

// The dense layer's epilogue applied where a strip or tile of C is finished (gmp_dense_forward):
// y = r·act(z), z = acc + λ, into Y (the same leading dimension as C). The rows form's C is Z (z
// stored there when write_z); the blocked GEMM's C is Y itself (write_z false, in place). alpha = 1,
// beta = 0 are implied, so the values equal gemm + gmp_epilogue_forward exactly.
template <typename T>
struct DenseEpilogue {
  T* Y;
  const T* lambda;
  const T* r;    // NULL: r = 1
  int act;       // 0 identity, 1 ReLU
  bool write_z;  // false: Y only (the backward reads Y; Z is left as it was)
};

// ---------------------------------------------------------------- driver
template <typename T>
struct Problem {
  Operand<T> a, b;
  T* c;
  int64_t M, N, K, ldc;
  T alpha, beta;
};

// A thread whose share of a B block is at most this many NR panels reads A in place (see below).
// Its MR rows are then re-read once per panel from L1/L2, as a packed panel would be, without
// the packing pass: at N = 64 and 128 (the VGG-6 convolutions' C_out; K = 576, 1152) packing A
// held the AVX2 f32 kernel below OpenBLAS (0.84–0.96x) and read in place it is 1.07–1.20x
// (`gemm_bench --only conv`, bench/RESULTS.md).
constexpr int64_t kMaxPanelsInPlaceA = 8;

// Row strides that are a multiple of 4 KiB put the MR rows of an in-place A tile in the same
// L1 sets; such A is packed whatever N is.
inline bool in_place_stride_ok(int64_t ld, size_t elem) { return (ld * (int64_t)elem) % 4096 != 0; }

// The dense epilogue on one finished m x n tile of Y (blocked path; defined with the vector
// helpers below).
template <typename T>
void dense_epilogue_tile(const DenseEpilogue<T>& e, T* y, int64_t ldy, int m, int n, int64_t j0);

// Work of thread `tid` in a tm x tn grid. Every thread runs the same jc/pc loops so the barriers
// match; `bpack` is the shared packed B block, `apack` this thread's A block buffer.
template <typename T>
void gemm_thread(const Kernel<T>& kr, const Problem<T>& pb, T* bpack, T* apack, int tid,
                 int nthreads, int tm, int tn, int64_t* next_item, const DenseEpilogue<T>* epi) {
  const int MR = kr.mr, NR = kr.nr;
  const int tj = tid % tn;
  // Rows are handed out in chunks of at most MC rows, about four per thread, from a counter per
  // (jc, pc) step and column group: a thread slowed down by another process on its core (a
  // shared machine, the Node main thread) then does fewer chunks instead of holding up the
  // barrier. Which thread computes a tile does not change its arithmetic (deterministic).
  const int64_t rows_per_item = std::min(
      kr.mc, std::max<int64_t>(1, (pb.M + 4 * tm * MR - 1) / (4 * tm * MR)) * MR);
  const int64_t nitems = (pb.M + rows_per_item - 1) / rows_per_item;
  int64_t step = 0;

  for (int64_t jc = 0; jc < pb.N; jc += kr.nc) {
    const int64_t nc = std::min(kr.nc, pb.N - jc);
    const int64_t npanels = (nc + NR - 1) / NR;
    // This thread's share of the B panels (column split).
    const int64_t q0 = npanels * tj / tn, q1 = npanels * (tj + 1) / tn;
    for (int64_t pc = 0; pc < pb.K; pc += kr.kc) {
      const int64_t kc = std::min(kr.kc, pb.K - pc);
      // Everyone packs an equal share of the panels; all of them are needed by some thread.
      pack_b(bpack, pb.b, jc, nc, npanels * tid / nthreads, npanels * (tid + 1) / nthreads, pc,
             kc, NR);
      if (nthreads > 1) {
#pragma omp barrier
      }
      const T beta = pc == 0 ? pb.beta : T(1);
      // The epilogue, if any (C is Y), on each tile as its last K block leaves it.
      const DenseEpilogue<T>* tile_epi = pc + kc >= pb.K ? epi : nullptr;
      // Packing A pays for itself only when its panels are reused across several B panels; for
      // the skinny shapes (few columns per thread) the microkernel broadcasts straight from A,
      // and only a partial last row tile is packed (it must be zero-padded).
      const bool in_place = (q1 - q0 <= 2 || (q1 - q0 <= kMaxPanelsInPlaceA &&
                                               in_place_stride_ok(pb.a.ld, sizeof(T)))) &&
                            !pb.a.conv;
      const int amode = !in_place ? kAPacked : pb.a.trans ? kACols : kARows;
      int64_t* counter = next_item + (step++) * tn + tj;
      for (;;) {
        const int64_t item = __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
        if (item >= nitems) break;
        const int64_t ic = item * rows_per_item;
        const int64_t mc = std::min(rows_per_item, pb.M - ic);
        const int64_t full = in_place ? mc / MR * MR : 0;  // rows read in place
        if (mc > full) pack_a(apack + full * kc, pb.a, ic + full, mc - full, pc, kc, MR);
        for (int64_t q = q0; q < q1; ++q) {
          const int n = (int)std::min<int64_t>(NR, nc - q * NR);
          const T* bp = bpack + q * kc * NR;
          T* cq = pb.c + ic * pb.ldc + jc + q * NR;
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int m = (int)std::min<int64_t>(MR, mc - ir);
            if (ir < full) {
              const T* a = pb.a.trans ? pb.a.p + pc * pb.a.ld + (ic + ir)
                                      : pb.a.p + (ic + ir) * pb.a.ld + pc;
              kr.fn[amode](kc, a, pb.a.ld, bp, cq + ir * pb.ldc, pb.ldc, pb.alpha, beta, m, n);
            } else {
              kr.fn[kAPacked](kc, apack + ir * kc, 0, bp, cq + ir * pb.ldc, pb.ldc, pb.alpha, beta,
                              m, n);
            }
            if (tile_epi) dense_epilogue_tile(*tile_epi, cq + ir * pb.ldc, pb.ldc, m, n, jc + q * NR);
          }
        }
      }
      if (nthreads > 1) {
#pragma omp barrier
      }
    }
  }
}

// C = beta·C (K == 0 or alpha == 0); beta == 0 writes zeros without reading C.
template <typename T>
void scale_c(T* C, int64_t M, int64_t N, int64_t ldc, T beta) {
  if (beta == T(1)) return;
  for (int64_t i = 0; i < M; ++i) {
    T* c = C + i * ldc;
    if (beta == T(0))
      std::fill(c, c + N, T(0));
    else
      for (int64_t j = 0; j < N; ++j) c[j] *= beta;
  }
}

// Multiply-adds below which a GEMM stays on the calling thread. One core does a 1024x100x13
// layer (1.3 M) in ~55 µs and 128³ (2 M) in ~60 µs; on this 2-core machine a second thread did
// not make either faster (team wake-up, barriers, and the other core often busy), so only
// clearly larger problems split.
constexpr int64_t kGemmParallelMacs = int64_t(128) * gmpnn_cpu::kParallelGrain;  // 4 M

template <typename T>
gmpnn_status gemm_fast(const Problem<T>& pb, const DenseEpilogue<T>* epi = nullptr) {
  Kernel<T> kr = kernel_for<T>(current_isa());
  if (g_block_override[0]) kr.mc = std::max<int64_t>(1, g_block_override[0] / kr.mr) * kr.mr;
  if (g_block_override[1]) kr.kc = g_block_override[1];
  if (g_block_override[2]) kr.nc = std::max<int64_t>(1, g_block_override[2] / kr.nr) * kr.nr;
  // Shrink the blocks to the problem so small GEMMs pack (and touch) no more than they need.
  kr.kc = std::min(kr.kc, pb.K);
  kr.nc = std::min(kr.nc, (pb.N + kr.nr - 1) / kr.nr * kr.nr);
  kr.mc = std::min(kr.mc, (pb.M + kr.mr - 1) / kr.mr * kr.mr);

  const int64_t mtiles = (pb.M + kr.mr - 1) / kr.mr;
  const int64_t ntiles = (std::min(pb.N, kr.nc) + kr.nr - 1) / kr.nr;
  int nthreads = 1;
  if (!omp_in_parallel() && pb.M * pb.N * pb.K >= kGemmParallelMacs)
    nthreads = (int)std::min<int64_t>(omp_get_max_threads(), mtiles * ntiles);
  // Grid tm x tn: prefer splitting rows (B packed once and shared, A packed once per row); split
  // columns only when M has too few tiles to share out evenly (the batch-transposed shapes).
  int tm = nthreads, tn = 1;
  if (nthreads > 1) {
    double best = 1e300;
    for (int cand = nthreads; cand >= 1; --cand) {
      if (nthreads % cand) continue;
      const int ctn = nthreads / cand;
      // Tiles done by the busiest thread, plus a small penalty for repacking A per column group.
      const double load = (double)((mtiles + cand - 1) / cand) * ((ntiles + ctn - 1) / ctn) *
                          (1.0 + 0.02 * (ctn - 1));
      if (load < best) best = load, tm = cand, tn = ctn;
    }
  }

  // All buffers come from the calling thread's scratch (one A block per thread, 64-byte
  // aligned slices), so an allocation failure is reported here rather than inside the team.
  const int64_t a_stride = (kr.mc * kr.kc + 15) / 16 * 16;
  T* bpack = (T*)t_pack_b.get(sizeof(T) * kr.kc * kr.nc);
  T* apack = (T*)t_pack_a.get(sizeof(T) * a_stride * nthreads);
  if (!bpack || !apack) return gmpnn_set_error(GMPNN_E_OOM, "gemm: cannot allocate packing buffers");

  // One work counter per (jc, pc) step and column group, zeroed before the team starts.
  const int64_t steps = (pb.N + kr.nc - 1) / kr.nc * ((pb.K + kr.kc - 1) / kr.kc);
  std::vector<int64_t> next_item((size_t)(steps * nthreads), 0);
  if (nthreads == 1) {
    FtzScope ftz;
    gemm_thread(kr, pb, bpack, apack, 0, 1, 1, 1, next_item.data(), epi);
  } else {
#pragma omp parallel num_threads(nthreads)
    {
      FtzScope ftz;
      // The team may be smaller than asked (OMP_THREAD_LIMIT, dynamic teams): re-grid if so.
      const int nt = omp_get_num_threads(), tid = omp_get_thread_num();
      gemm_thread(kr, pb, bpack, apack + tid * a_stride, tid, nt, nt == nthreads ? tm : nt,
                  nt == nthreads ? tn : 1, next_item.data(), epi);
    }
  }
  return GMPNN_OK;
}

// ---------------------------------------------------------------- small-dimension paths
// The UCI MLP layers have one tiny dimension: K = 4…16 features (X·Uᵀ), N = 1 output (H·W₂ᵀ),
// M = 1 (dW₂ = dYᵀ·H), N = 4…16 (dU = dZᵀ·X). There the packed path spends more on packing,
// block edges and microkernel calls than on the multiply (1024x100x4 took 49 µs, 17 GFLOP/s).
// Three streaming forms read each operand once and keep a strip of C in registers:
//   rows  C[i, j0:j0+JB] = Σ_k a(i,k)·Brow_k[j0:j0+JB]        op(B) rows contiguous (B, or a
//         packed copy of op(B) when K is small); R rows of C at a time share the B loads
//   cols  Cᵀ[j, i0:i0+IB] = Σ_k b(k,j)·Arow_k[i0:i0+IB]      A stored [K, M] (trans_a), N small
//   dots  C[i, j] = Σ_k x_i[k]·y_j[k]                          contiguous x and y, N small
// Each C element is one sequence of fused multiply-adds in k order per vector lane (dots: a
// fixed lane split then a fixed tree), so results do not depend on threads.
constexpr int64_t kSmallK = 16, kSmallN = 4, kSmallM = 4;

template <typename T>
struct Small {
  static constexpr int VL = 32 / sizeof(T);  // one 256-bit vector
  typedef typename Vec<T, VL>::type V;
  // The same vector at element alignment: plain unaligned loads / stores, no stack round trip.
  typedef T Vu __attribute__((vector_size(32), aligned(sizeof(T))));
  static V load(const T* p) { return (V) * (const Vu*)p; }
  static void store(T* p, V v) { *(Vu*)p = (Vu)v; }
};

// Stores alpha·acc (+ beta·C) into n <= len contiguous elements of C.
template <typename T>
inline void store_strip(T* c, const T* acc, int64_t n, T alpha, T beta) {
  if (beta == T(0))
    for (int64_t j = 0; j < n; ++j) c[j] = alpha * acc[j];
  else
    for (int64_t j = 0; j < n; ++j) c[j] = alpha * acc[j] + beta * c[j];
}

// Partial vectors (the last strip of a row) go through AVX2 masked loads and stores: copying
// them through a stack buffer took the accumulators' address, and GCC then kept them in memory
// (a `rep stos` per strip and store-forwarding stalls: 3-4x slower). Lanes >= n are not touched.
template <typename T>
inline typename Small<T>::V load_part(const T* p, int64_t n) {
  typedef typename Small<T>::V V;
#if defined(__AVX2__)
  if constexpr (sizeof(T) == 4) {
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return (V)_mm256_maskload_ps((const float*)p, m);
  } else {
    const __m256i m = _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
    return (V)_mm256_maskload_pd((const double*)p, m);
  }
#else
  V v = V{};
  for (int64_t l = 0; l < n; ++l) v[l] = p[l];
  return v;
#endif
}
template <typename T>
inline void store_part(T* p, typename Small<T>::V v, int64_t n) {
#if defined(__AVX2__)
  if constexpr (sizeof(T) == 4) {
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    _mm256_maskstore_ps((float*)p, m, (__m256)v);
  } else {
    const __m256i m = _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
    _mm256_maskstore_pd((double*)p, m, (__m256d)v);
  }
#else
  for (int64_t l = 0; l < n; ++l) p[l] = v[l];
#endif
}

// The dense epilogue on one finished m x n tile of Y (the blocked path, DenseEpilogue without
// write_z: the GEMM accumulated into Y, and the tile is still in L1), in place: y = r·act(y + λ),
// with lambda and r at the tile's first column. Column vector by column vector, so that λ and r
// are loaded once per tile; gmp_epilogue_forward's operations, so its values.
template <typename T, bool RELU, bool HAS_R>
void dense_epilogue_tile_impl(T* y, int64_t ldy, int m, int n, const T* lambda, const T* r) {
  typedef typename Small<T>::V V;
  constexpr int VL = Small<T>::VL;
  const V zero = V{};
  for (int j = 0; j < n; j += VL) {
    const int nv = std::min(VL, n - j);
    const V l = nv == VL ? Small<T>::load(lambda + j) : load_part(lambda + j, nv);
    const V rv = !HAS_R ? zero : nv == VL ? Small<T>::load(r + j) : load_part(r + j, nv);
    auto apply = [&](V v) {
      const V z = v + l;
      const V h = RELU ? (z < zero ? zero : z) : z;  // NaN propagates
      return HAS_R ? rv * h : h;
    };
    T* yj = y + j;
    if (nv == VL)
      for (int i = 0; i < m; ++i) Small<T>::store(yj + i * ldy, apply(Small<T>::load(yj + i * ldy)));
    else
      for (int i = 0; i < m; ++i) store_part(yj + i * ldy, apply(load_part(yj + i * ldy, nv)), nv);
  }
}
template <typename T>
void dense_epilogue_tile(const DenseEpilogue<T>& e, T* y, int64_t ldy, int m, int n, int64_t j0) {
  const T* l = e.lambda + j0;
  const T* r = e.r ? e.r + j0 : nullptr;
  if (e.act == 1) {
    if (r) return dense_epilogue_tile_impl<T, true, true>(y, ldy, m, n, l, r);
    return dense_epilogue_tile_impl<T, true, false>(y, ldy, m, n, l, r);
  }
  if (r) return dense_epilogue_tile_impl<T, false, true>(y, ldy, m, n, l, r);
  return dense_epilogue_tile_impl<T, false, false>(y, ldy, m, n, l, r);
}

// The vector v of a strip whose first n values are valid: whole, partial (masked) or empty.
template <typename T>
inline typename Small<T>::V load_lane_vec(const T* p, int64_t n, int v) {
  constexpr int VL = Small<T>::VL;
  const int64_t m = n - (int64_t)v * VL;
  if (m >= VL) return Small<T>::load(p + v * VL);
  if (m <= 0) return typename Small<T>::V{};
  return load_part(p + v * VL, m);
}

// c[v·VL ...] = alpha·x (+ beta·c) for vector v of a strip with n valid values.
template <typename T>
inline void store_lane_vec(T* c, typename Small<T>::V x, int64_t n, int v, T alpha, T beta) {
  typedef typename Small<T>::V V;
  constexpr int VL = Small<T>::VL;
  const int64_t m = n - (int64_t)v * VL;
  if (m <= 0) return;
  V r = alpha * x;
  if (beta != T(0)) r += beta * load_lane_vec(c, n, v);
  if (m >= VL)
    Small<T>::store(c + v * VL, r);
  else
    store_part(c + v * VL, r, m);
}

// One row's strip: z = acc + λ into Z (when write_z), y = r·act(z) into Y (λ, r: the strip's
// vectors, loaded once for all rows of the group; has_r false means r = 1).
template <typename T>
inline void dense_epilogue_store(T* z_row, T* y_row, int64_t n, bool write_z, bool relu, bool has_r,
                                 typename Small<T>::V l0, typename Small<T>::V l1,
                                 typename Small<T>::V r0, typename Small<T>::V r1,
                                 typename Small<T>::V v0, typename Small<T>::V v1) {
  typedef typename Small<T>::V V;
  const V zero = V{};
  const V z0 = v0 + l0, z1 = v1 + l1;
  V h0 = relu ? (z0 > zero ? z0 : zero) : z0, h1 = relu ? (z1 > zero ? z1 : zero) : z1;
  if (has_r) {
    h0 *= r0;
    h1 *= r1;
  }
  constexpr int VL = Small<T>::VL;
  if (n == 2 * VL) {
    if (write_z) {
      Small<T>::store(z_row, z0);
      Small<T>::store(z_row + VL, z1);
    }
    Small<T>::store(y_row, h0);
    Small<T>::store(y_row + VL, h1);
    return;
  }
  if (write_z) {
    store_lane_vec(z_row, z0, n, 0, T(1), T(0));
    store_lane_vec(z_row, z1, n, 1, T(1), T(0));
  }
  store_lane_vec(y_row, h0, n, 0, T(1), T(0));
  store_lane_vec(y_row, h1, n, 1, T(1), T(0));
}

// rows form, K small: rows i0..i0+5 (R = 6) or row i0 (R = 1) of C, all columns; bp = op(B)
// packed by strips of JB = 2·VL columns ([K][JB] blocks, ldp apart) with a zero tail, so every
// strip load is in bounds.
// KC > 0 fixes K at compile time (the k loop unrolls; K is 1…16 here), 0 reads it at run time.
// Everything arrives by value and the accumulators are named variables: with V acc[4][2] GCC
// kept them on the stack (a `rep stos` per strip), and with the Problem by reference it re-read
// alpha / beta after every store (a float store may alias them). callgrind, 1024x128x4: 148
// instructions per 8-vector strip before, 120 after.
struct RowsArgs {
  int64_t si, sk, K, ldp, ldc, N;
};
template <typename T, int R, int KC, bool UNIT_K>
void small_rows_packed(const T* a0, const T* bp, T* c0, T* y0, RowsArgs g, T alpha, T beta,
                       const DenseEpilogue<T>* epi) {
  static_assert(R == 1 || R == 6, "rows form: 1 or 6 rows");
  typedef typename Small<T>::V V;
  constexpr int VL = Small<T>::VL, JB = 2 * VL;
  // UNIT_K: A's k stride is 1 (row-major X), known at compile time, so each of the R rows is one
  // base pointer plus constant offsets. With a run-time k stride GCC hoisted all R·K addresses
  // out of the strip loop and spilled them (a stack load before every broadcast).
  const int64_t K = KC > 0 ? KC : g.K, si = g.si, sk = UNIT_K ? 1 : g.sk, ldp = g.ldp,
                ldc = g.ldc, N = g.N;
  const bool plain = alpha == T(1) && beta == T(0);
  // Row base pointers (UNIT_K): x_r[k] is then base + constant offset. GCC otherwise hoists
  // a0 + r·si + k for every (r, k) out of the strip loop and spills them (a stack load before
  // each broadcast); the empty asm makes the bases opaque per strip so they stay in registers.
  // Six rows: 12 accumulators keep both FMA pipes busy through the FMA latency (with four rows,
  // 8 chains of K dependent FMAs, a strip was latency-bound).
  const T *a1 = a0 + si, *a2 = a0 + 2 * si, *a3 = a0 + 3 * si, *a4 = a0 + 4 * si,
          *a5 = a0 + 5 * si;
  for (int64_t j0 = 0; j0 < N; j0 += JB) {
    if (UNIT_K) asm("" : "+r"(a0), "+r"(a1), "+r"(a2), "+r"(a3), "+r"(a4), "+r"(a5));
    V c00 = V{}, c01 = V{}, c10 = V{}, c11 = V{}, c20 = V{}, c21 = V{}, c30 = V{}, c31 = V{},
      c40 = V{}, c41 = V{}, c50 = V{}, c51 = V{};
    const T* b = bp + j0 / JB * ldp;  // this strip's [K][JB] block
#pragma GCC unroll 16
    for (int64_t k = 0; k < K; ++k) {
      const V b0 = *(const V*)(b + k * JB), b1 = *(const V*)(b + k * JB + VL);  // aligned
      const T* ak = a0 + k * sk;
      const T x0 = ak[0];
      c00 += x0 * b0;
      c01 += x0 * b1;
      if (R == 6) {
        const T x1 = UNIT_K ? a1[k] : ak[si], x2 = UNIT_K ? a2[k] : ak[2 * si],
                x3 = UNIT_K ? a3[k] : ak[3 * si], x4 = UNIT_K ? a4[k] : ak[4 * si],
                x5 = UNIT_K ? a5[k] : ak[5 * si];
        c10 += x1 * b0;
        c11 += x1 * b1;
        c20 += x2 * b0;
        c21 += x2 * b1;
        c30 += x3 * b0;
        c31 += x3 * b1;
        c40 += x4 * b0;
        c41 += x4 * b1;
        c50 += x5 * b0;
        c51 += x5 * b1;
      }
    }
    const int64_t n = std::min<int64_t>(JB, N - j0);
    T* c = c0 + j0;
    if (epi) {  // y0: the same rows of Y
      const bool relu = epi->act == 1, has_r = epi->r != nullptr, wz = epi->write_z;
      const V l0 = load_lane_vec(epi->lambda + j0, n, 0), l1 = load_lane_vec(epi->lambda + j0, n, 1);
      const V r0 = has_r ? load_lane_vec(epi->r + j0, n, 0) : V{};
      const V r1 = has_r ? load_lane_vec(epi->r + j0, n, 1) : V{};
      T* y = y0 + j0;
      dense_epilogue_store<T>(c, y, n, wz, relu, has_r, l0, l1, r0, r1, c00, c01);
      if (R == 6) {
        dense_epilogue_store<T>(c + ldc, y + ldc, n, wz, relu, has_r, l0, l1, r0, r1, c10, c11);
        dense_epilogue_store<T>(c + 2 * ldc, y + 2 * ldc, n, wz, relu, has_r, l0, l1, r0, r1, c20, c21);
        dense_epilogue_store<T>(c + 3 * ldc, y + 3 * ldc, n, wz, relu, has_r, l0, l1, r0, r1, c30, c31);
        dense_epilogue_store<T>(c + 4 * ldc, y + 4 * ldc, n, wz, relu, has_r, l0, l1, r0, r1, c40, c41);
        dense_epilogue_store<T>(c + 5 * ldc, y + 5 * ldc, n, wz, relu, has_r, l0, l1, r0, r1, c50, c51);
      }
      continue;
    }
    if (n == JB && plain) {  // the common case: whole strips, plain stores
      Small<T>::store(c, c00);
      Small<T>::store(c + VL, c01);
      if (R == 6) {
        Small<T>::store(c + ldc, c10);
        Small<T>::store(c + ldc + VL, c11);
        Small<T>::store(c + 2 * ldc, c20);
        Small<T>::store(c + 2 * ldc + VL, c21);
        Small<T>::store(c + 3 * ldc, c30);
        Small<T>::store(c + 3 * ldc + VL, c31);
        Small<T>::store(c + 4 * ldc, c40);
        Small<T>::store(c + 4 * ldc + VL, c41);
        Small<T>::store(c + 5 * ldc, c50);
        Small<T>::store(c + 5 * ldc + VL, c51);
      }
      continue;
    }
    store_lane_vec(c, c00, n, 0, alpha, beta);
    store_lane_vec(c, c01, n, 1, alpha, beta);
    if (R == 6) {
      store_lane_vec(c + ldc, c10, n, 0, alpha, beta);
      store_lane_vec(c + ldc, c11, n, 1, alpha, beta);
      store_lane_vec(c + 2 * ldc, c20, n, 0, alpha, beta);
      store_lane_vec(c + 2 * ldc, c21, n, 1, alpha, beta);
      store_lane_vec(c + 3 * ldc, c30, n, 0, alpha, beta);
      store_lane_vec(c + 3 * ldc, c31, n, 1, alpha, beta);
      store_lane_vec(c + 4 * ldc, c40, n, 0, alpha, beta);
      store_lane_vec(c + 4 * ldc, c41, n, 1, alpha, beta);
      store_lane_vec(c + 5 * ldc, c50, n, 0, alpha, beta);
      store_lane_vec(c + 5 * ldc, c51, n, 1, alpha, beta);
    }
  }
}

// The rows form with K dispatched to a compile-time constant (1…16; larger K at run time).
template <typename T, int R, bool UNIT_K>
void small_rows_packed_k(const T* a0, const T* bp, T* c0, T* y0, const RowsArgs& g, T alpha,
                         T beta, const DenseEpilogue<T>* epi) {
  switch (g.K) {
#define GMPNN_ROWS_K(k) \
  case k: return small_rows_packed<T, R, k, UNIT_K>(a0, bp, c0, y0, g, alpha, beta, epi);
    GMPNN_ROWS_K(1) GMPNN_ROWS_K(2) GMPNN_ROWS_K(3) GMPNN_ROWS_K(4) GMPNN_ROWS_K(5)
    GMPNN_ROWS_K(6) GMPNN_ROWS_K(7) GMPNN_ROWS_K(8) GMPNN_ROWS_K(9) GMPNN_ROWS_K(10)
    GMPNN_ROWS_K(11) GMPNN_ROWS_K(12) GMPNN_ROWS_K(13) GMPNN_ROWS_K(14) GMPNN_ROWS_K(15)
    GMPNN_ROWS_K(16)
#undef GMPNN_ROWS_K
    default: return small_rows_packed<T, R, 0, UNIT_K>(a0, bp, c0, y0, g, alpha, beta, epi);
  }
}

// Rows i0.. (R of them) of the rows form.
template <typename T, int R>
void small_rows_packed_any(const Problem<T>& pb, int64_t i0, const T* bp, int64_t ldp,
                           const DenseEpilogue<T>* epi) {
  const int64_t si = pb.a.trans ? 1 : pb.a.ld, sk = pb.a.trans ? pb.a.ld : 1;
  const T* a0 = pb.a.p + i0 * si;
  T* c0 = pb.c + i0 * pb.ldc;
  T* y0 = epi ? epi->Y + i0 * pb.ldc : nullptr;
  const RowsArgs g{si, sk, pb.K, ldp, pb.ldc, pb.N};
  if (sk == 1) return small_rows_packed_k<T, R, true>(a0, bp, c0, y0, g, pb.alpha, pb.beta, epi);
  return small_rows_packed_k<T, R, false>(a0, bp, c0, y0, g, pb.alpha, pb.beta, epi);
}

// Rows of K handled per pass of the streaming forms: the strips they read (kKChunk rows of up
// to 64 bytes from rows of a wide matrix) stay in L1 while every strip of the row is done.
constexpr int64_t kKChunk = 64;

// rows form, M small (R = M <= 4 rows of C), B stored [K, N] with contiguous rows: C[i,:] =
// Σ_k a(i,k)·B[k,:]. acc = [R, ldacc] running sums in memory between k chunks.
template <typename T, int R>
void small_rows_stream(const Problem<T>& pb, T* acc, int64_t ldacc) {
  typedef typename Small<T>::V V;
  constexpr int VL = Small<T>::VL, NV = 2, JB = NV * VL;
  const Operand<T>& a = pb.a;
  const int64_t N = pb.N;
  std::fill(acc, acc + R * ldacc, T(0));
  for (int64_t k0 = 0; k0 < pb.K; k0 += kKChunk) {
    const int64_t k1 = std::min(pb.K, k0 + kKChunk);
    for (int64_t j0 = 0; j0 < N; j0 += JB) {
      const int64_t n = std::min<int64_t>(JB, N - j0);
      V s[R][NV];
      for (int r = 0; r < R; ++r)
        for (int v = 0; v < NV; ++v) s[r][v] = *(const V*)(acc + r * ldacc + j0 + v * VL);  // aligned
      for (int64_t k = k0; k < k1; ++k) {
        V bv[NV];
        for (int v = 0; v < NV; ++v) bv[v] = load_lane_vec(pb.b.p + k * pb.b.ld + j0, n, v);
        for (int r = 0; r < R; ++r) {
          const T x = a.trans ? a.p[k * a.ld + r] : a.p[r * a.ld + k];
          for (int v = 0; v < NV; ++v) s[r][v] += x * bv[v];
        }
      }
      for (int r = 0; r < R; ++r)
        for (int v = 0; v < NV; ++v) *(V*)(acc + r * ldacc + j0 + v * VL) = s[r][v];
    }
  }
  for (int r = 0; r < R; ++r) store_strip(pb.c + r * pb.ldc, acc + r * ldacc, N, pb.alpha, pb.beta);
}

// cols form: A stored [K, M] (trans_a), N = NN <= 4: Cᵀ[j, i] = Σ_k b(k,j)·A[k, i] for the
// rows i of one strip [i0, i0 + m); bt = op(B)ᵀ packed [NN, K]. The strip's sums stay in named
// registers over all of K (see small_rows_packed); the A strip (64 bytes a row) is read once.
template <typename T, int NN>
void small_cols(const Problem<T>& pb, const T* bt, int64_t i0, int64_t m) {
  typedef typename Small<T>::V V;
  constexpr int VL = Small<T>::VL;
  V s00 = V{}, s01 = V{}, s10 = V{}, s11 = V{}, s20 = V{}, s21 = V{}, s30 = V{}, s31 = V{};
  const int64_t K = pb.K, lda = pb.a.ld;
  const T* arow = pb.a.p + i0;
  const bool whole = m >= 2 * VL;
  for (int64_t k = 0; k < K; ++k, arow += lda) {
    V a0, a1;
    if (whole) {
      a0 = Small<T>::load(arow);
      a1 = Small<T>::load(arow + VL);
    } else {
      a0 = load_lane_vec(arow, m, 0);
      a1 = load_lane_vec(arow, m, 1);
    }
    const T x0 = bt[k];
    s00 += x0 * a0;
    s01 += x0 * a1;
    if (NN > 1) {
      const T x1 = bt[K + k];
      s10 += x1 * a0;
      s11 += x1 * a1;
    }
    if (NN > 2) {
      const T x2 = bt[2 * K + k];
      s20 += x2 * a0;
      s21 += x2 * a1;
    }
    if (NN > 3) {
      const T x3 = bt[3 * K + k];
      s30 += x3 * a0;
      s31 += x3 * a1;
    }
  }
  // Lane by lane with constant indices (no spill of the accumulators).
  const T alpha = pb.alpha, beta = pb.beta;
  auto put = [&](int j, const V& lo, const V& hi) {
#pragma GCC unroll 8
    for (int l = 0; l < VL; ++l) {
      if (l < m) {
        T* c = pb.c + (i0 + l) * pb.ldc + j;
        *c = beta == T(0) ? alpha * lo[l] : alpha * lo[l] + beta * *c;
      }
      if (VL + l < m) {
        T* c = pb.c + (i0 + VL + l) * pb.ldc + j;
        *c = beta == T(0) ? alpha * hi[l] : alpha * hi[l] + beta * *c;
      }
    }
  };
  put(0, s00, s01);
  if (NN > 1) put(1, s10, s11);
  if (NN > 2) put(2, s20, s21);
  if (NN > 3) put(3, s30, s31);
}

// dot of two contiguous length-K vectors: 4 vector lanes-sets in k order, then a fixed tree.
template <typename T>
inline T small_dot(const T* x, const T* y, int64_t K) {
  typedef typename Small<T>::V V;
  constexpr int VL = Small<T>::VL;
  V s[4] = {V{}, V{}, V{}, V{}};
  int64_t k = 0;
  for (; k + 4 * VL <= K; k += 4 * VL)
    for (int v = 0; v < 4; ++v) s[v] += Small<T>::load(x + k + v * VL) * Small<T>::load(y + k + v * VL);
  for (; k + VL <= K; k += VL) s[0] += Small<T>::load(x + k) * Small<T>::load(y + k);
  const V t = (s[0] + s[1]) + (s[2] + s[3]);
  T r = T(0);
  for (int l = 0; l < VL; ++l) r += t[l];
  for (; k < K; ++k) r += x[k] * y[k];
  return r;
}

// Four dots against one vector at once (the head layer's H·wᵀ, N = 1): rows x0..x3 of length K
// (contiguous) with y, into s[0..3]. One vector accumulator per row in k order, a masked last
// vector, then a fixed pairwise tree over the lanes, so results do not depend on threads. With
// one row at a time (small_dot) the scalar lane sum and tail of each dot were the cost (~45
// cycles a row at K = 100; now ~10).
template <typename T>
inline void small_dot4(const T* x0, int64_t ldx, const T* y, int64_t K, T* s) {
  typedef typename Small<T>::V V;
  constexpr int VL = Small<T>::VL;
  V a0 = V{}, a1 = V{}, a2 = V{}, a3 = V{};
  const T *x1 = x0 + ldx, *x2 = x1 + ldx, *x3 = x2 + ldx;
  int64_t k = 0;
  for (; k + VL <= K; k += VL) {
    const V yv = Small<T>::load(y + k);
    a0 += Small<T>::load(x0 + k) * yv;
    a1 += Small<T>::load(x1 + k) * yv;
    a2 += Small<T>::load(x2 + k) * yv;
    a3 += Small<T>::load(x3 + k) * yv;
  }
  if (k < K) {
    const int64_t m = K - k;
    const V yv = load_part(y + k, m);
    a0 += load_part(x0 + k, m) * yv;
    a1 += load_part(x1 + k, m) * yv;
    a2 += load_part(x2 + k, m) * yv;
    a3 += load_part(x3 + k, m) * yv;
  }
  // Lanes folded in halves (a fixed tree): VL → 1.
  auto fold = [](V v) {
    T r[VL];
#pragma GCC unroll 8
    for (int l = 0; l < VL; ++l) r[l] = v[l];
#pragma GCC unroll 8
    for (int w = VL / 2; w >= 1; w /= 2)
#pragma GCC unroll 8
      for (int l = 0; l < w; ++l) r[l] += r[l + w];
    return r[0];
  };
  s[0] = fold(a0);
  s[1] = fold(a1);
  s[2] = fold(a2);
  s[3] = fold(a3);
}

template <typename T>
T* small_scratch(Scratch& s, int64_t n) {
  return (T*)s.get(sizeof(T) * (size_t)n);
}

// Copies op(X) (logical [rows, cols] of a stored operand) into dst [rows, ld_dst] row-major.
template <typename T>
void copy_op(T* dst, int64_t ld_dst, const Operand<T>& x, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      dst[r * ld_dst + c] = x.trans ? x.p[c * x.ld + r] : x.p[r * x.ld + c];
}

// fn(0) … fn(count − 1), split over a team of its own when par (never an orphaned `omp for`:
// see gemm_small), with flush-to-zero on every thread that runs them.
template <typename F>
void for_each_index(bool par, int64_t count, F&& fn) {
  if (par) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < count; ++i) {
      FtzScope ftz;
      fn(i);
    }
  } else {
    FtzScope ftz;
    for (int64_t i = 0; i < count; ++i) fn(i);
  }
}

// op(B) [K, N] packed for the rows form: strip by strip, [N / JB][K][JB] (JB = 2·VL), zero past
// N. For op(B) = Wᵀ (the dense forward's x·Wᵀ, W [N, K]) VL×VL blocks of W are transposed in
// registers: the element-wise gather it replaces took 1.3 µs for a 100×13 float W, as long as the
// multiply it feeds at batch 32.
template <typename T>
void pack_rows_b(T* bp, const Operand<T>& b, int64_t N, int64_t K) {
  typedef typename Small<T>::V V;
  constexpr int64_t VL = Small<T>::VL, JB = 2 * VL;
  const int64_t strips = (N + JB - 1) / JB, ldp = K * JB;
  if (!b.trans) {  // op(B) = B: each strip row is a (masked) copy of a row segment of B
    for (int64_t st = 0; st < strips; ++st) {
      const int64_t n = std::min(JB, N - st * JB);
      for (int64_t k = 0; k < K; ++k) {
        const T* src = b.p + k * b.ld + st * JB;
        T* d = bp + st * ldp + k * JB;
        Small<T>::store(d, load_lane_vec(src, n, 0));
        Small<T>::store(d + VL, load_lane_vec(src, n, 1));
      }
    }
    return;
  }
#if defined(__AVX2__)
  // VL rows of W at a time (half a strip), VL columns per block; rows past N are zero.
  for (int64_t j0 = 0; j0 < strips * JB; j0 += VL) {
    T* d = bp + j0 / JB * ldp + j0 % JB;
    const int64_t nr = std::max<int64_t>(0, std::min(VL, N - j0));
    for (int64_t k0 = 0; k0 < K; k0 += VL) {
      const int64_t nk = std::min(VL, K - k0);
      V v[VL];
      for (int64_t r = 0; r < VL; ++r)
        v[r] = r < nr ? load_lane_vec(b.p + (j0 + r) * b.ld + k0, nk, 0) : V{};
      if constexpr (sizeof(T) == 4) {
        transpose8(reinterpret_cast<__m256*>(v));
      } else {
        __m256d* w = reinterpret_cast<__m256d*>(v);
        transpose4(w[0], w[1], w[2], w[3]);
      }
      for (int64_t i = 0; i < nk; ++i) Small<T>::store(d + (k0 + i) * JB, v[i]);
    }
  }
#else
  for (int64_t st = 0; st < strips; ++st)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t jj = 0; jj < JB; ++jj) {
        const int64_t j = st * JB + jj;
        bp[st * ldp + k * JB + jj] = j < N ? b.p[j * b.ld + k] : T(0);
      }
#endif
}

// The rows form over all of C (K small): op(B) packed strip by strip, [N / JB][K][JB] with
// JB = 2·VL and a zero tail (small, read from L1/L2), so a strip's rows are a compile-time
// stride apart; then groups of six rows; the epilogue, if any, at the stores.
template <typename T>
gmpnn_status rows_packed_run(const Problem<T>& pb, const T* bp, bool par,
                             const DenseEpilogue<T>* epi);
template <typename T>
gmpnn_status rows_packed_driver(const Problem<T>& pb, bool par, const DenseEpilogue<T>* epi) {
  const int64_t N = pb.N, K = pb.K;
  constexpr int64_t JB = 2 * Small<T>::VL;
  const int64_t strips = (N + JB - 1) / JB, ldp = K * JB;  // ldp: one strip's block
  T* bp = small_scratch<T>(t_pack_b, strips * ldp);
  if (!bp) return gmpnn_set_error(GMPNN_E_OOM, "gemm: cannot allocate packing buffer");
  pack_rows_b(bp, pb.b, N, K);
  return rows_packed_run(pb, bp, par, epi);
}

// The rows form on op(B) already packed ([N / JB][K][JB], as pack_rows_b leaves it).
template <typename T>
gmpnn_status rows_packed_run(const Problem<T>& pb, const T* bp, bool par,
                             const DenseEpilogue<T>* epi) {
  const int64_t M = pb.M;
  const int64_t ldp = pb.K * 2 * Small<T>::VL;
  const int64_t groups = M / 6;
  for_each_index(par, groups, [&](int64_t g) { small_rows_packed_any<T, 6>(pb, g * 6, bp, ldp, epi); });
  FtzScope ftz;
  for (int64_t i = groups * 6; i < M; ++i) small_rows_packed_any<T, 1>(pb, i, bp, ldp, epi);
  return GMPNN_OK;
}

// Returns true when it handled the product (one tiny dimension and a layout it streams well).
// Threads only through its own `omp parallel for` when called outside a team: called from inside
// one (the convolution's tiles), an orphaned `omp for` would hand rows to team threads that never
// reach it (rows left unwritten, then a hang at the barrier).
template <typename T>
bool gemm_small(const Problem<T>& pb, gmpnn_status* st) {
  const int64_t M = pb.M, N = pb.N, K = pb.K;
  constexpr int JB = 4 * Small<T>::VL;
  const bool par = !omp_in_parallel() && M * N * K >= kGemmParallelMacs && omp_get_max_threads() > 1;
  *st = GMPNN_OK;
  if (N == 1 && !pb.a.trans && M >= 4) {
    // One output column (the head layer's H·wᵀ): four rows at a time (small_dot4), the last
    // M mod 4 rows by small_dot. op(B)'s column copied contiguous when it is strided.
    const T* yb = pb.b.p;
    if (!pb.b.trans && pb.b.ld != 1) {
      T* bt = small_scratch<T>(t_pack_b, K);
      if (!bt) return *st = gmpnn_set_error(GMPNN_E_OOM, "gemm: cannot allocate packing buffer"), true;
      for (int64_t k = 0; k < K; ++k) bt[k] = pb.b.p[k * pb.b.ld];
      yb = bt;
    }
    const T* xa = pb.a.p;
    const int64_t ldx = pb.a.ld;
    const T alpha = pb.alpha, beta = pb.beta;
    auto put = [&](int64_t i, T d) {
      T* c = pb.c + i * pb.ldc;
      *c = beta == T(0) ? alpha * d : alpha * d + beta * *c;
    };
    const int64_t groups = M / 4;
    for_each_index(par, groups, [&](int64_t g) {
      T d[4];
      small_dot4(xa + 4 * g * ldx, ldx, yb, K, d);
      for (int r = 0; r < 4; ++r) put(4 * g + r, d[r]);
    });
    FtzScope ftz;
    for (int64_t i = groups * 4; i < M; ++i) put(i, small_dot(xa + i * ldx, yb, K));
    return true;
  }
  if (K == 1 && M >= 4) {
    // Outer product (the MLP head's data gradient g·w): op(B)'s row made contiguous, then each
    // row of C is one scaled copy of it. The rows form spent its time on strip bookkeeping here.
    T* bb = small_scratch<T>(t_pack_b, N);
    if (!bb) return *st = gmpnn_set_error(GMPNN_E_OOM, "gemm: cannot allocate packing buffer"), true;
    for (int64_t j = 0; j < N; ++j) bb[j] = pb.b.trans ? pb.b.p[j * pb.b.ld] : pb.b.p[j];
    const T alpha = pb.alpha, beta = pb.beta;
    for_each_index(par, M, [&](int64_t i) {
      const T a = alpha * (pb.a.trans ? pb.a.p[i] : pb.a.p[i * pb.a.ld]);
      T* __restrict c = pb.c + i * pb.ldc;
      if (beta == T(0))
        for (int64_t j = 0; j < N; ++j) c[j] = a * bb[j];
      else
        for (int64_t j = 0; j < N; ++j) c[j] = a * bb[j] + beta * c[j];
    });
    return true;
  }
  if (K <= kSmallK && M >= 4) {
    *st = rows_packed_driver<T>(pb, par, nullptr);
    return true;
  }
  if (M <= kSmallM && !pb.b.trans) {
    // rows form straight on the rows of B ([K, N], contiguous): dW = dYᵀ·H with one output.
    const int64_t ldacc = (N + JB - 1) / JB * JB;
    T* acc = small_scratch<T>(t_pack_a, M * ldacc);
    if (!acc) return *st = gmpnn_set_error(GMPNN_E_OOM, "gemm: cannot allocate packing buffer"), true;
    FtzScope ftz;
    switch (M) {
      case 1: small_rows_stream<T, 1>(pb, acc, ldacc); break;
      case 2: small_rows_stream<T, 2>(pb, acc, ldacc); break;
      case 3: small_rows_stream<T, 3>(pb, acc, ldacc); break;
      default: small_rows_stream<T, 4>(pb, acc, ldacc); break;
    }
    return true;
  }
  if (N <= kSmallN && pb.a.trans) {
    // cols form: dU = dZᵀ·X. op(B) transposed into [N, K].
    T* bt = small_scratch<T>(t_pack_b, N * K);
    if (!bt) return *st = gmpnn_set_error(GMPNN_E_OOM, "gemm: cannot allocate packing buffer"), true;
    Operand<T> btr{pb.b.p, pb.b.ld, !pb.b.trans};  // op(B)ᵀ
    copy_op(bt, K, btr, N, K);
    constexpr int IB = 2 * Small<T>::VL;
    const int64_t blocks = (M + IB - 1) / IB;
    auto block = [&](int64_t b) {
      const int64_t i0 = b * IB, m = std::min<int64_t>(IB, M - i0);
      switch (N) {
        case 1: small_cols<T, 1>(pb, bt, i0, m); break;
        case 2: small_cols<T, 2>(pb, bt, i0, m); break;
        case 3: small_cols<T, 3>(pb, bt, i0, m); break;
        default: small_cols<T, 4>(pb, bt, i0, m); break;
      }
    };
    for_each_index(par, blocks, block);
    return true;
  }
  if ((N <= kSmallN && !pb.a.trans) || (M <= kSmallM && pb.b.trans)) {
    // dots: rows of op(A) against columns of op(B), both made contiguous along k.
    const T* xa = pb.a.p;
    int64_t ldx = pb.a.ld;
    const T* yb = pb.b.p;
    int64_t ldy = pb.b.ld;
    if (pb.a.trans) {  // only when M is small: copy op(A) rows ([M, K])
      T* ap = small_scratch<T>(t_pack_a, M * K);
      if (!ap) return *st = gmpnn_set_error(GMPNN_E_OOM, "gemm: cannot allocate packing buffer"), true;
      copy_op(ap, K, pb.a, M, K);
      xa = ap, ldx = K;
    }
    if (!pb.b.trans) {  // only when N is small: copy op(B) columns ([N, K])
      T* bt = small_scratch<T>(t_pack_b, N * K);
      if (!bt) return *st = gmpnn_set_error(GMPNN_E_OOM, "gemm: cannot allocate packing buffer"), true;
      Operand<T> btr{pb.b.p, pb.b.ld, true};
      copy_op(bt, K, btr, N, K);
      yb = bt, ldy = K;
    }
    auto row = [&](int64_t i) {
      for (int64_t j = 0; j < N; ++j) {
        T* c = pb.c + i * pb.ldc + j;
        const T d = small_dot(xa + i * ldx, yb + j * ldy, K);
        *c = pb.beta == T(0) ? pb.alpha * d : pb.alpha * d + pb.beta * *c;
      }
    };
    for_each_index(par, M, row);
    return true;
  }
  return false;
}

// ---------------------------------------------------------------- direct convolution
// Stride-1 convolution straight from a padded NHWC image, no im2col matrix (gemm_internal.h,
// conv_direct): the MR x NR tile
//   out[p_i, j] = Σ_t Σ_c rows[i][off[t] + c] · B[(t·C + c)·NR + j]
// for MR output pixels p_i (rows[i]: the image address of p_i's tap (0, 0) window, any pixel of
// any image, so a tile may straddle output rows), taps t at element offsets off[t], C channels a
// tap, B one NR-wide panel of the weight packed [K = taps·C][NR]. It is the im2col GEMM's
// microkernel with A read in place through MR row pointers and the tap offsets, so the pixels'
// windows are read from the image (cache-resident) instead of from a 9x larger im2col copy.
// Rows i >= m must still point at readable memory (the caller repeats row 0); only m x n of the
// tile is stored (beta = 0).
template <typename T, int MR, int NV, int VL>
void ukr_direct(int64_t ntaps, const int64_t* off, int64_t C, const T* const* rows, const T* B,
                T* out, int64_t ldc, int m, int n) {
  typedef typename Vec<T, VL>::type V;
  constexpr int NR = NV * VL;
  V acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NV; ++j) acc[i][j] = V{};
  for (int64_t t = 0; t < ntaps; ++t) {
    const T* a[MR];
    for (int i = 0; i < MR; ++i) a[i] = rows[i] + off[t];
#pragma GCC unroll 4
    for (int64_t c = 0; c < C; ++c) {
      V b[NV];
      for (int j = 0; j < NV; ++j) b[j] = *(const V*)(B + j * VL);
      for (int i = 0; i < MR; ++i) {
        const T x = a[i][c];
        for (int j = 0; j < NV; ++j) acc[i][j] += x * b[j];
      }
      B += NR;
    }
  }
  if (m == MR && n == NR) {
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NV; ++j) std::memcpy(out + i * ldc + j * VL, &acc[i][j], sizeof(V));
    return;
  }
  alignas(64) T tile[MR * NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NV; ++j) *(V*)(tile + i * NR + j * VL) = acc[i][j];
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) out[i * ldc + j] = tile[i * NR + j];
}

gmpnn_status check_args(const char* op, const void* C, const void* A, const void* B, int trans_a,
                        int trans_b, int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb,
                        int64_t ldc) {
  if (M < 0 || N < 0 || K < 0)
    return gmpnn_set_error(GMPNN_E_ARG, "%s: negative size M=%lld N=%lld K=%lld", op,
                           (long long)M, (long long)N, (long long)K);
  if (M == 0 || N == 0) return GMPNN_OK;
  const int64_t min_lda = trans_a ? M : K, min_ldb = trans_b ? K : N;
  if (ldc < N || (K > 0 && (lda < min_lda || ldb < min_ldb)))
    return gmpnn_set_error(GMPNN_E_ARG,
                           "%s: leading dimension too small (lda=%lld ldb=%lld ldc=%lld for "
                           "M=%lld N=%lld K=%lld trans_a=%d trans_b=%d)",
                           op, (long long)lda, (long long)ldb, (long long)ldc, (long long)M,
                           (long long)N, (long long)K, trans_a, trans_b);
  if (!C || (K > 0 && (!A || !B))) return gmpnn_set_error(GMPNN_E_ARG, "%s: null pointer", op);
  return GMPNN_OK;
}

}  // namespace

// ---------------------------------------------------------------- internal (gemm_internal.h)
namespace gmpnn_cpu {
template <typename T>
bool dense_forward_fused(T* Y, T* Z, const T* X, const T* W, const T* lambda, const T* r,
                         int64_t rows, int64_t n, int64_t cols, int act, bool write_z) {
  if (!dense_forward_packed_applies(rows, n)) return false;
  T* bp = dense_pack_buffer<T>(dense_pack_len<T>(n, cols));
  if (!bp) return false;
  pack_rows_b(bp, Operand<T>{W, n, true}, cols, n);
  return dense_forward_packed(Y, Z, X, bp, lambda, r, rows, n, cols, act, write_z) == GMPNN_OK;
}
bool dense_forward_blocked_applies(int64_t rows, int64_t n, int64_t cols) {
  // gemm_small's shapes (K ≤ 16, or four rows or columns at most) stay with gemm + the epilogue
  // pass; without the small paths (a test hook) every product is the blocked GEMM's.
  return n >= 1 && (!g_small_enabled || (n > kSmallK && rows > kSmallM && cols > kSmallN));
}
template <typename T>
gmpnn_status dense_forward_blocked(T* Y, const T* X, const T* W, const T* lambda, const T* r,
                                   int64_t rows, int64_t n, int64_t cols, int act) {
  const Problem<T> pb{{X, n, false}, {W, n, true}, Y, rows, cols, n, cols, T(1), T(0)};
  const DenseEpilogue<T> epi{Y, lambda, r, act, false};
  return gemm_fast(pb, &epi);
}
template gmpnn_status dense_forward_blocked<float>(float*, const float*, const float*, const float*,
                                                   const float*, int64_t, int64_t, int64_t, int);
template gmpnn_status dense_forward_blocked<double>(double*, const double*, const double*,
                                                    const double*, const double*, int64_t, int64_t,
                                                    int64_t, int);
bool dense_forward_packed_applies(int64_t rows, int64_t n) {
  return n >= 1 && n <= kFusedDenseMaxK && rows >= 4 && g_small_enabled;
}
template <typename T>
T* dense_pack_buffer(int64_t len) {
  static_assert(kDensePackCols<T> == 2 * Small<T>::VL, "the rows form's strip width");
  return small_scratch<T>(t_pack_b, len);
}
template float* dense_pack_buffer<float>(int64_t);
template double* dense_pack_buffer<double>(int64_t);
template <typename T>
gmpnn_status dense_forward_packed(T* Y, T* Z, const T* X, const T* bp, const T* lambda,
                                  const T* r, int64_t rows, int64_t n, int64_t cols, int act,
                                  bool write_z) {
  // op(B) is read only through bp.
  Problem<T> pb{{X, n, false}, {nullptr, n, true}, Z, rows, cols, n, cols, T(1), T(0)};
  const DenseEpilogue<T> epi{Y, lambda, r, act, write_z};
  const bool par = !omp_in_parallel() && rows * cols * n >= kGemmParallelMacs &&
                   omp_get_max_threads() > 1;
  return rows_packed_run(pb, bp, par, &epi);
}
template gmpnn_status dense_forward_packed<float>(float*, float*, const float*, const float*,
                                                  const float*, const float*, int64_t, int64_t,
                                                  int64_t, int, bool);
template gmpnn_status dense_forward_packed<double>(double*, double*, const double*,
                                                   const double*, const double*, const double*,
                                                   int64_t, int64_t, int64_t, int, bool);
template bool dense_forward_fused<float>(float*, float*, const float*, const float*, const float*,
                                         const float*, int64_t, int64_t, int64_t, int, bool);
template bool dense_forward_fused<double>(double*, double*, const double*, const double*,
                                          const double*, const double*, int64_t, int64_t, int64_t,
                                          int, bool);

// The packed path alone, for an operand the small-dimension forms cannot read (an im2col view).
template <typename T>
gmpnn_status gemm_packed_only(const Problem<T>& pb) {
  if (pb.M == 0 || pb.N == 0) return GMPNN_OK;
  if (pb.K == 0) {
    scale_c(pb.c, pb.M, pb.N, pb.ldc, pb.beta);
    return GMPNN_OK;
  }
  return gemm_fast(pb);
}

template <typename T>
gmpnn_status gemm_im2col_a(T* C, const Im2colView<T>& a, const T* B, int trans_b, int64_t M,
                           int64_t N, int64_t K, int64_t ldb, int64_t ldc, T alpha, T beta) {
  return gemm_packed_only<T>(
      {{nullptr, 0, false, &a}, {B, ldb, trans_b != 0}, C, M, N, K, ldc, alpha, beta});
}

bool conv_direct_available() { return current_isa() == kAvx2; }
bool avx512_selected() { return current_isa() == kAvx512; }
bool avx512_short_kernels() {
#if defined(__x86_64__)
  static const bool intel = (__builtin_cpu_init(), __builtin_cpu_is("intel"));
#else
  static const bool intel = false;
#endif
  return !intel || g_avx512_short_forced;
}

template <typename T>
void conv_direct_pack_weight(T* bp, const T* w, int64_t C_out, int64_t K) {
  constexpr int NR = kConvDirectNr<T>;
  // op(B)(k, j) = w[j·K + k]: the transposed-B panels of the im2col GEMM, [K][NR] each.
  pack_b<T>(bp, {w, K, true}, 0, C_out, 0, (C_out + NR - 1) / NR, 0, K, NR);
}
template void conv_direct_pack_weight<float>(float*, const float*, int64_t, int64_t);
template void conv_direct_pack_weight<double>(double*, const double*, int64_t, int64_t);

template <typename T>
gmpnn_status conv_direct(T* out, const T* img, int64_t N, int64_t Hp, int64_t Wp, int64_t C,
                         int64_t OH, int64_t OW, int64_t KH, int64_t KW, const T* bp,
                         int64_t C_out) {
  constexpr int VL = 32 / sizeof(T), NV = 2, NR = NV * VL, MR = 6;
  static_assert(NR == kConvDirectNr<T>, "conv_direct: panel width");
  const int64_t taps = KH * KW, K = taps * C, M = N * OH * OW;
  const int64_t panels = (C_out + NR - 1) / NR;
  if (M == 0 || C_out == 0) return GMPNN_OK;
  std::vector<int64_t> off((size_t)taps);
  for (int64_t kh = 0; kh < KH; ++kh)
    for (int64_t kw = 0; kw < KW; ++kw) off[(size_t)(kh * KW + kw)] = (kh * Wp + kw) * C;
  const int64_t tiles = (M + MR - 1) / MR, P = OH * OW;
  const bool par = !omp_in_parallel() && M * K * C_out >= kGemmParallelMacs && omp_get_max_threads() > 1;
  auto tile = [&](int64_t ti) {
    const int64_t p0 = ti * MR;
    const int m = (int)std::min<int64_t>(MR, M - p0);
    const T* rows[MR];
    for (int i = 0; i < MR; ++i) {
      const int64_t p = p0 + (i < m ? i : 0), n = p / P, r = p - n * P, oh = r / OW, ow = r - oh * OW;
      rows[i] = img + ((n * Hp + oh) * Wp + ow) * C;
    }
    for (int64_t q = 0; q < panels; ++q)
      ukr_direct<T, MR, NV, VL>(taps, off.data(), C, rows, bp + q * K * NR, out + p0 * C_out + q * NR,
                                C_out, m, (int)std::min<int64_t>(NR, C_out - q * NR));
  };
  for_each_index(par, tiles, tile);
  return GMPNN_OK;
}
template gmpnn_status conv_direct<float>(float*, const float*, int64_t, int64_t, int64_t, int64_t,
                                         int64_t, int64_t, int64_t, int64_t, const float*, int64_t);
template gmpnn_status conv_direct<double>(double*, const double*, int64_t, int64_t, int64_t,
                                          int64_t, int64_t, int64_t, int64_t, int64_t,
                                          const double*, int64_t);

#define GMPNN_IM2COL_GEMMS(T)                                                                   \
  template gmpnn_status gemm_im2col_a<T>(T*, const Im2colView<T>&, const T*, int, int64_t,      \
                                         int64_t, int64_t, int64_t, int64_t, T, T);
GMPNN_IM2COL_GEMMS(float)
GMPNN_IM2COL_GEMMS(double)
#undef GMPNN_IM2COL_GEMMS

}  // namespace gmpnn_cpu

// ---------------------------------------------------------------- C ABI
extern "C" gmpnn_status gmpnn_cpu_gemm(gmpnn_dtype dt, void* C, const void* A, const void* B,
                                       int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                                       int64_t lda, int64_t ldb, int64_t ldc, double alpha,
                                       double beta) {
  gmpnn_status st = check_args("gemm", C, A, B, trans_a, trans_b, M, N, K, lda, ldb, ldc);
  if (st != GMPNN_OK || M == 0 || N == 0) return st;
  GMPNN_DISPATCH_FLOAT(dt, "gemm", {
    if (K == 0 || alpha == 0) {
      scale_c((T*)C, M, N, ldc, (T)beta);
      return GMPNN_OK;
    }
    Problem<T> pb{{(const T*)A, lda, trans_a != 0}, {(const T*)B, ldb, trans_b != 0},
                  (T*)C, M, N, K, ldc, (T)alpha, (T)beta};
    if (g_small_enabled) {
      gmpnn_status small_st;
      if (gemm_small(pb, &small_st)) return small_st;
    }
    return gemm_fast(pb);
  });
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cpu_gemm_reference(gmpnn_dtype dt, void* C, const void* A,
                                                 const void* B, int trans_a, int trans_b,
                                                 int64_t M, int64_t N, int64_t K, int64_t lda,
                                                 int64_t ldb, int64_t ldc, double alpha,
                                                 double beta) {
  gmpnn_status st = check_args("gemm_reference", C, A, B, trans_a, trans_b, M, N, K, lda, ldb, ldc);
  if (st != GMPNN_OK || M == 0 || N == 0) return st;
  GMPNN_DISPATCH_FLOAT(dt, "gemm_reference", {
    const T* a = (const T*)A;
    const T* b = (const T*)B;
    T* c = (T*)C;
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k)
          s += (double)(trans_a ? a[k * lda + i] : a[i * lda + k]) *
               (double)(trans_b ? b[j * ldb + k] : b[k * ldb + j]);
        T& cij = c[i * ldc + j];
        cij = beta == 0 ? (T)(alpha * s) : (T)(alpha * s + beta * (double)cij);
      }
  });
  return GMPNN_OK;
}

extern "C" const char* gmpnn_cpu_gemm_isa(void) { return kIsaName[current_isa()]; }

// ---------------------------------------------------------------- testing hooks (not in the ABI)
// Forces a microkernel path: returns 1 on success, 0 when the CPU lacks it. Forcing "avx512" also
// lets the short AVX-512 kernels run on any CPU (avx512_short_kernels), so the tests reach them.
// Not thread-safe with concurrent GEMMs; for the kernel tests only.
extern "C" int gmpnn_cpu_gemm_set_isa_for_testing(const char* name) {
  for (int i = 0; i < 3; ++i)
    if (name && std::strcmp(name, kIsaName[i]) == 0) {
      if (!cpu_has((Isa)i)) return 0;
      current_isa() = (Isa)i;
      g_avx512_short_forced = i == kAvx512;
      return 1;
    }
  if (!name) {  // back to the default choice
    current_isa() = select_isa();
    g_avx512_short_forced = false;
    return 1;
  }
  return 0;
}

// Overrides MC/KC/NC (0 restores the kernel's default), so tests reach every block edge.
extern "C" void gmpnn_cpu_gemm_set_blocking_for_testing(int64_t mc, int64_t kc, int64_t nc) {
  g_block_override[0] = mc;
  g_block_override[1] = kc;
  g_block_override[2] = nc;
}

// Turns the small-dimension paths off (0) or on (1), so tests compare both on skinny shapes.
extern "C" void gmpnn_cpu_gemm_set_small_for_testing(int enabled) { g_small_enabled = enabled != 0; }
