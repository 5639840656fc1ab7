// Benchmark of the CUDA kernels (native/cuda/) on the GPU machine, where there is no Node: the
// float32 SIMT GEMM, the VGG-6 convolution layers of GMP_SPEC.md §6 (forward, data gradient,
// filter gradient; NHWC, 3×3 'same', 32×32 inputs) and the GmP direction kernels, in TFLOP/s or
// GB/s. bench/peers/gpu_torch.py times the same shapes through PyTorch/cuDNN in the same call
// (scripts/gpu_check.sh runs both).
//
//   cuda_bench [--quick] [--batch N]
//
// Timing: host clock around back-to-back launches closed by gmpnn_cuda_synchronize (each entry
// ≥ 20 ms of work per sample, median of 5 samples after a warm-up), inputs drawn at random on the
// host (never zeros: METHOD.md). Built everywhere; without CUDA it prints that and exits 0.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

#include "gmpnn/conv.h"
#include "gmpnn/device.h"
#include "gmpnn/gemm.h"
#include "gmpnn/gmp.h"

#ifndef GMPNN_WITH_CUDA
int main() {
  std::printf("cuda_bench: built without CUDA (no nvcc at configure time); nothing to time\n");
  return 0;
}
#else
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void check(gmpnn_status s, const char* what) {
  if (s != GMPNN_OK) {
    std::fprintf(stderr, "cuda_bench: %s failed: %s\n", what, gmpnn_last_error());
    std::exit(1);
  }
}

// Median seconds per call over 5 samples of >= min_s each, after a warm-up.
double time_call(const std::function<void()>& f, double min_s) {
  f();
  check(gmpnn_cuda_synchronize(), "synchronize");
  int inner = 1;
  for (;;) {
    const double t0 = now_s();
    for (int i = 0; i < inner; ++i) f();
    check(gmpnn_cuda_synchronize(), "synchronize");
    if (now_s() - t0 >= min_s || inner >= 4096) break;
    inner *= 2;
  }
  std::vector<double> v;
  for (int s = 0; s < 5; ++s) {
    const double t0 = now_s();
    for (int i = 0; i < inner; ++i) f();
    check(gmpnn_cuda_synchronize(), "synchronize");
    v.push_back((now_s() - t0) / inner);
  }
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// A device buffer of n random floats in [-1, 1).
float* device_random(size_t n, std::mt19937& rng) {
  std::vector<float> h(n);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (auto& x : h) x = u(rng);
  void* d = nullptr;
  check(gmpnn_cuda_malloc(&d, n * sizeof(float)), "malloc");
  check(gmpnn_cuda_memcpy(d, h.data(), n * sizeof(float), GMPNN_H2D), "memcpy");
  return static_cast<float*>(d);
}

struct Layer {
  int64_t C_in, C_out, HW;
};
const Layer kVgg6[] = {{3, 128, 32}, {128, 128, 32}, {128, 256, 16},
                       {256, 256, 16}, {256, 512, 8}, {512, 512, 8}};

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  int64_t batch = 256;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--batch") && i + 1 < argc) batch = std::atoll(argv[++i]);
  }
  int count = 0;
  if (gmpnn_cuda_device_count(&count) != GMPNN_OK || count < 1) {
    std::printf("cuda_bench: no usable GPU (%s); nothing to time\n", gmpnn_last_error());
    return 0;
  }
  char name[256] = {0};
  check(gmpnn_cuda_device_name(name, sizeof name), "device_name");
  const double min_s = quick ? 0.01 : 0.02;
  std::mt19937 rng(1234);
  std::printf("# cuda_bench (ours, float32 SIMT): %s, batch %lld\n\n", name, (long long)batch);

  // Device-to-device copy: the bandwidth ceiling (bytes read + written).
  {
    const size_t n = size_t(1) << 28;  // 1 GiB
    float* a = device_random(n / 4, rng);
    void* b = nullptr;
    check(gmpnn_cuda_malloc(&b, n), "malloc");
    const double t = time_call([&] { check(gmpnn_cuda_memcpy(b, a, n, GMPNN_D2D), "d2d"); }, min_s);
    std::printf("| copy D2D 1 GiB | %.0f GB/s (read + write) |\n\n", 2.0 * n / t / 1e9);
    gmpnn_cuda_free(a);
    gmpnn_cuda_free(b);
  }

  std::printf("| GEMM f32 NN (M = N = K) | ms | TFLOP/s |\n|---|---:|---:|\n");
  for (int64_t s : {1024, 2048, 4096}) {
    float* A = device_random(s * s, rng);
    float* B = device_random(s * s, rng);
    float* C = device_random(s * s, rng);
    const double t = time_call([&] {
      check(gmpnn_cuda_gemm(GMPNN_F32, C, A, B, 0, 0, s, s, s, s, s, s, 1.0, 0.0), "gemm");
    }, min_s);
    std::printf("| %lld | %.3f | %.2f |\n", (long long)s, t * 1e3, 2.0 * s * s * s / t / 1e12);
    gmpnn_cuda_free(A);
    gmpnn_cuda_free(B);
    gmpnn_cuda_free(C);
  }

  std::printf("\n| VGG-6 conv 3×3 same (C_in→C_out @ HW) | fwd ms | fwd TFLOP/s | dgrad TFLOP/s | wgrad TFLOP/s |\n|---|---:|---:|---:|---:|\n");
  double total_ms = 0;
  for (const Layer& L : kVgg6) {
    gmpnn_conv2d_dims d{batch, L.HW, L.HW, L.C_in, L.C_out, 3, 3, L.HW, L.HW, 1, 1, 1, 1};
    float* x = device_random(size_t(batch * L.HW * L.HW * L.C_in), rng);
    float* w = device_random(size_t(L.C_out * 9 * L.C_in), rng);
    float* y = device_random(size_t(batch * L.HW * L.HW * L.C_out), rng);
    float* dx = device_random(size_t(batch * L.HW * L.HW * L.C_in), rng);
    float* dw = device_random(size_t(L.C_out * 9 * L.C_in), rng);
    const double flop = 2.0 * batch * L.HW * L.HW * L.C_out * 9.0 * L.C_in;
    const double tf = time_call([&] { check(gmpnn_cuda_conv2d_forward(GMPNN_F32, y, x, w, &d), "conv fwd"); }, min_s);
    const double td = time_call([&] { check(gmpnn_cuda_conv2d_backward_data(GMPNN_F32, dx, y, w, &d), "conv dgrad"); }, min_s);
    const double tw = time_call([&] { check(gmpnn_cuda_conv2d_backward_filter(GMPNN_F32, dw, y, x, &d), "conv wgrad"); }, min_s);
    total_ms += (tf + td + tw) * 1e3;
    std::printf("| %lld→%lld @ %lld | %.3f | %.2f | %.2f | %.2f |\n", (long long)L.C_in,
                (long long)L.C_out, (long long)L.HW, tf * 1e3, flop / tf / 1e12, flop / td / 1e12,
                flop / tw / 1e12);
    for (float* p : {x, w, y, dx, dw}) gmpnn_cuda_free(p);
  }
  std::printf("| all six layers, fwd + dgrad + wgrad | %.2f ms | | | |\n", total_ms);

  // GmP direction kernels on the largest VGG-6 layer's filters ([512, 9·512]).
  {
    const int64_t m = 512, n = 9 * 512;
    float* theta = device_random(size_t(m * (n - 1)), rng);
    float* U = device_random(size_t(m * n), rng);
    float* dtheta = device_random(size_t(m * (n - 1)), rng);
    const double tf = time_call([&] { check(gmpnn_cuda_gmp_direction_forward(GMPNN_F32, U, theta, m, n), "gmp fwd"); }, min_s);
    const double tb = time_call([&] { check(gmpnn_cuda_gmp_direction_backward(GMPNN_F32, dtheta, U, theta, m, n), "gmp bwd"); }, min_s);
    std::printf("\n| GmP direction [512, 4608] | fwd %.3f ms (%.0f GB/s) | bwd %.3f ms (%.0f GB/s) |\n",
                tf * 1e3, 8.0 * m * n / tf / 1e9, tb * 1e3, 12.0 * m * n / tb / 1e9);
    for (float* p : {theta, U, dtheta}) gmpnn_cuda_free(p);
  }
  return 0;
}
#endif
