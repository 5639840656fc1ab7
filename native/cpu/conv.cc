// 2-D convolution CPU kernels (gmpnn/conv.h), NHWC activations and [C_out, KH, KW, C_in] weights,
// so that a GmP conv (GMP_SPEC.md §3: z = conv(x, reshape(u(θ))) + λ) uses u(θ) [C_out, n] with
// n = KH·KW·C_in as its weight unchanged, and the §4 gradients G_U (filter) and ∂L/∂x (data) come
// from the two backward kernels here.
//
// All three are im2col + the packed GEMM (gmpnn_cpu_gemm), with M = N·OH·OW output pixels,
// K = KH·KW·C_in and the im2col row of a pixel laid out exactly like a weight row (kh, kw, c):
//   forward        out[M, C_out]  = cols[M, K] · Wᵀ
//   data           dcols[M, K]    = dout[M, C_out] · W,  then col2im (scatter-add into din)
//   filter         dW[C_out, K]   = doutᵀ · cols
// The M pixels are cut into tiles of consecutive rows; a tile's im2col buffer (about 4 MiB at
// most, thread-local, reused across calls) is produced and consumed by the same thread, which runs
// the GEMM on it single-threaded (gmpnn_cpu_gemm stays on the calling thread inside a parallel
// region), so tiles are independent and threads never wait on each other:
//   - forward: tiles write disjoint rows of `out`;
//   - data: tiles are either groups of whole images or bands of ≥ ceil(KH/stride_h) output rows of
//     one image. Bands scatter into overlapping input rows only with their neighbours, so the even
//     bands run first and the odd bands after a barrier (din is zeroed first);
//   - filter: every thread accumulates its tiles into its own [C_out, K] partial (thread 0 writes
//     straight into dweight), then the partials are summed in thread order. When the partials
//     would be large (deep layers) the tiles run one after another instead, each tile's im2col
//     parallel and its GEMM threaded, accumulating with beta = 1.
// When the pixels are too few to give every thread a tile of a few hundred rows (deep layers on
// small batches), the whole batch is one tile and the GEMM itself runs threaded.
// Tiles are scheduled statically, so results are deterministic for a given thread count.
// A 1×1, stride-1, unpadded convolution is a plain GEMM on the NHWC buffers, no im2col.
// Every parallel region enters gmpnn_cpu::FtzScope (flush-to-zero on the worker threads).
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cpu_util.h"
#include "gmpnn/conv.h"
#include "gmpnn/gemm.h"
#include "gemm_internal.h"

namespace {

using gmpnn_cpu::FtzScope;
using gmpnn_cpu::kParallelGrain;

int64_t g_tile_rows_override = 0;
int g_filter_mode = 0;  // 0 auto, 1 per-thread partials, 2 sequential tiles

// Below this many multiply-adds a convolution stays on the calling thread.
constexpr int64_t kConvParallelMacs = int64_t(128) * kParallelGrain;  // 4 M
// Target size of one tile's im2col buffer, and the bounds on its rows: few rows make the GEMM
// repack the whole weight for little work, many rows leave the buffer out of cache.
constexpr int64_t kTileBytes = int64_t(4) << 20;
constexpr int64_t kTileMinRows = 192;
constexpr int64_t kTileMaxRows = 2048;
// Largest im2col buffer of the single-tile path (few rows, many threads).
constexpr int64_t kSingleTileBytes = int64_t(64) << 20;
// Output channels from which the forward packs im2col rows straight from the image (forward_impl).
constexpr int64_t kImplicitMinCout = 128;
// Weights from this size use the single-tile path (see tile_rows_for).
constexpr int64_t kBigWeightBytes = int64_t(2) << 20;
// The direct (im2col-free) path for stride-1 layers up to this fan-in and from this many outputs
// (direct_ok): on the VGG-6 layers (forward and data gradient, 2 threads) it was 1.03-1.42x the
// im2col paths up to K = 4608 (3x3 over 512 channels); larger fan-ins are untested. Below 8
// outputs most of a 16-wide panel is padding (the 3-channel image's data gradient: 0.4x).
constexpr int64_t kDirectMaxK = 4608;
constexpr int64_t kDirectMinCout = 8;
// The filter gradient keeps one [C_out, K] partial per extra thread up to this many bytes.
constexpr int64_t kPartialBytes = int64_t(32) << 20;

// Grows-only per-thread buffer (im2col tiles), 64-byte aligned.
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
thread_local Scratch t_cols;

template <typename T>
constexpr gmpnn_dtype dtype_of() {
  return sizeof(T) == 4 ? GMPNN_F32 : GMPNN_F64;
}

struct Geo {
  int64_t M;  // output pixels N·OH·OW
  int64_t P;  // output pixels per image OH·OW
  int64_t K;  // fan-in KH·KW·C_in
};
inline Geo geo(const gmpnn_conv2d_dims& d) { return {d.N * d.OH * d.OW, d.OH * d.OW, d.KH * d.KW * d.C_in}; }

inline bool pointwise(const gmpnn_conv2d_dims& d) {
  return d.KH == 1 && d.KW == 1 && d.stride_h == 1 && d.stride_w == 1 && d.pad_h == 0 &&
         d.pad_w == 0 && d.OH == d.H && d.OW == d.W;
}

int threads_for(int64_t macs) {
  return macs >= kConvParallelMacs ? omp_get_max_threads() : 1;
}

int64_t tile_rows_for(int64_t M, int64_t K, size_t elem, int nt, int64_t C_out = 0) {
  if (g_tile_rows_override > 0) return g_tile_rows_override;
  // A large weight (deep layers): per-thread tiles would each repack all of it for a few hundred
  // rows; one tile, im2col split over the team, and the GEMM threaded (B packed once, shared).
  if (nt > 1 && C_out * K * (int64_t)elem >= kBigWeightBytes && M * K * (int64_t)elem <= kSingleTileBytes)
    return std::max<int64_t>(1, M);
  // Too few rows to give every thread a worthwhile tile (deep layers on small batches): one tile,
  // no team, and the GEMM threads itself (it packs the weight once instead of once per thread).
  if (nt > 1 && M < nt * kTileMinRows && M * K * (int64_t)elem <= kSingleTileBytes) return std::max<int64_t>(1, M);
  int64_t cap = kTileBytes / std::max<int64_t>(1, K * (int64_t)elem);
  cap = std::min(kTileMaxRows, std::max(kTileMinRows, cap));
  const int64_t share = (M + nt - 1) / nt;  // so every thread gets a tile when M allows
  const int64_t tr = std::max<int64_t>(1, std::min(cap, std::max<int64_t>(share, 32)));
  // Equal tiles, as many as a multiple of the thread count: 5 tiles on 2 threads left one thread
  // idle for a fifth of the layer (deep VGG-6 layers ran no faster on 2 threads than on 1).
  int64_t ntiles = (M + tr - 1) / tr;
  if (nt > 1) ntiles = (ntiles + nt - 1) / nt * nt;
  return std::max<int64_t>(1, (M + ntiles - 1) / ntiles);
}

// The kw range whose input column ow·sw − pw + kw lies inside [0, W): consecutive kw read
// consecutive input pixels whatever the stride, so a kernel row is one contiguous span.
inline void kw_range(const gmpnn_conv2d_dims& d, int64_t iw0, int64_t* kw0, int64_t* kw1) {
  *kw0 = std::max<int64_t>(0, -iw0);
  *kw1 = std::min<int64_t>(d.KW, d.W - iw0);
  if (*kw1 < *kw0) *kw1 = *kw0;
}

// cols[r - r0, (kh, kw, c)] = in[n, oh·sh − ph + kh, ow·sw − pw + kw, c] (0 outside) for output
// pixels r in [r0, r1).
template <typename T>
void im2col_rows(T* __restrict cols, const T* __restrict in, const gmpnn_conv2d_dims& d,
                 int64_t r0, int64_t r1) {
  const int64_t C = d.C_in, K = d.KH * d.KW * C, P = d.OH * d.OW, rowlen = d.KW * C;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t n = r / P, p = r - n * P, oh = p / d.OW, ow = p - oh * d.OW;
    const int64_t ih0 = oh * d.stride_h - d.pad_h, iw0 = ow * d.stride_w - d.pad_w;
    int64_t kw0, kw1;
    kw_range(d, iw0, &kw0, &kw1);
    T* dst = cols + (r - r0) * K;
    const T* img = in + n * d.H * d.W * C;
    for (int64_t kh = 0; kh < d.KH; ++kh, dst += rowlen) {
      const int64_t ih = ih0 + kh;
      if (ih < 0 || ih >= d.H || kw1 == kw0) {
        std::memset(dst, 0, sizeof(T) * rowlen);
        continue;
      }
      if (kw0 > 0) std::memset(dst, 0, sizeof(T) * kw0 * C);
      std::memcpy(dst + kw0 * C, img + (ih * d.W + iw0 + kw0) * C, sizeof(T) * (kw1 - kw0) * C);
      if (kw1 < d.KW) std::memset(dst + kw1 * C, 0, sizeof(T) * (d.KW - kw1) * C);
    }
  }
}

// din[n, ih, iw, c] += dcols[r - r0, (kh, kw, c)] for output pixels r in [r0, r1).
template <typename T>
void col2im_add_rows(T* __restrict din, const T* __restrict dcols, const gmpnn_conv2d_dims& d,
                     int64_t r0, int64_t r1) {
  const int64_t C = d.C_in, K = d.KH * d.KW * C, P = d.OH * d.OW, rowlen = d.KW * C;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t n = r / P, p = r - n * P, oh = p / d.OW, ow = p - oh * d.OW;
    const int64_t ih0 = oh * d.stride_h - d.pad_h, iw0 = ow * d.stride_w - d.pad_w;
    int64_t kw0, kw1;
    kw_range(d, iw0, &kw0, &kw1);
    if (kw1 == kw0) continue;
    const T* src = dcols + (r - r0) * K;
    T* img = din + n * d.H * d.W * C;
    const int64_t span = (kw1 - kw0) * C;
    for (int64_t kh = 0; kh < d.KH; ++kh, src += rowlen) {
      const int64_t ih = ih0 + kh;
      if (ih < 0 || ih >= d.H) continue;
      T* dst = img + (ih * d.W + iw0 + kw0) * C;
      const T* s = src + kw0 * C;
#pragma omp simd
      for (int64_t i = 0; i < span; ++i) dst[i] += s[i];
    }
  }
}

// First failure inside a parallel region (the error text is per thread, so it is copied out).
struct Failure {
  std::atomic<int> code{GMPNN_OK};
  char msg[256] = "";
  void note(gmpnn_status st) {
    int expected = GMPNN_OK;
    if (st != GMPNN_OK && code.compare_exchange_strong(expected, (int)st))
      std::snprintf(msg, sizeof msg, "%s", gmpnn_last_error());
  }
  gmpnn_status status(const char* op) const {
    const int c = code.load();
    return c == GMPNN_OK ? GMPNN_OK : gmpnn_set_error((gmpnn_status)c, "%s: %s", op, msg);
  }
};

template <typename T>
void fill_zero(T* p, int64_t n, int nt) {
#pragma omp parallel for simd schedule(static) num_threads(nt) if (nt > 1)
  for (int64_t i = 0; i < n; ++i) p[i] = T(0);
}

// ------------------------------------------------------------------------------ direct path
// Stride-1 convolutions without the im2col matrix (gmpnn_cpu::conv_direct): the input is copied
// once into a zero-padded image, and the microkernel reads each output pixel's window from it.
// The data gradient of a stride-1 convolution is the same kind of convolution: dout padded by
// KH−1−pad (KW−1−pad) with the weight flipped and transposed, W'[c, KH−1−kh, KW−1−kw, o] =
// W[o, kh, kw, c], so it needs neither the dcols buffer nor the col2im scatter.
thread_local Scratch t_pad, t_flip;
int g_direct_mode = -1;  // testing/bench override: -1 auto, 0 never, 1 always when applicable

// Whether the direct path applies and pays: stride 1 on the AVX2 GEMM path, a fan-in (KH·KW·C)
// up to kDirectMaxK and at least kDirectMinCout outputs (C_out of the convolution it runs). The
// padded copy and the packed weight live in per-thread buffers that grow to the largest layer.
bool direct_ok(const gmpnn_conv2d_dims& d, int64_t C, int64_t C_out) {
  if (g_direct_mode == 0 || d.stride_h != 1 || d.stride_w != 1 || !gmpnn_cpu::conv_direct_available())
    return false;
  if (g_direct_mode == 1) return true;
  return C * d.KH * d.KW <= kDirectMaxK && C_out >= kDirectMinCout;
}

// dst [N, H + ph0 + ph1, W + pw0 + pw1, C] = src [N, H, W, C] with zero borders.
template <typename T>
void pad_image(T* dst, const T* src, int64_t N, int64_t H, int64_t W, int64_t C, int64_t ph0,
               int64_t ph1, int64_t pw0, int64_t pw1, int nt) {
  const int64_t Hp = H + ph0 + ph1, Wp = W + pw0 + pw1;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (int64_t nr = 0; nr < N * Hp; ++nr) {
    const int64_t n = nr / Hp, y = nr - n * Hp - ph0;
    T* o = dst + nr * Wp * C;
    if (y < 0 || y >= H) {
      std::memset(o, 0, sizeof(T) * Wp * C);
      continue;
    }
    std::memset(o, 0, sizeof(T) * pw0 * C);
    std::memcpy(o + pw0 * C, src + (n * H + y) * W * C, sizeof(T) * W * C);
    std::memset(o + (pw0 + W) * C, 0, sizeof(T) * pw1 * C);
  }
}

// out = conv(img padded by (ph0, ph1, pw0, pw1), bp) at stride 1, bp the weight packed for
// gmpnn_cpu::conv_direct (KH x KW taps of C channels, C_out outputs).
template <typename T>
gmpnn_status direct_conv(T* out, const T* img, int64_t N, int64_t H, int64_t W, int64_t C,
                         int64_t ph0, int64_t ph1, int64_t pw0, int64_t pw1, int64_t KH,
                         int64_t KW, const T* bp, int64_t C_out, int nt, const char* op) {
  const int64_t Hp = H + ph0 + ph1, Wp = W + pw0 + pw1, OH = Hp - KH + 1, OW = Wp - KW + 1;
  const T* src = img;
  if (ph0 || ph1 || pw0 || pw1) {
    T* padded = (T*)t_pad.get(sizeof(T) * (size_t)(N * Hp * Wp * C));
    if (!padded)
      return gmpnn_set_error(GMPNN_E_OOM, "%s: padded image (%lld bytes)", op,
                             (long long)(sizeof(T) * N * Hp * Wp * C));
    pad_image(padded, img, N, H, W, C, ph0, ph1, pw0, pw1, nt);
    src = padded;
  }
  const gmpnn_status st = gmpnn_cpu::conv_direct<T>(out, src, N, Hp, Wp, C, OH, OW, KH, KW, bp, C_out);
  return st == GMPNN_OK ? GMPNN_OK : gmpnn_set_error(st, "%s: %s", op, gmpnn_last_error());
}

// The packed weight for the forward (gmpnn_cpu::conv_direct_pack_weight: the GEMM's B packer).
template <typename T>
T* pack_direct_forward(const T* w, int64_t C_out, int64_t K) {
  constexpr int NR = gmpnn_cpu::kConvDirectNr<T>;
  T* bp = (T*)t_flip.get(sizeof(T) * (size_t)((C_out + NR - 1) / NR * K * NR));
  if (bp) gmpnn_cpu::conv_direct_pack_weight(bp, w, C_out, K);
  return bp;
}

// The packed weight of the data gradient's convolution: output channels are the layer's input
// channels c, taps flipped, channels the layer's outputs o:
// bp[(q·K' + (kh'·KW + kw')·C_out + o)·NR + j] = W[o, KH−1−kh', KW−1−kw', q·NR + j].
template <typename T>
T* pack_direct_data(const T* w, const gmpnn_conv2d_dims& d) {
  constexpr int NR = gmpnn_cpu::kConvDirectNr<T>;
  const int64_t panels = (d.C_in + NR - 1) / NR, taps = d.KH * d.KW, Kd = taps * d.C_out;
  T* bp = (T*)t_flip.get(sizeof(T) * (size_t)(panels * Kd * NR));
  if (!bp) return nullptr;
  for (int64_t q = 0; q < panels; ++q) {
    const int cols = (int)std::min<int64_t>(NR, d.C_in - q * NR);
    for (int64_t t = 0; t < taps; ++t) {
      const int64_t kh = d.KH - 1 - t / d.KW, kw = d.KW - 1 - t % d.KW;
      for (int64_t o = 0; o < d.C_out; ++o) {
        T* dst = bp + (q * Kd + t * d.C_out + o) * NR;
        const T* src = w + ((o * d.KH + kh) * d.KW + kw) * d.C_in + q * NR;  // NR contiguous c
        int j = 0;
        for (; j < cols; ++j) dst[j] = src[j];
        for (; j < NR; ++j) dst[j] = T(0);
      }
    }
  }
  return bp;
}

// ------------------------------------------------------------------------------ forward

template <typename T>
gmpnn_status forward_impl(T* out, const T* in, const T* w, const gmpnn_conv2d_dims& d,
                          const char* op) {
  const Geo g = geo(d);
  if (g.M == 0 || d.C_out == 0) return GMPNN_OK;
  if (g.K == 0) {
    fill_zero(out, g.M * d.C_out, 1);
    return GMPNN_OK;
  }
  if (pointwise(d))  // out = in[M, C_in] · Wᵀ; the GEMM threads itself
    return gmpnn_cpu_gemm(dtype_of<T>(), out, in, w, 0, 1, g.M, d.C_out, g.K, g.K, g.K, d.C_out,
                          1.0, 0.0);
  if (direct_ok(d, d.C_in, d.C_out) && g_tile_rows_override <= 0) {
    // Padding that gives exactly OH x OW outputs at stride 1 (the far side may be cut short).
    const int64_t ph1 = d.OH + d.KH - 1 - d.H - d.pad_h, pw1 = d.OW + d.KW - 1 - d.W - d.pad_w;
    if (ph1 >= 0 && pw1 >= 0) {
      const T* bp = pack_direct_forward(w, d.C_out, g.K);
      if (!bp)
        return gmpnn_set_error(GMPNN_E_OOM, "%s: packed weight (%lld values)", op,
                               (long long)(d.C_out * g.K));
      return direct_conv<T>(out, in, d.N, d.H, d.W, d.C_in, d.pad_h, ph1, d.pad_w, pw1, d.KH, d.KW,
                            bp, d.C_out, threads_for(g.M * g.K * d.C_out), op);
    }
  }
  if (d.C_out >= kImplicitMinCout && g_tile_rows_override <= 0) {
    // out = cols · Wᵀ with the GEMM packing cols straight from the image (implicit im2col): one
    // threaded GEMM, the weight packed once and shared, no im2col pass through memory. Only for
    // wide layers: the packed rows of cols are then reused across many column panels, while for
    // C_out ≤ 64 the tiled path below reads its im2col tile in place, unpacked.
    const gmpnn_cpu::Im2colView<T> view{in, &d, 0};
    const gmpnn_status st = gmpnn_cpu::gemm_im2col_a<T>(out, view, w, 1, g.M, d.C_out, g.K, g.K,
                                                        d.C_out, T(1), T(0));
    return st == GMPNN_OK ? GMPNN_OK : gmpnn_set_error(st, "%s: %s", op, gmpnn_last_error());
  }
  const int nt = threads_for(g.M * g.K * d.C_out);
  const int64_t tr = tile_rows_for(g.M, g.K, sizeof(T), nt, d.C_out);
  const int64_t ntiles = (g.M + tr - 1) / tr;
  if (ntiles == 1 && nt > 1) {
    // One tile on a team: im2col split over the threads, then the GEMM threads itself.
    T* cols = (T*)t_cols.get(sizeof(T) * g.M * g.K);
    if (!cols)
      return gmpnn_set_error(GMPNN_E_OOM, "%s: im2col buffer (%lld bytes)", op,
                             (long long)(sizeof(T) * g.M * g.K));
    const int64_t chunk = std::max<int64_t>(1, g.M / (4 * nt));
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t c0 = 0; c0 < g.M; c0 += chunk) {
      FtzScope ftz;
      im2col_rows(cols + c0 * g.K, in, d, c0, std::min(g.M, c0 + chunk));
    }
    return gmpnn_cpu_gemm(dtype_of<T>(), out, cols, w, 0, 1, g.M, d.C_out, g.K, g.K, g.K, d.C_out,
                          1.0, 0.0);
  }
  Failure fail;
  // One tile: no team, the GEMM may thread itself (a deep layer on a small batch).
#pragma omp parallel num_threads(nt) if (nt > 1 && ntiles > 1)
  {
    FtzScope ftz;
    T* cols = (T*)t_cols.get(sizeof(T) * tr * g.K);
#pragma omp for schedule(static)
    for (int64_t t = 0; t < ntiles; ++t) {
      if (!cols) {
        fail.note(gmpnn_set_error(GMPNN_E_OOM, "im2col buffer (%lld bytes)",
                                  (long long)(sizeof(T) * tr * g.K)));
        continue;
      }
      const int64_t r0 = t * tr, r1 = std::min(g.M, r0 + tr);
      im2col_rows(cols, in, d, r0, r1);
      fail.note(gmpnn_cpu_gemm(dtype_of<T>(), out + r0 * d.C_out, cols, w, 0, 1, r1 - r0, d.C_out,
                               g.K, g.K, g.K, d.C_out, 1.0, 0.0));
    }
  }
  return fail.status(op);
}

// ------------------------------------------------------------------------------ data gradient

struct Tile {
  int64_t r0, r1;
};

// Tiles for the scatter: phase 0 and phase 1 each hold tiles whose din footprints are disjoint.
void data_tiles(const gmpnn_conv2d_dims& d, int64_t tr, int nt, std::vector<Tile> phase[2]) {
  const int64_t P = d.OH * d.OW;
  if (tr >= P) {  // groups of whole images never share input pixels
    // Equal groups, as many as a multiple of the thread count (when there are enough images).
    int64_t groups = (d.N + tr / P - 1) / (tr / P);
    if (nt > 1) groups = std::min(d.N, (groups + nt - 1) / nt * nt);
    const int64_t imgs = (d.N + groups - 1) / groups;
    for (int64_t n = 0; n < d.N; n += imgs) phase[0].push_back({n * P, std::min(d.N, n + imgs) * P});
    return;
  }
  // Bands of B output rows; B >= ceil(KH / sh) keeps band b's footprint clear of band b + 2.
  // Bands of one image are made equal (32 rows at 28 per band gave bands of 28 and 4).
  const int64_t minB = (d.KH + d.stride_h - 1) / d.stride_h;
  int64_t B = std::min(d.OH, std::max(minB, std::max<int64_t>(1, tr / std::max<int64_t>(1, d.OW))));
  B = std::max(minB, (d.OH + (d.OH + B - 1) / B - 1) / ((d.OH + B - 1) / B));
  for (int64_t n = 0; n < d.N; ++n)
    for (int64_t a = 0, b = 0; a < d.OH; a += B, ++b)
      phase[b & 1].push_back({n * P + a * d.OW, n * P + std::min(d.OH, a + B) * d.OW});
}

template <typename T>
gmpnn_status backward_data_impl(T* din, const T* dout, const T* w, const gmpnn_conv2d_dims& d,
                                const char* op) {
  const Geo g = geo(d);
  const int64_t in_size = d.N * d.H * d.W * d.C_in;
  if (in_size == 0) return GMPNN_OK;
  const int nt = threads_for(g.M * g.K * d.C_out);
  if (g.M == 0 || d.C_out == 0) {
    fill_zero(din, in_size, nt);
    return GMPNN_OK;
  }
  if (pointwise(d))  // din = dout[M, C_out] · W[C_out, C_in]
    return gmpnn_cpu_gemm(dtype_of<T>(), din, dout, w, 0, 0, g.M, g.K, d.C_out, d.C_out, g.K, g.K,
                          1.0, 0.0);
  if (direct_ok(d, d.C_out, d.C_in) && g_tile_rows_override <= 0) {
    // din = conv(dout padded by KH−1−pad before and so that H rows come out, W flipped and
    // transposed). Input pixels the forward never read (a cut-short far side) get zero.
    const int64_t ph0 = d.KH - 1 - d.pad_h, pw0 = d.KW - 1 - d.pad_w;
    const int64_t ph1 = d.H + d.KH - 1 - d.OH - ph0, pw1 = d.W + d.KW - 1 - d.OW - pw0;
    if (ph0 >= 0 && pw0 >= 0 && ph1 >= 0 && pw1 >= 0) {
      const T* bp = pack_direct_data(w, d);
      if (!bp)
        return gmpnn_set_error(GMPNN_E_OOM, "%s: packed weight (%lld values)", op,
                               (long long)(d.C_out * g.K));
      return direct_conv<T>(din, dout, d.N, d.OH, d.OW, d.C_out, ph0, ph1, pw0, pw1, d.KH, d.KW, bp,
                            d.C_in, nt, op);
    }
  }
  const int64_t tr = tile_rows_for(g.M, g.K, sizeof(T), nt, d.C_out);
  if (tr >= g.M && nt > 1) {
    // One tile on a team: the GEMM threads itself, then the scatter runs image by image (images
    // never share input pixels).
    T* dcols = (T*)t_cols.get(sizeof(T) * g.M * g.K);
    if (!dcols)
      return gmpnn_set_error(GMPNN_E_OOM, "%s: col buffer (%lld bytes)", op,
                             (long long)(sizeof(T) * g.M * g.K));
    const gmpnn_status st = gmpnn_cpu_gemm(dtype_of<T>(), dcols, dout, w, 0, 0, g.M, g.K, d.C_out,
                                           d.C_out, g.K, g.K, 1.0, 0.0);
    if (st != GMPNN_OK) return st;
    fill_zero(din, in_size, nt);
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t n = 0; n < d.N; ++n) {
      FtzScope ftz;
      col2im_add_rows(din, dcols + n * g.P * g.K, d, n * g.P, (n + 1) * g.P);
    }
    return GMPNN_OK;
  }
  std::vector<Tile> phase[2];
  data_tiles(d, tr, nt, phase);
  int64_t maxrows = 0;
  for (auto& ph : phase)
    for (const Tile& t : ph) maxrows = std::max(maxrows, t.r1 - t.r0);
  const int64_t ntiles = (int64_t)(phase[0].size() + phase[1].size());
  fill_zero(din, in_size, nt);
  Failure fail;
#pragma omp parallel num_threads(nt) if (nt > 1 && ntiles > 1)
  {
    FtzScope ftz;
    T* dcols = (T*)t_cols.get(sizeof(T) * maxrows * g.K);
    for (int ph = 0; ph < 2; ++ph) {
      const std::vector<Tile>& tiles = phase[ph];
      // The implied barrier at the end of the loop separates the phases.
#pragma omp for schedule(static)
      for (int64_t i = 0; i < (int64_t)tiles.size(); ++i) {
        if (!dcols) {
          fail.note(gmpnn_set_error(GMPNN_E_OOM, "col buffer (%lld bytes)",
                                    (long long)(sizeof(T) * maxrows * g.K)));
          continue;
        }
        const Tile t = tiles[i];
        const gmpnn_status st =
            gmpnn_cpu_gemm(dtype_of<T>(), dcols, dout + t.r0 * d.C_out, w, 0, 0, t.r1 - t.r0, g.K,
                           d.C_out, d.C_out, g.K, g.K, 1.0, 0.0);
        fail.note(st);
        if (st == GMPNN_OK) col2im_add_rows(din, dcols, d, t.r0, t.r1);
      }
    }
  }
  return fail.status(op);
}

// ------------------------------------------------------------------------------ filter gradient

// Output channels up to which the filter gradient is computed transposed (see below). 64 since
// the GEMM reads A in place up to 8 panels: VGG-6's 64→64 layer at batch 16, 1 thread, 5.3–5.8 ms
// → 4.5–5.3 ms over three alternating pairs (C_out = 128 unchanged within the noise).
constexpr int64_t kFilterTransposedMaxCout = 64;

template <typename T>
gmpnn_status backward_filter_impl(T* dw, const T* dout, const T* in, const gmpnn_conv2d_dims& d,
                                  const char* op) {
  const Geo g = geo(d);
  const int64_t wsize = d.C_out * g.K;
  if (wsize == 0) return GMPNN_OK;
  const int nt = threads_for(g.M * g.K * d.C_out);
  if (g.M == 0) {
    fill_zero(dw, wsize, nt);
    return GMPNN_OK;
  }
  if (pointwise(d))  // dW[C_out, C_in] = doutᵀ · in
    return gmpnn_cpu_gemm(dtype_of<T>(), dw, dout, in, 1, 0, d.C_out, g.K, g.M, d.C_out, g.K, g.K,
                          1.0, 0.0);
  // Few output channels: compute dWᵀ [K, C_out] = colsᵀ·dout instead, so the GEMM's wide side is
  // K and it reads the im2col tile in place (no packing of a [rows, K] operand that would be
  // used for only C_out rows), then transpose once. Measured 1.3–1.75× for C_out = 32.
  const bool transposed = d.C_out <= kFilterTransposedMaxCout;
  std::vector<T> dwt_store;
  if (transposed) {
    try {
      dwt_store.resize((size_t)wsize);
    } catch (...) {
      return gmpnn_set_error(GMPNN_E_OOM, "%s: filter gradient buffer (%lld bytes)", op,
                             (long long)(wsize * (int64_t)sizeof(T)));
    }
  }
  T* acc = transposed ? dwt_store.data() : dw;  // where the tiles' products are summed
  // One tile's product into `dst` (dW or dWᵀ layout), beta 0 or 1.
  auto tile_gemm = [&](T* dst, const T* cols, int64_t r0, int64_t rows, double beta) {
    return transposed
               ? gmpnn_cpu_gemm(dtype_of<T>(), dst, cols, dout + r0 * d.C_out, 1, 0, g.K, d.C_out,
                                rows, g.K, d.C_out, d.C_out, 1.0, beta)
               : gmpnn_cpu_gemm(dtype_of<T>(), dst, dout + r0 * d.C_out, cols, 1, 0, d.C_out, g.K,
                                rows, d.C_out, g.K, g.K, 1.0, beta);
  };
  // dW[o, k] = dWᵀ[k, o].
  auto finish = [&]() {
    if (!transposed) return;
    for (int64_t o = 0; o < d.C_out; ++o)
      for (int64_t k = 0; k < g.K; ++k) dw[o * g.K + k] = acc[k * d.C_out + o];
  };
  int64_t tr = tile_rows_for(g.M, g.K, sizeof(T), nt);
  int64_t ntiles = (g.M + tr - 1) / tr;
  bool partials = g_filter_mode == 1 ||
                  (g_filter_mode == 0 && (nt == 1 || (int64_t)(nt - 1) * wsize * (int64_t)sizeof(T) <= kPartialBytes));
  if (nt == 1 || ntiles == 1) partials = true;  // one worker: the same loop, no team
  Failure fail;
  if (partials) {
    const int team = (nt > 1 && ntiles > 1) ? (int)std::min<int64_t>(nt, ntiles) : 1;
    std::vector<T> extra;
    if (team > 1) {
      try {
        extra.resize((size_t)(team - 1) * wsize);
      } catch (...) {
        return gmpnn_set_error(GMPNN_E_OOM, "%s: filter partials (%lld bytes)", op,
                               (long long)((team - 1) * wsize * (int64_t)sizeof(T)));
      }
    }
#pragma omp parallel num_threads(team) if (team > 1)
    {
      FtzScope ftz;
      const int tid = omp_get_thread_num();
      T* mine = tid == 0 ? acc : extra.data() + (size_t)(tid - 1) * wsize;
      T* cols = (T*)t_cols.get(sizeof(T) * tr * g.K);
      bool first = true;
#pragma omp for schedule(static)
      for (int64_t t = 0; t < ntiles; ++t) {
        if (!cols) {
          fail.note(gmpnn_set_error(GMPNN_E_OOM, "im2col buffer (%lld bytes)",
                                    (long long)(sizeof(T) * tr * g.K)));
          continue;
        }
        const int64_t r0 = t * tr, r1 = std::min(g.M, r0 + tr);
        im2col_rows(cols, in, d, r0, r1);
        fail.note(tile_gemm(mine, cols, r0, r1 - r0, first ? 0.0 : 1.0));
        first = false;
      }
      if (first) std::memset(mine, 0, sizeof(T) * wsize);  // this thread got no tile
      // Sum the partials in thread order, split over the team by element ranges.
#pragma omp barrier
      if (team > 1) {
        const int64_t lo = wsize * tid / team, hi = wsize * (tid + 1) / team;
        for (int k = 1; k < team; ++k) {
          const T* src = extra.data() + (size_t)(k - 1) * wsize;
#pragma omp simd
          for (int64_t i = lo; i < hi; ++i) acc[i] += src[i];
        }
      }
    }
    const gmpnn_status st = fail.status(op);
    if (st == GMPNN_OK) finish();
    return st;
  }
  // Sequential tiles: parallel im2col of a larger tile, then the threaded GEMM with beta = 1.
  if (g_tile_rows_override <= 0)
    tr = std::min(g.M, std::max<int64_t>(kTileMaxRows, kTileBytes / std::max<int64_t>(1, g.K * (int64_t)sizeof(T))));
  ntiles = (g.M + tr - 1) / tr;
  T* cols = (T*)t_cols.get(sizeof(T) * tr * g.K);
  if (!cols)
    return gmpnn_set_error(GMPNN_E_OOM, "%s: im2col buffer (%lld bytes)", op,
                           (long long)(sizeof(T) * tr * g.K));
  for (int64_t t = 0; t < ntiles; ++t) {
    const int64_t r0 = t * tr, r1 = std::min(g.M, r0 + tr);
    const int64_t rows = r1 - r0;
    const int64_t chunk = std::max<int64_t>(1, rows / (4 * nt));
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t c0 = r0; c0 < r1; c0 += chunk) {
      FtzScope ftz;
      im2col_rows(cols + (c0 - r0) * g.K, in, d, c0, std::min(r1, c0 + chunk));
    }
    const gmpnn_status st = tile_gemm(acc, cols, r0, rows, t == 0 ? 0.0 : 1.0);
    if (st != GMPNN_OK) return st;
  }
  finish();
  return GMPNN_OK;
}

// ------------------------------------------------------------------------------ references

template <typename T>
void forward_ref(T* out, const T* in, const T* w, const gmpnn_conv2d_dims& d) {
  for (int64_t n = 0; n < d.N; ++n)
    for (int64_t oh = 0; oh < d.OH; ++oh)
      for (int64_t ow = 0; ow < d.OW; ++ow)
        for (int64_t o = 0; o < d.C_out; ++o) {
          double s = 0;
          for (int64_t kh = 0; kh < d.KH; ++kh)
            for (int64_t kw = 0; kw < d.KW; ++kw)
              for (int64_t c = 0; c < d.C_in; ++c) {
                const int64_t ih = oh * d.stride_h - d.pad_h + kh, iw = ow * d.stride_w - d.pad_w + kw;
                if (ih < 0 || ih >= d.H || iw < 0 || iw >= d.W) continue;
                s += (double)in[((n * d.H + ih) * d.W + iw) * d.C_in + c] *
                     (double)w[((o * d.KH + kh) * d.KW + kw) * d.C_in + c];
              }
          out[((n * d.OH + oh) * d.OW + ow) * d.C_out + o] = (T)s;
        }
}

template <typename T>
void data_ref(T* din, const T* dout, const T* w, const gmpnn_conv2d_dims& d) {
  std::vector<double> acc((size_t)(d.N * d.H * d.W * d.C_in), 0.0);
  for (int64_t n = 0; n < d.N; ++n)
    for (int64_t oh = 0; oh < d.OH; ++oh)
      for (int64_t ow = 0; ow < d.OW; ++ow)
        for (int64_t o = 0; o < d.C_out; ++o) {
          const double g = (double)dout[((n * d.OH + oh) * d.OW + ow) * d.C_out + o];
          for (int64_t kh = 0; kh < d.KH; ++kh)
            for (int64_t kw = 0; kw < d.KW; ++kw)
              for (int64_t c = 0; c < d.C_in; ++c) {
                const int64_t ih = oh * d.stride_h - d.pad_h + kh, iw = ow * d.stride_w - d.pad_w + kw;
                if (ih < 0 || ih >= d.H || iw < 0 || iw >= d.W) continue;
                acc[((n * d.H + ih) * d.W + iw) * d.C_in + c] +=
                    g * (double)w[((o * d.KH + kh) * d.KW + kw) * d.C_in + c];
              }
        }
  for (size_t i = 0; i < acc.size(); ++i) din[i] = (T)acc[i];
}

template <typename T>
void filter_ref(T* dw, const T* dout, const T* in, const gmpnn_conv2d_dims& d) {
  std::vector<double> acc((size_t)(d.C_out * d.KH * d.KW * d.C_in), 0.0);
  for (int64_t n = 0; n < d.N; ++n)
    for (int64_t oh = 0; oh < d.OH; ++oh)
      for (int64_t ow = 0; ow < d.OW; ++ow)
        for (int64_t o = 0; o < d.C_out; ++o) {
          const double g = (double)dout[((n * d.OH + oh) * d.OW + ow) * d.C_out + o];
          for (int64_t kh = 0; kh < d.KH; ++kh)
            for (int64_t kw = 0; kw < d.KW; ++kw)
              for (int64_t c = 0; c < d.C_in; ++c) {
                const int64_t ih = oh * d.stride_h - d.pad_h + kh, iw = ow * d.stride_w - d.pad_w + kw;
                if (ih < 0 || ih >= d.H || iw < 0 || iw >= d.W) continue;
                acc[((o * d.KH + kh) * d.KW + kw) * d.C_in + c] +=
                    g * (double)in[((n * d.H + ih) * d.W + iw) * d.C_in + c];
              }
        }
  for (size_t i = 0; i < acc.size(); ++i) dw[i] = (T)acc[i];
}

// Common argument checks: dims, and non-null pointers where elements exist.
gmpnn_status check(const char* op, const gmpnn_conv2d_dims* d, const void* a, int64_t na,
                   const void* b, int64_t nb, const void* c, int64_t nc) {
  gmpnn_status st = gmpnn_conv2d_check_dims(d, op);
  if (st != GMPNN_OK) return st;
  if ((na > 0 && !a) || (nb > 0 && !b) || (nc > 0 && !c))
    return gmpnn_set_error(GMPNN_E_ARG, "%s: NULL buffer", op);
  return GMPNN_OK;
}
inline int64_t in_numel(const gmpnn_conv2d_dims* d) { return d->N * d->H * d->W * d->C_in; }
inline int64_t out_numel(const gmpnn_conv2d_dims* d) { return d->N * d->OH * d->OW * d->C_out; }
inline int64_t w_numel(const gmpnn_conv2d_dims* d) { return d->C_out * d->KH * d->KW * d->C_in; }

}  // namespace

#define GMPNN_CONV_CHECK(op, d, a, na, b, nb, c, nc)               \
  do {                                                             \
    gmpnn_status st_ = check(op, d, a, na, b, nb, c, nc);           \
    if (st_ != GMPNN_OK) return st_;                               \
  } while (0)

extern "C" gmpnn_status gmpnn_cpu_conv2d_forward(gmpnn_dtype dt, void* out, const void* in,
                                                 const void* weight, const gmpnn_conv2d_dims* d) {
  const char* op = "conv2d_forward";
  if (!d) return gmpnn_set_error(GMPNN_E_ARG, "%s: NULL dims", op);
  GMPNN_CONV_CHECK(op, d, out, out_numel(d), in, in_numel(d), weight, w_numel(d));
  GMPNN_DISPATCH_FLOAT(dt, op, return forward_impl<T>((T*)out, (const T*)in, (const T*)weight, *d, op));
}

extern "C" gmpnn_status gmpnn_cpu_conv2d_backward_data(gmpnn_dtype dt, void* din, const void* dout,
                                                       const void* weight,
                                                       const gmpnn_conv2d_dims* d) {
  const char* op = "conv2d_backward_data";
  if (!d) return gmpnn_set_error(GMPNN_E_ARG, "%s: NULL dims", op);
  GMPNN_CONV_CHECK(op, d, din, in_numel(d), dout, out_numel(d), weight, w_numel(d));
  GMPNN_DISPATCH_FLOAT(dt, op,
                       return backward_data_impl<T>((T*)din, (const T*)dout, (const T*)weight, *d, op));
}

extern "C" gmpnn_status gmpnn_cpu_conv2d_backward_filter(gmpnn_dtype dt, void* dweight,
                                                         const void* dout, const void* in,
                                                         const gmpnn_conv2d_dims* d) {
  const char* op = "conv2d_backward_filter";
  if (!d) return gmpnn_set_error(GMPNN_E_ARG, "%s: NULL dims", op);
  GMPNN_CONV_CHECK(op, d, dweight, w_numel(d), dout, out_numel(d), in, in_numel(d));
  GMPNN_DISPATCH_FLOAT(dt, op,
                       return backward_filter_impl<T>((T*)dweight, (const T*)dout, (const T*)in, *d, op));
}

extern "C" gmpnn_status gmpnn_cpu_conv2d_forward_reference(gmpnn_dtype dt, void* out,
                                                           const void* in, const void* weight,
                                                           const gmpnn_conv2d_dims* d) {
  const char* op = "conv2d_forward_reference";
  if (!d) return gmpnn_set_error(GMPNN_E_ARG, "%s: NULL dims", op);
  GMPNN_CONV_CHECK(op, d, out, out_numel(d), in, in_numel(d), weight, w_numel(d));
  GMPNN_DISPATCH_FLOAT(dt, op, forward_ref<T>((T*)out, (const T*)in, (const T*)weight, *d); return GMPNN_OK);
}

extern "C" gmpnn_status gmpnn_cpu_conv2d_backward_data_reference(gmpnn_dtype dt, void* din,
                                                                 const void* dout,
                                                                 const void* weight,
                                                                 const gmpnn_conv2d_dims* d) {
  const char* op = "conv2d_backward_data_reference";
  if (!d) return gmpnn_set_error(GMPNN_E_ARG, "%s: NULL dims", op);
  GMPNN_CONV_CHECK(op, d, din, in_numel(d), dout, out_numel(d), weight, w_numel(d));
  GMPNN_DISPATCH_FLOAT(dt, op, data_ref<T>((T*)din, (const T*)dout, (const T*)weight, *d); return GMPNN_OK);
}

extern "C" gmpnn_status gmpnn_cpu_conv2d_backward_filter_reference(gmpnn_dtype dt, void* dweight,
                                                                   const void* dout,
                                                                   const void* in,
                                                                   const gmpnn_conv2d_dims* d) {
  const char* op = "conv2d_backward_filter_reference";
  if (!d) return gmpnn_set_error(GMPNN_E_ARG, "%s: NULL dims", op);
  GMPNN_CONV_CHECK(op, d, dweight, w_numel(d), dout, out_numel(d), in, in_numel(d));
  GMPNN_DISPATCH_FLOAT(dt, op, filter_ref<T>((T*)dweight, (const T*)dout, (const T*)in, *d); return GMPNN_OK);
}

extern "C" void gmpnn_cpu_conv2d_set_direct_for_testing(int mode) { g_direct_mode = mode; }

extern "C" void gmpnn_cpu_conv2d_set_tiling_for_testing(int64_t tile_rows, int filter_mode) {
  g_tile_rows_override = tile_rows > 0 ? tile_rows : 0;
  g_filter_mode = filter_mode;
}
