// TpmContext lifetime and the JS `Tpm` class (constructor, unwrap, error construction, one method per command).
#include "tpm_context.h"

#include "command.h"

#include <cstdio>

#include <tss2/tss2_rc.h>

namespace enrolld {

TpmContext::~TpmContext() {
  std::lock_guard<std::mutex> lock(mu);
  CloseLocked();
}

TSS2_RC TpmContext::Open(const std::string& tctiConf, const char** fn) {
  TSS2_RC rc = Tss2_TctiLdr_Initialize(tctiConf.empty() ? nullptr : tctiConf.c_str(), &tcti);
  if (rc != TSS2_RC_SUCCESS) {
    *fn = "Tss2_TctiLdr_Initialize";
    tcti = nullptr;
    return rc;
  }
  rc = Esys_Initialize(&esys, tcti, nullptr);
  if (rc != TSS2_RC_SUCCESS) {
    *fn = "Esys_Initialize";
    esys = nullptr;
    Tss2_TctiLdr_Finalize(&tcti);
    tcti = nullptr;
    return rc;
  }
  return TSS2_RC_SUCCESS;
}

void TpmContext::CloseLocked() {
  if (esys != nullptr) Esys_Finalize(&esys);
  esys = nullptr;
  if (tcti != nullptr) Tss2_TctiLdr_Finalize(&tcti);
  tcti = nullptr;
}

Napi::Error MakeTpmError(Napi::Env env, const std::string& command, uint32_t rc, const std::string& detail) {
  std::string message = command + " failed";
  if (!detail.empty()) message += ": " + detail;
  std::string rcText;
  if (rc != 0) {
    const char* decoded = Tss2_RC_Decode(rc);
    rcText = decoded != nullptr ? decoded : "";
    char hex[16];
    std::snprintf(hex, sizeof(hex), "0x%08x", rc);
    message += (detail.empty() ? ": " : " — ") + rcText + " (rc " + hex + ")";
  }
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("rc", Napi::Number::New(env, static_cast<double>(rc)));
  err.Set("command", Napi::String::New(env, command));
  err.Set("rcText", Napi::String::New(env, rcText));
  return err;
}

Tpm::Tpm(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Tpm>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    throw Napi::TypeError::New(env, "new Tpm(tctiConf: string)");
  }
  std::string conf = info[0].As<Napi::String>().Utf8Value();
  auto ctx = std::make_shared<TpmContext>();
  const char* fn = "";
  TSS2_RC rc = ctx->Open(conf, &fn);
  if (rc != TSS2_RC_SUCCESS) throw MakeTpmError(env, fn, rc, "tcti \"" + conf + "\"");
  ctx_ = std::move(ctx);
}

TpmContextPtr UnwrapTpmContext(const Napi::Value& value) {
  Napi::Env env = value.Env();
  AddonData* data = env.GetInstanceData<AddonData>();
  if (data == nullptr || !value.IsObject() || !value.As<Napi::Object>().InstanceOf(data->tpmConstructor.Value())) {
    throw Napi::TypeError::New(env, "expected a Tpm object");
  }
  return Tpm::Unwrap(value.As<Napi::Object>())->context();
}

Napi::Function Tpm::Define(Napi::Env env) {
  std::vector<PropertyDescriptor> methods;
  for (CommandBinding& b : CommandRegistry()) {
    methods.push_back(InstanceMethod(b.binding, &Tpm::Execute, napi_default, &b));
  }
  return DefineClass(env, "Tpm", methods);
}

Napi::Value Tpm::Execute(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const CommandBinding* b = static_cast<const CommandBinding*>(info.Data());
  try {
    Args args(info);
    Command* command = b->make(args);
    return command->Start(ctx_, b->command, args);
  } catch (const Napi::Error& e) {
    Napi::Promise::Deferred d = Napi::Promise::Deferred::New(env);
    d.Reject(e.Value());
    return d.Promise();
  }
}

void InitTpm(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = Tpm::Define(env);
  AddonData* data = env.GetInstanceData<AddonData>();
  if (data == nullptr) {
    data = new AddonData();
    env.SetInstanceData<AddonData>(data);
  }
  data->tpmConstructor = Napi::Persistent(ctor);
  exports.Set("Tpm", ctor);
}

}  // namespace enrolld
