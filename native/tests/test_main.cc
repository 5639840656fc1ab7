// Driver for the kernel tests: `gmpnn_kernel_tests [family ...]` runs every registered test whose
// name starts with one of the given families (all when none). Exit 0 when all pass, 1 on any
// failure, 77 (ctest's skip code) when every selected test skipped.
#include <cstring>

#include "gmpnn/device.h"
#include "harness.h"

namespace gmpnn_test {
std::vector<TestCase>& registry() {
  static std::vector<TestCase> r;
  return r;
}
int g_failures = 0;
std::string g_skip_reason;

bool cuda_available(std::string* why) {
#ifdef GMPNN_WITH_CUDA
  int n = 0;
  if (gmpnn_cuda_device_count(&n) != GMPNN_OK) {
    if (why) *why = std::string("no CUDA device: ") + gmpnn_last_error();
    return false;
  }
  if (n == 0) {
    if (why) *why = "no CUDA device: 0 GPUs";
    return false;
  }
  return true;
#else
  if (why) *why = "built without CUDA";
  return false;
#endif
}
}  // namespace gmpnn_test

int main(int argc, char** argv) {
  using namespace gmpnn_test;
  int passed = 0, failed = 0, skipped = 0;
  for (auto& t : registry()) {
    bool selected = argc < 2;
    for (int i = 1; i < argc; ++i)
      if (std::strncmp(t.name.c_str(), argv[i], std::strlen(argv[i])) == 0) selected = true;
    if (!selected) continue;
    g_failures = 0;
    g_skip_reason.clear();
    t.fn();
    if (g_failures) {
      std::printf("FAIL %s (%d failures)\n", t.name.c_str(), g_failures);
      ++failed;
    } else if (!g_skip_reason.empty()) {
      std::printf("SKIP %s: %s\n", t.name.c_str(), g_skip_reason.c_str());
      ++skipped;
    } else {
      std::printf("ok   %s\n", t.name.c_str());
      ++passed;
    }
  }
  std::printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  if (failed) return 1;
  if (passed == 0 && skipped > 0) return 77;
  return 0;
}
