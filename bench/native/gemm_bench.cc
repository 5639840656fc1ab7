// Benchmark of the CPU GEMM (native/cpu/gemm.cc) against OpenBLAS in the same run.
//
//   gemm_bench [--quick] [--only SUBSTR]
//
// OpenBLAS is loaded at run time with dlopen (libopenblas.so.0, then libopenblas.so), so the
// project has no build-time dependency on it; without it only our kernel is timed. Shapes: square
// sgemm 64..2048, the skinny MLP shapes of the paper's UCI experiments (batch x 100 hidden x
// features: forward X·Wᵀ, backward dY·W and dYᵀ·X), and a few dgemm squares. Each entry is the
// median of several timed samples after a warm-up, ours and OpenBLAS's alternating; OpenBLAS
// runs with the same thread count as our OpenMP team. Prints a markdown table and the load
// average (the timings are only meaningful on an otherwise idle machine).
#include <dlfcn.h>
#include <unistd.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "gmpnn/gemm.h"

namespace {

// cblas enums (row-major, no-trans, trans) and the entry points we use.
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float*, int, const float*, int,
                         float, float*, int);
typedef void (*dgemm_fn)(int, int, int, int, int, int, double, const double*, int, const double*,
                         int, double, double*, int);
typedef void (*set_threads_fn)(int);
typedef char* (*get_config_fn)(void);

struct OpenBlas {
  sgemm_fn sgemm = nullptr;
  dgemm_fn dgemm = nullptr;
  std::string config;
  bool load(int threads) {
    void* h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!h) h = dlopen("libopenblas.so", RTLD_NOW | RTLD_LOCAL);
    if (!h) return false;
    sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
    dgemm = (dgemm_fn)dlsym(h, "cblas_dgemm");
    if (auto set = (set_threads_fn)dlsym(h, "openblas_set_num_threads")) set(threads);
    if (auto cfg = (get_config_fn)dlsym(h, "openblas_get_config")) config = cfg();
    if (auto core = (get_config_fn)dlsym(h, "openblas_get_corename")) config += " core=" + std::string(core());
    return sgemm && dgemm;
  }
};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Seconds per call of one sample: `inner` back-to-back calls, averaged.
double sample(const std::function<void()>& f, int inner) {
  double t0 = now_s();
  for (int i = 0; i < inner; ++i) f();
  return (now_s() - t0) / inner;
}

// Calls per sample so that one sample lasts at least min_sample_s (after a warm-up).
int calibrate(const std::function<void()>& f, double min_sample_s) {
  f();
  f();
  int inner = 1;
  for (;;) {
    const double dt = sample(f, inner) * inner;
    if (dt >= min_sample_s || inner >= (1 << 20)) return inner;
    inner *= std::max(2, (int)(min_sample_s / std::max(dt, 1e-7)));
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Shape {
  std::string name;
  int M, N, K, ta, tb;
  bool f64;
};

template <typename T>
void fill(T* v, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; ++i) {
    T& x = v[i];
    seed = seed * 1664525u + 1013904223u;
    x = (T)((seed >> 8) * (1.0 / 16777216.0) - 0.5);
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  const char* only = nullptr;  // --only SUBSTR: just the shapes whose name contains SUBSTR
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0)
      quick = true;
    else if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc)
      only = argv[++i];
    else {
      std::fprintf(stderr, "usage: gemm_bench [--quick] [--only SUBSTR]\n");
      return 2;
    }
  }
  const int samples = quick ? 3 : 7;
  const double min_sample = quick ? 0.01 : 0.03;
  const int threads = omp_get_max_threads();

  OpenBlas ob;
  const bool have_ob = ob.load(threads);
  if (!have_ob)
    std::printf("OpenBLAS not found: apt-get install -y --no-install-recommends libopenblas-dev\n");

  std::vector<Shape> shapes;
  for (int n : {64, 128, 256, 512, 1024, 2048}) {
    if (quick && n > 1024) continue;
    shapes.push_back({"square " + std::to_string(n), n, n, n, 0, 0, false});
  }
  // UCI MLP layers, batch x features -> 100 hidden units (weights [100, F], PyTorch layout).
  for (int f : {5, 8, 13, 17}) {
    if (quick && f != 13) continue;
    const std::string fs = std::to_string(f);
    shapes.push_back({"fwd X·Wᵀ 1024x100x" + fs, 1024, 100, f, 0, 1, false});
    shapes.push_back({"bwd dY·W 1024x" + fs + "x100", 1024, f, 100, 0, 0, false});
    shapes.push_back({"bwd dYᵀ·X 100x" + fs + "x1024", 100, f, 1024, 1, 0, false});
  }
  shapes.push_back({"fwd X·Wᵀ 455x100x13", 455, 100, 13, 0, 1, false});
  shapes.push_back({"fwd X·Wᵀ 1024x100x16", 1024, 100, 16, 0, 1, false});
  // The MLP head (one output): forward H·wᵀ and the data gradient g·w.
  shapes.push_back({"head H·wᵀ 1024x1x100", 1024, 1, 100, 0, 1, false});
  shapes.push_back({"head g·w 1024x100x1", 1024, 100, 1, 0, 0, false});
  shapes.push_back({"hidden H·Wᵀ 1024x100x100", 1024, 100, 100, 0, 1, false});
  // A VGG-6 convolution's forward on one im2col tile: cols [pixels, 9·C_in] · Wᵀ, N = C_out.
  const int conv[][2] = {{32, 288}, {64, 288}, {64, 576}, {128, 576}, {128, 1152}};
  for (auto& ck : conv)
    shapes.push_back({"conv cols·Wᵀ 1024x" + std::to_string(ck[0]) + "x" + std::to_string(ck[1]),
                      1024, ck[0], ck[1], 0, 1, false});
  for (int n : {256, 1024}) shapes.push_back({"dgemm square " + std::to_string(n), n, n, n, 0, 0, true});
  if (only)
    shapes.erase(std::remove_if(shapes.begin(), shapes.end(),
                                [&](const Shape& s) { return s.name.find(only) == std::string::npos; }),
                 shapes.end());

  // Ours and OpenBLAS alternate sample by sample, so that both see the same background load;
  // after each OpenBLAS sample we sleep, because its idle workers spin for ~0.1 s after a call
  // and would otherwise steal a core from our next sample. Reported: the median sample, and the
  // ratio of the best samples (less sensitive to other processes on a shared machine).
  std::vector<double> ours(shapes.size(), 0), theirs(shapes.size(), 0);
  std::vector<double> ours_best(shapes.size(), 0), theirs_best(shapes.size(), 0);
  for (size_t i = 0; i < shapes.size(); ++i) {
    const Shape& s = shapes[i];
    const int lda = s.ta ? s.M : s.K, ldb = s.tb ? s.K : s.N, ldc = s.N;
    const int ta = s.ta ? kTrans : kNoTrans, tb = s.tb ? kTrans : kNoTrans;
    const size_t es = s.f64 ? 8 : 4;
    std::vector<char> A(es * s.M * s.K), B(es * s.K * s.N), C(es * s.M * s.N);
    if (s.f64)
      fill((double*)A.data(), A.size() / 8, 1), fill((double*)B.data(), B.size() / 8, 2);
    else
      fill((float*)A.data(), A.size() / 4, 1), fill((float*)B.data(), B.size() / 4, 2);
    std::function<void()> mine = [&] {
      gmpnn_cpu_gemm(s.f64 ? GMPNN_F64 : GMPNN_F32, C.data(), A.data(), B.data(), s.ta, s.tb, s.M,
                     s.N, s.K, lda, ldb, ldc, 1.0, 0.0);
    };
    std::function<void()> peer = [&] {
      if (s.f64)
        ob.dgemm(kRowMajor, ta, tb, s.M, s.N, s.K, 1.0, (const double*)A.data(), lda,
                 (const double*)B.data(), ldb, 0.0, (double*)C.data(), ldc);
      else
        ob.sgemm(kRowMajor, ta, tb, s.M, s.N, s.K, 1.0f, (const float*)A.data(), lda,
                 (const float*)B.data(), ldb, 0.0f, (float*)C.data(), ldc);
    };
    const int inner_mine = calibrate(mine, min_sample);
    const int inner_peer = have_ob ? calibrate(peer, min_sample) : 0;
    std::vector<double> tm, tp;
    for (int r = 0; r < samples; ++r) {
      tm.push_back(sample(mine, inner_mine));
      if (have_ob) {
        tp.push_back(sample(peer, inner_peer));
        usleep(250000);
      }
    }
    ours[i] = median(tm);
    ours_best[i] = *std::min_element(tm.begin(), tm.end());
    if (have_ob) {
      theirs[i] = median(tp);
      theirs_best[i] = *std::min_element(tp.begin(), tp.end());
    }
  }

  double load1 = -1;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load1) != 1) load1 = -1;
    std::fclose(f);
  }
  std::printf("\nCPU GEMM, isa=%s, threads=%d, load average %.2f%s%s\n\n", gmpnn_cpu_gemm_isa(),
              threads, load1, have_ob ? ", " : "", have_ob ? ob.config.c_str() : "");
  std::printf("| shape (M x N x K) | dtype | trans | ours GFLOP/s | OpenBLAS GFLOP/s | ratio | "
              "ratio of best samples |\n");
  std::printf("|---|---|---|---:|---:|---:|---:|\n");
  for (size_t i = 0; i < shapes.size(); ++i) {
    const Shape& s = shapes[i];
    const double gf = 2.0 * s.M * s.N * s.K * 1e-9;
    const char* tr = s.ta ? (s.tb ? "TT" : "TN") : (s.tb ? "NT" : "NN");
    if (have_ob)
      std::printf("| %s | %s | %s | %.1f | %.1f | %.2f | %.2f |\n", s.name.c_str(),
                  s.f64 ? "f64" : "f32", tr, gf / ours[i], gf / theirs[i], theirs[i] / ours[i],
                  theirs_best[i] / ours_best[i]);
    else
      std::printf("| %s | %s | %s | %.1f | - | - | - |\n", s.name.c_str(), s.f64 ? "f64" : "f32",
                  tr, gf / ours[i]);
  }
  return 0;
}
