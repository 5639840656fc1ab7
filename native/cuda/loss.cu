// CUDA loss kernels (gmpnn/loss.h): MSE, MAE, BCE with logits, softmax cross-entropy. Forward
// writes the mean loss into loss[0] (=), backward writes dpred / dlogits (=). The pointwise math
// is the CPU twin's (native/cpu/loss.cc), term for term: forward terms and sums in double,
// backward in the input precision with scale = (T)(dloss[0] / n) read on the device (no host
// round trip).
//
// Launch:
//  - pointwise forward: min(ceil(n / 256), 1024) blocks of 256 threads; each thread sums its
//    grid-stride share in double, each block writes one partial to scratch memory; a second
//    one-block kernel sums the partials and divides by n. Deterministic for a given n.
//  - softmax xent forward: one warp per row (8 rows per 256-thread block): row max, Σ exp in
//    double, probs, per-row loss logsumexp - z[label] into scratch; then the one-block sum / N.
//  - backward: one thread per element, grid-stride.
// Labels are checked on the device (integer-valued, in [0, C)); the first bad row is recorded
// with atomicMin in a scratch word that is read back at the end of the call (one synchronization,
// only in the cross-entropy kernels) and turned into GMPNN_E_ARG.
#include <climits>

#include "common.cuh"
#include "gmpnn/loss.h"

namespace {

using namespace gmpnn_cuda;

constexpr int kMaxPartials = 1024;

template <typename T>
__device__ __forceinline__ double pointwise_loss(int kind, T p, T t) {
  double d = (double)p - (double)t;
  switch (kind) {
    case GMPNN_LOSS_MSE: return d * d;
    case GMPNN_LOSS_MAE: return fabs(d);
    default: {
      double x = (double)p;
      return (x > 0 ? x : 0) - (double)t * x + log1p(exp(-fabs(x)));
    }
  }
}

template <typename T>
__device__ __forceinline__ T pointwise_grad(int kind, T p, T t) {
  switch (kind) {
    case GMPNN_LOSS_MSE: return T(2) * (p - t);
    case GMPNN_LOSS_MAE: return p > t ? T(1) : (p < t ? T(-1) : T(0));
    default: {
      T s = p >= T(0) ? T(1) / (T(1) + exp(-p)) : exp(p) / (T(1) + exp(p));
      return s - t;
    }
  }
}

template <typename T>
__device__ __forceinline__ int64_t label_of(const T* labels, int64_t n, int64_t C) {
  T v = labels[n];
  int64_t k = (int64_t)v;
  if (!(v >= T(0)) || (T)k != v || k >= C) return -1;
  return k;
}

template <typename T>
__global__ void loss_partials_kernel(double* __restrict__ partials, const T* __restrict__ p,
                                     const T* __restrict__ t, int64_t n, int kind) {
  double s = 0;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    s += pointwise_loss<T>(kind, p[i], t[i]);
  s = block_sum(s);
  if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

// out[0] = (T)(Σ v / divisor), one block.
template <typename T>
__global__ void sum_doubles_kernel(T* out, const double* __restrict__ v, int64_t count,
                                   double divisor) {
  double s = 0;
  for (int64_t i = threadIdx.x; i < count; i += blockDim.x) s += v[i];
  s = block_sum(s);
  if (threadIdx.x == 0) out[0] = (T)(s / divisor);
}

template <typename T>
__global__ void loss_backward_kernel(T* __restrict__ g, const T* __restrict__ dloss,
                                     const T* __restrict__ p, const T* __restrict__ t, int64_t n,
                                     int kind) {
  const T scale = (T)((double)dloss[0] / (double)n);
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    g[i] = scale * pointwise_grad<T>(kind, p[i], t[i]);
}

template <typename T>
__global__ void xent_rows_kernel(double* __restrict__ rowloss, unsigned long long* bad_row,
                                 T* __restrict__ pr, const T* __restrict__ z,
                                 const T* __restrict__ y, int64_t N, int64_t C) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
  for (int64_t n = (int64_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); n < N;
       n += warps) {
    const T* row = z + n * C;
    T* prow = pr + n * C;
    double mx = -HUGE_VAL;
    for (int64_t c = lane; c < C; c += 32) mx = fmax(mx, (double)row[c]);
    for (int o = 16; o > 0; o >>= 1) mx = fmax(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    double se = 0;
    for (int64_t c = lane; c < C; c += 32) se += exp((double)row[c] - mx);
    for (int o = 16; o > 0; o >>= 1) se += __shfl_xor_sync(0xffffffffu, se, o);
    const double inv = 1.0 / se;
    for (int64_t c = lane; c < C; c += 32) prow[c] = (T)(exp((double)row[c] - mx) * inv);
    if (lane == 0) {
      int64_t k = label_of(y, n, C);
      if (k < 0) {
        atomicMin(bad_row, (unsigned long long)n);
        rowloss[n] = 0;
      } else {
        rowloss[n] = log(se) + mx - (double)row[k];
      }
    }
  }
}

template <typename T>
__global__ void xent_backward_kernel(T* __restrict__ g, unsigned long long* bad_row,
                                     const T* __restrict__ dloss, const T* __restrict__ pr,
                                     const T* __restrict__ y, int64_t N, int64_t C) {
  const T scale = (T)((double)dloss[0] / (double)N);
  const int64_t total = N * C;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t n = i / C, c = i - n * C;
    int64_t k = label_of(y, n, C);
    if (k < 0 && c == 0) atomicMin(bad_row, (unsigned long long)n);
    g[i] = scale * (pr[i] - (c == k ? T(1) : T(0)));
  }
}

// Reads the bad-row word back (synchronizes) and reports the first bad label.
template <typename T>
gmpnn_status check_labels(const unsigned long long* d_bad, const T* labels, int64_t C,
                          cudaStream_t stream, const char* name) {
  unsigned long long bad = 0;
  GMPNN_CUDA_TRY(name, cudaMemcpyAsync(&bad, d_bad, sizeof bad, cudaMemcpyDeviceToHost, stream));
  GMPNN_CUDA_TRY(name, cudaStreamSynchronize(stream));
  if (bad == ULLONG_MAX) return GMPNN_OK;
  T v = 0;
  GMPNN_CUDA_TRY(name, cudaMemcpyAsync(&v, labels + bad, sizeof v, cudaMemcpyDeviceToHost, stream));
  GMPNN_CUDA_TRY(name, cudaStreamSynchronize(stream));
  return gmpnn_set_error(GMPNN_E_ARG, "%s: label %g at row %llu is not a class in [0, %lld)", name,
                         (double)v, bad, (long long)C);
}

// RAII scratch block from the caching allocator.
struct Scratch {
  void* p = nullptr;
  ~Scratch() { scratch_free(p); }
};

}  // namespace

extern "C" gmpnn_status gmpnn_cuda_loss_forward(gmpnn_dtype dt, void* loss, const void* pred,
                                                const void* target, int64_t n, int kind) {
  const char* name = "gmpnn_cuda_loss_forward";
  GMPNN_CUDA_REQUIRE(kind >= 0 && kind < GMPNN_LOSS_COUNT, GMPNN_E_ARG, "%s: bad kind %d", name,
                     kind);
  GMPNN_CUDA_REQUIRE(n >= 1, GMPNN_E_SHAPE, "%s: empty input", name);
  GMPNN_CUDA_REQUIRE(loss && pred && target, GMPNN_E_ARG, "%s: NULL pointer", name);
  GMPNN_CUDA_STREAM(name);
  unsigned blocks = grid_for(n);
  if (blocks > kMaxPartials) blocks = kMaxPartials;
  Scratch partials;
  gmpnn_status st = scratch_alloc(&partials.p, blocks * sizeof(double), name);
  if (st != GMPNN_OK) return st;
  GMPNN_CUDA_DISPATCH(dt, name, {
    loss_partials_kernel<T><<<blocks, kThreads, 0, stream>>>(
        (double*)partials.p, (const T*)pred, (const T*)target, n, kind);
    GMPNN_CUDA_LAUNCHED(name);
    sum_doubles_kernel<T><<<1, kThreads, 0, stream>>>((T*)loss, (const double*)partials.p,
                                                      blocks, (double)n);
  });
  GMPNN_CUDA_LAUNCHED(name);
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_loss_backward(gmpnn_dtype dt, void* dpred, const void* dloss,
                                                 const void* pred, const void* target, int64_t n,
                                                 int kind) {
  const char* name = "gmpnn_cuda_loss_backward";
  GMPNN_CUDA_REQUIRE(kind >= 0 && kind < GMPNN_LOSS_COUNT, GMPNN_E_ARG, "%s: bad kind %d", name,
                     kind);
  GMPNN_CUDA_REQUIRE(n >= 1, GMPNN_E_SHAPE, "%s: empty input", name);
  GMPNN_CUDA_REQUIRE(dpred && dloss && pred && target, GMPNN_E_ARG, "%s: NULL pointer", name);
  GMPNN_CUDA_STREAM(name);
  GMPNN_CUDA_DISPATCH(dt, name,
                      loss_backward_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(
                          (T*)dpred, (const T*)dloss, (const T*)pred, (const T*)target, n, kind));
  GMPNN_CUDA_LAUNCHED(name);
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_softmax_xent_forward(gmpnn_dtype dt, void* loss, void* probs,
                                                        const void* logits, const void* labels,
                                                        int64_t N, int64_t C) {
  const char* name = "gmpnn_cuda_softmax_xent_forward";
  GMPNN_CUDA_REQUIRE(N >= 1 && C >= 1, GMPNN_E_SHAPE, "%s: bad shape [%lld, %lld]", name,
                     (long long)N, (long long)C);
  GMPNN_CUDA_REQUIRE(loss && probs && logits && labels, GMPNN_E_ARG, "%s: NULL pointer", name);
  GMPNN_CUDA_STREAM(name);
  Scratch scratch;  // [bad-row word][N row losses]
  gmpnn_status st = scratch_alloc(&scratch.p, sizeof(double) * (size_t)(N + 1), name);
  if (st != GMPNN_OK) return st;
  unsigned long long* bad = (unsigned long long*)scratch.p;
  double* rowloss = (double*)scratch.p + 1;
  GMPNN_CUDA_TRY(name, cudaMemsetAsync(bad, 0xff, sizeof *bad, stream));
  GMPNN_CUDA_DISPATCH(dt, name, {
    xent_rows_kernel<T><<<grid_for(N, 8), kThreads, 0, stream>>>(
        rowloss, bad, (T*)probs, (const T*)logits, (const T*)labels, N, C);
    GMPNN_CUDA_LAUNCHED(name);
    sum_doubles_kernel<T><<<1, kThreads, 0, stream>>>((T*)loss, rowloss, N, (double)N);
    GMPNN_CUDA_LAUNCHED(name);
    return check_labels<T>(bad, (const T*)labels, C, stream, name);
  });
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_softmax_xent_backward(gmpnn_dtype dt, void* dlogits,
                                                         const void* dloss, const void* probs,
                                                         const void* labels, int64_t N,
                                                         int64_t C) {
  const char* name = "gmpnn_cuda_softmax_xent_backward";
  GMPNN_CUDA_REQUIRE(N >= 1 && C >= 1, GMPNN_E_SHAPE, "%s: bad shape [%lld, %lld]", name,
                     (long long)N, (long long)C);
  GMPNN_CUDA_REQUIRE(dlogits && dloss && probs && labels, GMPNN_E_ARG, "%s: NULL pointer", name);
  GMPNN_CUDA_STREAM(name);
  Scratch scratch;
  gmpnn_status st = scratch_alloc(&scratch.p, sizeof(unsigned long long), name);
  if (st != GMPNN_OK) return st;
  unsigned long long* bad = (unsigned long long*)scratch.p;
  GMPNN_CUDA_TRY(name, cudaMemsetAsync(bad, 0xff, sizeof *bad, stream));
  GMPNN_CUDA_DISPATCH(dt, name, {
    xent_backward_kernel<T><<<grid_for(N * C), kThreads, 0, stream>>>(
        (T*)dlogits, bad, (const T*)dloss, (const T*)probs, (const T*)labels, N, C);
    GMPNN_CUDA_LAUNCHED(name);
    return check_labels<T>(bad, (const T*)labels, C, stream, name);
  });
  return GMPNN_OK;
}
