// N-API wrappers of the convolution and pooling kernels (gmpnn/conv.h, gmpnn/pool.h): argument
// checks and device dispatch only. Geometry travels as one integer array per call:
//   conv: [N, H, W, C_in, C_out, KH, KW, OH, OW, stride_h, stride_w, pad_h, pad_w]
//   pool: [N, H, W, C, KH, KW, OH, OW, stride_h, stride_w, pad_h, pad_w]
#include <cmath>
#include <string>
#include <vector>

#include "binding.h"
#include "gmpnn/conv.h"
#include "gmpnn/pool.h"

namespace gmpnn_binding {
namespace {

// Exactly `count` non-negative integers, each below 2^31 (so every product below fits int64).
std::vector<int64_t> ArgDims(const Napi::CallbackInfo& info, size_t i, const char* op,
                             size_t count) {
  if (i >= info.Length() || !info[i].IsArray())
    Throw(info.Env(), "E_ARG", std::string(op) + ": argument " + std::to_string(i) +
                                   " must be an array of " + std::to_string(count) + " integers");
  Napi::Array a = info[i].As<Napi::Array>();
  if (a.Length() != count)
    Throw(info.Env(), "E_ARG", std::string(op) + ": expected " + std::to_string(count) +
                                   " geometry integers, got " + std::to_string(a.Length()));
  std::vector<int64_t> out(count);
  for (uint32_t k = 0; k < count; ++k) {
    Napi::Value v = a[k];
    const double x = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1.0;
    if (!(x >= 0 && x < 2147483648.0 && std::floor(x) == x))
      Throw(info.Env(), "E_ARG", std::string(op) + ": geometry entry " + std::to_string(k) +
                                     " must be a non-negative integer below 2^31");
    out[k] = (int64_t)x;
  }
  return out;
}

gmpnn_conv2d_dims ConvDims(const Napi::CallbackInfo& info, size_t i, const char* op) {
  auto v = ArgDims(info, i, op, 13);
  gmpnn_conv2d_dims d{};
  d.N = v[0]; d.H = v[1]; d.W = v[2]; d.C_in = v[3]; d.C_out = v[4]; d.KH = v[5]; d.KW = v[6];
  d.OH = v[7]; d.OW = v[8]; d.stride_h = v[9]; d.stride_w = v[10]; d.pad_h = v[11]; d.pad_w = v[12];
  if (d.KH < 1 || d.KW < 1 || d.stride_h < 1 || d.stride_w < 1)
    Throw(info.Env(), "E_SHAPE", std::string(op) + ": kernel size and stride must be >= 1");
  const double big = 9007199254740992.0;  // 2^53
  if ((double)d.N * d.H * d.W * d.C_in > big || (double)d.N * d.OH * d.OW * d.C_out > big ||
      (double)d.C_out * d.KH * d.KW * d.C_in > big)
    Throw(info.Env(), "E_SHAPE", std::string(op) + ": tensor sizes overflow");
  return d;
}

gmpnn_pool2d_dims PoolDims(const Napi::CallbackInfo& info, size_t i, const char* op) {
  auto v = ArgDims(info, i, op, 12);
  gmpnn_pool2d_dims d{};
  d.N = v[0]; d.H = v[1]; d.W = v[2]; d.C = v[3]; d.KH = v[4]; d.KW = v[5]; d.OH = v[6];
  d.OW = v[7]; d.stride_h = v[8]; d.stride_w = v[9]; d.pad_h = v[10]; d.pad_w = v[11];
  if (d.KH < 1 || d.KW < 1 || d.stride_h < 1 || d.stride_w < 1)
    Throw(info.Env(), "E_SHAPE", std::string(op) + ": window size and stride must be >= 1");
  const double big = 9007199254740992.0;  // 2^53
  if ((double)d.N * d.H * d.W * d.C > big || (double)d.N * d.OH * d.OW * d.C > big)
    Throw(info.Env(), "E_SHAPE", std::string(op) + ": tensor sizes overflow");
  return d;
}

int64_t InSize(const gmpnn_conv2d_dims& d) { return d.N * d.H * d.W * d.C_in; }
int64_t OutSize(const gmpnn_conv2d_dims& d) { return d.N * d.OH * d.OW * d.C_out; }
int64_t WSize(const gmpnn_conv2d_dims& d) { return d.C_out * d.KH * d.KW * d.C_in; }
int64_t InSize(const gmpnn_pool2d_dims& d) { return d.N * d.H * d.W * d.C; }
int64_t OutSize(const gmpnn_pool2d_dims& d) { return d.N * d.OH * d.OW * d.C; }

// conv2dForward(out, in, weight, dims)
Napi::Value ConvForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "conv2dForward";
  Buffer *out = ArgBuffer(info, 0, op), *in = ArgBuffer(info, 1, op), *w = ArgBuffer(info, 2, op);
  const gmpnn_conv2d_dims d = ConvDims(info, 3, op);
  SameDeviceDtype(env, op, {out, in, w});
  Fits(env, op, "out", out, OutSize(d));
  Fits(env, op, "input", in, InSize(d));
  Fits(env, op, "weight", w, WSize(d));
  GMPNN_CALL(env, out->device(), conv2d_forward, out->dtype(), out->data(), in->data(), w->data(), &d);
  return env.Undefined();
}

// conv2dBackwardData(din, dout, weight, dims)
Napi::Value ConvBackwardData(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "conv2dBackwardData";
  Buffer *din = ArgBuffer(info, 0, op), *dout = ArgBuffer(info, 1, op), *w = ArgBuffer(info, 2, op);
  const gmpnn_conv2d_dims d = ConvDims(info, 3, op);
  SameDeviceDtype(env, op, {din, dout, w});
  Fits(env, op, "din", din, InSize(d));
  Fits(env, op, "dout", dout, OutSize(d));
  Fits(env, op, "weight", w, WSize(d));
  GMPNN_CALL(env, din->device(), conv2d_backward_data, din->dtype(), din->data(), dout->data(),
             w->data(), &d);
  return env.Undefined();
}

// conv2dBackwardFilter(dweight, dout, in, dims)
Napi::Value ConvBackwardFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "conv2dBackwardFilter";
  Buffer *dw = ArgBuffer(info, 0, op), *dout = ArgBuffer(info, 1, op), *in = ArgBuffer(info, 2, op);
  const gmpnn_conv2d_dims d = ConvDims(info, 3, op);
  SameDeviceDtype(env, op, {dw, dout, in});
  Fits(env, op, "dweight", dw, WSize(d));
  Fits(env, op, "dout", dout, OutSize(d));
  Fits(env, op, "input", in, InSize(d));
  GMPNN_CALL(env, dw->device(), conv2d_backward_filter, dw->dtype(), dw->data(), dout->data(),
             in->data(), &d);
  return env.Undefined();
}

// maxPool2dForward(out, argmax, in, dims)
Napi::Value MaxPoolForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "maxPool2dForward";
  Buffer *out = ArgBuffer(info, 0, op), *arg = ArgBuffer(info, 1, op), *in = ArgBuffer(info, 2, op);
  const gmpnn_pool2d_dims d = PoolDims(info, 3, op);
  SameDeviceDtype(env, op, {out, arg, in});
  Fits(env, op, "out", out, OutSize(d));
  Fits(env, op, "argmax", arg, OutSize(d));
  Fits(env, op, "input", in, InSize(d));
  GMPNN_CALL(env, out->device(), max_pool2d_forward, out->dtype(), out->data(), arg->data(),
             in->data(), &d);
  return env.Undefined();
}

// maxPool2dBackward(din, dout, argmax, dims)
Napi::Value MaxPoolBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "maxPool2dBackward";
  Buffer *din = ArgBuffer(info, 0, op), *dout = ArgBuffer(info, 1, op), *arg = ArgBuffer(info, 2, op);
  const gmpnn_pool2d_dims d = PoolDims(info, 3, op);
  SameDeviceDtype(env, op, {din, dout, arg});
  Fits(env, op, "din", din, InSize(d));
  Fits(env, op, "dout", dout, OutSize(d));
  Fits(env, op, "argmax", arg, OutSize(d));
  GMPNN_CALL(env, din->device(), max_pool2d_backward, din->dtype(), din->data(), dout->data(),
             arg->data(), &d);
  return env.Undefined();
}

// avgPool2dForward(out, in, dims, countIncludePad)
Napi::Value AvgPoolForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "avgPool2dForward";
  Buffer *out = ArgBuffer(info, 0, op), *in = ArgBuffer(info, 1, op);
  const gmpnn_pool2d_dims d = PoolDims(info, 2, op);
  const bool inc = ArgBool(info, 3, op);
  SameDeviceDtype(env, op, {out, in});
  Fits(env, op, "out", out, OutSize(d));
  Fits(env, op, "input", in, InSize(d));
  GMPNN_CALL(env, out->device(), avg_pool2d_forward, out->dtype(), out->data(), in->data(), &d,
             inc ? 1 : 0);
  return env.Undefined();
}

// avgPool2dBackward(din, dout, dims, countIncludePad)
Napi::Value AvgPoolBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "avgPool2dBackward";
  Buffer *din = ArgBuffer(info, 0, op), *dout = ArgBuffer(info, 1, op);
  const gmpnn_pool2d_dims d = PoolDims(info, 2, op);
  const bool inc = ArgBool(info, 3, op);
  SameDeviceDtype(env, op, {din, dout});
  Fits(env, op, "din", din, InSize(d));
  Fits(env, op, "dout", dout, OutSize(d));
  GMPNN_CALL(env, din->device(), avg_pool2d_backward, din->dtype(), din->data(), dout->data(), &d,
             inc ? 1 : 0);
  return env.Undefined();
}

}  // namespace

void RegisterConv(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2dForward", Napi::Function::New(env, ConvForward));
  exports.Set("conv2dBackwardData", Napi::Function::New(env, ConvBackwardData));
  exports.Set("conv2dBackwardFilter", Napi::Function::New(env, ConvBackwardFilter));
  exports.Set("maxPool2dForward", Napi::Function::New(env, MaxPoolForward));
  exports.Set("maxPool2dBackward", Napi::Function::New(env, MaxPoolBackward));
  exports.Set("avgPool2dForward", Napi::Function::New(env, AvgPoolForward));
  exports.Set("avgPool2dBackward", Napi::Function::New(env, AvgPoolBackward));
}

}  // namespace gmpnn_binding
