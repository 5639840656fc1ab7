// Golden tests for the CPU GmP kernels (gmpnn/gmp.h), computed independently from GMP_SPEC.md
// §2–§4: references here are plain double loops written from the formulas (u_k as an explicit
// product, no prefix reuse; the inverse from atan2 of tail norms; gradients by float64 central
// differences), never calls into the kernels under test.
#include <omp.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "gmpnn/device.h"
#include "gmpnn/gemm.h"
#include "gmpnn/gmp.h"
#include "harness.h"

// Testing hook of native/cpu/gemm.cc (not part of the C ABI): the GEMM's ISA, which the float32
// direction forward follows.
extern "C" int gmpnn_cpu_gemm_set_isa_for_testing(const char* name);
extern "C" void gmpnn_cpu_gemm_set_blocking_for_testing(int64_t mc, int64_t kc, int64_t nc);

namespace gmpnn_cpu {
// The vectorized sin/cos the direction kernels use (native/cpu/simd_math.h, defined in gmp.cc).
void sincos_f64(const double* x, double* s, double* c, int64_t n);
void sincos_f32(const float* x, float* s, float* c, int64_t n);
}  // namespace gmpnn_cpu

using gmpnn_test::Rand;

namespace {

const double kPi = 3.14159265358979323846;

template <typename T>
gmpnn_dtype dtype_of();
template <>
gmpnn_dtype dtype_of<float>() {
  return GMPNN_F32;
}
template <>
gmpnn_dtype dtype_of<double>() {
  return GMPNN_F64;
}

// u(θ) for one unit straight from §2: u_k = (∏_{j<k} sin θ_j)·cos θ_k, u_n = ∏_{j<n} sin θ_j,
// each product recomputed from scratch.
std::vector<double> ref_u(const double* th, int64_t n) {
  std::vector<double> u(n);
  for (int64_t k = 0; k < n; ++k) {
    double p = 1.0;
    for (int64_t j = 0; j < k && j < n - 1; ++j) p *= std::sin(th[j]);
    u[k] = k < n - 1 ? p * std::cos(th[k]) : p;
  }
  return u;
}

// Cheaper O(n) u(θ) for finite differences (still the test's own code).
void ref_u_fast(double* u, const double* th, int64_t n) {
  double p = 1.0;
  for (int64_t k = 0; k < n - 1; ++k) {
    u[k] = p * std::cos(th[k]);
    p *= std::sin(th[k]);
  }
  u[n - 1] = p;
}

template <typename T>
std::vector<double> to_double(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}

bool has_subnormal(const float* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (std::fpclassify(p[i]) == FP_SUBNORMAL) return true;
  return false;
}

// ------------------------------------------------------------------ vectorized sin/cos

// Error of got against want in units of the last place of want (0 when equal).
double ulp_err(double got, double want) {
  if (got == want) return 0.0;
  const double aw = std::fabs(want);
  const double ulp = aw == 0.0 ? std::nextafter(0.0, 1.0) : std::nextafter(aw, INFINITY) - aw;
  return std::fabs(got - want) / ulp;
}

struct SinCosStats {
  size_t count = 0;
  double max_abs = 0, max_ulp = 0, worst_x = 0;
};

// Checks gmpnn_cpu::sincos_f64 against std::sin / std::cos (glibc: correctly rounded or within
// ~0.5 ulp): |err| ≤ 4e-16·max(1, |value|) + 1e-300 everywhere, and at most max_ulp ulp of the
// reference where the reference is a normal number. Odd-length batches exercise the padded tail.
void check_sincos(const std::vector<double>& x, double max_ulp, SinCosStats* st) {
  const size_t n = x.size();
  std::vector<double> s(n), c(n);
  gmpnn_cpu::sincos_f64(x.data(), s.data(), c.data(), (int64_t)n);
  int bad = 0;
  for (size_t i = 0; i < n; ++i) {
    const double want[2] = {std::sin(x[i]), std::cos(x[i])};
    const double got[2] = {s[i], c[i]};
    for (int f = 0; f < 2; ++f) {
      if (std::isnan(want[f])) {
        if (!std::isnan(got[f]) && bad++ < 5)
          gmpnn_test::fail(__FILE__, __LINE__, "sincos: NaN expected at x=" + std::to_string(x[i]));
        continue;
      }
      const double err = std::fabs(got[f] - want[f]);
      const double u = ulp_err(got[f], want[f]);
      const bool normal = std::fabs(want[f]) >= DBL_MIN;
      if (err > st->max_abs) st->max_abs = err;
      if (normal && u > st->max_ulp) {
        st->max_ulp = u;
        st->worst_x = x[i];
      }
      const bool ok = err <= 4e-16 * std::max(1.0, std::fabs(want[f])) + 1e-300 &&
                      (!normal || u <= max_ulp);
      if (!ok && bad++ < 5) {
        char buf[200];
        std::snprintf(buf, sizeof buf, "%s(%.17g): got %.17g want %.17g (%.2f ulp)",
                      f ? "cos" : "sin", x[i], got[f], want[f], u);
        gmpnn_test::fail(__FILE__, __LINE__, buf);
      }
    }
  }
  st->count += n;
  CHECK(bad == 0);
}

GMPNN_TEST(gmp_sincos_accuracy) {
  SinCosStats st;
  Rand rng(2024);
  // Random angles over the training range and below, in odd-length batches.
  for (double range : {1e4, 1e2, 4.0, 0.8}) {
    std::vector<double> x(200003);
    for (auto& v : x) v = rng.uniform(-range, range);
    check_sincos(x, 2.0, &st);
  }
  // Special points: zeros, multiples of π/2 (nearest doubles of k·π/2 and their neighbours, where
  // the reduced argument is tiny), tiny and subnormal angles.
  std::vector<double> x = {0.0, -0.0, kPi / 2, -kPi / 2, kPi, -kPi, 2 * kPi, 3 * kPi / 2,
                           kPi / 4, -kPi / 4, 1e-10, -1e-10, 1e-300, 4e-320, -4e-320};
  for (int64_t k = -64000; k <= 64000; k += (k > -40 && k < 40) ? 1 : 997) {
    const double v = (double)k * (kPi / 2);
    x.push_back(v);
    x.push_back(std::nextafter(v, INFINITY));
    x.push_back(std::nextafter(v, -INFINITY));
    x.push_back((double)((long double)k * 1.57079632679489661923132169163975144L));
  }
  check_sincos(x, 2.0, &st);
  std::vector<double> s(x.size()), c(x.size());
  gmpnn_cpu::sincos_f64(x.data(), s.data(), c.data(), (int64_t)x.size());
  CHECK(s[0] == 0.0 && !std::signbit(s[0]) && c[0] == 1.0);
  CHECK(s[1] == 0.0 && std::signbit(s[1]) && c[1] == 1.0);  // sin(−0) = −0
  CHECK(s[13] == 4e-320 && s[14] == -4e-320);
  std::printf("    sincos vs std::sin/cos: %zu angles, max |err| %.3g, max %.3f ulp (at x=%.17g)\n",
              st.count, st.max_abs, st.max_ulp, st.worst_x);
}

// The float32 layers' sin/cos (sincos8f_ps): float-accuracy values of float angles. |err| ≤ 2 ulp
// of float of the reference (an absolute 1e-37 where the reference is below float's normal
// range), against std::sin / std::cos of the same angle. Angles up to 1e4, so both reductions
// (float up to 512, double beyond) are exercised, also mixed within one vector; NaN, ±inf and
// |x| > 1e5 through the scalar fallback; sin(−0) = −0.
GMPNN_TEST(gmp_sincos_f32_accuracy) {
  Rand rng(77);
  std::vector<double> x;
  for (double range : {1e4, 1e2, 4.0, 0.8})
    for (int i = 0; i < 100003; ++i) x.push_back((double)(float)rng.uniform(-range, range));
  for (int64_t k = -4000; k <= 4000; ++k) {  // float angles nearest to k·π/2 and neighbours
    const float v = (float)((double)k * (kPi / 2));
    x.push_back(v);
    x.push_back(std::nextafter(v, INFINITY));
    x.push_back(std::nextafter(v, -INFINITY));
  }
  const std::vector<double> special = {0.0, -0.0, 1e-30, -1e-30, 1e-40, 2e5, -1e22, INFINITY, -INFINITY, NAN, 3.0};
  x.insert(x.end(), special.begin(), special.end());
  for (auto& v : x) v = (double)(float)v;  // the angles a float32 layer can hold
  const size_t n = x.size();
  std::vector<float> xf(x.begin(), x.end()), sf(n), cf(n);
  gmpnn_cpu::sincos_f32(xf.data(), sf.data(), cf.data(), (int64_t)n);
  const std::vector<double> s(sf.begin(), sf.end()), c(cf.begin(), cf.end());
  double worst = 0, worst_x = 0;
  int bad = 0;
  for (size_t i = 0; i < n; ++i) {
    const double want[2] = {std::sin(x[i]), std::cos(x[i])}, got[2] = {s[i], c[i]};
    for (int f = 0; f < 2; ++f) {
      if (std::isnan(want[f])) {
        if (!std::isnan(got[f]) && bad++ < 5) gmpnn_test::fail(__FILE__, __LINE__, "sincos f32: NaN expected");
        continue;
      }
      const double w = std::fabs(want[f]);
      const double ulpf = w >= FLT_MIN ? std::ldexp(1.0, std::ilogb(w) - 23) : 0.0;
      const double err = std::fabs(got[f] - want[f]);
      if (ulpf > 0 && err / ulpf > worst) worst = err / ulpf, worst_x = x[i];
      if (!(err <= 2.0 * ulpf + 1e-37) && bad++ < 5) {
        char buf[200];
        std::snprintf(buf, sizeof buf, "%s(%.9g): got %.9g want %.9g (%.2f float ulp)", f ? "cos" : "sin",
                      x[i], got[f], want[f], ulpf > 0 ? err / ulpf : -1.0);
        gmpnn_test::fail(__FILE__, __LINE__, buf);
      }
    }
  }
  CHECK(bad == 0);
  CHECK(s[n - 11] == 0.0 && !std::signbit(s[n - 11]) && c[n - 11] == 1.0);
  CHECK(s[n - 10] == 0.0 && std::signbit(s[n - 10]));  // sin(−0) = −0
  CHECK(sf[n - 6] == (float)std::sin(2e5) && cf[n - 5] == (float)std::cos(x[n - 5]));  // scalar fallback lanes
  // The specials above share a vector with far lanes; the float reduction's own path (a vector
  // with none) must keep −0 and tiny angles too: sin x = x there.
  const float near[8] = {-0.0f, 0.5f, -1e-30f, 1e-30f, -0.0f, -2.0f, 3.0f, 0.0f};
  float ns[8], nc[8];
  gmpnn_cpu::sincos_f32(near, ns, nc, 8);
  CHECK(ns[0] == 0.0f && std::signbit(ns[0]) && ns[4] == 0.0f && std::signbit(ns[4]));
  CHECK(ns[7] == 0.0f && !std::signbit(ns[7]) && nc[0] == 1.0f && nc[7] == 1.0f);
  CHECK(ns[2] == -1e-30f && ns[3] == 1e-30f);
  std::printf("    sincos (float accuracy) vs std::sin/cos: %zu angles, max %.3f float ulp (at x=%.9g)\n",
              n, worst, worst_x);
}

// Beyond the vector reduction's range (|x| > 1e5), infinities and NaN take the scalar fallback,
// lane by lane, mixed with ordinary lanes.
GMPNN_TEST(gmp_sincos_fallback) {
  SinCosStats st;
  std::vector<double> x = {0.5, 1e5, 100000.00000000001, -2e5, 0.25, 1e22, 3.0, INFINITY,
                           -INFINITY, NAN, -1.0, 123456789.0, 7.0, 1e300, 99999.9};
  check_sincos(x, 1.0, &st);
  std::vector<double> s(x.size()), c(x.size());
  gmpnn_cpu::sincos_f64(x.data(), s.data(), c.data(), (int64_t)x.size());
  CHECK(std::isnan(s[7]) && std::isnan(c[7]) && std::isnan(s[9]) && std::isnan(c[9]));
  CHECK(s[5] == std::sin(1e22) && c[5] == std::cos(1e22));
  // A vector with a far lane goes the general way as a whole: −0 and tiny angles keep sin x = x.
  const double mixed[4] = {-0.0, 2e5, -1e-300, 0.0};
  double ms[4], mc[4];
  gmpnn_cpu::sincos_f64(mixed, ms, mc, 4);
  CHECK(ms[0] == 0.0 && std::signbit(ms[0]) && ms[3] == 0.0 && !std::signbit(ms[3]));
  CHECK(ms[2] == -1e-300 && mc[0] == 1.0 && ms[1] == std::sin(2e5));
}

// Units go through the kernels a lane group at a time (one per SIMD lane); a unit's result must
// not depend on how many units are around it or where it sits among them
// (float32: eight units per group, float64: four; m = 13 leaves a partial last group, the fan-ins
// full 8-angle blocks and every tail length, n ≤ 8 (float) or 4 (double) rows shorter than a
// vector, read and written as one short block; a few angles beyond 512 take the far reduction.)
template <typename T>
void check_grouping_invariant() {
  Rand rng(91);
  for (int64_t n : {2, 3, 4, 5, 6, 8, 9, 10, 13, 16, 17, 130}) {
    const int64_t m = 13;
    std::vector<T> th = rng.vec<T>((size_t)(m * (n - 1)), -3, 3);
    for (size_t i = 5; i < th.size(); i += 37) th[i] = (T)(700.0 + (double)i);
    std::vector<T> dU = rng.vec<T>((size_t)(m * n));
    std::vector<T> U((size_t)(m * n)), dth(th.size());
    CHECK_OK(gmpnn_cpu_gmp_direction_forward(dtype_of<T>(), U.data(), th.data(), m, n));
    CHECK_OK(gmpnn_cpu_gmp_direction_backward(dtype_of<T>(), dth.data(), dU.data(), th.data(), m, n));
    for (int64_t j = 0; j < m; ++j) {
      std::vector<T> u1((size_t)n), d1((size_t)(n - 1));
      CHECK_OK(gmpnn_cpu_gmp_direction_forward(dtype_of<T>(), u1.data(), th.data() + j * (n - 1), 1, n));
      CHECK_OK(gmpnn_cpu_gmp_direction_backward(dtype_of<T>(), d1.data(), dU.data() + j * n,
                                                th.data() + j * (n - 1), 1, n));
      CHECK(std::memcmp(u1.data(), U.data() + j * n, sizeof(T) * n) == 0);
      CHECK(std::memcmp(d1.data(), dth.data() + j * (n - 1), sizeof(T) * (n - 1)) == 0);
    }
  }
}

GMPNN_TEST(gmp_direction_grouping_invariant) {
  check_grouping_invariant<double>();
  check_grouping_invariant<float>();
}

// ------------------------------------------------------------------ direction forward

template <typename T>
void check_unit_norm(int64_t m, int64_t n, double lo, double hi, uint64_t seed) {
  Rand rng(seed);
  std::vector<T> th = rng.vec<T>((size_t)(m * (n - 1)), lo, hi);
  std::vector<T> U((size_t)(m * n), T(-7));
  CHECK_OK(gmpnn_cpu_gmp_direction_forward(dtype_of<T>(), U.data(), th.data(), m, n));
  const bool f32 = sizeof(T) == 4;
  std::vector<double> norms(m), ones(m, 1.0);
  std::vector<double> want((size_t)(m * n));
  for (int64_t j = 0; j < m; ++j) {
    double s = 0;
    for (int64_t k = 0; k < n; ++k) s += (double)U[j * n + k] * (double)U[j * n + k];
    norms[j] = std::sqrt(s);
    std::vector<double> thd(th.begin() + j * (n - 1), th.begin() + (j + 1) * (n - 1));
    std::vector<double> u = ref_u(thd.data(), n);
    for (int64_t k = 0; k < n; ++k) want[j * n + k] = u[k];
  }
  char what[96];
  std::snprintf(what, sizeof what, "norm(u) %s m=%lld n=%lld", f32 ? "f32" : "f64", (long long)m,
                (long long)n);
  CHECK_CLOSE(what, norms.data(), ones.data(), (size_t)m, f32 ? 2e-6 : 1e-13, 0.0);
  std::snprintf(what, sizeof what, "u %s m=%lld n=%lld", f32 ? "f32" : "f64", (long long)m,
                (long long)n);
  CHECK_CLOSE(what, U.data(), want.data(), want.size(), f32 ? 1e-7 : 1e-14, f32 ? 1e-6 : 1e-12);
  if (f32) CHECK(!has_subnormal((const float*)(const void*)U.data(), U.size()));
}

GMPNN_TEST(gmp_direction_forward_unit_norm) {
  const int64_t ns[] = {2, 3, 17, 300};
  uint64_t seed = 1;
  for (int64_t n : ns) {
    // Angles well inside and far outside [0, π], never wrapped.
    check_unit_norm<float>(9, n, 0.0, kPi, seed++);
    check_unit_norm<double>(9, n, 0.0, kPi, seed++);
    check_unit_norm<float>(9, n, -40.0, 40.0, seed++);
    check_unit_norm<double>(9, n, -40.0, 40.0, seed++);
    check_unit_norm<double>(1, n, -1e4, 1e4, seed++);
  }
  // Enough work for the threaded path; m prime.
  check_unit_norm<float>(331, 300, -10.0, 10.0, seed++);
  check_unit_norm<double>(331, 300, -10.0, 10.0, seed++);
  // m = 0 is a no-op.
  CHECK_OK(gmpnn_cpu_gmp_direction_forward(GMPNN_F32, nullptr, nullptr, 0, 5));
}

template <typename T>
void check_known(const std::vector<double>& th, const std::vector<double>& want, double atol) {
  const int64_t n = (int64_t)want.size();
  std::vector<T> t(th.begin(), th.end());
  std::vector<T> U(n, T(9));
  CHECK_OK(gmpnn_cpu_gmp_direction_forward(dtype_of<T>(), U.data(), t.data(), 1, n));
  CHECK_CLOSE("known u", U.data(), want.data(), (size_t)n, atol, 0.0);
}

template <typename T>
void known_angles(double atol) {
  check_known<T>({kPi / 3}, {0.5, std::sqrt(3.0) / 2}, atol);
  check_known<T>({kPi / 2, kPi / 2}, {0, 0, 1}, atol);
  check_known<T>({0, 0, 0, 0}, {1, 0, 0, 0, 0}, 0.0);  // exactly e1
  check_known<T>({0}, {1, 0}, 0.0);
  check_known<T>({kPi}, {-1, 0}, atol);
  check_known<T>({kPi / 2, kPi / 2, kPi}, {0, 0, -1, 0}, atol);
  check_known<T>({-kPi / 2}, {0, -1}, atol);
  check_known<T>({kPi / 2, 3 * kPi / 2}, {0, 0, -1}, atol);
  // n = 3, θ = (π/4, π/3): (cos π/4, sin π/4 cos π/3, sin π/4 sin π/3)
  const double a = std::sqrt(0.5);
  check_known<T>({kPi / 4, kPi / 3}, {a, a * 0.5, a * std::sqrt(3.0) / 2}, atol);
  // Angles are not wrapped: θ + 2π gives the same point.
  check_known<T>({kPi / 4 + 2 * kPi, kPi / 3 - 4 * kPi}, {a, a * 0.5, a * std::sqrt(3.0) / 2},
                 atol * 8);
}

GMPNN_TEST(gmp_direction_forward_known_angles) {
  known_angles<float>(2e-7);
  known_angles<double>(1e-15);
}

// Products of many sines of small angles underflow float; the kernel must not write subnormals.
GMPNN_TEST(gmp_direction_no_subnormals) {
  const int64_t m = 3, n = 300;
  std::vector<float> th((size_t)(m * (n - 1)));
  for (size_t i = 0; i < th.size(); ++i) th[i] = (i % 3 == 0) ? 1e-3f : 0.05f;
  for (int64_t k = 0; k < n - 1; ++k) th[(size_t)(2 * (n - 1) + k)] = 3.1f;  // near π too
  std::vector<float> U((size_t)(m * n));
  CHECK_OK(gmpnn_cpu_gmp_direction_forward(GMPNN_F32, U.data(), th.data(), m, n));
  CHECK(!has_subnormal(U.data(), U.size()));
  std::vector<double> norms(m), ones(m, 1.0);
  for (int64_t j = 0; j < m; ++j) {
    double s = 0;
    for (int64_t k = 0; k < n; ++k) s += (double)U[j * n + k] * U[j * n + k];
    norms[j] = std::sqrt(s);
  }
  CHECK_CLOSE("norm", norms.data(), ones.data(), (size_t)m, 1e-6, 0.0);
  Rand rng(77);
  std::vector<float> dU = rng.vec<float>(U.size());
  std::vector<float> dth(th.size());
  CHECK_OK(gmpnn_cpu_gmp_direction_backward(GMPNN_F32, dth.data(), dU.data(), th.data(), m, n));
  CHECK(!has_subnormal(dth.data(), dth.size()));
  for (float v : dth) CHECK(std::isfinite(v));
}

// ------------------------------------------------------------------ direction backward

// Checks dθ against a float64 central difference of L = Σ dU ⊙ u(θ), at the angles as stored.
template <typename T>
void check_backward(const std::vector<T>& th, int64_t m, int64_t n, uint64_t seed,
                    const char* label) {
  Rand rng(seed);
  std::vector<T> dU = rng.vec<T>((size_t)(m * n));
  std::vector<T> dth(th.size(), T(123));
  CHECK_OK(gmpnn_cpu_gmp_direction_backward(dtype_of<T>(), dth.data(), dU.data(), th.data(), m, n));
  const bool f32 = sizeof(T) == 4;
  std::vector<double> fd(th.size());
  std::vector<double> u(n);
  const double h = 1e-6;
  for (int64_t j = 0; j < m; ++j) {
    std::vector<double> t(th.begin() + j * (n - 1), th.begin() + (j + 1) * (n - 1));
    auto L = [&]() {
      ref_u_fast(u.data(), t.data(), n);
      double s = 0;
      for (int64_t k = 0; k < n; ++k) s += (double)dU[j * n + k] * u[k];
      return s;
    };
    for (int64_t i = 0; i < n - 1; ++i) {
      const double t0 = t[i];
      t[i] = t0 + h;
      const double lp = L();
      t[i] = t0 - h;
      const double lm = L();
      t[i] = t0;
      fd[j * (n - 1) + i] = (lp - lm) / (2 * h);
    }
  }
  bool finite = true;
  for (T v : dth) finite = finite && std::isfinite((double)v);
  CHECK(finite);
  char what[128];
  std::snprintf(what, sizeof what, "dtheta %s %s m=%lld n=%lld", label, f32 ? "f32" : "f64",
                (long long)m, (long long)n);
  CHECK_CLOSE(what, dth.data(), fd.data(), fd.size(), f32 ? 2e-6 : 1e-8, f32 ? 1e-5 : 1e-7);
}

template <typename T>
void backward_cases(uint64_t seed) {
  // float32: n − 1 ≤ 32 scans in float, longer fan-ins in double (33 / 34 straddle the switch).
  const int64_t ns[] = {2, 3, 17, 33, 34, 300};
  for (int64_t n : ns) {
    const int64_t m = 5;
    Rand rng(seed++);
    // Random angles, far outside [0, π] too.
    std::vector<T> th = rng.vec<T>((size_t)(m * (n - 1)), -7.0, 7.0);
    check_backward<T>(th, m, n, seed++, "random");
    // Angles where sin θ = 0: 0, π, 2π, −π, mixed with random ones; first and last included.
    std::vector<T> sz = rng.vec<T>((size_t)(m * (n - 1)), 0.2, 3.0);
    const double specials[] = {0.0, kPi, 2 * kPi, -kPi};
    for (int64_t j = 0; j < m; ++j) {
      for (int64_t i = 0; i < n - 1; ++i) {
        const bool pick = (j == 0 && i == 0) || (j == 1 && i == n - 2) || (j == 2 && i % 3 == 1) ||
                          (j == 3) || (j == 4 && (i == 0 || i == n - 2));
        if (pick) sz[(size_t)(j * (n - 1) + i)] = (T)specials[(i + j) % 4];
      }
    }
    check_backward<T>(sz, m, n, seed++, "sin=0");
    // All angles exactly 0 (u = e1): every dθ_i except the first is 0; dθ_1 = g_2.
    std::vector<T> zero((size_t)(m * (n - 1)), T(0));
    check_backward<T>(zero, m, n, seed++, "all zero");
  }
  // Threaded path (m·n above the grain), m prime.
  Rand rng(seed++);
  std::vector<T> th = rng.vec<T>((size_t)(131 * 299), -4.0, 4.0);
  for (size_t i = 0; i < th.size(); i += 7) th[i] = (i % 2) ? T(0) : (T)kPi;
  check_backward<T>(th, 131, 300, seed++, "threaded");
}

GMPNN_TEST(gmp_direction_backward_fd) {
  backward_cases<double>(100);
  backward_cases<float>(200);
}

// Explicit values at sin θ = 0, from the recurrence worked by hand.
GMPNN_TEST(gmp_direction_backward_known) {
  // n = 3, θ = (0, 0): u = (1, 0, 0); ∂u/∂θ1 = (-s1, c1 c2, c1 s2) = (0, 1, 0); ∂u/∂θ2 = (0, 0, 0)
  // since P_1 = sin θ1 = 0. With g = (a, b, c): dθ = (b, 0).
  {
    double th[2] = {0, 0}, g[3] = {0.3, -1.7, 2.5}, d[2] = {9, 9}, want[2] = {-1.7, 0};
    CHECK_OK(gmpnn_cpu_gmp_direction_backward(GMPNN_F64, d, g, th, 1, 3));
    CHECK_CLOSE("dtheta(0,0)", d, want, 2, 0.0, 0.0);
  }
  // n = 3, θ = (π/2, π): u = (0, -1, 0); ∂u/∂θ1 = (-1, 0, 0)·… : -s1 = -1, c1c2 = 0, c1s2 = 0;
  // ∂u/∂θ2 = (0, -s1 s2, s1 c2) = (0, 0, -1). dθ = (-a, -c).
  {
    double th[2] = {kPi / 2, kPi}, g[3] = {0.3, -1.7, 2.5}, d[2] = {9, 9}, want[2] = {-0.3, -2.5};
    CHECK_OK(gmpnn_cpu_gmp_direction_backward(GMPNN_F64, d, g, th, 1, 3));
    CHECK_CLOSE("dtheta(pi/2,pi)", d, want, 2, 1e-15, 0.0);
  }
}

// ------------------------------------------------------------------ inverse / round trip

// W rows with special structure appended to random ones.
template <typename T>
std::vector<T> inverse_inputs(int64_t n, int64_t* m_out, uint64_t seed) {
  Rand rng(seed);
  const int64_t m_rand = 12;
  std::vector<std::vector<double>> rows;
  for (int64_t j = 0; j < m_rand; ++j) {
    std::vector<double> r(n);
    for (auto& v : r) v = rng.uniform(-1, 1);
    rows.push_back(r);
  }
  auto add = [&](std::vector<double> r) { rows.push_back(r); };
  std::vector<double> z(n, 0.0);
  add(z);  // zero row
  {        // x_{n-1} < 0, x_n = 0: last angle must be π
    std::vector<double> r(n);
    for (auto& v : r) v = rng.uniform(-1, 1);
    r[n - 2] = -0.75;
    r[n - 1] = 0.0;
    add(r);
    r[n - 1] = -0.0;  // same with a negative zero
    add(r);
  }
  {  // x_{n-1} > 0, x_n = 0
    std::vector<double> r(n, 0.5);
    r[n - 1] = 0.0;
    add(r);
  }
  {  // x_{n-1} = 0, x_n < 0 and > 0
    std::vector<double> r(n, -0.25);
    r[n - 2] = 0.0;
    r[n - 1] = -0.5;
    add(r);
    r[n - 1] = 0.5;
    add(r);
  }
  {  // x_{n-1} < 0 with a tiny x_n (the half-angle form cancels here)
    std::vector<double> r(n, 0.1);
    r[n - 2] = -1.0;
    r[n - 1] = 1e-9;
    add(r);
    r[n - 1] = -1e-9;
    add(r);
  }
  {  // a single nonzero coordinate, at each end and in the middle, both signs
    std::vector<double> r(n, 0.0);
    r[0] = -2.0;
    add(r);
    r[0] = 0.0;
    r[n / 2] = 3.0;
    add(r);
    r[n / 2] = -3.0;
    add(r);
    r[n / 2] = 0.0;
    r[n - 1] = -1.5;
    add(r);
  }
  {  // zeros interleaved, tail of zeros
    std::vector<double> r(n);
    for (int64_t k = 0; k < n; ++k) r[k] = (k % 2) ? 0.0 : rng.uniform(-1, 1);
    add(r);
    for (int64_t k = n / 2; k < n; ++k) r[k] = 0.0;
    add(r);
    std::vector<double> s(n, -0.0);  // all negative zeros
    add(s);
  }
  {  // large and tiny magnitudes (scaling inside the inverse)
    std::vector<double> r(n);
    for (auto& v : r) v = rng.uniform(-1, 1) * (sizeof(T) == 8 ? 1e200 : 1e30);
    add(r);
    for (auto& v : r) v = rng.uniform(-1, 1) * (sizeof(T) == 8 ? 1e-200 : 1e-30);
    add(r);
  }
  *m_out = (int64_t)rows.size();
  std::vector<T> W;
  for (auto& r : rows)
    for (double v : r) W.push_back((T)v);
  return W;
}

template <typename T>
void check_roundtrip(int64_t n, int abs_last, uint64_t seed) {
  int64_t m = 0;
  std::vector<T> W = inverse_inputs<T>(n, &m, seed);
  if (n >= 200) {  // also enough rows for the threaded path
    Rand rng(seed + 1000);
    for (int64_t j = 0; j < 150 * n; ++j) W.push_back((T)rng.uniform(-0.3, 0.3));
    m += 150;
  }
  const bool f32 = sizeof(T) == 4;
  std::vector<T> th((size_t)(m * (n - 1)), T(-99)), r((size_t)m, T(-99));
  CHECK_OK(gmpnn_cpu_gmp_direction_inverse(dtype_of<T>(), th.data(), r.data(), W.data(), m, n,
                                           abs_last));
  std::vector<double> want_r(m), want_W((size_t)(m * n)), got_W((size_t)(m * n));
  std::vector<double> want_last, got_last;
  bool ranges_ok = true, finite = true;
  for (int64_t j = 0; j < m; ++j) {
    const T* x = W.data() + j * n;
    long double s = 0;
    for (int64_t k = 0; k < n; ++k) s += (long double)x[k] * (long double)x[k];
    want_r[j] = (double)std::sqrt(s);
    for (int64_t k = 0; k < n; ++k) want_W[j * n + k] = (double)x[k];
    // abs_last: the round trip returns the row with |x_n| (the last coordinate negated if < 0).
    if (abs_last) want_W[j * n + n - 1] = std::fabs((double)x[n - 1]);
    std::vector<double> t(th.begin() + j * (n - 1), th.begin() + (j + 1) * (n - 1));
    for (int64_t i = 0; i < n - 1; ++i) {
      finite = finite && std::isfinite(t[i]);
      const double lo = (i < n - 2 || abs_last) ? 0.0 : -kPi;
      if (!(t[i] >= lo - 1e-6 && t[i] <= kPi + 1e-6)) ranges_ok = false;
    }
    std::vector<double> u = ref_u(t.data(), n);
    for (int64_t k = 0; k < n; ++k) got_W[j * n + k] = (double)r[j] * u[k];
    // The last angle against the spec's half-angle formula where that one is well-conditioned.
    const double a = (double)x[n - 2], b = abs_last ? std::fabs((double)x[n - 1]) : (double)x[n - 1];
    if (a > 0 && std::fabs(a) < 1e10 && std::fabs(a) > 1e-10) {
      want_last.push_back(2 * std::atan2(b, a + std::sqrt(a * a + b * b)));
      got_last.push_back(t[n - 2]);
    }
  }
  CHECK(finite);
  CHECK(ranges_ok);
  char what[128];
  std::snprintf(what, sizeof what, "r %s n=%lld abs_last=%d", f32 ? "f32" : "f64", (long long)n,
                abs_last);
  CHECK_CLOSE(what, r.data(), want_r.data(), (size_t)m, 0.0, f32 ? 2e-7 : 1e-15 + 1e-16 * n);
  // Round trip, relative to each row's norm.
  for (int64_t j = 0; j < m; ++j) {
    const double tol = want_r[j] * (f32 ? 4e-7 * (2 + std::sqrt((double)n)) : 1e-14 * n);
    std::snprintf(what, sizeof what, "r*u(theta) row %lld %s n=%lld abs_last=%d", (long long)j,
                  f32 ? "f32" : "f64", (long long)n, abs_last);
    CHECK_CLOSE(what, got_W.data() + j * n, want_W.data() + j * n, (size_t)n, tol, 0.0);
  }
  std::snprintf(what, sizeof what, "last angle vs half-angle formula %s n=%lld",
                f32 ? "f32" : "f64", (long long)n);
  CHECK_CLOSE(what, got_last.data(), want_last.data(), got_last.size(), f32 ? 4e-7 : 1e-15, 0.0);
}

GMPNN_TEST(gmp_direction_inverse_roundtrip) {
  const int64_t ns[] = {2, 3, 5, 17, 300};
  uint64_t seed = 500;
  for (int64_t n : ns)
    for (int abs_last = 0; abs_last < 2; ++abs_last) {
      check_roundtrip<double>(n, abs_last, seed++);
      check_roundtrip<float>(n, abs_last, seed++);
    }
}

// Exact angles of specific points (§2, with the atan2(0, 0) = 0 convention).
GMPNN_TEST(gmp_direction_inverse_known) {
  struct Case {
    std::vector<double> x;
    int abs_last;
    std::vector<double> th;
    double r;
  };
  const Case cases[] = {
      {{1, 0}, 0, {0}, 1},
      {{-1, 0}, 0, {kPi}, 1},  // degenerate last angle: π, not atan2(0, 0) = 0
      {{-1, -0.0}, 0, {kPi}, 1},
      {{-1, 0}, 1, {kPi}, 1},
      {{0, -2}, 0, {-kPi / 2}, 2},
      {{0, -2}, 1, {kPi / 2}, 2},
      {{0, 0}, 0, {0}, 0},
      {{-0.0, -0.0, -0.0}, 0, {0, 0}, 0},
      {{3, 4}, 0, {std::atan2(4.0, 3.0)}, 5},
      {{0, 0, 1}, 0, {kPi / 2, kPi / 2}, 1},
      {{0, -1, 0}, 0, {kPi / 2, kPi}, 1},
      {{-2, 0, 0}, 0, {kPi, 0}, 2},
      {{1, 1, -1}, 0, {std::atan2(std::sqrt(2.0), 1.0), -kPi / 4}, std::sqrt(3.0)},
      {{1, 1, -1}, 1, {std::atan2(std::sqrt(2.0), 1.0), kPi / 4}, std::sqrt(3.0)},
  };
  for (const Case& c : cases) {
    const int64_t n = (int64_t)c.x.size();
    std::vector<double> th(n - 1, 99.0);
    double r = -1;
    CHECK_OK(gmpnn_cpu_gmp_direction_inverse(GMPNN_F64, th.data(), &r, c.x.data(), 1, n,
                                             c.abs_last));
    CHECK_CLOSE("known theta f64", th.data(), c.th.data(), (size_t)(n - 1), 1e-15, 0.0);
    CHECK_CLOSE("known r f64", &r, &c.r, 1, 1e-15, 0.0);
    std::vector<float> xf(c.x.begin(), c.x.end()), thf(n - 1, 99.f);
    float rf = -1;
    CHECK_OK(gmpnn_cpu_gmp_direction_inverse(GMPNN_F32, thf.data(), &rf, xf.data(), 1, n,
                                             c.abs_last));
    CHECK_CLOSE("known theta f32", thf.data(), c.th.data(), (size_t)(n - 1), 3e-7, 0.0);
    CHECK_CLOSE("known r f32", &rf, &c.r, 1, 3e-7, 0.0);
  }
}

// ------------------------------------------------------------------ epilogues

template <typename T>
T ref_act(T z, int act) {
  return act == GMPNN_ACT_RELU ? (z > T(0) ? z : T(0)) : z;
}

template <typename T>
void check_epilogues(int64_t rows, int64_t cols, int act, uint64_t seed, bool do_fd) {
  Rand rng(seed);
  const bool f32 = sizeof(T) == 4;
  const size_t N = (size_t)(rows * cols);
  std::vector<T> Z0 = rng.vec<T>(N, -2, 2);
  // Some exact zeros of the pre-activation (after +λ) exercise relu'(0) = 0: set λ_j = -Z0[0, j]
  // for every 5th column, which makes row 0 of those columns exactly 0.
  std::vector<T> lambda = rng.vec<T>((size_t)cols, -0.5, 0.5);
  std::vector<T> r = rng.vec<T>((size_t)cols, -1.5, 1.5);  // r may be negative
  for (int64_t j = 0; j < cols; j += 5) lambda[j] = -Z0[j];
  std::vector<T> dY = rng.vec<T>(N);

  // Forward.
  std::vector<T> Z = Z0, Y(N, T(-9));
  CHECK_OK(gmpnn_cpu_gmp_epilogue_forward(dtype_of<T>(), Y.data(), Z.data(), lambda.data(),
                                          r.data(), rows, cols, act));
  std::vector<T> wantZ(N), wantY(N);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      const size_t e = (size_t)(i * cols + j);
      const T z = Z0[e] + lambda[j];
      wantZ[e] = z;
      wantY[e] = r[j] * ref_act<T>(z, act);
    }
  char what[128];
  std::snprintf(what, sizeof what, "Z %s %lldx%lld act=%d", f32 ? "f32" : "f64", (long long)rows,
                (long long)cols, act);
  CHECK_CLOSE(what, Z.data(), wantZ.data(), N, 0.0, 0.0);
  std::snprintf(what, sizeof what, "Y %s %lldx%lld act=%d", f32 ? "f32" : "f64", (long long)rows,
                (long long)cols, act);
  CHECK_CLOSE(what, Y.data(), wantY.data(), N, 0.0, 0.0);

  // Backward against the per-element loop with double column sums.
  std::vector<T> dZ(N, T(-9)), dl((size_t)cols, T(-9)), dr((size_t)cols, T(-9));
  CHECK_OK(gmpnn_cpu_gmp_epilogue_backward(dtype_of<T>(), dZ.data(), dl.data(), dr.data(),
                                           dY.data(), Z.data(), r.data(), rows, cols, act));
  std::vector<double> wantdZ(N), wantdl((size_t)cols, 0.0), wantdr((size_t)cols, 0.0);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      const size_t e = (size_t)(i * cols + j);
      const double z = (double)Z[e];
      const double mask = act == GMPNN_ACT_RELU ? (z > 0 ? 1.0 : 0.0) : 1.0;
      wantdZ[e] = (double)dY[e] * mask * (double)r[j];
      wantdl[j] += wantdZ[e];
      wantdr[j] += (double)dY[e] * (act == GMPNN_ACT_RELU ? (z > 0 ? z : 0.0) : z);
    }
  const double sum_atol = (f32 ? 2e-6 : 1e-12) * std::sqrt((double)rows + 1);
  std::snprintf(what, sizeof what, "dZ %s %lldx%lld act=%d", f32 ? "f32" : "f64",
                (long long)rows, (long long)cols, act);
  CHECK_CLOSE(what, dZ.data(), wantdZ.data(), N, 0.0, f32 ? 1e-7 : 1e-16);
  std::snprintf(what, sizeof what, "dlambda %s %lldx%lld act=%d", f32 ? "f32" : "f64",
                (long long)rows, (long long)cols, act);
  CHECK_CLOSE(what, dl.data(), wantdl.data(), (size_t)cols, sum_atol, f32 ? 2e-7 : 1e-14);
  std::snprintf(what, sizeof what, "dr %s %lldx%lld act=%d", f32 ? "f32" : "f64",
                (long long)rows, (long long)cols, act);
  CHECK_CLOSE(what, dr.data(), wantdr.data(), (size_t)cols, sum_atol, f32 ? 2e-7 : 1e-14);

  // Optional outputs: NULL dlambda and/or dr leave dZ unchanged and the other sum intact.
  {
    std::vector<T> dZ2(N), dr2((size_t)cols), dl3((size_t)cols);
    CHECK_OK(gmpnn_cpu_gmp_epilogue_backward(dtype_of<T>(), dZ2.data(), nullptr, dr2.data(),
                                             dY.data(), Z.data(), r.data(), rows, cols, act));
    CHECK(std::memcmp(dZ2.data(), dZ.data(), N * sizeof(T)) == 0);
    CHECK(std::memcmp(dr2.data(), dr.data(), (size_t)cols * sizeof(T)) == 0);
    CHECK_OK(gmpnn_cpu_gmp_epilogue_backward(dtype_of<T>(), dZ2.data(), dl3.data(), nullptr,
                                             dY.data(), Z.data(), r.data(), rows, cols, act));
    CHECK(std::memcmp(dl3.data(), dl.data(), (size_t)cols * sizeof(T)) == 0);
    std::fill(dZ2.begin(), dZ2.end(), T(5));
    CHECK_OK(gmpnn_cpu_gmp_epilogue_backward(dtype_of<T>(), dZ2.data(), nullptr, nullptr,
                                             dY.data(), Z.data(), r.data(), rows, cols, act));
    CHECK(std::memcmp(dZ2.data(), dZ.data(), N * sizeof(T)) == 0);
  }

  if (!do_fd) return;
  // Float64 central differences of L = Σ dY ⊙ Y, Y = r ⊙ act(Z0 + λ), w.r.t. λ, r and the
  // pre-activation Z (the test's own loop). For ReLU, skip columns/elements whose z lies within
  // h of the kink (the difference quotient is meaningless there; the kernel's value is checked
  // against the loop above).
  const double h = 1e-6;
  std::vector<double> z0d(N), dYd(dY.begin(), dY.end()), ld(lambda.begin(), lambda.end()),
      rd(r.begin(), r.end());
  for (size_t e = 0; e < N; ++e) z0d[e] = (double)Z0[e];
  auto L = [&](const std::vector<double>& lam, const std::vector<double>& rr, int64_t pe,
               double dz) {
    double s = 0;
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        const size_t e = (size_t)(i * cols + j);
        double z = z0d[e] + lam[j] + ((int64_t)e == pe ? dz : 0.0);
        s += dYd[e] * rr[j] * (act == GMPNN_ACT_RELU ? (z > 0 ? z : 0.0) : z);
      }
    return s;
  };
  std::vector<double> fdl, fdr, gotl, gotr;
  for (int64_t j = 0; j < cols; ++j) {
    bool near_kink = false;
    for (int64_t i = 0; i < rows && act == GMPNN_ACT_RELU; ++i)
      if (std::fabs(z0d[(size_t)(i * cols + j)] + ld[j]) <= 2 * h) near_kink = true;
    if (!near_kink) {
      std::vector<double> lp = ld, lm = ld;
      lp[j] += h;
      lm[j] -= h;
      fdl.push_back((L(lp, rd, -1, 0) - L(lm, rd, -1, 0)) / (2 * h));
      gotl.push_back((double)dl[j]);
    }
    std::vector<double> rp = rd, rm = rd;
    rp[j] += h;
    rm[j] -= h;
    fdr.push_back((L(ld, rp, -1, 0) - L(ld, rm, -1, 0)) / (2 * h));
    gotr.push_back((double)dr[j]);
  }
  // The forward rounds z0+λ to T; the FD uses exact doubles, so f32 allows for that rounding.
  const double fatol = f32 ? 1e-5 * (rows + 1) : 1e-7 * std::sqrt((double)rows + 1);
  CHECK(!gotr.empty());
  CHECK_CLOSE("dlambda vs fd", gotl.data(), fdl.data(), gotl.size(), fatol, 1e-6);
  CHECK_CLOSE("dr vs fd", gotr.data(), fdr.data(), gotr.size(), fatol, 1e-6);
  std::vector<double> fdz, gotz;
  for (size_t e = 0; e < N && e < 400; ++e) {
    const int64_t j = (int64_t)e % cols;
    if (act == GMPNN_ACT_RELU && std::fabs(z0d[e] + ld[j]) <= 2 * h) continue;
    fdz.push_back((L(ld, rd, (int64_t)e, h) - L(ld, rd, (int64_t)e, -h)) / (2 * h));
    gotz.push_back((double)dZ[e]);
  }
  CHECK_CLOSE("dZ vs fd", gotz.data(), fdz.data(), gotz.size(), f32 ? 1e-5 : 1e-8, 1e-6);
}

GMPNN_TEST(gmp_epilogue_small) {
  struct S {
    int64_t rows, cols;
  };
  const S shapes[] = {{1, 1}, {1, 37}, {37, 1}, {3, 5}, {17, 13}, {100, 10}};
  uint64_t seed = 900;
  for (const S& s : shapes)
    for (int act = 0; act < 2; ++act) {
      check_epilogues<double>(s.rows, s.cols, act, seed++, true);
      check_epilogues<float>(s.rows, s.cols, act, seed++, true);
    }
}

// r = NULL means r = 1 (the SP/WN bias epilogue): the same results as an explicit row of ones.
template <typename T>
void check_null_radius(int64_t rows, int64_t cols, int act, uint64_t seed) {
  Rand rng(seed);
  const size_t N = (size_t)(rows * cols);
  std::vector<T> Z = rng.vec<T>(N, -2, 2), lam = rng.vec<T>((size_t)cols), dY = rng.vec<T>(N);
  std::vector<T> ones((size_t)cols, T(1));
  std::vector<T> Z1 = Z, Z2 = Z, Y1(N, T(-9)), Y2(N, T(-9));
  CHECK_OK(gmpnn_cpu_gmp_epilogue_forward(dtype_of<T>(), Y1.data(), Z1.data(), lam.data(),
                                          ones.data(), rows, cols, act));
  CHECK_OK(gmpnn_cpu_gmp_epilogue_forward(dtype_of<T>(), Y2.data(), Z2.data(), lam.data(), nullptr,
                                          rows, cols, act));
  CHECK_CLOSE("null r: Z", Z2.data(), Z1.data(), N, 0.0, 0.0);
  CHECK_CLOSE("null r: Y", Y2.data(), Y1.data(), N, 0.0, 0.0);
  // The reference side also asks for dr (the path check_epilogues tests against plain loops);
  // without dr the kernel skips those sums, and dZ, dλ must not change.
  std::vector<T> dZ1(N, T(-9)), dZ2(N, T(-9)), dl1((size_t)cols, T(-9)), dl2((size_t)cols, T(-9)),
      dr1((size_t)cols, T(-9));
  CHECK_OK(gmpnn_cpu_gmp_epilogue_backward(dtype_of<T>(), dZ1.data(), dl1.data(), dr1.data(),
                                           dY.data(), Z1.data(), ones.data(), rows, cols, act));
  CHECK_OK(gmpnn_cpu_gmp_epilogue_backward(dtype_of<T>(), dZ2.data(), dl2.data(), nullptr,
                                           dY.data(), Z1.data(), nullptr, rows, cols, act));
  CHECK_CLOSE("null r: dZ", dZ2.data(), dZ1.data(), N, 0.0, 0.0);
  CHECK_CLOSE("null r: dlambda", dl2.data(), dl1.data(), (size_t)cols, 0.0, 0.0);
}

GMPNN_TEST(gmp_epilogue_null_radius) {
  uint64_t seed = 1700;
  for (int act = 0; act < 2; ++act)
    for (const auto& s : {std::pair<int64_t, int64_t>{1, 1}, {37, 5}, {1024, 100}, {300, 1031}}) {
      check_null_radius<float>(s.first, s.second, act, seed++);
      check_null_radius<double>(s.first, s.second, act, seed++);
    }
}

// gmp_dense_forward against the reference GEMM followed by the epilogue kernel: the fused rows
// form (fan-in <= 16), the blocked GEMM with its tile epilogue (wider; also with small blocks, so
// that the epilogue must wait for the last of several K blocks and meets every tile edge) and the
// GEMM + epilogue pass (a few rows or units), every strip remainder, r of mixed signs, NULL or
// positive, both activations, outputs poisoned with NaN, 1 and 2 threads. The first two leave Z
// unwritten where the backward reads Y instead (r NULL, identity, every r_j positive: gmp.h).
template <typename T>
void check_dense_forward(int64_t rows, int64_t n, int64_t cols, int act, int rmode,
                         uint64_t seed) {
  Rand rng(seed);
  const bool null_r = rmode == 1;
  const size_t N = (size_t)(rows * cols);
  std::vector<T> X = rng.vec<T>((size_t)(rows * n)), W = rng.vec<T>((size_t)(cols * n)),
                 lam = rng.vec<T>((size_t)cols),
                 r = rmode == 2 ? rng.vec<T>((size_t)cols, 0.25, 1.5) : rng.vec<T>((size_t)cols, -1.5, 1.5);
  if (rmode == 0) r[0] = -std::abs(r[0]) - T(0.1);
  std::vector<T> wantZ(N, T(0)), wantY(N, T(-9));
  CHECK_OK(gmpnn_cpu_gemm_reference(dtype_of<T>(), wantZ.data(), X.data(), W.data(), 0, 1, rows,
                                    cols, n, n, n, cols, 1.0, 0.0));
  CHECK_OK(gmpnn_cpu_gmp_epilogue_forward(dtype_of<T>(), wantY.data(), wantZ.data(), lam.data(),
                                          null_r ? nullptr : r.data(), rows, cols, act));
  std::vector<T> Z(N, std::numeric_limits<T>::quiet_NaN()), Y = Z;
  CHECK_OK(gmpnn_cpu_gmp_dense_forward(dtype_of<T>(), Y.data(), Z.data(), X.data(), W.data(),
                                       lam.data(), null_r ? nullptr : r.data(), rows, n, cols,
                                       act));
  char what[160];
  const bool f32 = sizeof(T) == 4;
  const double eps = f32 ? 1e-6 : 1e-14, atol = 4 * eps * std::sqrt((double)n + 1) * (n + 1);
  std::snprintf(what, sizeof what, "dense forward Z %s rows=%lld n=%lld cols=%lld act=%d r=%s",
                f32 ? "f32" : "f64", (long long)rows, (long long)n, (long long)cols, act,
                null_r ? "NULL" : rmode == 2 ? "positive" : "mixed");
  // The fused rows form (n ≤ 16, rows ≥ 4) and the blocked GEMM with the tile epilogue (n > 16,
  // more than four rows and units) both leave Z unwritten where the backward reads Y.
  const bool fused = n >= 1 && ((n <= 16 && rows >= 4) || (n > 16 && rows > 4 && cols > 4));
  const bool reads_y = rmode != 0 || act == 0;
  if (fused && reads_y) {
    bool untouched = true;
    for (size_t e = 0; e < N; ++e) untouched &= std::isnan((double)Z[e]);
    CHECK(untouched);
  } else {
    CHECK_CLOSE(what, Z.data(), wantZ.data(), N, atol, 4 * eps);
  }
  what[13] = 'Y';
  CHECK_CLOSE(what, Y.data(), wantY.data(), N, 2 * atol, 4 * eps);
}

GMPNN_TEST(gmp_dense_forward) {
  const int saved = omp_get_max_threads();
  const int64_t shapes[][3] = {{1024, 4, 100}, {455, 13, 100}, {1031, 16, 17}, {7, 1, 3},
                               {5, 2, 16},     {4, 3, 1},      {3, 5, 40},     {1, 7, 9},
                               {130, 17, 33},  {64, 40, 100},  {6000, 4, 100}, {4, 40, 9},
                               {9, 33, 4},     {5, 17, 5},     {1000, 64, 100}};
  uint64_t seed = 2100;
  for (int blocks = 0; blocks < 2; ++blocks) {
    // Small blocks: MC 12, KC 7, NC 16 (several K blocks before a tile's epilogue).
    if (blocks) gmpnn_cpu_gemm_set_blocking_for_testing(12, 7, 16);
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      for (const auto& sh : shapes) {
        if (blocks && sh[1] <= 16) continue;
        for (int act = 0; act < 2; ++act)
          for (int rmode = 0; rmode < 3; ++rmode) {
            check_dense_forward<float>(sh[0], sh[1], sh[2], act, rmode, seed++);
            check_dense_forward<double>(sh[0], sh[1], sh[2], act, rmode, seed++);
          }
      }
    }
    gmpnn_cpu_gemm_set_blocking_for_testing(0, 0, 0);
  }
  omp_set_num_threads(saved);
  float a[4] = {0, 0, 0, 0};
  CHECK(gmpnn_cpu_gmp_dense_forward(GMPNN_F32, a, a, a, a, a, nullptr, 2, -1, 2, 0) ==
        GMPNN_E_ARG);
  CHECK(gmpnn_cpu_gmp_dense_forward(GMPNN_F32, a, a, nullptr, a, a, nullptr, 2, 2, 2, 0) ==
        GMPNN_E_ARG);
  CHECK(gmpnn_cpu_gmp_dense_forward(GMPNN_F32, a, a, a, a, a, nullptr, 2, 2, 2, 7) ==
        GMPNN_E_ARG);
}

// gmp_dense_forward_theta against the two calls it stands for (direction forward with the cache,
// then the dense forward on that U): the same U, cache, Z and Y bit for bit. radius: 0 mixed
// signs (r[0] < 0), 1 all positive, 2 all positive but r[0] = 0, 3 all positive but r[0] = +inf.
// Where every r is positive and finite and the product takes the packed path (n ≤ 16, rows ≥ 4),
// r is folded into it (gmp.h): Y and Z are then the dense forward's with W = r ⊙ U, λ' = r ⊙ λ
// and no r, bit for bit; Z = r ⊙ z up to rounding, and the backward gives the same gradients
// from either Z.
// Bit-for-bit equality (infinities and NaN included), naming the first difference.
template <typename T>
void check_same_bits(const char* what, const T* got, const T* want, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (std::memcmp(got + i, want + i, sizeof(T)) != 0) {
      std::printf("    %s[%zu]: got %.9g want %.9g\n", what, i, (double)got[i], (double)want[i]);
      break;
    }
  CHECK(n == 0 || std::memcmp(got, want, n * sizeof(T)) == 0);
}

template <typename T>
void check_dense_forward_theta(int64_t rows, int64_t n, int64_t cols, int act, int radius,
                               uint64_t seed) {
  Rand rng(seed);
  const gmpnn_dtype dt = dtype_of<T>();
  const size_t N = (size_t)(rows * cols), nc = (size_t)gmpnn_gmp_direction_cache_len(cols, n);
  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> X = rng.vec<T>((size_t)(rows * n)), th = rng.vec<T>((size_t)(cols * (n - 1)), -1, 4),
                 lam = rng.vec<T>((size_t)cols),
                 r = radius == 0 ? rng.vec<T>((size_t)cols, -1.5, 1.5) : rng.vec<T>((size_t)cols, 0.25, 1.5);
  if (radius == 0) r[0] = -std::abs(r[0]) - T(0.1);
  if (radius == 2) r[0] = T(0);
  if (radius == 3) r[0] = std::numeric_limits<T>::infinity();
  const bool folds = radius == 1 && n <= 16 && rows >= 4;
  std::vector<T> wU((size_t)(cols * n), nan), wZ(N, nan), wY(N, nan), U = wU, Z = wZ, Y = wY;
  std::vector<double> wc(nc, -7.0), c(nc, -7.0);
  CHECK_OK(gmpnn_cpu_gmp_direction_forward_cached(dt, wU.data(), wc.data(), th.data(), cols, n));
  CHECK_OK(gmpnn_cpu_gmp_dense_forward(dt, wY.data(), wZ.data(), X.data(), wU.data(), lam.data(),
                                       r.data(), rows, n, cols, act));
  // The folded product's values: W = r ⊙ U, λ' = r ⊙ λ (each one multiply in T), no r.
  std::vector<T> fW = wU, flam = lam, fZ(N, nan), fY(N, nan);
  for (int64_t j = 0; j < cols; ++j) {
    for (int64_t k = 0; k < n; ++k) fW[(size_t)(j * n + k)] = r[(size_t)j] * wU[(size_t)(j * n + k)];
    flam[(size_t)j] = r[(size_t)j] * lam[(size_t)j];
  }
  CHECK_OK(gmpnn_cpu_gmp_dense_forward(dt, fY.data(), fZ.data(), X.data(), fW.data(), flam.data(),
                                       nullptr, rows, n, cols, act));
  const std::vector<T>& eZ = folds ? fZ : wZ;
  const std::vector<T>& eY = folds ? fY : wY;
  CHECK_OK(gmpnn_cpu_gmp_dense_forward_theta(dt, Y.data(), Z.data(), U.data(), c.data(), X.data(),
                                             th.data(), lam.data(), r.data(), rows, n, cols, act));
  char what[160];
  std::snprintf(what, sizeof what, "dense forward theta %s rows=%lld n=%lld cols=%lld act=%d radius=%d",
                sizeof(T) == 4 ? "f32" : "f64", (long long)rows, (long long)n, (long long)cols, act,
                radius);
  CHECK_CLOSE(what, U.data(), wU.data(), U.size(), 0.0, 0.0);
  CHECK_CLOSE(what, c.data(), wc.data(), c.size(), 0.0, 0.0);
  check_same_bits(what, Z.data(), eZ.data(), N);
  check_same_bits(what, Y.data(), eY.data(), N);
  // U = NULL (no row-major u(θ) kept): the packed operand or a scratch, the same cache, Z and Y.
  std::vector<T> Z2(N, nan), Y2(N, nan);
  std::vector<double> c2(nc, -7.0);
  CHECK_OK(gmpnn_cpu_gmp_dense_forward_theta(dt, Y2.data(), Z2.data(), nullptr, c2.data(), X.data(),
                                             th.data(), lam.data(), r.data(), rows, n, cols, act));
  std::snprintf(what, sizeof what,
                "dense forward theta, U NULL, %s rows=%lld n=%lld cols=%lld act=%d radius=%d",
                sizeof(T) == 4 ? "f32" : "f64", (long long)rows, (long long)n, (long long)cols, act,
                radius);
  CHECK_CLOSE(what, c2.data(), wc.data(), c2.size(), 0.0, 0.0);
  check_same_bits(what, Z2.data(), eZ.data(), N);
  check_same_bits(what, Y2.data(), eY.data(), N);
  if (!folds || rows == 0) return;
  // Folded: Y is r ⊙ act(z) up to rounding and Z is left unwritten (the backward reads the signs
  // of Y, every r_j being positive), and the backward gives the same dθ, dλ and dr from the
  // folded forward's Y as from the unfolded one's.
  const double eps = sizeof(T) == 4 ? 2e-6 : 1e-14;
  bool untouched = true;
  for (size_t e = 0; e < N; ++e) untouched &= std::isnan((double)Z[e]);
  CHECK(untouched);
  CHECK_CLOSE(what, Y.data(), wY.data(), N, 8 * eps * std::sqrt((double)n + 1), 8 * eps);
  std::vector<T> dY = rng.vec<T>(N);
  std::vector<T> g[2][3];
  for (int v = 0; v < 2; ++v) {
    std::vector<T> dth((size_t)(cols * (n - 1)), nan), dl((size_t)cols, nan), dr((size_t)cols, nan),
        dW((size_t)(cols * n), nan), dZ(N, nan);
    CHECK_OK(gmpnn_cpu_gmp_dense_backward(dt, nullptr, dW.data(), dth.data(), dl.data(), dr.data(),
                                          dZ.data(), dY.data(), v ? Z.data() : wZ.data(),
                                          v ? Y.data() : wY.data(), X.data(), nullptr, th.data(),
                                          c.data(), lam.data(), r.data(), rows, n, cols, act));
    g[v][0] = dth;
    g[v][1] = dl;
    g[v][2] = dr;
  }
  for (int q = 0; q < 3; ++q) CHECK_CLOSE(what, g[1][q].data(), g[0][q].data(), g[0][q].size(), 0.0, 0.0);
}

// Fan-in ≤ 16 with 4+ rows writes u(θ) into the product's packed operand as well (r folded in
// where every r is positive): an odd and an even number of lane groups (the last strip's zeroed
// half), whole and partial groups.
GMPNN_TEST(gmp_dense_forward_theta) {
  const int64_t shapes[][3] = {{455, 13, 100}, {32, 16, 100}, {7, 2, 3}, {1, 40, 9}, {0, 4, 6},
                               {64, 5, 16},    {6, 9, 24},    {33, 3, 13}, {277, 6, 100}, {5, 8, 11}};
  uint64_t seed = 2200;
  for (const auto& sh : shapes)
    for (int act = 0; act < 2; ++act)
      for (int radius = 0; radius < 4; ++radius) {
        check_dense_forward_theta<float>(sh[0], sh[1], sh[2], act, radius, seed++);
        check_dense_forward_theta<double>(sh[0], sh[1], sh[2], act, radius, seed++);
      }
  float a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  // Fan-in 1 has no angles; a NULL theta.
  CHECK(gmpnn_cpu_gmp_dense_forward_theta(GMPNN_F32, a, a, a, nullptr, a, a, a, a, 2, 1, 2, 0) ==
        GMPNN_E_ARG);
  CHECK(gmpnn_cpu_gmp_dense_forward_theta(GMPNN_F32, a, a, a, nullptr, a, nullptr, a, a, 2, 2, 2,
                                          0) == GMPNN_E_ARG);
}

// The float32 direction forward takes sixteen units per group when the AVX-512 GEMM path is
// selected (native/cpu/gmp_avx512.cc): the same arithmetic on twice the lanes, so u(θ), the sin/cos
// cache and the packed product must equal the AVX2 path's bit for bit. Awkward unit counts (1,
// 7–9, 15–17, 31–33, 100) and fan-ins (chunk edges 2, 9, 12, 13, 17, 33, 34, 70), 1 and 2 threads,
// and angles beyond the float reduction's range (the pair falls back to the AVX2 groups).
void run_direction_isa(const char* isa, int64_t rows, int64_t m, int64_t n, const std::vector<float>& th,
                       const std::vector<float>& X, const std::vector<float>& lam,
                       const std::vector<float>& r, std::vector<std::vector<float>>& out) {
  CHECK(gmpnn_cpu_gemm_set_isa_for_testing(isa) == 1);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const size_t clen = (size_t)gmpnn_gmp_direction_cache_len(m, n);
  std::vector<float> U((size_t)(m * n), nan), U2((size_t)(m * n), nan), cache(2 * clen, nan),
      Y((size_t)(rows * m), nan), Z((size_t)(rows * m), nan), Y2((size_t)(rows * m), nan),
      Z2((size_t)(rows * m), nan), U3((size_t)(m * n), nan), cache3(2 * clen, nan);
  CHECK_OK(gmpnn_cpu_gmp_direction_forward(GMPNN_F32, U.data(), th.data(), m, n));
  CHECK_OK(gmpnn_cpu_gmp_direction_forward_cached(GMPNN_F32, U2.data(), (double*)(void*)cache.data(),
                                                  th.data(), m, n));
  // The product, without U (u(θ) only in the packed operand) and with U and the cache.
  CHECK_OK(gmpnn_cpu_gmp_dense_forward_theta(GMPNN_F32, Y.data(), Z.data(), nullptr, nullptr,
                                             X.data(), th.data(), lam.data(), r.data(), rows, n, m, 1));
  CHECK_OK(gmpnn_cpu_gmp_dense_forward_theta(GMPNN_F32, Y2.data(), Z2.data(), U3.data(),
                                             (double*)(void*)cache3.data(), X.data(), th.data(),
                                             lam.data(), r.data(), rows, n, m, 0));
  out = {U, U2, cache, Y, Z, Y2, Z2, U3, cache3};
  gmpnn_cpu_gemm_set_isa_for_testing(nullptr);
}

GMPNN_TEST(gmp_direction_avx512_matches_avx2) {
  if (!gmpnn_cpu_gemm_set_isa_for_testing("avx512")) {
    gmpnn_test::skip("CPU has no AVX-512 (the sixteen-unit direction forward is not taken)");
    return;
  }
  gmpnn_cpu_gemm_set_isa_for_testing(nullptr);
  const int64_t ms[] = {1, 7, 8, 9, 15, 16, 17, 31, 33, 100};
  const int64_t ns[] = {2, 9, 12, 13, 17, 33, 34, 70};
  const char* names[] = {"U", "U cached", "cache", "Y", "Z", "Y with U", "Z with U", "U of product",
                         "cache of product"};
  const int saved = omp_get_max_threads();
  uint64_t seed = 9100;
  for (int threads = 1; threads <= 2; ++threads) {
    omp_set_num_threads(threads);
    for (int64_t m : ms)
      for (int64_t n : ns)
        for (int far = 0; far < 2; ++far) {
          Rand rng(seed++);
          const int64_t rows = 37;
          std::vector<float> th = rng.vec<float>((size_t)(m * (n - 1)), -4, 4),
                             X = rng.vec<float>((size_t)(rows * n)), lam = rng.vec<float>((size_t)m),
                             r = rng.vec<float>((size_t)m, 0.5, 1.5);
          if (far) {  // one unit's angle beyond the float reduction, one infinite, one NaN
            th[(size_t)((m / 2) * (n - 1))] = 700.0f;
            th.back() = std::numeric_limits<float>::infinity();
            if (m > 20) th[(size_t)(17 * (n - 1))] = std::numeric_limits<float>::quiet_NaN();
          }
          std::vector<std::vector<float>> wide, narrow;
          run_direction_isa("avx512", rows, m, n, th, X, lam, r, wide);
          run_direction_isa("avx2", rows, m, n, th, X, lam, r, narrow);
          for (size_t i = 0; i < wide.size(); ++i) {
            const bool same = wide[i].size() == narrow[i].size() &&
                              std::memcmp(wide[i].data(), narrow[i].data(), wide[i].size() * 4) == 0;
            if (!same)
              std::printf("    avx512 != avx2: %s, m=%lld n=%lld far=%d threads=%d\n", names[i],
                          (long long)m, (long long)n, far, threads);
            CHECK(same);
          }
        }
  }
  omp_set_num_threads(saved);
}

// gmp_dense_backward against the separate steps it stands for: the epilogue backward, reference
// GEMMs for dX = G_Z·W and dW = G_Zᵀ·X, and the direction backward on dW (GmP). SP (theta NULL,
// dW the weight gradient, r NULL) and GmP, both activations, optional outputs left out, outputs
// poisoned with NaN. r of mixed signs, or all positive (positive_r); where the backward reads
// what it needs of z from Y (r NULL, identity, r positive: gmp.h) it gets a Z of NaN, so reading
// it would show.
template <typename T>
void check_dense_backward(int64_t rows, int64_t n, int64_t cols, int act, bool gmp, bool radius,
                          bool want_dx, bool use_cache, bool positive_r, uint64_t seed) {
  Rand rng(seed);
  const gmpnn_dtype dt = dtype_of<T>();
  const size_t N = (size_t)(rows * cols);
  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> X = rng.vec<T>((size_t)(rows * n)), th = rng.vec<T>((size_t)(cols * (n - 1)), 0, 3),
                 W((size_t)(cols * n)), Z(N), dY = rng.vec<T>(N),
                 r = positive_r ? rng.vec<T>((size_t)cols, 0.25, 1.5) : rng.vec<T>((size_t)cols, -1.5, 1.5),
                 lambda = rng.vec<T>((size_t)cols);
  if (!positive_r && cols > 0) r[0] = -std::abs(r[0]) - T(0.1);
  // The sin/cos cache as the forward leaves it (the U it writes must not change either). It
  // starts one double into its storage: the C ABI promises only a double's alignment.
  std::vector<double> cache_store((size_t)gmpnn_gmp_direction_cache_len(cols, n) + 4, 0.0);
  double* const cache_p = cache_store.data() + ((uintptr_t)cache_store.data() % 32 == 0 ? 1 : 0);
  if (gmp) {
    CHECK_OK(gmpnn_cpu_gmp_direction_forward(dt, W.data(), th.data(), cols, n));
    std::vector<T> W2(W.size(), std::numeric_limits<T>::quiet_NaN());
    CHECK_OK(gmpnn_cpu_gmp_direction_forward_cached(dt, W2.data(), cache_p, th.data(), cols, n));
    CHECK_CLOSE("direction forward with cache", W2.data(), W.data(), W.size(), 0.0, 0.0);
  } else
    W = rng.vec<T>((size_t)(cols * n));
  // A radius with theta (GmP) or without (the fan-in-1 GmP unit: W fixed, dW its gradient).
  const bool has_r = gmp || radius;
  const T* rp = has_r ? r.data() : nullptr;
  // Z as the forward leaves it, X·Wᵀ + λ (the dr of the one call rests on it).
  CHECK_OK(gmpnn_cpu_gemm_reference(dt, Z.data(), X.data(), W.data(), 0, 1, rows, cols, n, n, n,
                                    cols, 1.0, 0.0));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) Z[(size_t)(i * cols + j)] += lambda[(size_t)j];
  // Y = r ⊙ act(Z) as the forward leaves it; the Z the one call gets (NaN where it reads Y).
  std::vector<T> Y(N);
  for (size_t e = 0; e < N; ++e) {
    const T a = act == GMPNN_ACT_RELU ? (Z[e] > T(0) ? Z[e] : T(0)) : Z[e];
    Y[e] = rp ? rp[e % (size_t)cols] * a : a;
  }
  const bool reads_y = !rp || act == GMPNN_ACT_IDENTITY || positive_r;
  const std::vector<T> Zin = reads_y ? std::vector<T>(N, nan) : Z;
  // The separate steps.
  std::vector<T> wdZ(N, nan), wdl(cols, nan), wdr(cols, nan), wdX((size_t)(rows * n), nan),
      wdW((size_t)(cols * n), nan), wdth((size_t)(cols * (n - 1)), nan);
  CHECK_OK(gmpnn_cpu_gmp_epilogue_backward(dt, wdZ.data(), wdl.data(), has_r ? wdr.data() : nullptr,
                                           dY.data(), Z.data(), rp, rows, cols, act));
  CHECK_OK(gmpnn_cpu_gemm_reference(dt, wdX.data(), wdZ.data(), W.data(), 0, 0, rows, n, cols,
                                    cols, n, n, 1.0, 0.0));
  CHECK_OK(gmpnn_cpu_gemm_reference(dt, wdW.data(), wdZ.data(), X.data(), 1, 0, cols, n, rows,
                                    cols, n, n, 1.0, 0.0));
  if (gmp) CHECK_OK(gmpnn_cpu_gmp_direction_backward(dt, wdth.data(), wdW.data(), th.data(), cols, n));
  // One call.
  std::vector<T> dZ(N, nan), dl(cols, nan), dr(cols, nan), dX((size_t)(rows * n), nan),
      dW((size_t)(cols * n), nan), dth((size_t)(cols * (n - 1)), nan);
  CHECK_OK(gmpnn_cpu_gmp_dense_backward(dt, want_dx ? dX.data() : nullptr, dW.data(),
                                        gmp ? dth.data() : nullptr, dl.data(),
                                        has_r ? dr.data() : nullptr, dZ.data(), dY.data(), Zin.data(),
                                        Y.data(), X.data(), W.data(), gmp ? th.data() : nullptr,
                                        use_cache ? cache_p : nullptr, lambda.data(), rp,
                                        rows, n, cols, act));
  const bool f32 = sizeof(T) == 4;
  const double eps = f32 ? 2e-6 : 1e-14;
  char what[160];
  std::snprintf(what, sizeof what, "dense backward %s %s rows=%lld n=%lld cols=%lld act=%d%s%s",
                gmp ? "gmp" : radius ? "r, no theta" : "sp", f32 ? "f32" : "f64", (long long)rows, (long long)n,
                (long long)cols, act, use_cache ? " cached" : "", positive_r ? " r > 0" : "");
  // dZ is scratch (dX and dW are its products; the fused first-layer path never writes it).
  CHECK_CLOSE(what, dl.data(), wdl.data(), (size_t)cols, 0.0, 0.0);
  // dr from D·w + λ·S against the direct Σ dY·act(z): rounding of the GEMM over the rows.
  if (has_r)
    CHECK_CLOSE(what, dr.data(), wdr.data(), (size_t)cols,
                4 * eps * std::sqrt((double)(rows + 1) * (n + 1)), 4 * eps);
  if (want_dx)
    CHECK_CLOSE(what, dX.data(), wdX.data(), dX.size(), eps * std::sqrt((double)cols + 1), eps);
  else if (!dX.empty())
    CHECK(std::isnan((double)dX[0]));  // not wanted: not written
  const double atol_w = eps * std::sqrt((double)rows + 1);
  // GmP's dW is scratch (dU up to the factor r the scan applies).
  if (!gmp) CHECK_CLOSE(what, dW.data(), wdW.data(), dW.size(), atol_w, eps);
  if (gmp) {
    CHECK_CLOSE(what, dth.data(), wdth.data(), dth.size(), 4 * atol_w * n, 4 * eps);
    // Without the cache the call gives the same dθ and dr bit for bit: the cached sin/cos are
    // the ones the scan computes. (The same dX argument: it decides between the fused and the
    // separate route, whose dU sums round differently.) Without dX, W is not read: NULL.
    std::vector<T> dth2(dth.size(), nan), dr2(cols, nan), dW2(dW.size(), nan), dZ2(N, nan),
        dX2(dX.size(), nan);
    CHECK_OK(gmpnn_cpu_gmp_dense_backward(dt, want_dx ? dX2.data() : nullptr, dW2.data(),
                                          dth2.data(), nullptr, dr2.data(),
                                          dZ2.data(), dY.data(), Zin.data(), Y.data(), X.data(),
                                          want_dx ? W.data() : nullptr,
                                          th.data(), nullptr, lambda.data(), rp, rows, n, cols,
                                          act));
    CHECK_CLOSE(what, dth2.data(), dth.data(), dth.size(), 0.0, 0.0);
    CHECK_CLOSE(what, dr2.data(), dr.data(), dr.size(), 0.0, 0.0);
  }
}

// Without dX and with 2 ≤ n ≤ 16 (a first layer) SP and GmP take the one-pass fused route; the
// shapes give it every n class (2, 4, 5, 9 and 13 with tails past a block of L, 16 with none;
// 4, 6 and 8 rows shorter than a float vector, their dθ stored as one short block), partial lane
// groups (cols mod 8, cols mod 4), one row and several row blocks of the sums, and
// (1100×16×300) more than 8 pairs of groups per thread (heap scratch) and, with 2+ threads, the
// threaded split.
GMPNN_TEST(gmp_dense_backward) {
  const int64_t shapes[][3] = {{1024, 16, 100}, {32, 13, 100}, {455, 100, 1}, {7, 2, 3},
                               {1, 5, 17},      {129, 33, 9},  {0, 4, 6},     {455, 4, 100},
                               {3000, 9, 13},   {40, 13, 21},  {1100, 16, 300}, {277, 6, 100},
                               {9, 8, 13}};
  uint64_t seed = 2300;
  for (const auto& sh : shapes)
    for (int act = 0; act < 2; ++act)
      for (int mode = 0; mode < 5; ++mode)  // SP, r without theta, GmP; both with r > 0
        for (bool want_dx : {false, true})
          for (bool use_cache : {false, true}) {
            const bool gmp = mode == 2 || mode == 4, radius = mode == 1 || mode == 3;
            const bool positive = mode >= 3;
            check_dense_backward<float>(sh[0], sh[1], sh[2], act, gmp, radius, want_dx, use_cache,
                                        positive, seed++);
            check_dense_backward<double>(sh[0], sh[1], sh[2], act, gmp, radius, want_dx,
                                         use_cache, positive, seed++);
          }
  float a[4] = {0, 0, 0, 0};
  // dtheta without dW scratch; theta with n < 2; bad act.
  CHECK(gmpnn_cpu_gmp_dense_backward(GMPNN_F32, a, nullptr, a, a, a, a, a, a, a, a, a, a, nullptr,
                                     a, a, 1, 2, 1, 0) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_gmp_dense_backward(GMPNN_F32, a, a, a, a, a, a, a, a, a, a, a, a, nullptr, a, a,
                                     1, 1, 1, 0) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_gmp_dense_backward(GMPNN_F32, a, a, nullptr, a, nullptr, a, a, a, a, a, a,
                                     nullptr, nullptr, nullptr, nullptr, 1, 2, 1,
                                     3) == GMPNN_E_ARG);
  // dr without lambda.
  CHECK(gmpnn_cpu_gmp_dense_backward(GMPNN_F32, a, a, nullptr, a, a, a, a, a, a, a, a, nullptr,
                                     nullptr, nullptr, a, 1, 2, 1, 0) == GMPNN_E_ARG);
  // W NULL where it is read: dX, and dr without dθ.
  CHECK(gmpnn_cpu_gmp_dense_backward(GMPNN_F32, a, a, a, a, a, a, a, a, a, a, nullptr, a, nullptr,
                                     a, a, 1, 2, 1, 0) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_gmp_dense_backward(GMPNN_F32, nullptr, a, nullptr, a, a, a, a, a, a, a, nullptr,
                                     a, nullptr, a, a, 1, 2, 1, 0) == GMPNN_E_ARG);
}

// Fan-ins up to 17 take direction groups compiled for their angle count (gmp.cc: forward groups
// for n − 1 ≤ 16, the fused backward's scan for n ≤ 16): every such fan-in, and the first generic
// ones, against u(θ) in double and the references of the checks above, with a partial last
// group (11 units).
GMPNN_TEST(gmp_dense_every_short_fan_in) {
  uint64_t seed = 2600;
  for (int64_t n = 2; n <= 19; ++n) {
    check_unit_norm<float>(11, n, -3, 3, seed++);
    check_unit_norm<double>(11, n, -3, 3, seed++);
    check_dense_forward_theta<float>(37, n, 11, 1, 3, seed++);
    check_dense_forward_theta<double>(37, n, 11, 1, 3, seed++);
    for (bool use_cache : {false, true}) {
      check_dense_backward<float>(37, n, 11, 1, true, false, false, use_cache, true, seed++);
      check_dense_backward<double>(37, n, 11, 1, true, false, false, use_cache, true, seed++);
    }
  }
}

GMPNN_TEST(gmp_epilogue_sizes) {
  // The MLP size, awkward sizes, column chunks (cols > 1024), and threaded row-block tilings.
  struct S {
    int64_t rows, cols;
  };
  const S shapes[] = {{1024, 100}, {257, 131}, {3, 2053}, {1, 40009}, {40009, 1},
                      {4099, 129}, {65537, 128}};
  uint64_t seed = 1900;
  for (const S& s : shapes)
    for (int act = 0; act < 2; ++act) {
      check_epilogues<double>(s.rows, s.cols, act, seed++, false);
      check_epilogues<float>(s.rows, s.cols, act, seed++, false);
    }
}

// Column sums use a shape-only tiling, so results must not depend on the thread count.
GMPNN_TEST(gmp_epilogue_thread_invariant) {
  const int64_t rows = 20011, cols = 96;
  Rand rng(4242);
  std::vector<float> Z = rng.vec<float>((size_t)(rows * cols), -1, 1), dY =
      rng.vec<float>((size_t)(rows * cols)), r = rng.vec<float>((size_t)cols);
  std::vector<float> dZ1(Z.size()), dZ2(Z.size()), dl1(cols), dl2(cols), dr1(cols), dr2(cols);
  const int saved = gmpnn_cpu_num_threads();
  gmpnn_cpu_set_num_threads(1);
  CHECK_OK(gmpnn_cpu_gmp_epilogue_backward(GMPNN_F32, dZ1.data(), dl1.data(), dr1.data(),
                                           dY.data(), Z.data(), r.data(), rows, cols, 1));
  gmpnn_cpu_set_num_threads(saved > 1 ? saved : 4);
  CHECK_OK(gmpnn_cpu_gmp_epilogue_backward(GMPNN_F32, dZ2.data(), dl2.data(), dr2.data(),
                                           dY.data(), Z.data(), r.data(), rows, cols, 1));
  gmpnn_cpu_set_num_threads(saved);
  CHECK(std::memcmp(dZ1.data(), dZ2.data(), dZ1.size() * 4) == 0);
  CHECK(std::memcmp(dl1.data(), dl2.data(), (size_t)cols * 4) == 0);
  CHECK(std::memcmp(dr1.data(), dr2.data(), (size_t)cols * 4) == 0);
}

GMPNN_TEST(gmp_epilogue_empty) {
  // rows = 0: empty column sums are zero; cols = 0 or rows = 0 forward is a no-op.
  double dl[3] = {7, 7, 7}, dr[3] = {7, 7, 7}, zeros[3] = {0, 0, 0};
  CHECK_OK(gmpnn_cpu_gmp_epilogue_backward(GMPNN_F64, nullptr, dl, dr, nullptr, nullptr, nullptr,
                                           0, 3, 1));
  CHECK_CLOSE("dlambda rows=0", dl, zeros, 3, 0.0, 0.0);
  CHECK_CLOSE("dr rows=0", dr, zeros, 3, 0.0, 0.0);
  CHECK_OK(gmpnn_cpu_gmp_epilogue_forward(GMPNN_F32, nullptr, nullptr, nullptr, nullptr, 0, 3, 1));
  CHECK_OK(gmpnn_cpu_gmp_epilogue_forward(GMPNN_F32, nullptr, nullptr, nullptr, nullptr, 4, 0, 0));
}

// ------------------------------------------------------------------ argument checks

bool names_kernel(const char* k) { return std::strstr(gmpnn_last_error(), k) != nullptr; }

GMPNN_TEST(gmp_argument_errors) {
  float a[64] = {0}, b[64] = {0}, c[64] = {0}, d[64] = {0}, e[64] = {0}, f[64] = {0};
  const char* fw = "gmp_direction_forward";
  const char* bw = "gmp_direction_backward";
  const char* inv = "gmp_direction_inverse";
  const char* ef = "gmp_epilogue_forward";
  const char* eb = "gmp_epilogue_backward";
  // direction: n < 2, m < 0, NULL pointers, bad dtype
  CHECK(gmpnn_cpu_gmp_direction_forward(GMPNN_F32, a, b, 2, 1) == GMPNN_E_ARG && names_kernel(fw));
  CHECK(gmpnn_cpu_gmp_direction_forward(GMPNN_F32, a, b, 2, 0) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_gmp_direction_forward(GMPNN_F32, a, b, -1, 3) == GMPNN_E_ARG && names_kernel(fw));
  CHECK(gmpnn_cpu_gmp_direction_forward(GMPNN_F32, nullptr, b, 2, 3) == GMPNN_E_ARG &&
        names_kernel(fw));
  CHECK(gmpnn_cpu_gmp_direction_forward(GMPNN_F32, a, nullptr, 2, 3) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_gmp_direction_forward((gmpnn_dtype)7, a, b, 2, 3) == GMPNN_E_DTYPE &&
        names_kernel(fw));
  CHECK(gmpnn_cpu_gmp_direction_backward(GMPNN_F64, a, b, c, 2, 1) == GMPNN_E_ARG &&
        names_kernel(bw));
  CHECK(gmpnn_cpu_gmp_direction_backward(GMPNN_F64, a, b, c, -3, 4) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_gmp_direction_backward(GMPNN_F64, nullptr, b, c, 2, 3) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_gmp_direction_backward(GMPNN_F64, a, nullptr, c, 2, 3) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_gmp_direction_backward(GMPNN_F64, a, b, nullptr, 2, 3) == GMPNN_E_ARG &&
        names_kernel(bw));
  CHECK(gmpnn_cpu_gmp_direction_inverse(GMPNN_F32, a, b, c, 2, 1, 0) == GMPNN_E_ARG &&
        names_kernel(inv));
  CHECK(gmpnn_cpu_gmp_direction_inverse(GMPNN_F32, a, b, c, -1, 3, 0) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_gmp_direction_inverse(GMPNN_F32, nullptr, b, c, 2, 3, 0) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_gmp_direction_inverse(GMPNN_F32, a, nullptr, c, 2, 3, 0) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_gmp_direction_inverse(GMPNN_F32, a, b, nullptr, 2, 3, 1) == GMPNN_E_ARG &&
        names_kernel(inv));
  // epilogues: negative sizes, bad act, NULL pointers, bad dtype
  CHECK(gmpnn_cpu_gmp_epilogue_forward(GMPNN_F32, a, b, c, d, -1, 3, 1) == GMPNN_E_ARG &&
        names_kernel(ef));
  CHECK(gmpnn_cpu_gmp_epilogue_forward(GMPNN_F32, a, b, c, d, 3, -1, 1) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_gmp_epilogue_forward(GMPNN_F32, a, b, c, d, 3, 3, 2) == GMPNN_E_ARG &&
        names_kernel(ef));
  CHECK(gmpnn_cpu_gmp_epilogue_forward(GMPNN_F32, a, b, c, d, 3, 3, -1) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_gmp_epilogue_forward(GMPNN_F32, nullptr, b, c, d, 3, 3, 1) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_gmp_epilogue_forward(GMPNN_F32, a, nullptr, c, d, 3, 3, 1) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_gmp_epilogue_forward(GMPNN_F32, a, b, nullptr, d, 3, 3, 1) == GMPNN_E_ARG);
  // r = NULL is allowed (r = 1): see gmp_epilogue_null_radius.
  CHECK(gmpnn_cpu_gmp_epilogue_forward((gmpnn_dtype)2, a, b, c, d, 3, 3, 1) == GMPNN_E_DTYPE);
  CHECK(gmpnn_cpu_gmp_epilogue_backward(GMPNN_F64, a, b, c, d, e, f, 2, -2, 0) == GMPNN_E_ARG &&
        names_kernel(eb));
  CHECK(gmpnn_cpu_gmp_epilogue_backward(GMPNN_F64, a, b, c, d, e, f, 2, 2, 5) == GMPNN_E_ARG &&
        names_kernel(eb));
  CHECK(gmpnn_cpu_gmp_epilogue_backward(GMPNN_F64, nullptr, b, c, d, e, f, 2, 2, 0) ==
        GMPNN_E_ARG);
  CHECK(gmpnn_cpu_gmp_epilogue_backward(GMPNN_F64, a, b, c, nullptr, e, f, 2, 2, 0) ==
        GMPNN_E_ARG);
  CHECK(gmpnn_cpu_gmp_epilogue_backward(GMPNN_F64, a, b, c, d, nullptr, f, 2, 2, 0) ==
        GMPNN_E_ARG);
  CHECK(gmpnn_cpu_gmp_epilogue_backward((gmpnn_dtype)9, a, b, c, d, e, f, 2, 2, 0) ==
        GMPNN_E_DTYPE && names_kernel(eb));
  // Nothing was written by the failing calls.
  for (int i = 0; i < 64; ++i) CHECK(a[i] == 0 && b[i] == 0 && c[i] == 0);
}


// Weight normalization (gmp.h): the forward against W_j = (g_j/‖v_j‖)·v_j in long double, the
// backward against its formula in long double, and the formula itself against central differences
// of L = Σ dW ⊙ W(v, g) in double; dv or dg alone give the same values; 1 and 2 threads, rows
// enough to split over threads, fan-ins 1, 13, 100, 1031; g of both signs.
template <typename T>
void check_weight_norm(int64_t rows, int64_t n, uint64_t seed) {
  Rand rng(seed);
  const gmpnn_dtype dt = dtype_of<T>();
  const size_t N = (size_t)(rows * n);
  std::vector<T> v = rng.vec<T>(N), g = rng.vec<T>((size_t)rows, -2, 2), dW = rng.vec<T>(N);
  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> W(N, nan), dv(N, nan), dg((size_t)rows, nan), dv2(N, nan), dg2((size_t)rows, nan);
  CHECK_OK(gmpnn_cpu_weight_norm_forward(dt, W.data(), v.data(), g.data(), rows, n));
  CHECK_OK(gmpnn_cpu_weight_norm_backward(dt, dv.data(), dg.data(), dW.data(), v.data(), g.data(), rows, n));
  CHECK_OK(gmpnn_cpu_weight_norm_backward(dt, dv2.data(), nullptr, dW.data(), v.data(), g.data(), rows, n));
  CHECK_OK(gmpnn_cpu_weight_norm_backward(dt, nullptr, dg2.data(), dW.data(), v.data(), g.data(), rows, n));
  std::vector<T> wW(N), wdv(N), wdg((size_t)rows);
  for (int64_t j = 0; j < rows; ++j) {
    long double ss = 0, t = 0;
    for (int64_t k = 0; k < n; ++k) {
      ss += (long double)v[j * n + k] * v[j * n + k];
      t += (long double)dW[j * n + k] * v[j * n + k];
    }
    const long double nu = std::sqrt(ss), s = g[j] / nu;
    wdg[j] = (T)(t / nu);
    for (int64_t k = 0; k < n; ++k) {
      wW[j * n + k] = (T)(s * v[j * n + k]);
      wdv[j * n + k] = (T)(s * (dW[j * n + k] - t / ss * v[j * n + k]));
    }
  }
  const double eps = sizeof(T) == 4 ? 1.2e-7 : 2.3e-16;
  char what[120];
  std::snprintf(what, sizeof what, "weight norm %s rows=%lld n=%lld", sizeof(T) == 4 ? "f32" : "f64",
                (long long)rows, (long long)n);
  const std::string w(what);
  CHECK_CLOSE((w + " W").c_str(), W.data(), wW.data(), N, 2 * eps, 2 * eps);
  CHECK_CLOSE((w + " dv").c_str(), dv.data(), wdv.data(), N, 8 * eps * std::sqrt((double)n), 4 * eps);
  CHECK_CLOSE((w + " dg").c_str(), dg.data(), wdg.data(), (size_t)rows, 4 * eps * std::sqrt((double)n), 4 * eps);
  check_same_bits((w + " dv alone").c_str(), dv2.data(), dv.data(), N);
  check_same_bits((w + " dg alone").c_str(), dg2.data(), dg.data(), (size_t)rows);
  if (sizeof(T) != 8 || N > 4000) return;
  // The formula: central differences of L(v, g) = Σ dW ⊙ W(v, g).
  auto loss = [&](const std::vector<T>& vv, const std::vector<T>& gg) {
    std::vector<T> o(N);
    CHECK_OK(gmpnn_cpu_weight_norm_forward(dt, o.data(), vv.data(), gg.data(), rows, n));
    double l = 0;
    for (size_t e = 0; e < N; ++e) l += (double)dW[e] * (double)o[e];
    return l;
  };
  const double h = 1e-6;
  std::vector<T> nv(N), ng((size_t)rows);
  for (size_t e = 0; e < N; ++e) {
    std::vector<T> a = v, b = v;
    a[e] += (T)h;
    b[e] -= (T)h;
    nv[e] = (T)((loss(a, g) - loss(b, g)) / (2 * h));
  }
  for (int64_t j = 0; j < rows; ++j) {
    std::vector<T> a = g, b = g;
    a[(size_t)j] += (T)h;
    b[(size_t)j] -= (T)h;
    ng[(size_t)j] = (T)((loss(v, a) - loss(v, b)) / (2 * h));
  }
  CHECK_CLOSE((w + " dv vs central differences").c_str(), dv.data(), nv.data(), N, 1e-7, 1e-6);
  CHECK_CLOSE((w + " dg vs central differences").c_str(), dg.data(), ng.data(), (size_t)rows, 1e-7, 1e-6);
}

GMPNN_TEST(gmp_weight_norm) {
  const int saved = omp_get_max_threads();
  const int64_t shapes[][2] = {{1, 1}, {100, 13}, {1, 100}, {7, 33}, {3, 1}, {300, 1031}};
  uint64_t seed = 2600;
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (const auto& sh : shapes) {
      check_weight_norm<float>(sh[0], sh[1], seed++);
      check_weight_norm<double>(sh[0], sh[1], seed++);
    }
  }
  omp_set_num_threads(saved);
  double a[4] = {1, 2, 3, 4}, b[4] = {0, 0, 0, 0};
  CHECK(gmpnn_cpu_weight_norm_forward(GMPNN_F64, b, a, a, 2, 0) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_weight_norm_forward(GMPNN_F64, b, nullptr, a, 2, 2) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_weight_norm_backward(GMPNN_F64, b, b, nullptr, a, a, 2, 2) == GMPNN_E_ARG);
  CHECK(gmpnn_cpu_weight_norm_forward((gmpnn_dtype)7, b, a, a, 2, 2) == GMPNN_E_DTYPE);
  for (double x : b) CHECK(x == 0);  // nothing written by the failing calls
  // No row: nothing to do; a zero row: 0/0, as the composed ops gave.
  CHECK_OK(gmpnn_cpu_weight_norm_forward(GMPNN_F64, nullptr, nullptr, nullptr, 0, 3));
  double z[2] = {0, 0}, gz = 1, wz[2] = {5, 5};
  CHECK_OK(gmpnn_cpu_weight_norm_forward(GMPNN_F64, wz, z, &gz, 1, 2));
  CHECK(std::isnan(wz[0]) && std::isnan(wz[1]));
}

}  // namespace
