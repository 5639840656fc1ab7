// Tests of the CPU GEMM (gmpnn/gemm.h, native/cpu/gemm.cc): every microkernel path this CPU has
// (avx512, avx2, scalar) against the triple-loop reference, on awkward sizes (1, primes,
// non-multiples of the tiles and blocks), all four transpose combinations, padded leading
// dimensions, alpha/beta != 1, beta = 0 over NaN, zero sizes, float32 and float64, several
// thread counts and shrunken blocking (so small matrices cross every MC/KC/NC edge).
#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "gmpnn/gemm.h"
#include "harness.h"

// Testing hooks of native/cpu/gemm.cc (not part of the C ABI).
extern "C" int gmpnn_cpu_gemm_set_isa_for_testing(const char* name);
extern "C" void gmpnn_cpu_gemm_set_blocking_for_testing(int64_t mc, int64_t kc, int64_t nc);
extern "C" void gmpnn_cpu_gemm_set_small_for_testing(int enabled);

namespace {
using gmpnn_test::Rand;

struct Case {
  int64_t M, N, K;
  int ta, tb;
  int64_t pad_a, pad_b, pad_c;  // extra elements per row beyond the minimal leading dimension
  double alpha, beta;
  bool nan_c;  // fill C with NaN (only meaningful with beta == 0)
};

std::string describe(const Case& c, const char* dt) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "%s M=%lld N=%lld K=%lld ta=%d tb=%d pads=%lld/%lld/%lld a=%g b=%g",
                dt, (long long)c.M, (long long)c.N, (long long)c.K, c.ta, c.tb,
                (long long)c.pad_a, (long long)c.pad_b, (long long)c.pad_c, c.alpha, c.beta);
  return buf;
}

// Runs one case through gmpnn_cpu_gemm and the reference and compares all of C, padding included
// (the padding must stay untouched by both). Returns false on mismatch.
template <typename T>
bool run_case(const Case& c, uint64_t seed) {
  const gmpnn_dtype dt = sizeof(T) == 4 ? GMPNN_F32 : GMPNN_F64;
  const int64_t a_rows = c.ta ? c.K : c.M, a_cols = c.ta ? c.M : c.K;
  const int64_t b_rows = c.tb ? c.N : c.K, b_cols = c.tb ? c.K : c.N;
  const int64_t lda = a_cols + c.pad_a, ldb = b_cols + c.pad_b, ldc = c.N + c.pad_c;
  Rand r(seed);
  std::vector<T> A = r.vec<T>((size_t)std::max<int64_t>(1, a_rows * lda));
  std::vector<T> B = r.vec<T>((size_t)std::max<int64_t>(1, b_rows * ldb));
  std::vector<T> C0 = r.vec<T>((size_t)std::max<int64_t>(1, c.M * ldc));
  if (c.nan_c)
    for (auto& x : C0) x = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> got = C0, want = C0;
  const int failures_before = gmpnn_test::g_failures;
  CHECK_OK(gmpnn_cpu_gemm(dt, got.data(), A.data(), B.data(), c.ta, c.tb, c.M, c.N, c.K, lda, ldb,
                          ldc, c.alpha, c.beta));
  CHECK_OK(gmpnn_cpu_gemm_reference(dt, want.data(), A.data(), B.data(), c.ta, c.tb, c.M, c.N, c.K,
                                    lda, ldb, ldc, c.alpha, c.beta));
  // Rounding grows like sqrt(K) for random-sign sums; entries are O(|alpha|·sqrt(K) + |beta|).
  const double eps = sizeof(T) == 4 ? 1e-6 : 1e-14;
  const double sk = std::sqrt((double)std::max<int64_t>(1, c.K));
  const double atol = 4 * eps * sk * (std::fabs(c.alpha) * sk + std::fabs(c.beta) + 1);
  const std::string what = describe(c, sizeof(T) == 4 ? "f32" : "f64");
  CHECK_CLOSE(what.c_str(), got.data(), want.data(), got.size(), atol, 4 * eps);
  return gmpnn_test::g_failures == failures_before;
}

// The awkward-size sweep, every transpose combination, both dtypes, on the current ISA.
void sweep(bool big) {
  static const int64_t shapes[][3] = {
      {1, 1, 1},     {1, 13, 7},     {7, 1, 13},   {13, 7, 1},    {7, 13, 31},  {31, 97, 13},
      {97, 31, 257}, {257, 97, 31},  {6, 16, 256}, {12, 32, 192}, {5, 33, 385}, {49, 17, 3},
      {1, 257, 97},  {257, 1, 97},   {1024, 100, 13}, {100, 13, 1024}, {455, 100, 13},
      // A read in place for up to kMaxPanelsInPlaceA panels (C_out-like N), packed again when its
      // row stride is a multiple of 4 KiB (K = 1024 float32 / 512 float64 unpadded).
      {37, 64, 1000}, {61, 120, 576}, {37, 128, 1024}, {43, 64, 512},
  };
  static const double ab[][2] = {{1, 1}, {1, 0}, {-0.5, 2}, {2.5, 0}, {1, -1}};
  int n = 0;
  for (auto& s : shapes)
    for (int t = 0; t < 4; ++t, ++n) {
      Case c{s[0], s[1], s[2], t & 1, t >> 1, 0, 0, 0, ab[n % 5][0], ab[n % 5][1], false};
      if (n % 3 == 1) c.pad_a = 3, c.pad_b = 5, c.pad_c = 7;  // leading dims larger than minimal
      if (n % 3 == 2) c.pad_a = 16, c.pad_b = 1, c.pad_c = 2;
      c.nan_c = c.beta == 0 && (n % 2 == 1);
      if (!run_case<float>(c, 100 + n)) return;
      if (!run_case<double>(c, 200 + n)) return;
    }
  if (big)
    for (int t = 0; t < 4; ++t) {
      Case c{300, 517, 259, t & 1, t >> 1, t, 2 * t, 3, 0.75, t == 1 ? 0.0 : 0.5, t == 1};
      if (!run_case<float>(c, 300 + t)) return;
      if (!run_case<double>(c, 400 + t)) return;
    }
}

// Runs `fn` with the given ISA forced; skips when the CPU does not have it.
template <typename F>
void with_isa(const char* isa, F fn) {
  if (!gmpnn_cpu_gemm_set_isa_for_testing(isa)) {
    gmpnn_test::skip(std::string("CPU has no ") + isa);
    return;
  }
  fn();
  gmpnn_cpu_gemm_set_isa_for_testing(nullptr);
}

}  // namespace

GMPNN_TEST(gemm_isa_name) {
  const std::string isa = gmpnn_cpu_gemm_isa();
  CHECK(isa == "avx512" || isa == "avx2" || isa == "scalar");
  std::printf("    isa: %s, %d OpenMP threads\n", isa.c_str(), omp_get_max_threads());
  if (__builtin_cpu_supports("avx512f") && !std::getenv("GMPNN_GEMM_ISA")) CHECK(isa == "avx512");
  CHECK(gmpnn_cpu_gemm_set_isa_for_testing("scalar") == 1);
  CHECK(std::string(gmpnn_cpu_gemm_isa()) == "scalar");
  CHECK(gmpnn_cpu_gemm_set_isa_for_testing("sse9") == 0);
  gmpnn_cpu_gemm_set_isa_for_testing(nullptr);
  CHECK(std::string(gmpnn_cpu_gemm_isa()) == isa);
  // GMPNN_GEMM_ISA lowers the choice (re-read when the default is restored), never raises it.
  const char* saved = std::getenv("GMPNN_GEMM_ISA");
  const std::string saved_value = saved ? saved : "";
  setenv("GMPNN_GEMM_ISA", "scalar", 1);
  gmpnn_cpu_gemm_set_isa_for_testing(nullptr);
  CHECK(std::string(gmpnn_cpu_gemm_isa()) == "scalar");
  if (!__builtin_cpu_supports("avx512f")) {
    setenv("GMPNN_GEMM_ISA", "avx512", 1);
    gmpnn_cpu_gemm_set_isa_for_testing(nullptr);
    CHECK(std::string(gmpnn_cpu_gemm_isa()) != "avx512");
  }
  if (saved)
    setenv("GMPNN_GEMM_ISA", saved_value.c_str(), 1);
  else
    unsetenv("GMPNN_GEMM_ISA");
  gmpnn_cpu_gemm_set_isa_for_testing(nullptr);
  CHECK(std::string(gmpnn_cpu_gemm_isa()) == isa);
}

// A hand-computed product, so that the reference itself is checked.
GMPNN_TEST(gemm_reference_by_hand) {
  const float A[6] = {1, 2, 3, 4, 5, 6};       // [2,3]
  const float B[6] = {7, 8, 9, 10, 11, 12};    // [3,2]
  float C[4] = {1, 1, 1, 1};
  const float want[4] = {2 * 58 + 1, 2 * 64 + 1, 2 * 139 + 1, 2 * 154 + 1};
  CHECK_OK(gmpnn_cpu_gemm_reference(GMPNN_F32, C, A, B, 0, 0, 2, 2, 3, 3, 2, 2, 2.0, 1.0));
  CHECK_CLOSE("ref", C, want, 4, 0, 0);
  float D[4] = {1, 1, 1, 1};
  CHECK_OK(gmpnn_cpu_gemm(GMPNN_F32, D, A, B, 0, 0, 2, 2, 3, 3, 2, 2, 2.0, 1.0));
  CHECK_CLOSE("fast", D, want, 4, 0, 0);
}

GMPNN_TEST(gemm_avx512_sweep) { with_isa("avx512", [] { sweep(true); }); }
// The sweep's skinny shapes again with the small-dimension paths off: the packed path on them.
GMPNN_TEST(gemm_packed_only_sweep) {
  gmpnn_cpu_gemm_set_small_for_testing(0);
  sweep(false);
  gmpnn_cpu_gemm_set_small_for_testing(1);
}

// The small-dimension paths (K <= 16, N <= 4, M <= 4): every form, every transpose, every
// remainder of the vector strips, leading dims above minimal, beta 0 over NaN, 1 and 2 threads.
GMPNN_TEST(gemm_small_dims) {
  static const int64_t shapes[][3] = {
      {1024, 100, 4}, {1024, 100, 16}, {455, 100, 13}, {1023, 37, 1},  {5, 65, 2},   {4, 33, 3},
      {1024, 1, 100}, {1031, 3, 97},   {1, 100, 1024}, {3, 129, 257}, {2, 7, 1000}, {100, 4, 1024},
      {101, 16, 1023}, {17, 2, 5},     {7, 4, 31},     {1, 1, 1024},  {4096, 8, 8}, {300, 3, 3000},
      // N = 1 (four dots at a time): row remainders 1-3, K below / not a multiple of a vector.
      {1027, 1, 13},   {6, 1, 3},      {455, 1, 100},  {4, 1, 1},
      // Rows form (six rows a group): M mod 6 = 0, 1, 2; one row short of a group.
      {1026, 40, 9},   {13, 17, 16},   {14, 9, 5},     {5, 33, 7},
  };
  static const double ab[][2] = {{1, 0}, {1, 1}, {-0.5, 2}, {2.5, 0}};
  const int saved = omp_get_max_threads();
  int n = 0;
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (auto& s : shapes)
      for (int t = 0; t < 4; ++t, ++n) {
        Case c{s[0], s[1], s[2], t & 1, t >> 1, 0, 0, 0, ab[n % 4][0], ab[n % 4][1], false};
        if (n % 3 == 1) c.pad_a = 3, c.pad_b = 5, c.pad_c = 7;
        if (n % 3 == 2) c.pad_a = 9, c.pad_b = 1, c.pad_c = 2;
        c.nan_c = c.beta == 0 && (n % 2 == 1);
        if (!run_case<float>(c, 700 + n) || !run_case<double>(c, 900 + n)) {
          omp_set_num_threads(saved);
          return;
        }
      }
  }
  omp_set_num_threads(saved);
}
GMPNN_TEST(gemm_avx2_sweep) { with_isa("avx2", [] { sweep(true); }); }
GMPNN_TEST(gemm_scalar_sweep) { with_isa("scalar", [] { sweep(true); }); }

// Tiny MC/KC/NC so that small matrices cross many block edges (beta applied once, not per KC
// block; B panels shared between threads; partial blocks), on every ISA and thread count.
GMPNN_TEST(gemm_small_blocks) {
  const int saved = omp_get_max_threads();
  for (const char* isa : {"avx512", "avx2", "scalar"}) {
    if (!gmpnn_cpu_gemm_set_isa_for_testing(isa)) continue;
    gmpnn_cpu_gemm_set_blocking_for_testing(24, 7, 64);
    for (int threads : {1, 2, 3}) {
      omp_set_num_threads(threads);
      int n = 0;
      for (int t = 0; t < 4; ++t)
        for (double beta : {0.0, 0.5}) {
          // Large enough to be threaded (>= 2 M multiply-adds) yet many blocks.
          Case c{131, 211, 97, t & 1, t >> 1, 1, 2, 3, 1.5, beta, beta == 0};
          run_case<float>(c, 500 + n);
          run_case<double>(c, 600 + n++);
        }
    }
    gmpnn_cpu_gemm_set_blocking_for_testing(0, 0, 0);
  }
  omp_set_num_threads(saved);
  gmpnn_cpu_gemm_set_isa_for_testing(nullptr);
}

// Default blocking, several thread counts, row split and (small M) column split.
GMPNN_TEST(gemm_threads) {
  const int saved = omp_get_max_threads();
  for (int threads : {1, 2, 3, 4}) {
    omp_set_num_threads(threads);
    run_case<float>({300, 517, 259, 0, 0, 0, 0, 0, 1, 0, true}, 700 + threads);
    run_case<float>({13, 2000, 300, 0, 1, 0, 0, 0, 1, 1, false}, 710 + threads);    // tn > 1
    run_case<double>({7, 4500, 100, 1, 0, 0, 0, 0, -1, 0.5, false}, 720 + threads);  // N > NC
    run_case<float>({2000, 13, 300, 1, 1, 0, 0, 0, 1, 0, false}, 730 + threads);
  }
  omp_set_num_threads(saved);
}

// Called from inside a parallel region (e.g. by another kernel): must run serially and be right.
GMPNN_TEST(gemm_nested_in_parallel) {
  Rand r(9);
  const int64_t M = 64, N = 200, K = 300;
  std::vector<float> A = r.vec<float>(M * K), B = r.vec<float>(K * N);
  std::vector<float> want(M * N), got[2];
  CHECK_OK(gmpnn_cpu_gemm_reference(GMPNN_F32, want.data(), A.data(), B.data(), 0, 0, M, N, K, K,
                                    N, N, 1, 0));
  int bad = 0;
#pragma omp parallel num_threads(2)
  {
    std::vector<float> C(M * N, 1.0f);
    if (gmpnn_cpu_gemm(GMPNN_F32, C.data(), A.data(), B.data(), 0, 0, M, N, K, K, N, N, 1, 0) !=
        GMPNN_OK)
      bad = 1;
#pragma omp critical
    got[omp_get_thread_num() & 1] = C;
  }
  CHECK(bad == 0);
  for (auto& g : got)
    if (!g.empty()) CHECK_CLOSE("nested", g.data(), want.data(), g.size(), 1e-4, 1e-5);
}

// The small-dimension paths called by one thread of a team (as the convolution's tiles do), with
// the team larger than the caller's share: every row must still be written, with no hang.
GMPNN_TEST(gemm_small_dims_inside_team) {
  Rand r(11);
  struct S {
    int64_t M, N, K;
    int ta, tb;
  };
  const S shapes[] = {{3, 40, 216, 0, 1}, {1, 40, 216, 0, 1}, {500, 3, 216, 0, 1},
                      {100, 4, 700, 1, 0}, {2, 300, 50, 0, 0}, {600, 37, 4, 0, 1}};
  for (const S& sh : shapes) {
    const int64_t lda = sh.ta ? sh.M : sh.K, ldb = sh.tb ? sh.K : sh.N;
    std::vector<float> A = r.vec<float>(sh.M * sh.K), B = r.vec<float>(sh.K * sh.N);
    std::vector<float> want(sh.M * sh.N);
    CHECK_OK(gmpnn_cpu_gemm_reference(GMPNN_F32, want.data(), A.data(), B.data(), sh.ta, sh.tb,
                                      sh.M, sh.N, sh.K, lda, ldb, sh.N, 1, 0));
    std::vector<float> got(sh.M * sh.N, std::numeric_limits<float>::quiet_NaN());
    int bad = 0;
#pragma omp parallel num_threads(3)
    {
#pragma omp single
      if (gmpnn_cpu_gemm(GMPNN_F32, got.data(), A.data(), B.data(), sh.ta, sh.tb, sh.M, sh.N,
                         sh.K, lda, ldb, sh.N, 1, 0) != GMPNN_OK)
        bad = 1;
    }
    CHECK(bad == 0);
    CHECK_CLOSE("small dims inside a team", got.data(), want.data(), got.size(), 1e-4, 1e-5);
  }
}

GMPNN_TEST(gemm_zero_sizes) {
  float C[6] = {1, 2, 3, 4, 5, 6};
  const float A[6] = {1, 1, 1, 1, 1, 1}, B[6] = {1, 1, 1, 1, 1, 1};
  // M == 0 or N == 0: nothing to do, C untouched, null pointers fine.
  CHECK_OK(gmpnn_cpu_gemm(GMPNN_F32, nullptr, nullptr, nullptr, 0, 0, 0, 5, 3, 3, 5, 5, 1, 0));
  CHECK_OK(gmpnn_cpu_gemm(GMPNN_F64, nullptr, nullptr, nullptr, 1, 1, 4, 0, 3, 4, 3, 0, 1, 0));
  // K == 0: C = beta·C, A and B not read.
  CHECK_OK(gmpnn_cpu_gemm(GMPNN_F32, C, nullptr, nullptr, 0, 0, 2, 3, 0, 0, 3, 3, 1, 2));
  const float want2[6] = {2, 4, 6, 8, 10, 12};
  CHECK_CLOSE("K=0 beta=2", C, want2, 6, 0, 0);
  float Cn[6];
  for (auto& x : Cn) x = NAN;
  CHECK_OK(gmpnn_cpu_gemm(GMPNN_F32, Cn, A, B, 0, 0, 2, 3, 0, 0, 3, 3, 1, 0));
  const float zeros[6] = {0, 0, 0, 0, 0, 0};
  CHECK_CLOSE("K=0 beta=0 over NaN", Cn, zeros, 6, 0, 0);
  // alpha == 0 with beta == 0 over NaN gives zeros, too.
  for (auto& x : Cn) x = NAN;
  CHECK_OK(gmpnn_cpu_gemm(GMPNN_F32, Cn, A, B, 0, 0, 2, 3, 2, 2, 3, 3, 0, 0));
  CHECK_CLOSE("alpha=0 beta=0 over NaN", Cn, zeros, 6, 0, 0);
  // Reference agrees on K == 0.
  double Cd[4] = {1, 2, 3, 4};
  CHECK_OK(gmpnn_cpu_gemm_reference(GMPNN_F64, Cd, nullptr, nullptr, 0, 0, 2, 2, 0, 0, 2, 2, 1, -1));
  const double wantd[4] = {-1, -2, -3, -4};
  CHECK_CLOSE("ref K=0", Cd, wantd, 4, 0, 0);
}

// beta == 0 over a NaN-filled C on each path, including partial tiles and K > KC.
GMPNN_TEST(gemm_beta0_nan) {
  for (const char* isa : {"avx512", "avx2", "scalar"}) {
    if (!gmpnn_cpu_gemm_set_isa_for_testing(isa)) continue;
    for (int t = 0; t < 4; ++t) {
      run_case<float>({37, 53, 300, t & 1, t >> 1, 0, 0, 4, 1, 0, true}, 800 + t);
      run_case<double>({37, 53, 300, t & 1, t >> 1, 0, 0, 4, -2, 0, true}, 810 + t);
    }
  }
  gmpnn_cpu_gemm_set_isa_for_testing(nullptr);
}

GMPNN_TEST(gemm_bad_args) {
  float C[4] = {0}, A[4] = {0}, B[4] = {0};
  CHECK(gmpnn_cpu_gemm(GMPNN_F32, C, A, B, 0, 0, -1, 2, 2, 2, 2, 2, 1, 0) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_gemm(GMPNN_F32, C, A, B, 0, 0, 2, 2, 2, 1, 2, 2, 1, 0) == GMPNN_E_ARG);  // lda
  CHECK(gmpnn_cpu_gemm(GMPNN_F32, C, A, B, 1, 0, 2, 2, 2, 2, 2, 2, 1, 0) == GMPNN_OK);
  CHECK(gmpnn_cpu_gemm(GMPNN_F32, C, A, B, 0, 1, 2, 3, 2, 2, 1, 3, 1, 0) == GMPNN_E_ARG);  // ldb
  CHECK(gmpnn_cpu_gemm(GMPNN_F32, C, A, B, 0, 0, 2, 2, 2, 2, 2, 1, 1, 0) == GMPNN_E_ARG);  // ldc
  CHECK(gmpnn_cpu_gemm(GMPNN_F32, C, nullptr, B, 0, 0, 2, 2, 2, 2, 2, 2, 1, 0) == GMPNN_E_ARG);
  CHECK(std::strlen(gmpnn_last_error()) > 0);
  CHECK(gmpnn_cpu_gemm((gmpnn_dtype)7, C, A, B, 0, 0, 2, 2, 2, 2, 2, 2, 1, 0) == GMPNN_E_DTYPE);
  CHECK(gmpnn_cpu_gemm_reference((gmpnn_dtype)7, C, A, B, 0, 0, 2, 2, 2, 2, 2, 2, 1, 0) ==
        GMPNN_E_DTYPE);
}

// Same inputs, same thread count: results must be bit-identical run to run (no racy reduction).
GMPNN_TEST(gemm_deterministic) {
  Rand r(11);
  const int64_t M = 257, N = 300, K = 401;
  std::vector<float> A = r.vec<float>(M * K), B = r.vec<float>(K * N), C1(M * N), C2(M * N);
  CHECK_OK(gmpnn_cpu_gemm(GMPNN_F32, C1.data(), A.data(), B.data(), 0, 0, M, N, K, K, N, N, 1, 0));
  CHECK_OK(gmpnn_cpu_gemm(GMPNN_F32, C2.data(), A.data(), B.data(), 0, 0, M, N, K, K, N, N, 1, 0));
  CHECK(std::memcmp(C1.data(), C2.data(), sizeof(float) * M * N) == 0);
}
