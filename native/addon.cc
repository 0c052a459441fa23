// enrolld_tpm: module entry point. Exports `Tpm` (tpm_context.cc; its commands: command.h, commands.cc), the TLS engine
// (tls_engine.cc) and `sdNotify` (sd_notify.cc).
#include <napi.h>

#include <cstdlib>

#include "tpm_context.h"

namespace enrolld {
void InitSdNotify(Napi::Env env, Napi::Object exports);
void InitTlsEngine(Napi::Env env, Napi::Object exports);
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // ESYS logs errors to stderr by default; the agent reports errors itself. Respect an explicit TSS2_LOG.
  setenv("TSS2_LOG", "all+none", 0);
  enrolld::InitTpm(env, exports);
  enrolld::InitSdNotify(env, exports);
  enrolld::InitTlsEngine(env, exports);
  return exports;
}

NODE_API_MODULE(enrolld_tpm, Init)
