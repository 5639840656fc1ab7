// N-API wrappers of the GmP kernels (gmpnn/gmp.h): checks and dispatch only.
#include "binding.h"
#include "gmpnn/gmp.h"

namespace gmpnn_binding {
namespace {

// The direction's sin/cos cache: float64 whatever the layer's dtype, on the layer's device.
void CheckCache(Napi::Env env, const char* op, Buffer* cache, Buffer* like, int64_t m, int64_t n) {
  if (!cache) return;
  if (cache->dtype() != GMPNN_F64 || cache->device() != like->device())
    Throw(env, "E_DTYPE", std::string(op) + ": the sin/cos cache must be float64 on the layer's device");
  Fits(env, op, "cache", cache, gmpnn_gmp_direction_cache_len(m, n));
}

// gmpDirectionForward(U, theta, m, n). (The dense layer's forward leaves the sin/cos cache
// through gmpDenseForwardTheta.)
Napi::Value DirectionForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "gmpDirectionForward";
  Buffer *U = ArgBuffer(info, 0, op), *theta = ArgBuffer(info, 1, op);
  int64_t m = ArgInt(info, 2, op), n = ArgInt(info, 3, op);
  SameDeviceDtype(env, op, {U, theta});
  if (m < 0 || n < 2) Throw(env, "E_SHAPE", "gmpDirectionForward: need m >= 0, n >= 2");
  Fits(env, op, "U", U, m * n);
  Fits(env, op, "theta", theta, m * (n - 1));
  GMPNN_CALL(env, U->device(), gmp_direction_forward, U->dtype(), U->data(), theta->data(), m, n);
  return env.Undefined();
}

// gmpDirectionBackward(dtheta, dU, theta, m, n)
Napi::Value DirectionBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "gmpDirectionBackward";
  Buffer *dtheta = ArgBuffer(info, 0, op), *dU = ArgBuffer(info, 1, op),
         *theta = ArgBuffer(info, 2, op);
  int64_t m = ArgInt(info, 3, op), n = ArgInt(info, 4, op);
  SameDeviceDtype(env, op, {dtheta, dU, theta});
  if (m < 0 || n < 2) Throw(env, "E_SHAPE", "gmpDirectionBackward: need m >= 0, n >= 2");
  Fits(env, op, "dU", dU, m * n);
  Fits(env, op, "theta", theta, m * (n - 1));
  Fits(env, op, "dtheta", dtheta, m * (n - 1));
  GMPNN_CALL(env, dU->device(), gmp_direction_backward, dU->dtype(), dtheta->data(), dU->data(),
             theta->data(), m, n);
  return env.Undefined();
}

// gmpDirectionInverse(theta, r, W, m, n, absLast)
Napi::Value DirectionInverse(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "gmpDirectionInverse";
  Buffer *theta = ArgBuffer(info, 0, op), *r = ArgBuffer(info, 1, op), *W = ArgBuffer(info, 2, op);
  int64_t m = ArgInt(info, 3, op), n = ArgInt(info, 4, op);
  bool absLast = ArgBool(info, 5, op);
  SameDeviceDtype(env, op, {theta, r, W});
  if (m < 0 || n < 2) Throw(env, "E_SHAPE", "gmpDirectionInverse: need m >= 0, n >= 2");
  Fits(env, op, "W", W, m * n);
  Fits(env, op, "theta", theta, m * (n - 1));
  Fits(env, op, "r", r, m);
  GMPNN_CALL(env, W->device(), gmp_direction_inverse, W->dtype(), theta->data(), r->data(),
             W->data(), m, n, absLast);
  return env.Undefined();
}

// gmpEpilogueForward(Y, Z, lambda, r|null, rows, cols, act)
Napi::Value EpilogueForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "gmpEpilogueForward";
  Buffer *Y = ArgBuffer(info, 0, op), *Z = ArgBuffer(info, 1, op),
         *lambda = ArgBuffer(info, 2, op), *r = ArgBuffer(info, 3, op, true);
  int64_t rows = ArgInt(info, 4, op), cols = ArgInt(info, 5, op), act = ArgInt(info, 6, op);
  SameDeviceDtype(env, op, {Y, Z, lambda, r});
  if (rows < 0 || cols < 0) Throw(env, "E_SHAPE", "gmpEpilogueForward: negative size");
  Fits(env, op, "Y", Y, rows * cols);
  Fits(env, op, "Z", Z, rows * cols);
  Fits(env, op, "lambda", lambda, cols);
  Fits(env, op, "r", r, cols);
  GMPNN_CALL(env, Z->device(), gmp_epilogue_forward, Z->dtype(), Y->data(), Z->data(),
             lambda->data(), r ? r->data() : nullptr, rows, cols, (int)act);
  return env.Undefined();
}

// gmpEpilogueBackward(dZ, dlambda|null, dr|null, dY, Z, r|null, rows, cols, act)
Napi::Value EpilogueBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "gmpEpilogueBackward";
  Buffer *dZ = ArgBuffer(info, 0, op), *dl = ArgBuffer(info, 1, op, true),
         *dr = ArgBuffer(info, 2, op, true), *dY = ArgBuffer(info, 3, op),
         *Z = ArgBuffer(info, 4, op), *r = ArgBuffer(info, 5, op, true);
  int64_t rows = ArgInt(info, 6, op), cols = ArgInt(info, 7, op), act = ArgInt(info, 8, op);
  SameDeviceDtype(env, op, {dZ, dl, dr, dY, Z, r});
  if (rows < 0 || cols < 0) Throw(env, "E_SHAPE", "gmpEpilogueBackward: negative size");
  Fits(env, op, "dZ", dZ, rows * cols);
  Fits(env, op, "dY", dY, rows * cols);
  Fits(env, op, "Z", Z, rows * cols);
  Fits(env, op, "r", r, cols);
  Fits(env, op, "dlambda", dl, cols);
  Fits(env, op, "dr", dr, cols);
  GMPNN_CALL(env, Z->device(), gmp_epilogue_backward, Z->dtype(), dZ->data(),
             dl ? dl->data() : nullptr, dr ? dr->data() : nullptr, dY->data(), Z->data(),
             r ? r->data() : nullptr, rows, cols, (int)act);
  return env.Undefined();
}

// gmpDenseForward(Y, Z, X, W, lambda, r|null, rows, n, cols, act)
Napi::Value DenseForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "gmpDenseForward";
  Buffer *Y = ArgBuffer(info, 0, op), *Z = ArgBuffer(info, 1, op), *X = ArgBuffer(info, 2, op),
         *W = ArgBuffer(info, 3, op), *lambda = ArgBuffer(info, 4, op),
         *r = ArgBuffer(info, 5, op, true);
  int64_t rows = ArgInt(info, 6, op), n = ArgInt(info, 7, op), cols = ArgInt(info, 8, op),
          act = ArgInt(info, 9, op);
  SameDeviceDtype(env, op, {Y, Z, X, W, lambda, r});
  if (rows < 0 || n < 0 || cols < 0) Throw(env, "E_SHAPE", "gmpDenseForward: negative size");
  Fits(env, op, "Y", Y, rows * cols);
  Fits(env, op, "Z", Z, rows * cols);
  Fits(env, op, "X", X, rows * n);
  Fits(env, op, "W", W, cols * n);
  Fits(env, op, "lambda", lambda, cols);
  Fits(env, op, "r", r, cols);
  GMPNN_CALL(env, Z->device(), gmp_dense_forward, Z->dtype(), Y->data(), Z->data(), X->data(),
             W->data(), lambda->data(), r ? r->data() : nullptr, rows, n, cols, (int)act);
  return env.Undefined();
}

// gmpDenseForwardTheta(Y, Z, U|null, cache|null, X, theta, lambda, r, rows, n, cols, act): U =
// u(θ) is written (null: not kept) with the sin/cos cache, then the dense forward with W = U.
Napi::Value DenseForwardTheta(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "gmpDenseForwardTheta";
  Buffer *Y = ArgBuffer(info, 0, op), *Z = ArgBuffer(info, 1, op),
         *U = ArgBuffer(info, 2, op, true), *cache = ArgBuffer(info, 3, op, true),
         *X = ArgBuffer(info, 4, op),
         *theta = ArgBuffer(info, 5, op), *lambda = ArgBuffer(info, 6, op),
         *r = ArgBuffer(info, 7, op);
  int64_t rows = ArgInt(info, 8, op), n = ArgInt(info, 9, op), cols = ArgInt(info, 10, op),
          act = ArgInt(info, 11, op);
  SameDeviceDtype(env, op, {Y, Z, U, X, theta, lambda, r});
  if (rows < 0 || n < 2 || cols < 0) Throw(env, "E_SHAPE", "gmpDenseForwardTheta: need rows, cols >= 0 and n >= 2");
  Fits(env, op, "Y", Y, rows * cols);
  Fits(env, op, "Z", Z, rows * cols);
  Fits(env, op, "U", U, cols * n);
  Fits(env, op, "X", X, rows * n);
  Fits(env, op, "theta", theta, cols * (n - 1));
  Fits(env, op, "lambda", lambda, cols);
  Fits(env, op, "r", r, cols);
  CheckCache(env, op, cache, Z, cols, n);
  GMPNN_CALL(env, Z->device(), gmp_dense_forward_theta, Z->dtype(), Y->data(), Z->data(),
             U ? U->data() : nullptr, cache ? (double*)cache->data() : nullptr, X->data(),
             theta->data(), lambda->data(), r->data(), rows, n, cols, (int)act);
  return env.Undefined();
}

// gmpDenseBackward(dX|null, dW|null, dtheta|null, dlambda|null, dr|null, dZ, dY, Z, Y, X,
//                  W|null, theta|null, cache|null, lambda|null, r|null, rows, n, cols, act)
// Y: the forward's output (gmp.h: the CPU reads what it needs of z from it where it can).
// W may be null where the kernel does not read it (gmp.h: no dX, and dθ computed or no dr).
Napi::Value DenseBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "gmpDenseBackward";
  Buffer *dX = ArgBuffer(info, 0, op, true), *dW = ArgBuffer(info, 1, op, true),
         *dtheta = ArgBuffer(info, 2, op, true), *dl = ArgBuffer(info, 3, op, true),
         *dr = ArgBuffer(info, 4, op, true), *dZ = ArgBuffer(info, 5, op),
         *dY = ArgBuffer(info, 6, op), *Z = ArgBuffer(info, 7, op), *Y = ArgBuffer(info, 8, op),
         *X = ArgBuffer(info, 9, op), *W = ArgBuffer(info, 10, op, true),
         *theta = ArgBuffer(info, 11, op, true), *cache = ArgBuffer(info, 12, op, true),
         *lambda = ArgBuffer(info, 13, op, true), *r = ArgBuffer(info, 14, op, true);
  int64_t rows = ArgInt(info, 15, op), n = ArgInt(info, 16, op), cols = ArgInt(info, 17, op),
          act = ArgInt(info, 18, op);
  SameDeviceDtype(env, op, {dX, dW, dtheta, dl, dr, dZ, dY, Z, Y, X, W, theta, lambda, r});
  if (rows < 0 || n < 0 || cols < 0) Throw(env, "E_SHAPE", "gmpDenseBackward: negative size");
  if (theta && n < 2) Throw(env, "E_SHAPE", "gmpDenseBackward: theta needs n >= 2");
  Fits(env, op, "dX", dX, rows * n);
  Fits(env, op, "dW", dW, cols * n);
  Fits(env, op, "dlambda", dl, cols);
  Fits(env, op, "dr", dr, cols);
  Fits(env, op, "dZ", dZ, rows * cols);
  Fits(env, op, "dY", dY, rows * cols);
  Fits(env, op, "Z", Z, rows * cols);
  Fits(env, op, "Y", Y, rows * cols);
  Fits(env, op, "X", X, rows * n);
  Fits(env, op, "W", W, cols * n);
  Fits(env, op, "lambda", lambda, cols);
  Fits(env, op, "r", r, cols);
  if (dr && !lambda) Throw(env, "E_ARG", "gmpDenseBackward: dr needs lambda");
  if (!W && (dX || (dr && !(theta && dtheta))))
    Throw(env, "E_ARG", "gmpDenseBackward: W is needed for dX, and for dr without dtheta");
  if (theta) {
    Fits(env, op, "theta", theta, cols * (n - 1));
    Fits(env, op, "dtheta", dtheta, cols * (n - 1));
    CheckCache(env, op, cache, Z, cols, n);
  }
  GMPNN_CALL(env, Z->device(), gmp_dense_backward, Z->dtype(), dX ? dX->data() : nullptr,
             dW ? dW->data() : nullptr, dtheta ? dtheta->data() : nullptr,
             dl ? dl->data() : nullptr, dr ? dr->data() : nullptr, dZ->data(), dY->data(),
             Z->data(), Y->data(), X->data(), W ? W->data() : nullptr,
             theta ? theta->data() : nullptr,
             theta && cache ? (const double*)cache->data() : nullptr,
             lambda ? lambda->data() : nullptr, r ? r->data() : nullptr, rows, n, cols, (int)act);
  return env.Undefined();
}


// weightNormForward(W, v, g, rows, n)
Napi::Value WeightNormForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "weightNormForward";
  Buffer *W = ArgBuffer(info, 0, op), *v = ArgBuffer(info, 1, op), *g = ArgBuffer(info, 2, op);
  int64_t rows = ArgInt(info, 3, op), n = ArgInt(info, 4, op);
  SameDeviceDtype(env, op, {W, v, g});
  if (rows < 0 || n < 1) Throw(env, "E_SHAPE", "weightNormForward: need rows >= 0, n >= 1");
  Fits(env, op, "W", W, rows * n);
  Fits(env, op, "v", v, rows * n);
  Fits(env, op, "g", g, rows);
  GMPNN_CALL(env, v->device(), weight_norm_forward, v->dtype(), W->data(), v->data(), g->data(),
             rows, n);
  return env.Undefined();
}

// weightNormBackward(dv|null, dg|null, dW, v, g, rows, n)
Napi::Value WeightNormBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "weightNormBackward";
  Buffer *dv = ArgBuffer(info, 0, op, true), *dg = ArgBuffer(info, 1, op, true),
         *dW = ArgBuffer(info, 2, op), *v = ArgBuffer(info, 3, op), *g = ArgBuffer(info, 4, op);
  int64_t rows = ArgInt(info, 5, op), n = ArgInt(info, 6, op);
  SameDeviceDtype(env, op, {dv, dg, dW, v, g});
  if (rows < 0 || n < 1) Throw(env, "E_SHAPE", "weightNormBackward: need rows >= 0, n >= 1");
  Fits(env, op, "dv", dv, rows * n);
  Fits(env, op, "dg", dg, rows);
  Fits(env, op, "dW", dW, rows * n);
  Fits(env, op, "v", v, rows * n);
  Fits(env, op, "g", g, rows);
  GMPNN_CALL(env, v->device(), weight_norm_backward, v->dtype(), dv ? dv->data() : nullptr,
             dg ? dg->data() : nullptr, dW->data(), v->data(), g->data(), rows, n);
  return env.Undefined();
}
}  // namespace

void RegisterGmp(Napi::Env env, Napi::Object exports) {
  exports.Set("gmpDenseForward", Napi::Function::New(env, DenseForward));
  exports.Set("gmpDenseForwardTheta", Napi::Function::New(env, DenseForwardTheta));
  exports.Set("gmpDenseBackward", Napi::Function::New(env, DenseBackward));
  exports.Set("gmpDirectionForward", Napi::Function::New(env, DirectionForward));
  exports.Set("gmpDirectionBackward", Napi::Function::New(env, DirectionBackward));
  exports.Set("gmpDirectionInverse", Napi::Function::New(env, DirectionInverse));
  exports.Set("gmpEpilogueForward", Napi::Function::New(env, EpilogueForward));
  exports.Set("gmpEpilogueBackward", Napi::Function::New(env, EpilogueBackward));
  exports.Set("weightNormForward", Napi::Function::New(env, WeightNormForward));
  exports.Set("weightNormBackward", Napi::Function::New(env, WeightNormBackward));
}

}  // namespace gmpnn_binding
