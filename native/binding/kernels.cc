// N-API wrappers of the core kernel families: argument checks (type tags, devices, dtypes,
// bounds) and dispatch to gmpnn_cpu_* / gmpnn_cuda_*. Shape semantics are validated in TS
// (src/ops/) with full messages; here only what keeps memory safe is re-checked.
#include "binding.h"
#include "gmpnn/copy.h"
#include "gmpnn/eltwise.h"
#include "gmpnn/gemm.h"
#include "gmpnn/loss.h"
#include "gmpnn/norm.h"
#include "gmpnn/optim.h"
#include "gmpnn/reduce.h"
#include "gmpnn/rng.h"

namespace gmpnn_binding {
namespace {

int64_t Product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t x : v) p *= x;
  return p;
}

// One past the largest element index a strided view touches (0 when empty).
int64_t Extent(int64_t offset, const std::vector<int64_t>& shape,
               const std::vector<int64_t>& strides) {
  int64_t last = offset;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 0) return 0;
    last += (shape[d] - 1) * strides[d];
  }
  return last + 1;
}

void CheckView(Napi::Env env, const char* op, const std::vector<int64_t>& shape,
               const std::vector<int64_t>& strides, int64_t offset) {
  if (strides.size() != shape.size()) Throw(env, "E_SHAPE", std::string(op) + ": rank mismatch");
  for (size_t d = 0; d < shape.size(); ++d)
    if (shape[d] < 0 || strides[d] < 0)
      Throw(env, "E_SHAPE", std::string(op) + ": negative extent or stride");
  if (offset < 0) Throw(env, "E_SHAPE", std::string(op) + ": negative offset");
}

// unary(out, in, op)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "unary";
  Buffer *out = ArgBuffer(info, 0, op), *in = ArgBuffer(info, 1, op);
  int64_t code = ArgInt(info, 2, op);
  SameDeviceDtype(env, op, {out, in});
  Fits(env, op, "out", out, in->numel());
  GMPNN_CALL(env, out->device(), unary, out->dtype(), out->data(), in->data(), in->numel(),
             (int)code);
  return env.Undefined();
}

// binary(out, a, b, op, shape, aStrides, bStrides)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "binary";
  Buffer *out = ArgBuffer(info, 0, op), *a = ArgBuffer(info, 1, op), *b = ArgBuffer(info, 2, op);
  int64_t code = ArgInt(info, 3, op);
  auto shape = ArgInts(info, 4, op), as = ArgInts(info, 5, op), bs = ArgInts(info, 6, op);
  SameDeviceDtype(env, op, {out, a, b});
  CheckView(env, op, shape, as, 0);
  CheckView(env, op, shape, bs, 0);
  Fits(env, op, "out", out, Product(shape));
  Fits(env, op, "a", a, Extent(0, shape, as));
  Fits(env, op, "b", b, Extent(0, shape, bs));
  GMPNN_CALL(env, out->device(), binary, out->dtype(), out->data(), a->data(), b->data(),
             (int)code, (int)shape.size(), shape.data(), as.data(), bs.data());
  return env.Undefined();
}

// batchNormForward(y, mean, var, x, gamma, beta, rows, C, eps)
Napi::Value BatchNormForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "batchNormForward";
  Buffer *y = ArgBuffer(info, 0, op), *mean = ArgBuffer(info, 1, op), *var = ArgBuffer(info, 2, op),
         *x = ArgBuffer(info, 3, op), *gamma = ArgBuffer(info, 4, op), *beta = ArgBuffer(info, 5, op);
  int64_t rows = ArgInt(info, 6, op), C = ArgInt(info, 7, op);
  double eps = ArgNumber(info, 8, op);
  SameDeviceDtype(env, op, {y, mean, var, x, gamma, beta});
  if (rows < 1 || C < 1) Throw(env, "E_SHAPE", "batchNormForward: need rows >= 1, C >= 1");
  Fits(env, op, "y", y, rows * C);
  Fits(env, op, "x", x, rows * C);
  Fits(env, op, "mean", mean, C);
  Fits(env, op, "var", var, C);
  Fits(env, op, "gamma", gamma, C);
  Fits(env, op, "beta", beta, C);
  GMPNN_CALL(env, x->device(), batch_norm_forward, x->dtype(), y->data(), mean->data(),
             var->data(), x->data(), gamma->data(), beta->data(), rows, C, eps);
  return env.Undefined();
}

// batchNormBackward(dx|null, dgamma|null, dbeta|null, dy, x, gamma, mean, var, rows, C, eps)
Napi::Value BatchNormBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "batchNormBackward";
  Buffer *dx = ArgBuffer(info, 0, op, true), *dgamma = ArgBuffer(info, 1, op, true),
         *dbeta = ArgBuffer(info, 2, op, true), *dy = ArgBuffer(info, 3, op),
         *x = ArgBuffer(info, 4, op), *gamma = ArgBuffer(info, 5, op),
         *mean = ArgBuffer(info, 6, op), *var = ArgBuffer(info, 7, op);
  int64_t rows = ArgInt(info, 8, op), C = ArgInt(info, 9, op);
  double eps = ArgNumber(info, 10, op);
  SameDeviceDtype(env, op, {dx, dgamma, dbeta, dy, x, gamma, mean, var});
  if (rows < 1 || C < 1) Throw(env, "E_SHAPE", "batchNormBackward: need rows >= 1, C >= 1");
  Fits(env, op, "dx", dx, rows * C);
  Fits(env, op, "dy", dy, rows * C);
  Fits(env, op, "x", x, rows * C);
  Fits(env, op, "dgamma", dgamma, C);
  Fits(env, op, "dbeta", dbeta, C);
  Fits(env, op, "gamma", gamma, C);
  Fits(env, op, "mean", mean, C);
  Fits(env, op, "var", var, C);
  GMPNN_CALL(env, x->device(), batch_norm_backward, x->dtype(), dx ? dx->data() : nullptr,
             dgamma ? dgamma->data() : nullptr, dbeta ? dbeta->data() : nullptr, dy->data(),
             x->data(), gamma->data(), mean->data(), var->data(), rows, C, eps);
  return env.Undefined();
}

// meanOnlyBatchNormForward(y, mean, x, rows, C, scale)
Napi::Value MeanOnlyBatchNormForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "meanOnlyBatchNormForward";
  Buffer *y = ArgBuffer(info, 0, op), *mean = ArgBuffer(info, 1, op), *x = ArgBuffer(info, 2, op);
  int64_t rows = ArgInt(info, 3, op), C = ArgInt(info, 4, op);
  double scale = ArgNumber(info, 5, op);
  SameDeviceDtype(env, op, {y, mean, x});
  if (rows < 1 || C < 1) Throw(env, "E_SHAPE", "meanOnlyBatchNormForward: need rows >= 1, C >= 1");
  Fits(env, op, "y", y, rows * C);
  Fits(env, op, "x", x, rows * C);
  Fits(env, op, "mean", mean, C);
  GMPNN_CALL(env, x->device(), mean_only_batch_norm_forward, x->dtype(), y->data(), mean->data(),
             x->data(), rows, C, scale);
  return env.Undefined();
}

// meanOnlyBatchNormBackward(dx, dy, rows, C, scale)
Napi::Value MeanOnlyBatchNormBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "meanOnlyBatchNormBackward";
  Buffer *dx = ArgBuffer(info, 0, op), *dy = ArgBuffer(info, 1, op);
  int64_t rows = ArgInt(info, 2, op), C = ArgInt(info, 3, op);
  double scale = ArgNumber(info, 4, op);
  SameDeviceDtype(env, op, {dx, dy});
  if (rows < 1 || C < 1) Throw(env, "E_SHAPE", "meanOnlyBatchNormBackward: need rows >= 1, C >= 1");
  Fits(env, op, "dx", dx, rows * C);
  Fits(env, op, "dy", dy, rows * C);
  GMPNN_CALL(env, dy->device(), mean_only_batch_norm_backward, dy->dtype(), dx->data(), dy->data(),
             rows, C, scale);
  return env.Undefined();
}

// affine(out, in, alpha, beta)
Napi::Value Affine(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "affine";
  Buffer *out = ArgBuffer(info, 0, op), *in = ArgBuffer(info, 1, op);
  double alpha = ArgNumber(info, 2, op), beta = ArgNumber(info, 3, op);
  SameDeviceDtype(env, op, {out, in});
  Fits(env, op, "out", out, in->numel());
  GMPNN_CALL(env, out->device(), affine, out->dtype(), out->data(), in->data(), in->numel(), alpha,
             beta);
  return env.Undefined();
}

// channelAffine(out, in, scale|null, shift|null, rows, cols): out[r, c] = in[r, c]·scale[c] + shift[c]
Napi::Value ChannelAffine(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "channelAffine";
  Buffer *out = ArgBuffer(info, 0, op), *in = ArgBuffer(info, 1, op),
         *scale = ArgBuffer(info, 2, op, true), *shift = ArgBuffer(info, 3, op, true);
  int64_t rows = ArgInt(info, 4, op), cols = ArgInt(info, 5, op);
  SameDeviceDtype(env, op, {out, in, scale, shift});
  if (rows < 0 || cols < 0) Throw(env, "E_SHAPE", "channelAffine: negative size");
  Fits(env, op, "out", out, rows * cols);
  Fits(env, op, "in", in, rows * cols);
  Fits(env, op, "scale", scale, cols);
  Fits(env, op, "shift", shift, cols);
  GMPNN_CALL(env, out->device(), channel_affine, out->dtype(), out->data(), in->data(),
             scale ? scale->data() : nullptr, shift ? shift->data() : nullptr, rows, cols);
  return env.Undefined();
}

// fill(out, value)
Napi::Value Fill(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Buffer* out = ArgBuffer(info, 0, "fill");
  double v = ArgNumber(info, 1, "fill");
  GMPNN_CALL(env, out->device(), fill, out->dtype(), out->data(), out->numel(), v);
  return env.Undefined();
}

// cast(out, in): between dtypes on one device.
Napi::Value Cast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "cast";
  Buffer *out = ArgBuffer(info, 0, op), *in = ArgBuffer(info, 1, op);
  if (out->device() != in->device()) Throw(env, "E_DEVICE", "cast: tensors on different devices");
  Fits(env, op, "out", out, in->numel());
  GMPNN_CALL(env, out->device(), cast, out->dtype(), out->data(), in->dtype(), in->data(),
             in->numel());
  return env.Undefined();
}

// reduce(out, in, op, outer, R, inner)
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "reduce";
  Buffer *out = ArgBuffer(info, 0, op), *in = ArgBuffer(info, 1, op);
  int64_t code = ArgInt(info, 2, op), outer = ArgInt(info, 3, op), R = ArgInt(info, 4, op),
          inner = ArgInt(info, 5, op);
  SameDeviceDtype(env, op, {out, in});
  if (outer < 0 || R < 1 || inner < 0) Throw(env, "E_SHAPE", "reduce: bad view");
  Fits(env, op, "in", in, outer * R * inner);
  Fits(env, op, "out", out, outer * inner);
  GMPNN_CALL(env, out->device(), reduce, out->dtype(), out->data(), in->data(), (int)code, outer,
             R, inner);
  return env.Undefined();
}

// copyStrided(out, outOffset, outStrides, in, inOffset, inStrides, shape)
Napi::Value CopyStrided(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "copyStrided";
  Buffer* out = ArgBuffer(info, 0, op);
  int64_t oo = ArgInt(info, 1, op);
  auto os = ArgInts(info, 2, op);
  Buffer* in = ArgBuffer(info, 3, op);
  int64_t io = ArgInt(info, 4, op);
  auto is = ArgInts(info, 5, op), shape = ArgInts(info, 6, op);
  SameDeviceDtype(env, op, {out, in});
  CheckView(env, op, shape, os, oo);
  CheckView(env, op, shape, is, io);
  Fits(env, op, "out", out, Extent(oo, shape, os));
  Fits(env, op, "in", in, Extent(io, shape, is));
  GMPNN_CALL(env, out->device(), copy_strided, out->dtype(), out->data(), oo, os.data(),
             in->data(), io, is.data(), (int)shape.size(), shape.data());
  return env.Undefined();
}

// gemm(C, A, B, transA, transB, M, N, K, alpha, beta): contiguous operands (lda etc. implied).
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "gemm";
  Buffer *C = ArgBuffer(info, 0, op), *A = ArgBuffer(info, 1, op), *B = ArgBuffer(info, 2, op);
  bool ta = ArgBool(info, 3, op), tb = ArgBool(info, 4, op);
  int64_t M = ArgInt(info, 5, op), N = ArgInt(info, 6, op), K = ArgInt(info, 7, op);
  double alpha = ArgNumber(info, 8, op), beta = ArgNumber(info, 9, op);
  SameDeviceDtype(env, op, {C, A, B});
  if (M < 0 || N < 0 || K < 0) Throw(env, "E_SHAPE", "gemm: negative size");
  Fits(env, op, "A", A, M * K);
  Fits(env, op, "B", B, K * N);
  Fits(env, op, "C", C, M * N);
  int64_t lda = ta ? M : K, ldb = tb ? K : N, ldc = N;
  GMPNN_CALL(env, C->device(), gemm, C->dtype(), C->data(), A->data(), B->data(), ta, tb, M, N, K,
             lda ? lda : 1, ldb ? ldb : 1, ldc ? ldc : 1, alpha, beta);
  return env.Undefined();
}

// lossForward(loss, pred, target, kind) / lossBackward(dpred, dloss, pred, target, kind)
Napi::Value LossForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "lossForward";
  Buffer *loss = ArgBuffer(info, 0, op), *p = ArgBuffer(info, 1, op), *t = ArgBuffer(info, 2, op);
  int64_t kind = ArgInt(info, 3, op);
  SameDeviceDtype(env, op, {loss, p, t});
  Fits(env, op, "loss", loss, 1);
  Fits(env, op, "target", t, p->numel());
  GMPNN_CALL(env, p->device(), loss_forward, p->dtype(), loss->data(), p->data(), t->data(),
             p->numel(), (int)kind);
  return env.Undefined();
}

Napi::Value LossBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "lossBackward";
  Buffer *g = ArgBuffer(info, 0, op), *dl = ArgBuffer(info, 1, op), *p = ArgBuffer(info, 2, op),
         *t = ArgBuffer(info, 3, op);
  int64_t kind = ArgInt(info, 4, op);
  SameDeviceDtype(env, op, {g, dl, p, t});
  Fits(env, op, "dloss", dl, 1);
  Fits(env, op, "target", t, p->numel());
  Fits(env, op, "dpred", g, p->numel());
  GMPNN_CALL(env, p->device(), loss_backward, p->dtype(), g->data(), dl->data(), p->data(),
             t->data(), p->numel(), (int)kind);
  return env.Undefined();
}

// softmaxXentForward(loss, probs, logits, labels, N, C)
Napi::Value XentForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "softmaxXentForward";
  Buffer *loss = ArgBuffer(info, 0, op), *probs = ArgBuffer(info, 1, op),
         *logits = ArgBuffer(info, 2, op), *labels = ArgBuffer(info, 3, op);
  int64_t N = ArgInt(info, 4, op), C = ArgInt(info, 5, op);
  SameDeviceDtype(env, op, {loss, probs, logits, labels});
  Fits(env, op, "loss", loss, 1);
  Fits(env, op, "logits", logits, N * C);
  Fits(env, op, "probs", probs, N * C);
  Fits(env, op, "labels", labels, N);
  GMPNN_CALL(env, logits->device(), softmax_xent_forward, logits->dtype(), loss->data(),
             probs->data(), logits->data(), labels->data(), N, C);
  return env.Undefined();
}

// softmaxXentBackward(dlogits, dloss, probs, labels, N, C)
Napi::Value XentBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "softmaxXentBackward";
  Buffer *g = ArgBuffer(info, 0, op), *dl = ArgBuffer(info, 1, op),
         *probs = ArgBuffer(info, 2, op), *labels = ArgBuffer(info, 3, op);
  int64_t N = ArgInt(info, 4, op), C = ArgInt(info, 5, op);
  SameDeviceDtype(env, op, {g, dl, probs, labels});
  Fits(env, op, "dloss", dl, 1);
  Fits(env, op, "dlogits", g, N * C);
  Fits(env, op, "probs", probs, N * C);
  Fits(env, op, "labels", labels, N);
  GMPNN_CALL(env, g->device(), softmax_xent_backward, g->dtype(), g->data(), dl->data(),
             probs->data(), labels->data(), N, C);
  return env.Undefined();
}

// sgdStep(param, momentumBuf|null, grad, lr, momentum, dampening, weightDecay, nesterov, first)
Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "sgdStep";
  Buffer *p = ArgBuffer(info, 0, op), *buf = ArgBuffer(info, 1, op, true),
         *g = ArgBuffer(info, 2, op);
  double lr = ArgNumber(info, 3, op), mu = ArgNumber(info, 4, op), damp = ArgNumber(info, 5, op),
         wd = ArgNumber(info, 6, op);
  bool nesterov = ArgBool(info, 7, op), first = ArgBool(info, 8, op);
  SameDeviceDtype(env, op, {p, buf, g});
  Fits(env, op, "grad", g, p->numel());
  Fits(env, op, "momentum buffer", buf, p->numel());
  GMPNN_CALL(env, p->device(), sgd_step, p->dtype(), p->data(), buf ? buf->data() : nullptr,
             g->data(), p->numel(), lr, mu, damp, wd, nesterov, first);
  return env.Undefined();
}

// adamStepMany(lr, beta1, beta2, eps, weightDecay, decoupled, count,
//              param0, m0, v0, grad0, step0, param1, ...): adam_step on each of count parameter
// tensors in one call (a model's whole update: one binding crossing instead of one per tensor).
// Every argument is checked before any tensor is updated.
Napi::Value AdamStepMany(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "adamStepMany";
  double lr = ArgNumber(info, 0, op), b1 = ArgNumber(info, 1, op), b2 = ArgNumber(info, 2, op),
         eps = ArgNumber(info, 3, op), wd = ArgNumber(info, 4, op);
  bool decoupled = ArgBool(info, 5, op);
  int64_t count = ArgInt(info, 6, op);
  if (count < 0 || info.Length() != (size_t)(7 + 5 * count))
    Throw(env, "E_ARG", "adamStepMany: expected 5 arguments (param, m, v, grad, step) per tensor");
  struct Item {
    Buffer *p, *m, *v, *g;
    int64_t step;
  };
  std::vector<Item> items((size_t)count);
  for (int64_t t = 0; t < count; ++t) {
    const size_t a = 7 + 5 * (size_t)t;
    Item& it = items[(size_t)t];
    it.p = ArgBuffer(info, a, op);
    it.m = ArgBuffer(info, a + 1, op);
    it.v = ArgBuffer(info, a + 2, op);
    it.g = ArgBuffer(info, a + 3, op);
    it.step = ArgInt(info, a + 4, op);
    SameDeviceDtype(env, op, {it.p, it.m, it.v, it.g});
    Fits(env, op, "grad", it.g, it.p->numel());
    Fits(env, op, "m", it.m, it.p->numel());
    Fits(env, op, "v", it.v, it.p->numel());
  }
  for (const Item& it : items)
    GMPNN_CALL(env, it.p->device(), adam_step, it.p->dtype(), it.p->data(), it.m->data(),
               it.v->data(), it.g->data(), it.p->numel(), lr, b1, b2, eps, wd, decoupled, it.step);
  return env.Undefined();
}

// rngUniform(out, seed, offset, low, high) / rngNormal(out, seed, offset, mean, std)
// seed and offset are integers below 2^53.
Napi::Value RngUniform(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "rngUniform";
  Buffer* out = ArgBuffer(info, 0, op);
  int64_t seed = ArgInt(info, 1, op), offset = ArgInt(info, 2, op);
  double lo = ArgNumber(info, 3, op), hi = ArgNumber(info, 4, op);
  GMPNN_CALL(env, out->device(), rng_uniform, out->dtype(), out->data(), out->numel(),
             (uint64_t)seed, (uint64_t)offset, lo, hi);
  return env.Undefined();
}

Napi::Value RngNormal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "rngNormal";
  Buffer* out = ArgBuffer(info, 0, op);
  int64_t seed = ArgInt(info, 1, op), offset = ArgInt(info, 2, op);
  double mean = ArgNumber(info, 3, op), sd = ArgNumber(info, 4, op);
  GMPNN_CALL(env, out->device(), rng_normal, out->dtype(), out->data(), out->numel(),
             (uint64_t)seed, (uint64_t)offset, mean, sd);
  return env.Undefined();
}

}  // namespace

void RegisterKernels(Napi::Env env, Napi::Object exports) {
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("affine", Napi::Function::New(env, Affine));
  exports.Set("fill", Napi::Function::New(env, Fill));
  exports.Set("channelAffine", Napi::Function::New(env, ChannelAffine));
  exports.Set("batchNormForward", Napi::Function::New(env, BatchNormForward));
  exports.Set("batchNormBackward", Napi::Function::New(env, BatchNormBackward));
  exports.Set("meanOnlyBatchNormForward", Napi::Function::New(env, MeanOnlyBatchNormForward));
  exports.Set("meanOnlyBatchNormBackward", Napi::Function::New(env, MeanOnlyBatchNormBackward));
  exports.Set("cast", Napi::Function::New(env, Cast));
  exports.Set("reduce", Napi::Function::New(env, Reduce));
  exports.Set("copyStrided", Napi::Function::New(env, CopyStrided));
  exports.Set("gemm", Napi::Function::New(env, Gemm));
  exports.Set("lossForward", Napi::Function::New(env, LossForward));
  exports.Set("lossBackward", Napi::Function::New(env, LossBackward));
  exports.Set("softmaxXentForward", Napi::Function::New(env, XentForward));
  exports.Set("softmaxXentBackward", Napi::Function::New(env, XentBackward));
  exports.Set("sgdStep", Napi::Function::New(env, SgdStep));
  exports.Set("adamStepMany", Napi::Function::New(env, AdamStepMany));
  exports.Set("rngUniform", Napi::Function::New(env, RngUniform));
  exports.Set("rngNormal", Napi::Function::New(env, RngNormal));
}

}  // namespace gmpnn_binding
