// CUDA runtime entry points of gmpnn/device.h: device count and name, the one stream, host/device
// copies and the caching allocator behind gmpnn_cuda_malloc / gmpnn_cuda_free.
//
// Nothing here runs at static-initialization time: the stream and the allocator state are created
// on first use, so the library loads on a machine with no driver, where the first call reports
// GMPNN_E_NO_DEVICE ("CUDA driver version is insufficient", error 35, or "no CUDA-capable device",
// error 100).
//
// Allocator: requests are rounded up to a size class (multiples of 512 B up to 1 MiB, then four
// classes per power of two, so at most 25% waste) and a freed block goes to the free list of its
// class; the next request of that class reuses it without calling cudaMalloc. All gmpnn work is on
// one stream, so a block freed while kernels that use it are still queued is safe to hand out again:
// the next user's work is queued behind them. On cudaMalloc failure the cache is emptied and the
// allocation retried once before GMPNN_E_OOM. The state lives on the heap and is never destroyed,
// so no cudaFree runs after the CUDA runtime has been torn down at process exit.
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "common.cuh"
#include "gmpnn/device.h"

namespace gmpnn_cuda {

gmpnn_status cuda_status(cudaError_t err, const char* op, const char* what) {
  (void)cudaGetLastError();  // clear a non-sticky error so later calls start clean
  gmpnn_status code = GMPNN_E_CUDA;
  switch (err) {
    case cudaErrorMemoryAllocation:
      code = GMPNN_E_OOM;
      break;
    case cudaErrorInsufficientDriver:
    case cudaErrorNoDevice:
    case cudaErrorStubLibrary:
    case cudaErrorDevicesUnavailable:
    case cudaErrorSystemDriverMismatch:
    case cudaErrorCompatNotSupportedOnDevice:
      code = GMPNN_E_NO_DEVICE;
      break;
    default:
      break;
  }
  return gmpnn_set_error(code, "%s: %s failed: %s (%s, error %d)", op, what,
                         cudaGetErrorString(err), cudaGetErrorName(err), (int)err);
}

namespace {

std::mutex& stream_mutex() {
  static std::mutex* m = new std::mutex;
  return *m;
}
cudaStream_t g_stream = nullptr;
bool g_stream_ready = false;

struct LiveBlock {
  size_t klass;
  size_t requested;
};

struct Allocator {
  std::mutex mu;
  std::map<size_t, std::vector<void*>> free_bins;  // size class -> cached blocks
  std::unordered_map<void*, LiveBlock> live;
  size_t allocated = 0;  // bytes requested by live buffers
  size_t cached = 0;     // bytes held in free_bins
};

Allocator& allocator() {
  static Allocator* a = new Allocator;  // never destroyed (see the file header)
  return *a;
}

size_t size_class(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes > (size_t(1) << 60)) return 0;  // refused by the caller (class < bytes)
  const size_t kSmall = size_t(1) << 20;
  if (bytes <= kSmall) return (bytes + 511) / 512 * 512;
  size_t p = kSmall;
  while (p * 2 < bytes) p *= 2;  // p < bytes <= 2p
  size_t step = p / 4;
  return (bytes + step - 1) / step * step;
}

// Frees every cached block; caller holds a.mu.
gmpnn_status release_cached(Allocator& a, const char* op) {
  if (a.cached == 0) return GMPNN_OK;
  if (g_stream_ready) GMPNN_CUDA_TRY(op, cudaStreamSynchronize(g_stream));
  gmpnn_status st = GMPNN_OK;
  for (auto& kv : a.free_bins) {
    for (void* p : kv.second) {
      cudaError_t err = cudaFree(p);
      if (err != cudaSuccess && st == GMPNN_OK) st = cuda_status(err, op, "cudaFree");
    }
  }
  a.free_bins.clear();
  a.cached = 0;
  return st;
}

}  // namespace

gmpnn_status get_stream(cudaStream_t* stream, const char* op) {
  std::lock_guard<std::mutex> lock(stream_mutex());
  if (!g_stream_ready) {
    int n = 0;
    GMPNN_CUDA_TRY(op, cudaGetDeviceCount(&n));
    if (n == 0) return gmpnn_set_error(GMPNN_E_NO_DEVICE, "%s: no CUDA device", op);
    GMPNN_CUDA_TRY(op, cudaStreamCreate(&g_stream));
    g_stream_ready = true;
  }
  *stream = g_stream;
  return GMPNN_OK;
}

gmpnn_status scratch_alloc(void** ptr, size_t bytes, const char* op) {
  gmpnn_status st = gmpnn_cuda_malloc(ptr, bytes);
  if (st != GMPNN_OK) {
    char msg[512];
    std::snprintf(msg, sizeof msg, "%s", gmpnn_last_error());
    return gmpnn_set_error(st, "%s: scratch buffer of %zu bytes: %s", op, bytes, msg);
  }
  return GMPNN_OK;
}

void scratch_free(void* ptr) { (void)gmpnn_cuda_free(ptr); }

}  // namespace gmpnn_cuda

using namespace gmpnn_cuda;

extern "C" gmpnn_status gmpnn_cuda_device_count(int* count) {
  if (!count) return gmpnn_set_error(GMPNN_E_ARG, "gmpnn_cuda_device_count: count is NULL");
  *count = 0;
  int n = 0;
  GMPNN_CUDA_TRY("gmpnn_cuda_device_count", cudaGetDeviceCount(&n));
  *count = n;
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_device_name(char* buf, size_t len) {
  if (!buf || len == 0) return gmpnn_set_error(GMPNN_E_ARG, "gmpnn_cuda_device_name: empty buffer");
  buf[0] = '\0';
  const char* op = "gmpnn_cuda_device_name";
  GMPNN_CUDA_STREAM(op);  // reports "no device" the same way as every other entry
  (void)stream;
  int dev = 0;
  GMPNN_CUDA_TRY(op, cudaGetDevice(&dev));
  cudaDeviceProp prop;
  GMPNN_CUDA_TRY(op, cudaGetDeviceProperties(&prop, dev));
  std::snprintf(buf, len, "%s", prop.name);
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_malloc(void** ptr, size_t bytes) {
  const char* op = "gmpnn_cuda_malloc";
  if (!ptr) return gmpnn_set_error(GMPNN_E_ARG, "%s: ptr is NULL", op);
  *ptr = nullptr;
  GMPNN_CUDA_STREAM(op);
  (void)stream;
  size_t klass = size_class(bytes);
  if (klass < bytes) return gmpnn_set_error(GMPNN_E_OOM, "%s: %zu bytes is too large", op, bytes);
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mu);
  void* p = nullptr;
  auto it = a.free_bins.find(klass);
  if (it != a.free_bins.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    a.cached -= klass;
  } else {
    cudaError_t err = cudaMalloc(&p, klass);
    if (err == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();
      gmpnn_status st = release_cached(a, op);
      if (st != GMPNN_OK) return st;
      err = cudaMalloc(&p, klass);
    }
    if (err != cudaSuccess) {
      gmpnn_status st = cuda_status(err, op, "cudaMalloc");
      if (st == GMPNN_E_OOM)
        return gmpnn_set_error(GMPNN_E_OOM,
                               "%s: out of GPU memory allocating %zu bytes (%zu bytes live)", op,
                               bytes, a.allocated);
      return st;
    }
  }
  a.live[p] = LiveBlock{klass, bytes};
  a.allocated += bytes;
  *ptr = p;
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_free(void* ptr) {
  if (!ptr) return GMPNN_OK;
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mu);
  auto it = a.live.find(ptr);
  if (it == a.live.end())
    return gmpnn_set_error(GMPNN_E_ARG,
                           "gmpnn_cuda_free: %p was not allocated by gmpnn_cuda_malloc (or was "
                           "freed twice)",
                           ptr);
  LiveBlock b = it->second;
  a.live.erase(it);
  a.allocated -= b.requested;
  a.free_bins[b.klass].push_back(ptr);
  a.cached += b.klass;
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_memcpy(void* dst, const void* src, size_t bytes, int kind) {
  const char* op = "gmpnn_cuda_memcpy";
  if (kind != GMPNN_H2D && kind != GMPNN_D2H && kind != GMPNN_D2D)
    return gmpnn_set_error(GMPNN_E_ARG, "%s: unknown copy kind %d", op, kind);
  if (bytes == 0) return GMPNN_OK;
  if (!dst || !src) return gmpnn_set_error(GMPNN_E_ARG, "%s: NULL pointer", op);
  GMPNN_CUDA_STREAM(op);
  if (kind == GMPNN_H2D) {
    // From pageable memory the runtime stages the source before returning, so the caller may
    // reuse `src` at once; the copy itself is ordered on the stream before later kernels.
    GMPNN_CUDA_TRY(op, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
  } else if (kind == GMPNN_D2H) {
    GMPNN_CUDA_TRY(op, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream));
    GMPNN_CUDA_TRY(op, cudaStreamSynchronize(stream));
  } else {
    GMPNN_CUDA_TRY(op, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream));
  }
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_synchronize(void) {
  const char* op = "gmpnn_cuda_synchronize";
  GMPNN_CUDA_STREAM(op);
  GMPNN_CUDA_TRY(op, cudaStreamSynchronize(stream));
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_memory_stats(size_t* allocated, size_t* cached) {
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mu);
  if (allocated) *allocated = a.allocated;
  if (cached) *cached = a.cached;
  return GMPNN_OK;
}

extern "C" gmpnn_status gmpnn_cuda_empty_cache(void) {
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mu);
  return release_cached(a, "gmpnn_cuda_empty_cache");
}
