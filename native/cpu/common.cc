// Error reporting and host memory/threads for the CPU backend (gmpnn/common.h, gmpnn/device.h).
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>
#include <omp.h>
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

#include "gmpnn/common.h"
#include "gmpnn/device.h"

namespace {
thread_local char g_last_error[512] = "";
int g_default_threads = 0;
}  // namespace

extern "C" const char* gmpnn_last_error(void) { return g_last_error; }

extern "C" gmpnn_status gmpnn_set_error(gmpnn_status code, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(g_last_error, sizeof g_last_error, fmt, ap);
  va_end(ap);
  return code;
}

// ---------------------------------------------------------------- host caching allocator
// Training steps allocate and free the same activation sizes over and over; glibc serves blocks
// above its mmap threshold with fresh mappings, so every step would pay page faults on every
// activation. Freed blocks are kept in per-size-class free lists instead (capped; see
// GMPNN_CPU_CACHE_MB), like the CUDA caching allocator. A 64-byte header before each block holds
// its size class.
namespace {
constexpr size_t kHeader = 64;

size_t size_class(size_t bytes) {
  if (bytes <= 4096) return (bytes + 255) / 256 * 256;
  // Four classes per power of two above 4 KiB: at most 25% slack.
  size_t p = 4096;
  while (p * 2 < bytes) p *= 2;
  size_t step = p / 4;
  return (bytes + step - 1) / step * step;
}

struct HostCache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;
  size_t cached = 0;
  size_t limit = 0;
  HostCache() {
    const char* env = std::getenv("GMPNN_CPU_CACHE_MB");
    limit = (env ? (size_t)std::strtoull(env, nullptr, 10) : 1024) << 20;
  }
};
HostCache& cache() {
  static HostCache* c = new HostCache();  // never destroyed: buffers may be freed at exit
  return *c;
}
}  // namespace

extern "C" void gmpnn_cpu_empty_cache(void);

extern "C" void* gmpnn_cpu_malloc(size_t bytes) {
  size_t cls = size_class(bytes ? bytes : 1);
  HostCache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free_blocks.find(cls);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.cached -= cls;
      return p;
    }
  }
  char* base = (char*)std::aligned_alloc(64, cls + kHeader);
  if (!base) {
    gmpnn_cpu_empty_cache();
    base = (char*)std::aligned_alloc(64, cls + kHeader);
    if (!base) return nullptr;
  }
  *(size_t*)base = cls;
  return base + kHeader;
}

extern "C" void gmpnn_cpu_free(void* ptr) {
  if (!ptr) return;
  char* base = (char*)ptr - kHeader;
  size_t cls = *(size_t*)base;
  HostCache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.cached + cls <= c.limit) {
      c.free_blocks[cls].push_back(ptr);
      c.cached += cls;
      return;
    }
  }
  std::free(base);
}

extern "C" size_t gmpnn_cpu_cached_bytes(void) {
  HostCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.cached;
}

extern "C" void gmpnn_cpu_empty_cache(void) {
  HostCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto& kv : c.free_blocks)
    for (void* p : kv.second) std::free((char*)p - kHeader);
  c.free_blocks.clear();
  c.cached = 0;
}

extern "C" void gmpnn_cpu_set_num_threads(int n) {
  if (g_default_threads == 0) g_default_threads = omp_get_max_threads();
  omp_set_num_threads(n > 0 ? n : g_default_threads);
}

extern "C" int gmpnn_cpu_num_threads(void) { return omp_get_max_threads(); }

extern "C" void gmpnn_cpu_enable_ftz(void) {
#if defined(__x86_64__) || defined(_M_X64)
  // FTZ (bit 15) and DAZ (bit 6) of MXCSR.
  _mm_setcsr(_mm_getcsr() | 0x8040);
#endif
}
