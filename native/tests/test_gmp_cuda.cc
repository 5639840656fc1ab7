// CUDA parity tests for the GmP kernels (gmpnn/gmp.h, GMP_SPEC.md §2–§4) against the CPU twins:
// direction forward (prefix products of sines), backward (division-free reverse recurrence, with
// angles at exactly 0 and π where sin θ = 0), inverse (with and without |x_n|, zero rows), and the
// fused epilogues (ReLU and identity; dλ / dr wanted or NULL; row counts that split the column
// sums over several blocks). Fan-ins 2, 3, primes, 32/33/64/65 (the warp chunk edges) and 1000+.
// Outputs are poisoned with NaN first.
#include "gmpnn/gmp.h"
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "gmpnn/device.h"
#include "gmpnn/gemm.h"
#include "harness.h"

#include "cuda_test_util.h"
#ifdef GMPNN_WITH_CUDA
namespace {

const double kPi = 3.14159265358979323846;
const int64_t kUnits[][2] = {{1, 2},  {3, 3},  {5, 32},  {5, 33},  {7, 64},   {2, 65},
                             {13, 100}, {4, 1000}, {64, 577}, {9, 97}, {300, 10}, {1, 4099}};

template <typename T>
std::vector<T> angles(Rand& rng, size_t n) {
  std::vector<T> th = rng.vec<T>(n, 0.05, kPi - 0.05);
  for (size_t i = 3; i < n; i += 11) th[i] = T(0);     // sin θ = 0
  for (size_t i = 7; i < n; i += 13) th[i] = T(kPi);   // sin θ ≈ 0, cos θ = -1
  return th;
}

template <typename T>
void run_direction() {
  Rand rng(31 + sizeof(T));
  for (const auto& s : kUnits) {
    const int64_t m = s[0], n = s[1];
    const size_t na = (size_t)(m * (n - 1)), nu = (size_t)(m * n);
    std::string shape = " m=" + std::to_string(m) + " n=" + std::to_string(n);
    // Forward.
    std::vector<T> th = angles<T>(rng, na), want_u = nans<T>(nu);
    // Keep most products away from zero so the comparison is about values, not flushes.
    if (n > 64)
      for (auto& v : th) v = (v == T(0) || v == T(kPi)) ? v : T(kPi / 2 + 0.3 * (v - kPi / 2));
    CHECK_OK(gmpnn_cpu_gmp_direction_forward(dtype_of<T>(), want_u.data(), th.data(), m, n));
    Dev<T> dth(th), du(nans<T>(nu));
    CHECK_OK(gmpnn_cuda_gmp_direction_forward(dtype_of<T>(), du.p, dth.p, m, n));
    CHECK_CLOSE(("direction forward" + shape).c_str(), du.down().data(), want_u.data(), nu,
                tol<T>() * 1e-2, tol<T>());
    // Backward.
    std::vector<T> g = rng.vec<T>(nu), want_dth = nans<T>(na);
    CHECK_OK(gmpnn_cpu_gmp_direction_backward(dtype_of<T>(), want_dth.data(), g.data(), th.data(),
                                              m, n));
    Dev<T> dg(g), ddth(nans<T>(na));
    CHECK_OK(gmpnn_cuda_gmp_direction_backward(dtype_of<T>(), ddth.p, dg.p, dth.p, m, n));
    std::vector<T> got = ddth.down();
    for (T v : got) CHECK(std::isfinite(v));
    CHECK_CLOSE(("direction backward" + shape).c_str(), got.data(), want_dth.data(), na,
                tol<T>() * (1.0 + std::sqrt((double)n)), tol<T>() * 10);
    // Inverse, both conventions for the last angle; one zero row.
    std::vector<T> W = rng.vec<T>(nu);
    if (m > 2)
      for (int64_t k = 0; k < n; ++k) W[(size_t)(n + k)] = T(0);
    for (int abs_last = 0; abs_last < 2; ++abs_last) {
      std::vector<T> want_th = nans<T>(na), want_r = nans<T>((size_t)m);
      CHECK_OK(gmpnn_cpu_gmp_direction_inverse(dtype_of<T>(), want_th.data(), want_r.data(),
                                               W.data(), m, n, abs_last));
      Dev<T> dW(W), dith(nans<T>(na)), dr(nans<T>((size_t)m));
      CHECK_OK(gmpnn_cuda_gmp_direction_inverse(dtype_of<T>(), dith.p, dr.p, dW.p, m, n, abs_last));
      std::string what = shape + " abs_last=" + std::to_string(abs_last);
      CHECK_CLOSE(("inverse theta" + what).c_str(), dith.down().data(), want_th.data(), na,
                  tol<T>(), tol<T>());
      CHECK_CLOSE(("inverse r" + what).c_str(), dr.down().data(), want_r.data(), (size_t)m,
                  tol<T>(), tol<T>());
    }
  }
  Dev<T> d(8);
  CHECK(gmpnn_cuda_gmp_direction_forward(dtype_of<T>(), d.p, d.p, 2, 1) == GMPNN_E_ARG);
}

template <typename T>
void run_epilogues() {
  Rand rng(43 + sizeof(T));
  const int64_t shapes[][2] = {{1, 1},    {5, 3},    {129, 33}, {1000, 100},
                               {37, 1},   {70001, 3}, {257, 1031}, {0, 7}};
  for (const auto& s : shapes) {
    const int64_t rows = s[0], cols = s[1];
    const size_t ne = (size_t)(rows * cols);
    for (int act = 0; act < 2; ++act) {
      std::string what = " rows=" + std::to_string(rows) + " cols=" + std::to_string(cols) +
                         " act=" + std::to_string(act);
      std::vector<T> Z = rng.vec<T>(ne, -2, 2), lam = rng.vec<T>((size_t)cols),
                     r = rng.vec<T>((size_t)cols, -1.5, 1.5);
      // Every other shape: r = NULL on the device (the SP/WN bias epilogue, r = 1) against an
      // explicit row of ones on the CPU.
      const bool null_r = ((&s - shapes) % 2) == 1;
      if (null_r) std::fill(r.begin(), r.end(), T(1));
      what += null_r ? " r=NULL" : "";
      for (size_t i = 0; i < ne; i += 9) Z[i] = -lam[i % (size_t)cols];  // z = 0 exactly
      // Forward: Z += λ in place, Y = r ⊙ act(Z).
      std::vector<T> want_Z = Z, want_Y = nans<T>(ne);
      CHECK_OK(gmpnn_cpu_gmp_epilogue_forward(dtype_of<T>(), want_Y.data(), want_Z.data(),
                                              lam.data(), r.data(), rows, cols, act));
      Dev<T> dZ(Z), dY(nans<T>(ne)), dlam(lam), dr(r);
      CHECK_OK(gmpnn_cuda_gmp_epilogue_forward(dtype_of<T>(), dY.p, dZ.p, dlam.p,
                                               null_r ? nullptr : dr.p, rows, cols,
                                               act));
      CHECK_CLOSE(("epilogue forward Z" + what).c_str(), dZ.down().data(), want_Z.data(), ne, 0.0,
                  0.0);
      CHECK_CLOSE(("epilogue forward Y" + what).c_str(), dY.down().data(), want_Y.data(), ne,
                  tol<T>() * 1e-3, tol<T>());
      // Backward, with all four choices of wanted column sums.
      std::vector<T> gY = rng.vec<T>(ne);
      for (int wanted = 0; wanted < 4; ++wanted) {
        const bool wl = wanted & 1, wr = wanted & 2;
        std::vector<T> want_dZ = nans<T>(ne), want_dl = nans<T>((size_t)cols),
                       want_dr = nans<T>((size_t)cols);
        CHECK_OK(gmpnn_cpu_gmp_epilogue_backward(dtype_of<T>(), want_dZ.data(),
                                                 wl ? want_dl.data() : nullptr,
                                                 wr ? want_dr.data() : nullptr, gY.data(),
                                                 want_Z.data(), r.data(), rows, cols, act));
        Dev<T> ddY(gY), ddZ(nans<T>(ne)), ddl(nans<T>((size_t)cols)), ddr(nans<T>((size_t)cols));
        CHECK_OK(gmpnn_cuda_gmp_epilogue_backward(dtype_of<T>(), ddZ.p, wl ? ddl.p : nullptr,
                                                  wr ? ddr.p : nullptr, ddY.p, dZ.p,
                                                  null_r ? nullptr : dr.p, rows,
                                                  cols, act));
        std::string w2 = what + " wanted=" + std::to_string(wanted);
        CHECK_CLOSE(("epilogue backward dZ" + w2).c_str(), ddZ.down().data(), want_dZ.data(), ne,
                    tol<T>() * 1e-3, tol<T>());
        // Column sums in double on both devices, in different orders.
        const double atol = tol<T>() * (1.0 + std::sqrt((double)rows)) * 1e-1;
        if (wl)
          CHECK_CLOSE(("epilogue backward dlambda" + w2).c_str(), ddl.down().data(),
                      want_dl.data(), (size_t)cols, atol, tol<T>());
        if (wr)
          CHECK_CLOSE(("epilogue backward dr" + w2).c_str(), ddr.down().data(), want_dr.data(),
                      (size_t)cols, atol, tol<T>());
      }
    }
  }
  // In place: dZ aliasing dY.
  const int64_t rows = 301, cols = 17;
  std::vector<T> Z = rng.vec<T>(rows * cols), gY = rng.vec<T>(rows * cols), r = rng.vec<T>(cols);
  std::vector<T> want = nans<T>(rows * cols);
  CHECK_OK(gmpnn_cpu_gmp_epilogue_backward(dtype_of<T>(), want.data(), nullptr, nullptr, gY.data(),
                                           Z.data(), r.data(), rows, cols, GMPNN_ACT_RELU));
  Dev<T> dZ(Z), dg(gY), dr(r);
  CHECK_OK(gmpnn_cuda_gmp_epilogue_backward(dtype_of<T>(), dg.p, nullptr, nullptr, dg.p, dZ.p,
                                            dr.p, rows, cols, GMPNN_ACT_RELU));
  CHECK_CLOSE("epilogue backward in place", dg.down().data(), want.data(), want.size(), 0.0, 0.0);
}

// gmp_dense_forward (GEMM + epilogue on the device) against the CPU entry (fused or not).
template <typename T>
void run_dense_forward() {
  Rand rng(57 + sizeof(T));
  const int64_t shapes[][3] = {{1024, 4, 100}, {455, 13, 100}, {33, 40, 17}, {5, 1, 3}};
  int k = 0;
  for (const auto& sh : shapes)
    for (int act = 0; act < 2; ++act, ++k) {
      const int64_t rows = sh[0], n = sh[1], cols = sh[2];
      const bool null_r = k % 2 == 1;
      const size_t ne = (size_t)(rows * cols);
      std::vector<T> X = rng.vec<T>((size_t)(rows * n)), W = rng.vec<T>((size_t)(cols * n)),
                     lam = rng.vec<T>((size_t)cols), r = rng.vec<T>((size_t)cols, -1.5, 1.5);
      std::vector<T> wantZ = nans<T>(ne), wantY = nans<T>(ne);
      CHECK_OK(gmpnn_cpu_gmp_dense_forward(dtype_of<T>(), wantY.data(), wantZ.data(), X.data(),
                                           W.data(), lam.data(), null_r ? nullptr : r.data(),
                                           rows, n, cols, act));
      Dev<T> dX(X), dW(W), dl(lam), dr(r), dZ(nans<T>(ne)), dY(nans<T>(ne));
      CHECK_OK(gmpnn_cuda_gmp_dense_forward(dtype_of<T>(), dY.p, dZ.p, dX.p, dW.p, dl.p,
                                            null_r ? nullptr : dr.p, rows, n, cols, act));
      const std::string what = " rows=" + std::to_string(rows) + " n=" + std::to_string(n) +
                               " cols=" + std::to_string(cols) + " act=" + std::to_string(act) +
                               (null_r ? " r=NULL" : "");
      // The CPU leaves Z unwritten where its backward reads Y instead (gmp.h); CUDA writes it.
      if (!std::isnan((double)wantZ[0]))
        CHECK_CLOSE(("dense forward Z" + what).c_str(), dZ.down().data(), wantZ.data(), ne,
                    tol<T>(), tol<T>());
      CHECK_CLOSE(("dense forward Y" + what).c_str(), dY.down().data(), wantY.data(), ne,
                  tol<T>(), tol<T>());
    }
}

// gmp_dense_forward_theta on the device against the CPU entry (U and the outputs; the CUDA
// direction kernels leave the cache alone). Radii of mixed sign (r[0] < 0), and all positive:
// then the CPU folds r into its product where the fan-in is ≤ 16 (gmp.h) and leaves Z unwritten
// (its backward reads the signs of Y), as for identity, while CUDA's Z is z; Y is the same.
template <typename T>
void run_dense_forward_theta() {
  Rand rng(63 + sizeof(T));
  const int64_t shapes[][3] = {{455, 13, 100}, {33, 40, 17}, {5, 2, 3}};
  for (const auto& sh : shapes)
    for (int act = 0; act < 2; ++act)
      for (bool positive : {false, true}) {
        const int64_t rows = sh[0], n = sh[1], cols = sh[2];
        const size_t ne = (size_t)(rows * cols);
        std::vector<T> X = rng.vec<T>((size_t)(rows * n)), th = rng.vec<T>((size_t)(cols * (n - 1)), 0.0, 3.0),
                       lam = rng.vec<T>((size_t)cols),
                       r = positive ? rng.vec<T>((size_t)cols, 0.25, 1.5) : rng.vec<T>((size_t)cols, -1.5, 1.5);
        if (!positive) r[0] = -std::abs(r[0]) - T(0.1);
        std::vector<T> wU = nans<T>((size_t)(cols * n)), wZ = nans<T>(ne), wY = nans<T>(ne);
        CHECK_OK(gmpnn_cpu_gmp_dense_forward_theta(dtype_of<T>(), wY.data(), wZ.data(), wU.data(),
                                                   nullptr, X.data(), th.data(), lam.data(),
                                                   r.data(), rows, n, cols, act));
        Dev<T> dX(X), dth(th), dl(lam), dr(r), dU(nans<T>((size_t)(cols * n))), dZ(nans<T>(ne)),
            dY(nans<T>(ne));
        CHECK_OK(gmpnn_cuda_gmp_dense_forward_theta(dtype_of<T>(), dY.p, dZ.p, dU.p, nullptr, dX.p,
                                                    dth.p, dl.p, dr.p, rows, n, cols, act));
        const std::string what = " rows=" + std::to_string(rows) + " n=" + std::to_string(n) +
                                 " cols=" + std::to_string(cols) + " act=" + std::to_string(act) +
                                 (positive ? " r > 0" : "");
        const bool cpu_wrote_z = !std::isnan((double)wZ[0]);
        CHECK_CLOSE(("dense forward theta U" + what).c_str(), dU.down().data(), wU.data(),
                    wU.size(), tol<T>(), tol<T>());
        if (cpu_wrote_z)
          CHECK_CLOSE(("dense forward theta Z" + what).c_str(), dZ.down().data(), wZ.data(), ne,
                      tol<T>() * std::sqrt((double)n + 1), tol<T>());
        CHECK_CLOSE(("dense forward theta Y" + what).c_str(), dY.down().data(), wY.data(), ne,
                    tol<T>() * std::sqrt((double)n + 1), tol<T>());
        // U = NULL: u(θ) into a scratch, the same Z and Y.
        Dev<T> dZ2(nans<T>(ne)), dY2(nans<T>(ne));
        CHECK_OK(gmpnn_cuda_gmp_dense_forward_theta(dtype_of<T>(), dY2.p, dZ2.p, nullptr, nullptr,
                                                    dX.p, dth.p, dl.p, dr.p, rows, n, cols, act));
        if (cpu_wrote_z)
          CHECK_CLOSE(("dense forward theta, U NULL, Z" + what).c_str(), dZ2.down().data(),
                      wZ.data(), ne, tol<T>() * std::sqrt((double)n + 1), tol<T>());
        CHECK_CLOSE(("dense forward theta, U NULL, Y" + what).c_str(), dY2.down().data(),
                    wY.data(), ne, tol<T>() * std::sqrt((double)n + 1), tol<T>());
      }
}

// gmp_dense_backward on the device against the CPU entry: SP (theta NULL) and GmP, both
// activations, dX wanted or not.
template <typename T>
void run_dense_backward() {
  Rand rng(91 + sizeof(T));
  const int64_t shapes[][3] = {{1024, 16, 100}, {32, 13, 100}, {455, 100, 1}, {7, 3, 5}};
  int k = 0;
  for (const auto& sh : shapes)
    for (int act = 0; act < 2; ++act)
      for (bool gmp : {false, true}) {
        const int64_t rows = sh[0], n = sh[1], cols = sh[2];
        const bool want_dx = (k++ % 3) != 2;
        const size_t ne = (size_t)(rows * cols);
        std::vector<T> X = rng.vec<T>((size_t)(rows * n)), W = rng.vec<T>((size_t)(cols * n)),
                       th = rng.vec<T>((size_t)(cols * (n - 1)), 0.0, 3.0), Z = rng.vec<T>(ne),
                       gY = rng.vec<T>(ne), r = rng.vec<T>((size_t)cols, -1.5, 1.5),
                       lambda = rng.vec<T>((size_t)cols);
        // GmP: W is the forward's u(θ) (the CPU's dr with θ is D·u(θ) + λ·S, not Σ dY·act(Z)).
        if (gmp) CHECK_OK(gmpnn_cpu_gmp_direction_forward(dtype_of<T>(), W.data(), th.data(), cols, n));
        // Z as the forward leaves it (the CPU's dr rests on Z = X·Wᵀ + λ).
        CHECK_OK(gmpnn_cpu_gemm_reference(dtype_of<T>(), Z.data(), X.data(), W.data(), 0, 1, rows,
                                          cols, n, n, n, cols, 1.0, 0.0));
        for (int64_t i = 0; i < rows; ++i)
          for (int64_t j = 0; j < cols; ++j) Z[(size_t)(i * cols + j)] += lambda[(size_t)j];
        // Y = r ⊙ act(Z), the forward's output (the CPU reads it where it determines z).
        std::vector<T> Y(ne);
        for (size_t e = 0; e < ne; ++e) {
          const T a = act == GMPNN_ACT_RELU ? (Z[e] > T(0) ? Z[e] : T(0)) : Z[e];
          Y[e] = gmp ? r[e % (size_t)cols] * a : a;
        }
        std::vector<T> wdZ = nans<T>(ne), wdl = nans<T>((size_t)cols), wdr = nans<T>((size_t)cols),
                       wdX = nans<T>((size_t)(rows * n)), wdW = nans<T>((size_t)(cols * n)),
                       wdth = nans<T>((size_t)(cols * (n - 1)));
        CHECK_OK(gmpnn_cpu_gmp_dense_backward(
            dtype_of<T>(), want_dx ? wdX.data() : nullptr, wdW.data(), gmp ? wdth.data() : nullptr,
            wdl.data(), gmp ? wdr.data() : nullptr, wdZ.data(), gY.data(), Z.data(), Y.data(), X.data(),
            W.data(), gmp ? th.data() : nullptr, nullptr, lambda.data(), gmp ? r.data() : nullptr,
            rows, n, cols, act));
        Dev<T> dX(X), dW(W), dth(th), dZ(Z), dYf(Y), dgY(gY), dr(r), dlam(lambda), oZ(nans<T>(ne)),
            odl(nans<T>((size_t)cols)), odr(nans<T>((size_t)cols)),
            odX(nans<T>((size_t)(rows * n))), odW(nans<T>((size_t)(cols * n))),
            odth(nans<T>((size_t)(cols * (n - 1))));
        CHECK_OK(gmpnn_cuda_gmp_dense_backward(
            dtype_of<T>(), want_dx ? odX.p : nullptr, odW.p, gmp ? odth.p : nullptr, odl.p,
            gmp ? odr.p : nullptr, oZ.p, dgY.p, dZ.p, dYf.p, dX.p, dW.p, gmp ? dth.p : nullptr,
            nullptr, dlam.p, gmp ? dr.p : nullptr, rows, n, cols, act));
        const std::string what = std::string(gmp ? " gmp" : " sp") + " rows=" +
                                 std::to_string(rows) + " n=" + std::to_string(n) +
                                 " cols=" + std::to_string(cols) + " act=" + std::to_string(act);
        // dZ is scratch with unspecified contents; SP's holds G_Z on both when dX is wanted (the
        // CPU's first-layer route, no dX, never writes it).
        if (!gmp && want_dx)
          CHECK_CLOSE(("dense backward dZ" + what).c_str(), oZ.down().data(), wdZ.data(), ne,
                      tol<T>(), tol<T>());
        CHECK_CLOSE(("dense backward dlambda" + what).c_str(), odl.down().data(), wdl.data(),
                    (size_t)cols, tol<T>() * std::sqrt((double)rows + 1), tol<T>());
        if (gmp)
          CHECK_CLOSE(("dense backward dr" + what).c_str(), odr.down().data(), wdr.data(),
                      (size_t)cols, tol<T>() * std::sqrt((double)rows + 1), tol<T>());
        if (want_dx)
          CHECK_CLOSE(("dense backward dX" + what).c_str(), odX.down().data(), wdX.data(),
                      wdX.size(), tol<T>() * std::sqrt((double)cols + 1), tol<T>());
        const double atol_w = tol<T>() * std::sqrt((double)rows + 1);
        // GmP's dW is scratch (∂L/∂U up to a factor r per unit; the CPU leaves it unscaled, and
        // unwritten on its first-layer route).
        if (!gmp)
          CHECK_CLOSE(("dense backward dW" + what).c_str(), odW.down().data(), wdW.data(),
                      wdW.size(), atol_w, tol<T>());
        if (gmp)
          CHECK_CLOSE(("dense backward dtheta" + what).c_str(), odth.down().data(), wdth.data(),
                      wdth.size(), 4 * atol_w * n, 4 * tol<T>());
      }
}


// Weight normalization: forward and backward (dv and dg, and each alone) against the CPU twin.
template <typename T>
void run_weight_norm() {
  Rand rng(57 + sizeof(T));
  for (const auto& s : kUnits) {
    const int64_t rows = s[0], n = s[1];
    const size_t N = (size_t)(rows * n);
    const std::string shape = " rows=" + std::to_string(rows) + " n=" + std::to_string(n);
    std::vector<T> v = rng.vec<T>(N), g = rng.vec<T>((size_t)rows, -2, 2), dW = rng.vec<T>(N);
    std::vector<T> wW(N), wdv(N), wdg((size_t)rows);
    CHECK_OK(gmpnn_cpu_weight_norm_forward(dtype_of<T>(), wW.data(), v.data(), g.data(), rows, n));
    CHECK_OK(gmpnn_cpu_weight_norm_backward(dtype_of<T>(), wdv.data(), wdg.data(), dW.data(),
                                            v.data(), g.data(), rows, n));
    Dev<T> dv_(v), dg_(g), ddW(dW), oW(nans<T>(N)), odv(nans<T>(N)), odg(nans<T>((size_t)rows)),
        odv2(nans<T>(N)), odg2(nans<T>((size_t)rows));
    CHECK_OK(gmpnn_cuda_weight_norm_forward(dtype_of<T>(), oW.p, dv_.p, dg_.p, rows, n));
    CHECK_OK(gmpnn_cuda_weight_norm_backward(dtype_of<T>(), odv.p, odg.p, ddW.p, dv_.p, dg_.p, rows, n));
    CHECK_OK(gmpnn_cuda_weight_norm_backward(dtype_of<T>(), odv2.p, nullptr, ddW.p, dv_.p, dg_.p, rows, n));
    CHECK_OK(gmpnn_cuda_weight_norm_backward(dtype_of<T>(), nullptr, odg2.p, ddW.p, dv_.p, dg_.p, rows, n));
    const double atol = tol<T>() * std::sqrt((double)n + 1);
    CHECK_CLOSE(("weight norm W" + shape).c_str(), oW.down().data(), wW.data(), N, tol<T>(), tol<T>());
    CHECK_CLOSE(("weight norm dv" + shape).c_str(), odv.down().data(), wdv.data(), N, atol, tol<T>());
    CHECK_CLOSE(("weight norm dg" + shape).c_str(), odg.down().data(), wdg.data(), (size_t)rows, atol, tol<T>());
    CHECK_CLOSE(("weight norm dv alone" + shape).c_str(), odv2.down().data(), wdv.data(), N, atol, tol<T>());
    CHECK_CLOSE(("weight norm dg alone" + shape).c_str(), odg2.down().data(), wdg.data(), (size_t)rows, atol, tol<T>());
  }
}
}  // namespace
#endif

GMPNN_TEST(gmp_cuda_parity_dense_forward) {
  CUDA_TEST_BODY(run_dense_forward<float>(); run_dense_forward<double>());
}
GMPNN_TEST(gmp_cuda_parity_dense_forward_theta) {
  CUDA_TEST_BODY(run_dense_forward_theta<float>(); run_dense_forward_theta<double>());
}
GMPNN_TEST(gmp_cuda_parity_dense_backward) {
  CUDA_TEST_BODY(run_dense_backward<float>(); run_dense_backward<double>());
}
GMPNN_TEST(gmp_cuda_parity_direction) {
  CUDA_TEST_BODY(run_direction<float>(); run_direction<double>());
}
GMPNN_TEST(gmp_cuda_parity_epilogues) {
  CUDA_TEST_BODY(run_epilogues<float>(); run_epilogues<double>());
}
GMPNN_TEST(gmp_cuda_parity_weight_norm) {
  CUDA_TEST_BODY(run_weight_norm<float>(); run_weight_norm<double>());
}
