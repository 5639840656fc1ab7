// Internal entry points of the CPU GEMM (native/cpu/gemm.cc) for other CPU kernels; not ABI.
#pragma once
#include <cstdint>

#include "gmpnn/common.h"
#include "gmpnn/conv.h"

namespace gmpnn_cpu {

// Z = X·Wᵀ + lambda and Y = r ⊙ act(Z) in one pass (act: 0 identity, 1 ReLU; r may be NULL for
// r = 1), X [rows, n] row-major, W [cols, n] row-major, Z and Y [rows, cols]. Only for
// n <= kFusedDenseMaxK (returns false otherwise, doing nothing). T = float or double.
// write_z false: Y alone is stored (Z is left as it was), for a backward that reads Y instead
// (gmp.cc dense_backward_reads_y).
constexpr int64_t kFusedDenseMaxK = 16;
template <typename T>
bool dense_forward_fused(T* Y, T* Z, const T* X, const T* W, const T* lambda, const T* r,
                         int64_t rows, int64_t n, int64_t cols, int act, bool write_z);

// dense_forward_fused with W already in the layout the rows form packs it to, so that a kernel
// that produces W (the GmP direction forward) writes it there and the product skips the pack:
// strips of kDensePackCols<T> units, bp[(s·n + k)·JB + j] = W[s·JB + j, k] with JB =
// kDensePackCols<T>, dense_pack_len<T>(n, cols) values, 32-byte aligned; values for units past
// cols are read but never reach Y or Z. dense_pack_buffer is the calling thread's packing buffer
// (the GEMM's own; valid until its next GEMM call), NULL when out of memory.
// dense_forward_packed_applies says whether dense_forward_packed takes the product (the same
// conditions as dense_forward_fused); the values are dense_forward_fused's.
template <typename T>
constexpr int64_t kDensePackCols = 64 / (int64_t)sizeof(T);
template <typename T>
constexpr int64_t dense_pack_len(int64_t n, int64_t cols) {
  return (cols + kDensePackCols<T> - 1) / kDensePackCols<T> * kDensePackCols<T> * n;
}
template <typename T>
T* dense_pack_buffer(int64_t len);
bool dense_forward_packed_applies(int64_t rows, int64_t n);
template <typename T>
gmpnn_status dense_forward_packed(T* Y, T* Z, const T* X, const T* bp, const T* lambda,
                                  const T* r, int64_t rows, int64_t n, int64_t cols, int act,
                                  bool write_z);

// Y alone (write_z false) for a wider fan-in (dense_forward_blocked_applies: n > 16, more than four
// rows and units): the blocked GEMM accumulates into Y and the epilogue runs in place on each tile
// as its last K block leaves it (in L1), instead of a second pass over Z; Z is not touched. Values
// as gemm + gmp_epilogue_forward, bit for bit. (With Z wanted too, the pass was as fast: gmp.cc.)
bool dense_forward_blocked_applies(int64_t rows, int64_t n, int64_t cols);
template <typename T>
gmpnn_status dense_forward_blocked(T* Y, const T* X, const T* W, const T* lambda, const T* r,
                                   int64_t rows, int64_t n, int64_t cols, int act);

// The im2col matrix of an NHWC image as a GEMM operand that the packers read straight from the
// image (no im2col buffer): row i is output pixel r0 + i (n, oh, ow), column k = (kh·KW + kw)·C_in + c
// holds in[n, oh·sh − ph + kh, ow·sw − pw + kw, c], 0 outside the image.
template <typename T>
struct Im2colView {
  const T* img;
  const gmpnn_conv2d_dims* d;
  int64_t r0;
};

// C [M, N] = alpha·cols·op(B) + beta·C with cols = the view (M pixels × K = KH·KW·C_in): the
// convolution forward (B = the weight [C_out, K], trans_b = 1). Threads itself outside a team.
template <typename T>
gmpnn_status gemm_im2col_a(T* C, const Im2colView<T>& a, const T* B, int trans_b, int64_t M,
                           int64_t N, int64_t K, int64_t ldb, int64_t ldc, T alpha, T beta);

// Stride-1 direct convolution (no im2col matrix): out [N·OH·OW, C_out] (NHWC) from img, an NHWC
// image already padded so that output pixel (oh, ow) of image n reads the KH x KW window at
// img[n, oh .. oh+KH-1, ow .. ow+KW-1, :] (img is [N, Hp, Wp, C]). bp is the weight packed in
// panels of kConvDirectNr output channels: bp[(q·K + k)·NR + j] = weight of output channel
// q·NR + j at fan-in index k = (kh·KW + kw)·C + c (zero beyond C_out), K = KH·KW·C. The same sums
// as the im2col GEMM in the same k order. Threads itself outside a team.
// conv_direct_available: the AVX2 microkernel is the selected GEMM path (other ISAs: use the
// im2col GEMM).
template <typename T>
constexpr int kConvDirectNr = 64 / (int)sizeof(T);
bool conv_direct_available();

// Whether the AVX-512 GEMM path is the selected one (the CPU has AVX-512F and GMPNN_GEMM_ISA does
// not lower it; the testing hook gmpnn_cpu_gemm_set_isa_for_testing switches it too). The GmP
// float32 direction forward then takes sixteen units per group (gmp_avx512.cc) where
// avx512_short_kernels() allows it or the layer is large (gmp.cc kWideDirectionMin).
bool avx512_selected();
// Whether a short burst of AVX-512 arithmetic between AVX2 kernels pays on this CPU (callers
// check avx512_selected first): not on an Intel one, unless the testing hook forced "avx512".
// On an Intel Xeon (family 6 model 167) the sixteen-lane u(θ) of a 100×13 layer was faster alone (1.1 µs
// against 1.7) but slowed the next calls of an MLP step by more than it saved (GmP/SP 1.06–1.08
// against 1.03–1.04, bench/RESULTS.md), as Intel cores are known to do after 512-bit floating
// point (a lower clock licence, port 1 closed to vector work for a while). AMD's Zen 4/5 keep
// their clock under AVX-512, and on a Zen 5 VM the sixteen lanes were a gain in the step (twelfth
// session, bench/RESULTS.md); whether they leave a smaller after-effect there was not measured.
bool avx512_short_kernels();
namespace gmp_avx512 {
bool direction_forward_group_f32(float* U, const float* theta, int64_t j0, int64_t cnt, int64_t n,
                                 float* cache_lo, float* cache_hi, float* packed,
                                 const float* scale);
}
// W [C_out, K] packed for conv_direct (bp: round_up(C_out, kConvDirectNr)·K values).
template <typename T>
void conv_direct_pack_weight(T* bp, const T* w, int64_t C_out, int64_t K);
template <typename T>
gmpnn_status conv_direct(T* out, const T* img, int64_t N, int64_t Hp, int64_t Wp, int64_t C,
                         int64_t OH, int64_t OW, int64_t KH, int64_t KW, const T* bp,
                         int64_t C_out);

}  // namespace gmpnn_cpu
