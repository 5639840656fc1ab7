// The native Buffer (an ObjectWrap) and its handle (an External checked against a live set), host
// transfers and memory reports.
#include <cstdint>
#include <cstring>
#include <unordered_set>

#include "binding.h"
#include "gmpnn/device.h"
#include "gmpnn/gemm.h"

namespace gmpnn_binding {

namespace {
// The tokens whose handle (External) is alive on this thread (each JS environment runs on its
// own thread): an External is one of our handles iff its value is here (another addon's External
// could point anywhere). A hash lookup, where unwrapping the NativeBuffer object was a
// private-property lookup per argument; in front of it a direct-mapped cache of tokens found
// there, since a training step passes the same few dozen handles every time (a hit is a compare,
// the set's lookup a division and a chain walk). Never destroyed: finalizers may run during
// environment teardown, after this thread's thread_local destructors.
struct LiveTokens {
  std::unordered_set<const BufferToken*> set;
  static constexpr size_t kSlots = 256;
  const BufferToken* recent[kSlots] = {};  // each NULL or a member of set
  static size_t Slot(const BufferToken* t) {
    const uintptr_t a = reinterpret_cast<uintptr_t>(t);
    return ((a >> 4) ^ (a >> 12)) % kSlots;
  }
  bool Contains(const BufferToken* t) {
    if (!t) return false;
    const size_t s = Slot(t);
    if (recent[s] == t) return true;
    if (!set.count(t)) return false;
    recent[s] = t;
    return true;
  }
  void Insert(const BufferToken* t) { set.insert(t); }
  void Erase(const BufferToken* t) {
    set.erase(t);
    const size_t s = Slot(t);
    if (recent[s] == t) recent[s] = nullptr;
  }
};
thread_local LiveTokens* live_tokens_ptr = nullptr;
LiveTokens& live_tokens() {
  if (!live_tokens_ptr) live_tokens_ptr = new LiveTokens();
  return *live_tokens_ptr;
}
void FinalizeHandle(napi_env, void* data, void*) {
  auto* token = static_cast<BufferToken*>(data);
  live_tokens().Erase(token);
  token->external_alive = false;
  if (!token->buf) delete token;
}
}  // namespace

Napi::Function Buffer::Init(Napi::Env env) {
  return DefineClass(env, "NativeBuffer",
                     {InstanceMethod("dispose", &Buffer::Dispose),
                      InstanceAccessor("dtype", &Buffer::GetDtype, nullptr),
                      InstanceAccessor("device", &Buffer::GetDevice, nullptr),
                      InstanceAccessor("numel", &Buffer::GetNumel, nullptr),
                      InstanceAccessor("byteLength", &Buffer::GetByteLength, nullptr),
                      InstanceAccessor("disposed", &Buffer::GetDisposed, nullptr)});
}

// new NativeBuffer(device, dtype, numel): uninitialized memory.
Buffer::Buffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Buffer>(info) {
  Napi::Env env = info.Env();
  const char* op = "alloc";
  int64_t dev = ArgInt(info, 0, op), dt = ArgInt(info, 1, op), n = ArgInt(info, 2, op);
  if (dev != kCpu && dev != kCuda) Throw(env, "E_ARG", "alloc: unknown device");
  if (dt != GMPNN_F32 && dt != GMPNN_F64) Throw(env, "E_DTYPE", "alloc: unknown dtype");
  if (n < 0 || n > (int64_t(1) << 40)) Throw(env, "E_ARG", "alloc: bad element count");
  device_ = (Device)dev;
  dtype_ = (gmpnn_dtype)dt;
  numel_ = n;
  if (device_ == kCpu) {
    data_ = gmpnn_cpu_malloc(bytes());
    if (!data_)
      Throw(env, "E_OOM", "alloc: out of host memory allocating " + std::to_string(bytes()) +
                              " bytes");
  } else {
    RequireCuda(env, "alloc");
#ifdef GMPNN_WITH_CUDA
    void* p = nullptr;
    Check(env, gmpnn_cuda_malloc(&p, bytes() ? bytes() : 1), "alloc");
    data_ = p;
#endif
  }
  token_ = new BufferToken{this, true};
  napi_value handle;
  if (napi_create_external(env, token_, FinalizeHandle, nullptr, &handle) != napi_ok) {
    token_->external_alive = false;
    Throw(env, "E_ARG", "alloc: could not create the buffer handle");
  }
  live_tokens().Insert(token_);
  info.This().As<Napi::Object>().DefineProperty(
      Napi::PropertyDescriptor::Value("handle", Napi::Value(env, handle), napi_enumerable));
  auto* data = env.GetInstanceData<AddonData>();
  counters_ = data->counters;
  counters_->live[device_]++;
  counters_->bytes[device_] += (int64_t)bytes();
}

Buffer::~Buffer() {
  if (token_) {
    token_->buf = nullptr;
    if (!token_->external_alive) delete token_;
  }
  Release();
}

void Buffer::Release() {
  if (!data_) return;
  if (device_ == kCpu) {
    gmpnn_cpu_free(data_);
  } else {
#ifdef GMPNN_WITH_CUDA
    gmpnn_cuda_free(data_);
#endif
  }
  data_ = nullptr;
  counters_->live[device_]--;
  counters_->bytes[device_] -= (int64_t)bytes();
}

void Buffer::Unpin() {
  if (--pins_ == 0 && dispose_requested_) Release();
}

Napi::Value Buffer::Dispose(const Napi::CallbackInfo& info) {
  // A pending async read keeps the memory until it finishes.
  if (pins_ > 0)
    dispose_requested_ = true;
  else
    Release();
  return info.Env().Undefined();
}
Napi::Value Buffer::GetDtype(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), dtype_);
}
Napi::Value Buffer::GetDevice(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), device_);
}
Napi::Value Buffer::GetNumel(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), (double)numel_);
}
Napi::Value Buffer::GetByteLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), (double)bytes());
}
Napi::Value Buffer::GetDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), disposed() || dispose_requested_);
}

// ------------------------------------------------------------------------- errors and args

const char* StatusCode(gmpnn_status st) {
  switch (st) {
    case GMPNN_OK: return "OK";
    case GMPNN_E_ARG: return "E_ARG";
    case GMPNN_E_SHAPE: return "E_SHAPE";
    case GMPNN_E_DTYPE: return "E_DTYPE";
    case GMPNN_E_OOM: return "E_OOM";
    case GMPNN_E_CUDA: return "E_CUDA";
    case GMPNN_E_NO_DEVICE: return "E_NO_DEVICE";
    case GMPNN_E_UNSUPPORTED: return "E_UNSUPPORTED";
  }
  return "E_UNKNOWN";
}

void Throw(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  throw err;
}

void Check(Napi::Env env, gmpnn_status st, const char* op) {
  if (st == GMPNN_OK) return;
  std::string msg = gmpnn_last_error();
  if (msg.empty()) msg = std::string(op) + ": failed";
  Throw(env, StatusCode(st), msg);
}

void RequireCuda(Napi::Env env, const char* op) {
#ifndef GMPNN_WITH_CUDA
  Throw(env, "E_NO_DEVICE", std::string(op) + ": gmpnn was built without CUDA");
#endif
}

static std::string ArgName(const char* op, size_t i) {
  return std::string(op) + ": argument " + std::to_string(i);
}

Buffer* ArgBuffer(const Napi::CallbackInfo& info, size_t i, const char* op, bool nullable) {
  Napi::Env env = info.Env();
  // Raw N-API, and the handle's value first: a buffer argument costs one call (napi_typeof only
  // on the way to an error or a null; this runs for every buffer of every op).
  napi_value v = info[i];
  void* raw = nullptr;
  Buffer* b = nullptr;
  if (napi_get_value_external(env, v, &raw) == napi_ok) {
    if (live_tokens().Contains(static_cast<const BufferToken*>(raw)))
      b = static_cast<BufferToken*>(raw)->buf;  // NULL once the Buffer is gone
  } else {
    napi_valuetype t = napi_undefined;
    if (i < info.Length()) napi_typeof(env, v, &t);
    if (t == napi_null || t == napi_undefined) {
      if (nullable) return nullptr;
      Throw(env, "E_ARG", ArgName(op, i) + " must be a native buffer");
    }
  }
  if (!b) Throw(env, "E_ARG", ArgName(op, i) + " is not a gmpnn native buffer handle");
  if (b->disposed()) Throw(env, "E_DISPOSED", std::string(op) + ": Tensor is disposed");
  return b;
}

double ArgNumber(const Napi::CallbackInfo& info, size_t i, const char* op) {
  double v = 0;
  // napi_get_value_double checks the type itself (napi_number_expected otherwise).
  if (i >= info.Length() || napi_get_value_double(info.Env(), info[i], &v) != napi_ok)
    Throw(info.Env(), "E_ARG", ArgName(op, i) + " must be a number");
  return v;
}

int64_t ArgInt(const Napi::CallbackInfo& info, size_t i, const char* op) {
  double v = ArgNumber(info, i, op);
  if (v != (double)(int64_t)v) Throw(info.Env(), "E_ARG", ArgName(op, i) + " must be an integer");
  return (int64_t)v;
}

bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* op) {
  if (i >= info.Length() || !info[i].IsBoolean())
    Throw(info.Env(), "E_ARG", ArgName(op, i) + " must be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

std::vector<int64_t> ArgInts(const Napi::CallbackInfo& info, size_t i, const char* op) {
  // Raw N-API, the length read once and the number check folded into the read: the wrapper's
  // per-element Length / operator[] / IsNumber / DoubleValue cost ~0.1 µs an element (a
  // broadcasting binary op passes three such arrays).
  napi_env env = info.Env();
  bool is_array = false;
  napi_value arr = i < info.Length() ? (napi_value)info[i] : nullptr;
  if (!arr || napi_is_array(env, arr, &is_array) != napi_ok || !is_array)
    Throw(info.Env(), "E_ARG", ArgName(op, i) + " must be an array of integers");
  uint32_t len = 0;
  napi_get_array_length(env, arr, &len);
  if (len > GMPNN_MAX_DIMS) Throw(info.Env(), "E_SHAPE", std::string(op) + ": more than 8 dimensions");
  std::vector<int64_t> out(len);
  for (uint32_t k = 0; k < len; ++k) {
    napi_value v;
    double d = 0;
    if (napi_get_element(env, arr, k, &v) != napi_ok || napi_get_value_double(env, v, &d) != napi_ok)
      Throw(info.Env(), "E_ARG", ArgName(op, i) + " must hold integers");
    out[k] = (int64_t)d;
  }
  return out;
}

void SameDeviceDtype(Napi::Env env, const char* op, std::initializer_list<Buffer*> bufs) {
  Buffer* first = nullptr;
  for (Buffer* b : bufs) {
    if (!b) continue;
    if (!first) {
      first = b;
      continue;
    }
    if (b->device() != first->device())
      Throw(env, "E_DEVICE", std::string(op) + ": tensors are on different devices");
    if (b->dtype() != first->dtype())
      Throw(env, "E_DTYPE", std::string(op) + ": tensors have different dtypes");
  }
}

void Fits(Napi::Env env, const char* op, const char* name, Buffer* b, int64_t needed) {
  if (b && b->numel() < needed)
    Throw(env, "E_SHAPE", std::string(op) + ": " + name + " holds " + std::to_string(b->numel()) +
                              " elements but " + std::to_string(needed) + " are needed");
}

// ------------------------------------------------------------------------- transfers

namespace {

Napi::Value MakeTypedArray(Napi::Env env, gmpnn_dtype dt, int64_t n, Napi::ArrayBuffer ab) {
  if (dt == GMPNN_F64) return Napi::Float64Array::New(env, n, ab, 0);
  return Napi::Float32Array::New(env, n, ab, 0);
}

gmpnn_status CopyToHost(Buffer* b, void* dst) {
  if (b->device() == kCpu) {
    std::memcpy(dst, b->data(), b->bytes());
    return GMPNN_OK;
  }
#ifdef GMPNN_WITH_CUDA
  return gmpnn_cuda_memcpy(dst, b->data(), b->bytes(), GMPNN_D2H);
#else
  return gmpnn_set_error(GMPNN_E_NO_DEVICE, "built without CUDA");
#endif
}

// upload(buffer, typedArray): copies the host values in (dtype and length must match).
Napi::Value Upload(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Buffer* b = ArgBuffer(info, 0, "upload");
  if (info.Length() < 2 || !info[1].IsTypedArray()) Throw(env, "E_ARG", "upload: need a typed array");
  Napi::TypedArray ta = info[1].As<Napi::TypedArray>();
  bool ok = (b->dtype() == GMPNN_F32 && ta.TypedArrayType() == napi_float32_array) ||
            (b->dtype() == GMPNN_F64 && ta.TypedArrayType() == napi_float64_array);
  if (!ok) Throw(env, "E_DTYPE", "upload: typed array type does not match the buffer dtype");
  if ((int64_t)ta.ElementLength() != b->numel())
    Throw(env, "E_SHAPE", "upload: typed array has " + std::to_string(ta.ElementLength()) +
                              " elements, buffer " + std::to_string(b->numel()));
  const uint8_t* src = (const uint8_t*)ta.ArrayBuffer().Data() + ta.ByteOffset();
  if (b->device() == kCpu) {
    std::memcpy(b->data(), src, b->bytes());
  } else {
#ifdef GMPNN_WITH_CUDA
    Check(env, gmpnn_cuda_memcpy(b->data(), src, b->bytes(), GMPNN_H2D), "upload");
#endif
  }
  return env.Undefined();
}

// download(buffer): a new Float32Array/Float64Array with a copy of the contents.
Napi::Value Download(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Buffer* b = ArgBuffer(info, 0, "download");
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, b->bytes());
  Check(env, CopyToHost(b, ab.Data()), "download");
  return MakeTypedArray(env, b->dtype(), b->numel(), ab);
}

// The copy happens on a worker thread; the buffer is pinned so dispose() waits for it.
class DownloadWorker : public Napi::AsyncWorker {
 public:
  DownloadWorker(Napi::Env env, Buffer* b, Napi::Object holder)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), buf_(b),
        host_(b->bytes()) {
    holder_ = Napi::Persistent(holder);
    buf_->Pin();
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    status_ = CopyToHost(buf_, host_.data());
    if (status_ != GMPNN_OK) SetError(gmpnn_last_error());
  }
  void OnOK() override {
    Napi::Env env = Env();
    buf_->Unpin();
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, host_.size());
    std::memcpy(ab.Data(), host_.data(), host_.size());
    deferred_.Resolve(MakeTypedArray(env, buf_->dtype(), buf_->numel(), ab));
  }
  void OnError(const Napi::Error& e) override {
    buf_->Unpin();
    Napi::Error err = Napi::Error::New(Env(), std::string("downloadAsync: ") + e.Message());
    err.Set("code", Napi::String::New(Env(), StatusCode(status_)));
    deferred_.Reject(err.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Buffer* buf_;
  std::vector<uint8_t> host_;
  Napi::ObjectReference holder_;
  gmpnn_status status_ = GMPNN_OK;
};

Napi::Value DownloadAsync(const Napi::CallbackInfo& info) {
  Buffer* b = ArgBuffer(info, 0, "downloadAsync");
  auto* w = new DownloadWorker(info.Env(), b, info[0].As<Napi::Object>());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// copy(dst, src): same dtype and size, any pair of devices.
Napi::Value Copy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Buffer* dst = ArgBuffer(info, 0, "copy");
  Buffer* src = ArgBuffer(info, 1, "copy");
  if (dst->dtype() != src->dtype()) Throw(env, "E_DTYPE", "copy: dtypes differ");
  if (dst->numel() != src->numel()) Throw(env, "E_SHAPE", "copy: sizes differ");
  if (dst->device() == kCpu && src->device() == kCpu) {
    std::memcpy(dst->data(), src->data(), dst->bytes());
    return env.Undefined();
  }
  RequireCuda(env, "copy");
#ifdef GMPNN_WITH_CUDA
  int kind = dst->device() == kCpu ? GMPNN_D2H : (src->device() == kCpu ? GMPNN_H2D : GMPNN_D2D);
  Check(env, gmpnn_cuda_memcpy(dst->data(), src->data(), dst->bytes(), kind), "copy");
#endif
  return env.Undefined();
}

Napi::Value LiveBuffers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto& c = *env.GetInstanceData<AddonData>()->counters;
  Napi::Object o = Napi::Object::New(env);
  const char* names[2] = {"cpu", "cuda"};
  for (int d = 0; d < 2; ++d) {
    Napi::Object e = Napi::Object::New(env);
    e.Set("buffers", Napi::Number::New(env, (double)c.live[d].load()));
    e.Set("bytes", Napi::Number::New(env, (double)c.bytes[d].load()));
    o.Set(names[d], e);
  }
o.Get("cpu").As<Napi::Object>().Set("cachedBytes", Napi::Number::New(env, (double)gmpnn_cpu_cached_bytes()));
#ifdef GMPNN_WITH_CUDA
  size_t allocated = 0, cached = 0;
  if (gmpnn_cuda_memory_stats(&allocated, &cached) == GMPNN_OK) {
    o.Get("cuda").As<Napi::Object>().Set("cachedBytes", Napi::Number::New(env, (double)cached));
  }
#endif
  return o;
}

// backends(): what this build and machine offer.
Napi::Value Backends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  Napi::Object cpu = Napi::Object::New(env);
  cpu.Set("available", true);
  cpu.Set("gemmIsa", gmpnn_cpu_gemm_isa());
  cpu.Set("threads", gmpnn_cpu_num_threads());
  o.Set("cpu", cpu);
  Napi::Object cuda = Napi::Object::New(env);
#ifdef GMPNN_WITH_CUDA
  cuda.Set("compiled", true);
  int count = 0;
  gmpnn_status st = gmpnn_cuda_device_count(&count);
  if (st != GMPNN_OK) {
    cuda.Set("available", false);
    cuda.Set("reason", std::string("no usable GPU: ") + gmpnn_last_error());
  } else if (count == 0) {
    cuda.Set("available", false);
    cuda.Set("reason", "no device");
  } else {
    cuda.Set("available", true);
    cuda.Set("devices", count);
    char name[256] = "";
    if (gmpnn_cuda_device_name(name, sizeof name) == GMPNN_OK) cuda.Set("name", name);
  }
#else
  cuda.Set("compiled", false);
  cuda.Set("available", false);
  cuda.Set("reason", "built without CUDA");
#endif
  o.Set("cuda", cuda);
  return o;
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  gmpnn_cpu_set_num_threads((int)ArgInt(info, 0, "setNumThreads"));
  return info.Env().Undefined();
}

Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  gmpnn_cpu_empty_cache();
#ifdef GMPNN_WITH_CUDA
  int count = 0;
  if (gmpnn_cuda_device_count(&count) == GMPNN_OK && count > 0) gmpnn_cuda_empty_cache();
#endif
  return info.Env().Undefined();
}

Napi::Value Synchronize(const Napi::CallbackInfo& info) {
#ifdef GMPNN_WITH_CUDA
  int count = 0;
  if (gmpnn_cuda_device_count(&count) == GMPNN_OK && count > 0)
    Check(info.Env(), gmpnn_cuda_synchronize(), "synchronize");
#endif
  return info.Env().Undefined();
}

}  // namespace

void RegisterMemory(Napi::Env env, Napi::Object exports) {
  auto* data = env.GetInstanceData<AddonData>();
  Napi::Function ctor = Buffer::Init(env);
  data->bufferCtor = Napi::Persistent(ctor);
  exports.Set("NativeBuffer", ctor);
  exports.Set("upload", Napi::Function::New(env, Upload));
  exports.Set("download", Napi::Function::New(env, Download));
  exports.Set("downloadAsync", Napi::Function::New(env, DownloadAsync));
  exports.Set("copy", Napi::Function::New(env, Copy));
  exports.Set("liveBuffers", Napi::Function::New(env, LiveBuffers));
  exports.Set("backends", Napi::Function::New(env, Backends));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("synchronize", Napi::Function::New(env, Synchronize));
  exports.Set("emptyCache", Napi::Function::New(env, EmptyCache));
}

}  // namespace gmpnn_binding
