// Benchmark of the CPU convolution kernels (native/cpu/conv.cc) on the VGG-6 layer shapes of the
// paper's ImageNet32 experiment (GMP_SPEC.md §6): 3×3 'same' convolutions on 32×32 inputs,
//   3→128, 128→128 at 32×32;  128→256, 256→256 at 16×16;  256→512, 512→512 at 8×8.
//
//   conv_bench [--batch N] [--width W] [--dtype f32|f64] [--quick]
//
// For each layer: forward, data gradient and filter gradient in GFLOP/s (2·N·OH·OW·C_out·K per
// pass, K = 9·C_in), and beside them the packed GEMM alone on the same [M, K] x [K, C_out] product
// (what the im2col convolution costs without its im2col / col2im), so the table shows what the
// tiling loses against the GEMM it is built on. Each entry is the median of several samples after
// a warm-up. Prints a markdown table, the thread count, the GEMM microkernel and the load average.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "gmpnn/conv.h"
#include "gmpnn/gemm.h"

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Median seconds per call: a warm-up, then `samples` samples of at least min_s each.
double time_call(const std::function<void()>& f, int samples, double min_s) {
  f();
  int inner = 1;
  for (;;) {
    const double t0 = now_s();
    for (int i = 0; i < inner; ++i) f();
    const double dt = now_s() - t0;
    if (dt >= min_s || inner >= 1024) break;
    inner *= 2;
  }
  std::vector<double> v;
  for (int s = 0; s < samples; ++s) {
    const double t0 = now_s();
    for (int i = 0; i < inner; ++i) f();
    v.push_back((now_s() - t0) / inner);
  }
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Layer {
  int64_t C_in, C_out, HW;
};
const Layer kVgg6[] = {{3, 128, 32}, {128, 128, 32}, {128, 256, 16},
                       {256, 256, 16}, {256, 512, 8}, {512, 512, 8}};

template <typename T>
void run(int64_t batch, bool quick, gmpnn_dtype dt, double width) {
  const int samples = quick ? 3 : 5;
  const double min_s = quick ? 0.05 : 0.2;
  std::printf("| layer | M x K x C_out | forward GFLOP/s | data GFLOP/s | filter GFLOP/s | GEMM alone GFLOP/s | forward ms | data ms | filter ms |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
  double tot[3] = {0, 0, 0};
  for (Layer L : kVgg6) {
    // --width scales every channel count but the 3 input channels (the models' width multiplier).
    if (L.C_in != 3) L.C_in = std::max<int64_t>(1, (int64_t)(L.C_in * width));
    L.C_out = std::max<int64_t>(1, (int64_t)(L.C_out * width));
    gmpnn_conv2d_dims d{};
    d.N = batch; d.H = d.W = L.HW; d.C_in = L.C_in; d.C_out = L.C_out; d.KH = d.KW = 3;
    d.OH = d.OW = L.HW; d.stride_h = d.stride_w = 1; d.pad_h = d.pad_w = 1;
    const int64_t M = d.N * d.OH * d.OW, K = 9 * d.C_in;
    std::vector<T> x((size_t)(d.N * d.H * d.W * d.C_in)), w((size_t)(d.C_out * K)),
        y((size_t)(M * d.C_out)), dx(x.size()), dw(w.size());
    uint64_t s = 1;
    auto rnd = [&s]() {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      return (T)((double)(s >> 11) / 9007199254740992.0 - 0.5);
    };
    for (auto& v : x) v = rnd();
    for (auto& v : w) v = rnd();
    for (auto& v : y) v = rnd();
    const double flops = 2.0 * M * d.C_out * K;
    const double tf = time_call([&] { gmpnn_cpu_conv2d_forward(dt, y.data(), x.data(), w.data(), &d); }, samples, min_s);
    const double td = time_call([&] { gmpnn_cpu_conv2d_backward_data(dt, dx.data(), y.data(), w.data(), &d); }, samples, min_s);
    const double tw = time_call([&] { gmpnn_cpu_conv2d_backward_filter(dt, dw.data(), y.data(), x.data(), &d); }, samples, min_s);
    // The GEMM alone on an already im2col'ed operand of the same shape.
    std::vector<T> cols((size_t)(M * K));
    for (auto& v : cols) v = rnd();
    const double tg = time_call([&] { gmpnn_cpu_gemm(dt, y.data(), cols.data(), w.data(), 0, 1, M, d.C_out, K, K, K, d.C_out, 1.0, 0.0); }, samples, min_s);
    tot[0] += tf;
    tot[1] += td;
    tot[2] += tw;
    std::printf("| %lld→%lld @%lldx%lld | %lld x %lld x %lld | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f |\n",
                (long long)L.C_in, (long long)L.C_out, (long long)L.HW, (long long)L.HW, (long long)M,
                (long long)K, (long long)d.C_out, flops / tf * 1e-9, flops / td * 1e-9, flops / tw * 1e-9,
                flops / tg * 1e-9, tf * 1e3, td * 1e3, tw * 1e3);
    std::fflush(stdout);
  }
  std::printf("| **all six** | | | | | | **%.1f** | **%.1f** | **%.1f** |\n", tot[0] * 1e3, tot[1] * 1e3, tot[2] * 1e3);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t batch = 32;
  bool quick = false;
  double width = 1.0;
  gmpnn_dtype dt = GMPNN_F32;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--batch") && i + 1 < argc) batch = std::atoll(argv[++i]);
    else if (!std::strcmp(argv[i], "--width") && i + 1 < argc) width = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--dtype") && i + 1 < argc) dt = !std::strcmp(argv[++i], "f64") ? GMPNN_F64 : GMPNN_F32;
    else {
      std::fprintf(stderr, "usage: conv_bench [--batch N] [--width W] [--dtype f32|f64] [--quick]\n");
      return 2;
    }
  }
  double load[3] = {0, 0, 0};
  FILE* f = std::fopen("/proc/loadavg", "r");
  if (f) {
    if (std::fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = -1;
    std::fclose(f);
  }
  std::printf("conv_bench: VGG-6 3x3 'same' layers, batch %lld, %s, %d threads, GEMM microkernel %s, load average %.2f\n\n",
              (long long)batch, dt == GMPNN_F64 ? "float64" : "float32", omp_get_max_threads(),
              gmpnn_cpu_gemm_isa(), load[0]);
  if (dt == GMPNN_F64) run<double>(batch, quick, dt, width);
  else run<float>(batch, quick, dt, width);
  return 0;
}
