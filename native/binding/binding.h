// N-API glue shared by the binding files: the native Buffer handle, argument checks, errors and
// device dispatch. No math lives in native/binding/: every computation is a kernel call.
#pragma once
#include <napi.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "gmpnn/common.h"

namespace gmpnn_binding {

enum Device { kCpu = 0, kCuda = 1 };

// Live-buffer accounting of one environment (shared with its buffers, which may outlive it).
struct Counters {
  std::atomic<int64_t> live[2] = {0, 0};
  std::atomic<int64_t> bytes[2] = {0, 0};
};

struct AddonData {
  Napi::FunctionReference bufferCtor;
  std::shared_ptr<Counters> counters = std::make_shared<Counters>();
};

class Buffer;

// What a Buffer's `handle` (an N-API External) points to: the Buffer while it lives. The Buffer
// and the External each hold it; whichever goes last frees it, so a stale handle reads as a dead
// buffer, never as whatever Buffer reuses the address.
struct BufferToken {
  Buffer* buf;
  bool external_alive;
};

// Owns one device allocation. JS sees dtype, device, numel, byteLength, disposed, dispose(), and
// `handle`: what kernels take as a buffer argument (ArgBuffer reads the External's value and
// checks its token; unwrapping the object was a private-property lookup, ~0.15 µs per argument).
class Buffer : public Napi::ObjectWrap<Buffer> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Buffer(const Napi::CallbackInfo& info);
  ~Buffer() override;

  void* data() const { return data_; }
  gmpnn_dtype dtype() const { return dtype_; }
  Device device() const { return device_; }
  int64_t numel() const { return numel_; }
  size_t bytes() const { return (size_t)numel_ * gmpnn_dtype_size(dtype_); }
  bool disposed() const { return data_ == nullptr; }
  void Pin() { ++pins_; }
  void Unpin();

  void Release();

 private:
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value GetDtype(const Napi::CallbackInfo& info);
  Napi::Value GetDevice(const Napi::CallbackInfo& info);
  Napi::Value GetNumel(const Napi::CallbackInfo& info);
  Napi::Value GetByteLength(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);

  void* data_ = nullptr;
  gmpnn_dtype dtype_ = GMPNN_F32;
  Device device_ = kCpu;
  int64_t numel_ = 0;
  int pins_ = 0;
  bool dispose_requested_ = false;
  std::shared_ptr<Counters> counters_;
  BufferToken* token_ = nullptr;
};

// Throws a JS Error whose `code` is a stable string (E_SHAPE, E_DTYPE, ...).
[[noreturn]] void Throw(Napi::Env env, const char* code, const std::string& message);
// Turns a kernel status into a thrown Error naming the op; returns when ok.
void Check(Napi::Env env, gmpnn_status st, const char* op);
const char* StatusCode(gmpnn_status st);

// Argument helpers: each throws a TypeError-style E_ARG naming the op and argument index.
Buffer* ArgBuffer(const Napi::CallbackInfo& info, size_t i, const char* op, bool nullable = false);
double ArgNumber(const Napi::CallbackInfo& info, size_t i, const char* op);
int64_t ArgInt(const Napi::CallbackInfo& info, size_t i, const char* op);
bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* op);
std::vector<int64_t> ArgInts(const Napi::CallbackInfo& info, size_t i, const char* op);

// All given (non-null) buffers share the first one's device and dtype.
void SameDeviceDtype(Napi::Env env, const char* op, std::initializer_list<Buffer*> bufs);
// Buffer b holds at least `needed` elements.
void Fits(Napi::Env env, const char* op, const char* name, Buffer* b, int64_t needed);
// CUDA work requested: throws E_NO_DEVICE when the addon lacks CUDA.
void RequireCuda(Napi::Env env, const char* op);

void RegisterMemory(Napi::Env env, Napi::Object exports);
void RegisterKernels(Napi::Env env, Napi::Object exports);
void RegisterGmp(Napi::Env env, Napi::Object exports);
void RegisterConv(Napi::Env env, Napi::Object exports);

}  // namespace gmpnn_binding

// Calls gmpnn_cpu_<name> or gmpnn_cuda_<name> by device and turns the status into a JS error.
#ifdef GMPNN_WITH_CUDA
#define GMPNN_CALL(env, dev, name, ...)                                                       \
  ::gmpnn_binding::Check(env,                                                                 \
                         (dev) == ::gmpnn_binding::kCuda ? gmpnn_cuda_##name(__VA_ARGS__)     \
                                                         : gmpnn_cpu_##name(__VA_ARGS__),     \
                         #name)
#else
#define GMPNN_CALL(env, dev, name, ...)                                                        \
  do {                                                                                         \
    if ((dev) == ::gmpnn_binding::kCuda) ::gmpnn_binding::RequireCuda(env, #name);             \
    ::gmpnn_binding::Check(env, gmpnn_cpu_##name(__VA_ARGS__), #name);                         \
  } while (0)
#endif
