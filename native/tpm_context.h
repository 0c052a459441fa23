// The ESYS context shared by every command of one `Tpm` JS object, and the JS class itself.
//
// Concurrency contract: every use of `esys` (and of the TCTI below it) happens while holding `mu`. Async commands
// (commands.cc) take it on a libuv worker thread; the OpenSSL engine (tls_engine.cc) may take it synchronously from
// any thread. `esys == nullptr` means the context was closed: check it after locking.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

namespace enrolld {

struct TpmContext {
  ESYS_CONTEXT* esys = nullptr;
  TSS2_TCTI_CONTEXT* tcti = nullptr;
  std::mutex mu;

  TpmContext() = default;
  TpmContext(const TpmContext&) = delete;
  TpmContext& operator=(const TpmContext&) = delete;
  ~TpmContext();

  // Tss2_TctiLdr_Initialize + Esys_Initialize. On failure returns the rc and names the failing function in *fn.
  TSS2_RC Open(const std::string& tctiConf, const char** fn);
  // Esys_Finalize + Tss2_TctiLdr_Finalize. The caller holds `mu` (or is the only owner).
  void CloseLocked();
};

using TpmContextPtr = std::shared_ptr<TpmContext>;

// Per-addon-instance data (Napi::Env instance data). Other translation units may add members.
struct AddonData {
  Napi::FunctionReference tpmConstructor;
};

// JS class `Tpm`: one method per registered command (command.h, commands.cc), each returning a Promise.
class Tpm : public Napi::ObjectWrap<Tpm> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Tpm(const Napi::CallbackInfo& info);

  const TpmContextPtr& context() const { return ctx_; }

 private:
  // Runs the command whose CommandBinding is info.Data().
  Napi::Value Execute(const Napi::CallbackInfo& info);

  TpmContextPtr ctx_;
};

// The context behind a JS `Tpm` object; throws Napi::TypeError when `value` is not one.
TpmContextPtr UnwrapTpmContext(const Napi::Value& value);

// An Error whose message names `command` and carries the Tss2_RC_Decode text, with `.rc` and `.command`
// (and `.rcText`). rc == 0 means a non-TPM failure described by `detail` alone. Main thread only
// (Tss2_RC_Decode uses a static buffer).
Napi::Error MakeTpmError(Napi::Env env, const std::string& command, uint32_t rc, const std::string& detail);

void InitTpm(Napi::Env env, Napi::Object exports);

}  // namespace enrolld
