// Module entry: per-environment instance data (safe in worker threads), then each family's
// registration. No math here.
#include "binding.h"

namespace gmpnn_binding {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  RegisterMemory(env, exports);
  RegisterKernels(env, exports);
  RegisterGmp(env, exports);
  RegisterConv(env, exports);
#ifdef GMPNN_WITH_CUDA
  exports.Set("cudaCompiled", true);
#else
  exports.Set("cudaCompiled", false);
#endif
  return exports;
}

}  // namespace gmpnn_binding

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  return gmpnn_binding::Init(env, exports);
}

NODE_API_MODULE(gmpnn, InitAddon)
