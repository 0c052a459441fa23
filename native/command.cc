// Args, the Command base (worker thread, Promise settlement) and the command registry (command.h).
#include "command.h"

#include <algorithm>
#include <cmath>

namespace enrolld {

void Wipe(void* p, size_t n) {
  volatile uint8_t* v = static_cast<volatile uint8_t*>(p);
  while (n--) *v++ = 0;
}

void Wipe(Bytes& b) {
  Wipe(b.data(), b.size());
  b.clear();
}

// ---- Args -----------------------------------------------------------------------------------------------------------

Args::Args(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "the input must be an object");
  obj_ = info[0].As<Napi::Object>();
}

bool Args::Has(const char* name) const {
  Napi::Value v = Field(name);
  return !v.IsUndefined();
}

uint32_t Args::U32(const char* name) const {
  Napi::Value v = Field(name);
  if (!v.IsNumber()) throw Napi::TypeError::New(Env(), std::string(name) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || std::floor(d) != d) {
    throw Napi::TypeError::New(Env(), std::string(name) + " must be an unsigned 32-bit integer");
  }
  return static_cast<uint32_t>(d);
}

ESYS_TR Args::Hierarchy(const char* name) const {
  switch (U32(name)) {
    case TPM2_RH_OWNER: return ESYS_TR_RH_OWNER;
    case TPM2_RH_ENDORSEMENT: return ESYS_TR_RH_ENDORSEMENT;
    case TPM2_RH_PLATFORM: return ESYS_TR_RH_PLATFORM;
    case TPM2_RH_NULL: return ESYS_TR_RH_NULL;
    default: throw Napi::TypeError::New(Env(), std::string(name) + " must be TPM_RH_OWNER/ENDORSEMENT/PLATFORM/NULL");
  }
}

Napi::Uint8Array Args::Bytes8(const char* name) const {
  Napi::Value v = Field(name);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(Env(), std::string(name) + " must be a Uint8Array/Buffer");
  }
  return v.As<Napi::Uint8Array>();
}

Bytes Args::Raw(const char* name, size_t maxLen) const {
  Napi::Uint8Array a = Bytes8(name);
  if (a.ByteLength() > maxLen) {
    throw Napi::RangeError::New(Env(), std::string(name) + " is too long (" + std::to_string(a.ByteLength()) + " > " +
                                           std::to_string(maxLen) + " bytes)");
  }
  return Bytes(a.Data(), a.Data() + a.ByteLength());
}

void Args::Into(const char* name, UINT16* size, uint8_t* buffer, size_t capacity) const {
  Napi::Uint8Array a = Bytes8(name);
  if (a.ByteLength() > capacity) {
    throw Napi::RangeError::New(Env(), std::string(name) + " is too long (" + std::to_string(a.ByteLength()) + " > " +
                                           std::to_string(capacity) + " bytes)");
  }
  std::copy(a.Data(), a.Data() + a.ByteLength(), buffer);
  *size = static_cast<UINT16>(a.ByteLength());
}

// ---- Command --------------------------------------------------------------------------------------------------------

Command::Command(const Args& args)
    : Napi::AsyncWorker(args.Env(), "enrolld_tpm"), deferred_(Napi::Promise::Deferred::New(args.Env())) {}

Command::~Command() {
  for (auto& r : results_) {
    if (auto* b = std::get_if<Bytes>(&r.second)) Wipe(*b);
  }
}

Napi::Promise Command::Start(TpmContextPtr ctx, const char* command, const Args& args) {
  ctx_ = std::move(ctx);
  command_ = command;
  if (args.failed_) {
    failed_ = true;
    rc_ = args.rc_;
    detail_ = args.detail_;
  }
  Queue();
  return deferred_.Promise();
}

bool Command::Ok(TSS2_RC rc, const char* detail) {
  if (rc == TSS2_RC_SUCCESS) return true;
  if (!failed_) {
    failed_ = true;
    rc_ = rc;
    detail_ = detail;
  }
  return false;
}

void Command::Fail(const std::string& detail) {
  if (!failed_) {
    failed_ = true;
    rc_ = 0;
    detail_ = detail;
  }
}

void Command::Execute() {
  if (failed_) return;
  std::lock_guard<std::mutex> lock(ctx_->mu);
  if (ctx_->esys == nullptr) {
    Fail("the TPM context is closed");
    return;
  }
  Run(ctx_->esys);
}

void Command::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  if (failed_) {
    deferred_.Reject(MakeTpmError(env, command_, rc_, detail_).Value());
    return;
  }
  Napi::Object o = Napi::Object::New(env);
  for (const auto& [name, value] : results_) {
    if (auto* b = std::get_if<Bytes>(&value)) {
      o.Set(name, Napi::Buffer<uint8_t>::Copy(env, b->data(), b->size()));
    } else if (auto* n = std::get_if<uint32_t>(&value)) {
      o.Set(name, Napi::Number::New(env, *n));
    } else if (auto* f = std::get_if<bool>(&value)) {
      o.Set(name, Napi::Boolean::New(env, *f));
    } else if (auto* list = std::get_if<std::vector<Bytes>>(&value)) {
      Napi::Array a = Napi::Array::New(env, list->size());
      for (size_t i = 0; i < list->size(); i++) {
        a.Set(static_cast<uint32_t>(i), Napi::Buffer<uint8_t>::Copy(env, (*list)[i].data(), (*list)[i].size()));
      }
      o.Set(name, a);
    }
  }
  deferred_.Resolve(o);
}

void Command::OnError(const Napi::Error& e) { deferred_.Reject(e.Value()); }

std::vector<CommandBinding>& CommandRegistry() {
  static std::vector<CommandBinding> registry;
  return registry;
}

}  // namespace enrolld
