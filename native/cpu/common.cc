// Error reporting and host memory/threads for the CPU backend (gmpnn/common.h, gmpnn/device.h).
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
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

extern "C" void* gmpnn_cpu_malloc(size_t bytes) {
  size_t rounded = (bytes + 63) / 64 * 64;
  if (rounded == 0) rounded = 64;
  return std::aligned_alloc(64, rounded);
}

extern "C" void gmpnn_cpu_free(void* ptr) { std::free(ptr); }

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
