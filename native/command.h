// The common shape of every TPM command the addon exposes (commands.cc): a Command reads its named arguments from one
// JS object on the main thread (Args), runs its ESYS call on a libuv worker thread holding TpmContext::mu, and
// settles a Promise with an object of named results. A command is registered once with ENROLLD_COMMAND, which makes
// it a method of the JS `Tpm` object; its typed TypeScript description is in agent/tpm2/commands.ts.
//
// Failures reject with an Error naming the command, with `.rc` / `.command` / `.rcText` (MakeTpmError): TPM and TSS
// response codes, and input structures that do not unmarshal. Wrong JS types reject with TypeError / RangeError.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <tss2/tss2_common.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>

#include "tpm_context.h"

namespace enrolld {

using Bytes = std::vector<uint8_t>;

template <typename T>
using UnmarshalFn = TSS2_RC (*)(uint8_t const[], size_t, size_t*, T*);
template <typename T>
using MarshalFn = TSS2_RC (*)(T const*, uint8_t[], size_t, size_t*);

// Marshals *in into *out (replacing its contents).
template <typename T>
TSS2_RC MarshalAll(const T* in, MarshalFn<T> fn, Bytes* out) {
  out->assign(sizeof(T) + 64, 0);  // a marshalled structure is never larger than its C struct
  size_t offset = 0;
  TSS2_RC rc = fn(in, out->data(), out->size(), &offset);
  if (rc != TSS2_RC_SUCCESS) {
    out->clear();
    return rc;
  }
  out->resize(offset);
  return TSS2_RC_SUCCESS;
}

// Overwrites secret bytes in a way the compiler may not elide.
void Wipe(void* p, size_t n);
void Wipe(Bytes& b);

// An ESYS-allocated output parameter, released with Esys_Free (wiped first when Secret).
template <typename T, bool Secret = false>
class Output {
 public:
  Output() = default;
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;
  ~Output() {
    if (p_ != nullptr && Secret) Wipe(p_, sizeof(T));
    Esys_Free(p_);
  }
  T** Out() { return &p_; }
  T* get() const { return p_; }
  T* operator->() const { return p_; }

 private:
  T* p_ = nullptr;
};

// The named arguments of one call: `tpm.<binding>({ name: value, ... })`. Main thread only.
class Args {
 public:
  explicit Args(const Napi::CallbackInfo& info);

  Napi::Env Env() const { return obj_.Env(); }
  // The field is present and not undefined.
  bool Has(const char* name) const;
  // An unsigned 32-bit integer (TypeError otherwise).
  uint32_t U32(const char* name) const;
  // An ESYS_TR returned by an earlier command on this connection.
  ESYS_TR Tr(const char* name) const { return U32(name); }
  // A TPM_HANDLE (Part 2 §7), e.g. persistent 0x81000001 or an NV index.
  TPM2_HANDLE Handle(const char* name) const { return U32(name); }
  // A TPMI_RH_HIERARCHY (Part 2 §9.3) as the ESYS_TR that names it (TypeError for any other handle).
  ESYS_TR Hierarchy(const char* name) const;
  // The bytes of a Uint8Array field (RangeError above maxLen).
  Bytes Raw(const char* name, size_t maxLen = SIZE_MAX) const;
  // Copies a Uint8Array field into a TPM2B's size and buffer (RangeError above the buffer's capacity).
  void Into(const char* name, UINT16* size, uint8_t* buffer, size_t capacity) const;
  template <typename B>
  void Into2B(const char* name, B* out) const {
    Into(name, &out->size, out->buffer, sizeof(out->buffer));
  }
  // Unmarshals a Uint8Array field that must hold exactly one `type`; a failure becomes the command's error.
  template <typename T>
  void Unmarshal(const char* name, const char* type, UnmarshalFn<T> fn, T* out) {
    if (failed_) return;
    Napi::Uint8Array a = Bytes8(name);
    size_t offset = 0;
    TSS2_RC rc = fn(a.Data(), a.ByteLength(), &offset, out);
    if (rc == TSS2_RC_SUCCESS && offset != a.ByteLength()) rc = TSS2_MU_RC_BAD_SIZE;
    if (rc != TSS2_RC_SUCCESS) {
      failed_ = true;
      rc_ = rc;
      detail_ = std::string(name) + " is not a " + type;
    }
  }

 private:
  friend class Command;
  Napi::Uint8Array Bytes8(const char* name) const;
  Napi::Value Field(const char* name) const { return obj_.Get(name); }

  Napi::Object obj_;
  bool failed_ = false;
  TSS2_RC rc_ = 0;
  std::string detail_;
};

// `args.Unmarshal("inPublic", "TPM2B_PUBLIC", Tss2_MU_TPM2B_PUBLIC_Unmarshal, &x)` written once.
#define ENROLLD_UNMARSHAL(args, field, TYPE, out) (args).Unmarshal(field, #TYPE, Tss2_MU_##TYPE##_Unmarshal, out)
// `ReturnMarshalled("outPublic", Tss2_MU_TPM2B_PUBLIC_Marshal, p)` written once.
#define ENROLLD_RETURN(field, TYPE, value) ReturnMarshalled(field, Tss2_MU_##TYPE##_Marshal, value)

class Command : public Napi::AsyncWorker {
 public:
  explicit Command(const Args& args);
  ~Command() override;

  // Takes over the argument failures, queues the work and returns its Promise.
  Napi::Promise Start(TpmContextPtr ctx, const char* command, const Args& args);

 protected:
  // Runs with ctx_->mu held and ctx_->esys open, unless an argument failed.
  virtual void Run(ESYS_CONTEXT* esys) = 0;

  // Records the first failure; true when rc is success.
  bool Ok(TSS2_RC rc, const char* detail = "");
  void Fail(const std::string& detail);
  bool failed() const { return failed_; }

  // Results, named as in Part 3's response parameters; the Promise resolves with { name: value, ... }.
  using Value = std::variant<Bytes, uint32_t, bool, std::vector<Bytes>>;
  void Return(const char* name, Value v) { results_.emplace_back(name, std::move(v)); }
  void Return(const char* name, const uint8_t* data, size_t size) { Return(name, Bytes(data, data + size)); }
  template <typename T>
  bool ReturnMarshalled(const char* name, MarshalFn<T> fn, const T* value) {
    Bytes b;
    if (!Ok(MarshalAll(value, fn, &b), (std::string("marshalling ") + name).c_str())) return false;
    Return(name, std::move(b));
    return true;
  }

  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

  TpmContextPtr ctx_;

 private:
  Napi::Promise::Deferred deferred_;
  std::string command_;
  bool failed_ = false;
  TSS2_RC rc_ = 0;
  std::string detail_;
  std::vector<std::pair<const char*, Value>> results_;
};

// The registry the JS `Tpm` class is built from (tpm_context.cc): binding (JS method name) → command.
struct CommandBinding {
  const char* binding;
  const char* command;  // the TPM 2.0 Part 3 / ESAPI name errors carry, e.g. "TPM2_Sign"
  Command* (*make)(Args& args);
};
std::vector<CommandBinding>& CommandRegistry();

template <typename C>
struct RegisterCommand {
  RegisterCommand(const char* binding, const char* command) {
    CommandRegistry().push_back({binding, command, [](Args& a) -> Command* { return new C(a); }});
  }
};

// ENROLLD_COMMAND(Sign, "sign", "TPM2_Sign"): `tpm.sign({...})` runs class Sign.
#define ENROLLD_COMMAND(Class, binding, command) \
  static const RegisterCommand<Class> kRegister##Class(binding, command)

}  // namespace enrolld
