// Minimal test harness for the C ABI kernels (no Node, no third-party framework), so the same
// driver runs on CI and on the GPU hosts. A test is registered with GMPNN_TEST(family_name) and
// selected by family prefix on the command line; CHECK_* record failures and continue.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "gmpnn/common.h"

namespace gmpnn_test {

struct TestCase {
  std::string name;
  std::function<void()> fn;
};
std::vector<TestCase>& registry();
struct Registrar {
  Registrar(const char* name, std::function<void()> fn) { registry().push_back({name, fn}); }
};

// Per-test state, reset before each test.
extern int g_failures;
extern std::string g_skip_reason;

inline void fail(const char* file, int line, const std::string& msg) {
  if (g_failures < 10) std::printf("    FAIL %s:%d: %s\n", file, line, msg.c_str());
  ++g_failures;
}
inline void skip(const std::string& why) { g_skip_reason = why; }

// True when a CUDA device answers; `why` gets the reason otherwise.
bool cuda_available(std::string* why);

// Deterministic host-side random numbers for test inputs (splitmix64), independent of the
// library's own generator.
struct Rand {
  uint64_t s;
  explicit Rand(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform(double lo = -1, double hi = 1) {
    return lo + (hi - lo) * ((next() >> 11) * (1.0 / 9007199254740992.0));
  }
  template <typename T>
  std::vector<T> vec(size_t n, double lo = -1, double hi = 1) {
    std::vector<T> v(n);
    for (auto& x : v) x = (T)uniform(lo, hi);
    return v;
  }
};

// Compares got against want with |got - want| <= atol + rtol·|want|; reports up to 5 mismatches.
template <typename T, typename U>
bool close(const char* file, int line, const char* what, const T* got, const U* want, size_t n,
           double atol, double rtol) {
  int bad = 0;
  for (size_t i = 0; i < n; ++i) {
    double g = (double)got[i], w = (double)want[i];
    bool ok = std::fabs(g - w) <= atol + rtol * std::fabs(w);
    if (std::isnan(w) && std::isnan(g)) ok = true;
    if (!ok) {
      if (bad < 5) {
        char buf[256];
        std::snprintf(buf, sizeof buf, "%s[%zu]: got %.9g want %.9g", what, i, g, w);
        fail(file, line, buf);
      }
      ++bad;
    }
  }
  if (bad > 5) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "%s: %d of %zu elements differ", what, bad, n);
    fail(file, line, buf);
  }
  return bad == 0;
}

}  // namespace gmpnn_test

#define GMPNN_TEST_CAT2(a, b) a##b
#define GMPNN_TEST_CAT(a, b) GMPNN_TEST_CAT2(a, b)
#define GMPNN_TEST(name)                                                             \
  static void GMPNN_TEST_CAT(test_, name)();                                         \
  static gmpnn_test::Registrar GMPNN_TEST_CAT(reg_, name)(#name, GMPNN_TEST_CAT(test_, name)); \
  static void GMPNN_TEST_CAT(test_, name)()

#define CHECK(cond)                                                  \
  do {                                                               \
    if (!(cond)) gmpnn_test::fail(__FILE__, __LINE__, "CHECK(" #cond ")"); \
  } while (0)
#define CHECK_OK(expr)                                                                  \
  do {                                                                                  \
    gmpnn_status st_ = (expr);                                                          \
    if (st_ != GMPNN_OK)                                                                \
      gmpnn_test::fail(__FILE__, __LINE__,                                              \
                       std::string(#expr " -> status ") + std::to_string((int)st_) + ": " + \
                           gmpnn_last_error());                                         \
  } while (0)
#define CHECK_CLOSE(what, got, want, n, atol, rtol) \
  gmpnn_test::close(__FILE__, __LINE__, what, got, want, n, atol, rtol)
