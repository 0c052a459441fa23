// One thin async function per TPM command (in the style of go-tpm's tpm2 package): arguments and results are
// marshalled TPM structures (Buffers) and ESYS_TR numbers; all policy lives in TypeScript (agent/tpm2, agent/keystore).
//
// Every command runs on a libuv worker thread holding TpmContext::mu and settles a Promise. Failures reject with an
// Error naming the command, with `.rc` / `.command` / `.rcText` (MakeTpmError). Objects created inside a command that
// are not handed to JS are flushed on every path; ESYS outputs are released with Esys_Free.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "commands.h"
#include "tpm_context.h"

namespace enrolld {
namespace {

// ---- argument helpers (main thread; throw Napi::TypeError, which the caller turns into a rejected Promise) ----------

uint32_t ArgU32(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  }
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || std::floor(d) != d) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be an unsigned 32-bit integer");
  }
  return static_cast<uint32_t>(d);
}

Bytes ArgBytes(const Napi::CallbackInfo& info, size_t i, const char* name, size_t maxLen = SIZE_MAX) {
  if (i >= info.Length() || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a Uint8Array/Buffer");
  }
  Napi::Uint8Array a = info[i].As<Napi::Uint8Array>();
  if (a.ByteLength() > maxLen) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " is too long (" + std::to_string(a.ByteLength()) +
                                                " > " + std::to_string(maxLen) + " bytes)");
  }
  return Bytes(a.Data(), a.Data() + a.ByteLength());
}

// TPM_RH hierarchy handle (Part 2 §7.4) → the ESYS_TR that names it.
ESYS_TR HierarchyTr(const Napi::CallbackInfo& info, size_t i, const char* name) {
  switch (ArgU32(info, i, name)) {
    case TPM2_RH_OWNER: return ESYS_TR_RH_OWNER;
    case TPM2_RH_ENDORSEMENT: return ESYS_TR_RH_ENDORSEMENT;
    case TPM2_RH_PLATFORM: return ESYS_TR_RH_PLATFORM;
    case TPM2_RH_NULL: return ESYS_TR_RH_NULL;
    default: throw Napi::TypeError::New(info.Env(), std::string(name) + " must be TPM_RH_OWNER/ENDORSEMENT/PLATFORM/NULL");
  }
}

Napi::Buffer<uint8_t> ToBuffer(Napi::Env env, const uint8_t* data, size_t len) {
  return Napi::Buffer<uint8_t>::Copy(env, data, len);
}
Napi::Buffer<uint8_t> ToBuffer(Napi::Env env, const Bytes& b) { return ToBuffer(env, b.data(), b.size()); }

template <typename T>
void Free(T*& p) {
  Esys_Free(p);
  p = nullptr;
}

// ---- the worker base ------------------------------------------------------------------------------------------------

class TpmWorker : public Napi::AsyncWorker {
 public:
  TpmWorker(Napi::Env env, TpmContextPtr ctx, const char* command)
      : Napi::AsyncWorker(env, "enrolld_tpm"),
        deferred_(Napi::Promise::Deferred::New(env)),
        ctx_(std::move(ctx)),
        command_(command) {}

  Napi::Promise Start() {
    Queue();
    return deferred_.Promise();
  }

 protected:
  // Runs with ctx_->mu held and ctx_->esys open.
  virtual void Run(ESYS_CONTEXT* esys) = 0;
  // Builds the resolution value on the main thread.
  virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }

  // Records the first failure; true when rc is success.
  bool Ok(TSS2_RC rc, const char* detail = "") {
    if (rc == TSS2_RC_SUCCESS) return true;
    if (!failed_) {
      failed_ = true;
      rc_ = rc;
      detail_ = detail;
    }
    return false;
  }
  void Fail(const std::string& detail) {
    if (!failed_) {
      failed_ = true;
      rc_ = 0;
      detail_ = detail;
    }
  }

  void Execute() override {
    std::lock_guard<std::mutex> lock(ctx_->mu);
    if (ctx_->esys == nullptr) {
      Fail("the TPM context is closed");
      return;
    }
    Run(ctx_->esys);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (failed_) {
      deferred_.Reject(MakeTpmError(env, command_, rc_, detail_).Value());
      return;
    }
    try {
      deferred_.Resolve(Result(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

  Napi::Promise::Deferred deferred_;
  TpmContextPtr ctx_;
  std::string command_;
  bool failed_ = false;
  TSS2_RC rc_ = 0;
  std::string detail_;
};

template <typename F>
Napi::Value StartWorker(const Napi::CallbackInfo& info, F make) {
  Napi::Env env = info.Env();
  try {
    TpmWorker* w = make();
    return w->Start();
  } catch (const Napi::Error& e) {
    Napi::Promise::Deferred d = Napi::Promise::Deferred::New(env);
    d.Reject(e.Value());
    return d.Promise();
  }
}

// ---- commands -------------------------------------------------------------------------------------------------------

// TPM2_GetRandom, repeated until n bytes (each response carries at most one digest's worth).
class GetRandomWorker : public TpmWorker {
 public:
  GetRandomWorker(Napi::Env env, TpmContextPtr ctx, uint32_t n) : TpmWorker(env, ctx, "TPM2_GetRandom"), n_(n) {}

 private:
  void Run(ESYS_CONTEXT* esys) override {
    while (out_.size() < n_) {
      TPM2B_DIGEST* rnd = nullptr;
      UINT16 want = static_cast<UINT16>(std::min<size_t>(n_ - out_.size(), sizeof(rnd->buffer)));
      if (!Ok(Esys_GetRandom(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, want, &rnd))) return;
      if (rnd->size == 0) {
        Free(rnd);
        Fail("the TPM returned no random bytes");
        return;
      }
      out_.insert(out_.end(), rnd->buffer, rnd->buffer + std::min<size_t>(rnd->size, n_ - out_.size()));
      Free(rnd);
    }
  }
  Napi::Value Result(Napi::Env env) override { return ToBuffer(env, out_); }
  uint32_t n_;
  Bytes out_;
};

// TPM2_CreatePrimary(hierarchy, inPublic TPM2B_PUBLIC) → { handle, outPublic TPM2B_PUBLIC }.
class CreatePrimaryWorker : public TpmWorker {
 public:
  CreatePrimaryWorker(Napi::Env env, TpmContextPtr ctx, ESYS_TR hierarchy, Bytes inPublic)
      : TpmWorker(env, ctx, "TPM2_CreatePrimary"), hierarchy_(hierarchy), inPublic_(std::move(inPublic)) {}

 private:
  void Run(ESYS_CONTEXT* esys) override {
    TPM2B_PUBLIC inPublic{};
    if (!Ok(UnmarshalAll(inPublic_, Tss2_MU_TPM2B_PUBLIC_Unmarshal, &inPublic), "inPublic is not a TPM2B_PUBLIC")) return;
    TPM2B_SENSITIVE_CREATE sensitive{};
    TPM2B_DATA outsideInfo{};
    TPML_PCR_SELECTION creationPcr{};
    ESYS_TR handle = ESYS_TR_NONE;
    TPM2B_PUBLIC* outPublic = nullptr;
    TPM2B_CREATION_DATA* creationData = nullptr;
    TPM2B_DIGEST* creationHash = nullptr;
    TPMT_TK_CREATION* creationTicket = nullptr;
    TSS2_RC rc = Esys_CreatePrimary(esys, hierarchy_, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive,
                                    &inPublic, &outsideInfo, &creationPcr, &handle, &outPublic, &creationData,
                                    &creationHash, &creationTicket);
    if (Ok(rc)) {
      if (Ok(MarshalAll(outPublic, Tss2_MU_TPM2B_PUBLIC_Marshal, &outPublic_), "marshalling outPublic")) {
        handle_ = handle;
      } else {
        Esys_FlushContext(esys, handle);
      }
    }
    Free(outPublic);
    Free(creationData);
    Free(creationHash);
    Free(creationTicket);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("handle", Napi::Number::New(env, handle_));
    o.Set("outPublic", ToBuffer(env, outPublic_));
    return o;
  }
  ESYS_TR hierarchy_;
  Bytes inPublic_;
  ESYS_TR handle_ = ESYS_TR_NONE;
  Bytes outPublic_;
};

// TPM2_Create(parent, inPublic TPM2B_PUBLIC) → { outPublic TPM2B_PUBLIC, outPrivate TPM2B_PRIVATE }.
class CreateWorker : public TpmWorker {
 public:
  CreateWorker(Napi::Env env, TpmContextPtr ctx, ESYS_TR parent, Bytes inPublic)
      : TpmWorker(env, ctx, "TPM2_Create"), parent_(parent), inPublic_(std::move(inPublic)) {}

 private:
  void Run(ESYS_CONTEXT* esys) override {
    TPM2B_PUBLIC inPublic{};
    if (!Ok(UnmarshalAll(inPublic_, Tss2_MU_TPM2B_PUBLIC_Unmarshal, &inPublic), "inPublic is not a TPM2B_PUBLIC")) return;
    TPM2B_SENSITIVE_CREATE sensitive{};
    TPM2B_DATA outsideInfo{};
    TPML_PCR_SELECTION creationPcr{};
    TPM2B_PRIVATE* outPrivate = nullptr;
    TPM2B_PUBLIC* outPublic = nullptr;
    TPM2B_CREATION_DATA* creationData = nullptr;
    TPM2B_DIGEST* creationHash = nullptr;
    TPMT_TK_CREATION* creationTicket = nullptr;
    TSS2_RC rc = Esys_Create(esys, parent_, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &inPublic,
                             &outsideInfo, &creationPcr, &outPrivate, &outPublic, &creationData, &creationHash,
                             &creationTicket);
    if (Ok(rc) && Ok(MarshalAll(outPublic, Tss2_MU_TPM2B_PUBLIC_Marshal, &outPublic_), "marshalling outPublic")) {
      Ok(MarshalAll(outPrivate, Tss2_MU_TPM2B_PRIVATE_Marshal, &outPrivate_), "marshalling outPrivate");
    }
    Free(outPrivate);
    Free(outPublic);
    Free(creationData);
    Free(creationHash);
    Free(creationTicket);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("outPublic", ToBuffer(env, outPublic_));
    o.Set("outPrivate", ToBuffer(env, outPrivate_));
    return o;
  }
  ESYS_TR parent_;
  Bytes inPublic_;
  Bytes outPublic_;
  Bytes outPrivate_;
};

// TPM2_Load(parent, inPrivate TPM2B_PRIVATE, inPublic TPM2B_PUBLIC) → handle.
class LoadWorker : public TpmWorker {
 public:
  LoadWorker(Napi::Env env, TpmContextPtr ctx, ESYS_TR parent, Bytes inPrivate, Bytes inPublic)
      : TpmWorker(env, ctx, "TPM2_Load"), parent_(parent), inPrivate_(std::move(inPrivate)), inPublic_(std::move(inPublic)) {}

 private:
  void Run(ESYS_CONTEXT* esys) override {
    TPM2B_PRIVATE inPrivate{};
    TPM2B_PUBLIC inPublic{};
    if (!Ok(UnmarshalAll(inPrivate_, Tss2_MU_TPM2B_PRIVATE_Unmarshal, &inPrivate), "inPrivate is not a TPM2B_PRIVATE")) return;
    if (!Ok(UnmarshalAll(inPublic_, Tss2_MU_TPM2B_PUBLIC_Unmarshal, &inPublic), "inPublic is not a TPM2B_PUBLIC")) return;
    Ok(Esys_Load(esys, parent_, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &inPrivate, &inPublic, &handle_));
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, handle_); }
  ESYS_TR parent_;
  Bytes inPrivate_;
  Bytes inPublic_;
  ESYS_TR handle_ = ESYS_TR_NONE;
};

// TPM2_Sign(key, digest, inScheme TPMT_SIG_SCHEME) with a NULL hashcheck ticket → TPMT_SIGNATURE.
class SignWorker : public TpmWorker {
 public:
  SignWorker(Napi::Env env, TpmContextPtr ctx, ESYS_TR key, Bytes digest, Bytes scheme)
      : TpmWorker(env, ctx, "TPM2_Sign"), key_(key), digest_(std::move(digest)), scheme_(std::move(scheme)) {}

 private:
  void Run(ESYS_CONTEXT* esys) override {
    TPMT_SIG_SCHEME scheme{};
    if (!Ok(UnmarshalAll(scheme_, Tss2_MU_TPMT_SIG_SCHEME_Unmarshal, &scheme), "scheme is not a TPMT_SIG_SCHEME")) return;
    TPM2B_DIGEST digest{};
    digest.size = static_cast<UINT16>(digest_.size());
    std::copy(digest_.begin(), digest_.end(), digest.buffer);
    TPMT_TK_HASHCHECK validation{};
    validation.tag = TPM2_ST_HASHCHECK;
    validation.hierarchy = TPM2_RH_NULL;
    validation.digest.size = 0;
    TPMT_SIGNATURE* signature = nullptr;
    if (Ok(Esys_Sign(esys, key_, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &digest, &scheme, &validation, &signature))) {
      Ok(MarshalAll(signature, Tss2_MU_TPMT_SIGNATURE_Marshal, &signature_), "marshalling the signature");
    }
    Free(signature);
  }
  Napi::Value Result(Napi::Env env) override { return ToBuffer(env, signature_); }
  ESYS_TR key_;
  Bytes digest_;
  Bytes scheme_;
  Bytes signature_;
};

// TPM2_Certify(object, signer, qualifyingData, inScheme) → { certifyInfo (TPMS_ATTEST bytes), signature }.
class CertifyWorker : public TpmWorker {
 public:
  CertifyWorker(Napi::Env env, TpmContextPtr ctx, ESYS_TR object, ESYS_TR signer, Bytes qualifyingData, Bytes scheme)
      : TpmWorker(env, ctx, "TPM2_Certify"), object_(object), signer_(signer), qd_(std::move(qualifyingData)),
        scheme_(std::move(scheme)) {}

 private:
  void Run(ESYS_CONTEXT* esys) override {
    TPMT_SIG_SCHEME scheme{};
    if (!Ok(UnmarshalAll(scheme_, Tss2_MU_TPMT_SIG_SCHEME_Unmarshal, &scheme), "scheme is not a TPMT_SIG_SCHEME")) return;
    TPM2B_DATA qd{};
    qd.size = static_cast<UINT16>(qd_.size());
    std::copy(qd_.begin(), qd_.end(), qd.buffer);
    TPM2B_ATTEST* attest = nullptr;
    TPMT_SIGNATURE* signature = nullptr;
    if (Ok(Esys_Certify(esys, object_, signer_, ESYS_TR_PASSWORD, ESYS_TR_PASSWORD, ESYS_TR_NONE, &qd, &scheme,
                        &attest, &signature)) &&
        Ok(MarshalAll(signature, Tss2_MU_TPMT_SIGNATURE_Marshal, &signature_), "marshalling the signature")) {
      attest_.assign(attest->attestationData, attest->attestationData + attest->size);
    }
    Free(attest);
    Free(signature);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("certifyInfo", ToBuffer(env, attest_));
    o.Set("signature", ToBuffer(env, signature_));
    return o;
  }
  ESYS_TR object_;
  ESYS_TR signer_;
  Bytes qd_;
  Bytes scheme_;
  Bytes attest_;
  Bytes signature_;
};

// TPM2_Quote(signer, qualifyingData, inScheme, pcrSelect TPML_PCR_SELECTION) → { quoted (TPMS_ATTEST bytes), signature }.
class QuoteWorker : public TpmWorker {
 public:
  QuoteWorker(Napi::Env env, TpmContextPtr ctx, ESYS_TR signer, Bytes qualifyingData, Bytes scheme, Bytes pcrSelect)
      : TpmWorker(env, ctx, "TPM2_Quote"), signer_(signer), qd_(std::move(qualifyingData)), scheme_(std::move(scheme)),
        pcrSelect_(std::move(pcrSelect)) {}

 private:
  void Run(ESYS_CONTEXT* esys) override {
    TPMT_SIG_SCHEME scheme{};
    TPML_PCR_SELECTION sel{};
    if (!Ok(UnmarshalAll(scheme_, Tss2_MU_TPMT_SIG_SCHEME_Unmarshal, &scheme), "scheme is not a TPMT_SIG_SCHEME")) return;
    if (!Ok(UnmarshalAll(pcrSelect_, Tss2_MU_TPML_PCR_SELECTION_Unmarshal, &sel), "pcrSelect is not a TPML_PCR_SELECTION")) return;
    TPM2B_DATA qd{};
    qd.size = static_cast<UINT16>(qd_.size());
    std::copy(qd_.begin(), qd_.end(), qd.buffer);
    TPM2B_ATTEST* quoted = nullptr;
    TPMT_SIGNATURE* signature = nullptr;
    if (Ok(Esys_Quote(esys, signer_, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qd, &scheme, &sel, &quoted,
                      &signature)) &&
        Ok(MarshalAll(signature, Tss2_MU_TPMT_SIGNATURE_Marshal, &signature_), "marshalling the signature")) {
      quoted_.assign(quoted->attestationData, quoted->attestationData + quoted->size);
    }
    Free(quoted);
    Free(signature);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("quoted", ToBuffer(env, quoted_));
    o.Set("signature", ToBuffer(env, signature_));
    return o;
  }
  ESYS_TR signer_;
  Bytes qd_;
  Bytes scheme_;
  Bytes pcrSelect_;
  Bytes quoted_;
  Bytes signature_;
};

// TPM2_PCR_Read(selection TPML_PCR_SELECTION) → { updateCounter, selectionOut TPML_PCR_SELECTION, digests[] }.
class PcrReadWorker : public TpmWorker {
 public:
  PcrReadWorker(Napi::Env env, TpmContextPtr ctx, Bytes selection)
      : TpmWorker(env, ctx, "TPM2_PCR_Read"), selection_(std::move(selection)) {}

 private:
  void Run(ESYS_CONTEXT* esys) override {
    TPML_PCR_SELECTION sel{};
    if (!Ok(UnmarshalAll(selection_, Tss2_MU_TPML_PCR_SELECTION_Unmarshal, &sel), "selection is not a TPML_PCR_SELECTION")) return;
    TPML_PCR_SELECTION* selOut = nullptr;
    TPML_DIGEST* values = nullptr;
    if (Ok(Esys_PCR_Read(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel, &updateCounter_, &selOut, &values)) &&
        Ok(MarshalAll(selOut, Tss2_MU_TPML_PCR_SELECTION_Marshal, &selectionOut_), "marshalling selectionOut")) {
      for (UINT32 i = 0; i < values->count; i++) {
        digests_.emplace_back(values->digests[i].buffer, values->digests[i].buffer + values->digests[i].size);
      }
    }
    Free(selOut);
    Free(values);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("updateCounter", Napi::Number::New(env, updateCounter_));
    o.Set("selectionOut", ToBuffer(env, selectionOut_));
    Napi::Array digests = Napi::Array::New(env, digests_.size());
    for (size_t i = 0; i < digests_.size(); i++) digests.Set(static_cast<uint32_t>(i), ToBuffer(env, digests_[i]));
    o.Set("digests", digests);
    return o;
  }
  Bytes selection_;
  UINT32 updateCounter_ = 0;
  Bytes selectionOut_;
  std::vector<Bytes> digests_;
};

// TPM2_ReadPublic(handle) → { outPublic TPM2B_PUBLIC, name, qualifiedName } (names as raw TPMU_NAME bytes).
class ReadPublicWorker : public TpmWorker {
 public:
  ReadPublicWorker(Napi::Env env, TpmContextPtr ctx, ESYS_TR handle)
      : TpmWorker(env, ctx, "TPM2_ReadPublic"), handle_(handle) {}

 private:
  void Run(ESYS_CONTEXT* esys) override {
    TPM2B_PUBLIC* outPublic = nullptr;
    TPM2B_NAME* name = nullptr;
    TPM2B_NAME* qualifiedName = nullptr;
    if (Ok(Esys_ReadPublic(esys, handle_, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &outPublic, &name, &qualifiedName)) &&
        Ok(MarshalAll(outPublic, Tss2_MU_TPM2B_PUBLIC_Marshal, &outPublic_), "marshalling outPublic")) {
      name_.assign(name->name, name->name + name->size);
      qualifiedName_.assign(qualifiedName->name, qualifiedName->name + qualifiedName->size);
    }
    Free(outPublic);
    Free(name);
    Free(qualifiedName);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("outPublic", ToBuffer(env, outPublic_));
    o.Set("name", ToBuffer(env, name_));
    o.Set("qualifiedName", ToBuffer(env, qualifiedName_));
    return o;
  }
  ESYS_TR handle_;
  Bytes outPublic_;
  Bytes name_;
  Bytes qualifiedName_;
};

// Esys_TR_FromTPMPublic(tpmHandle) → ESYS_TR (reads the public area / NV public of the handle).
class TrFromTpmPublicWorker : public TpmWorker {
 public:
  TrFromTpmPublicWorker(Napi::Env env, TpmContextPtr ctx, uint32_t tpmHandle)
      : TpmWorker(env, ctx, "Esys_TR_FromTPMPublic"), tpmHandle_(tpmHandle) {}

 private:
  void Run(ESYS_CONTEXT* esys) override {
    Ok(Esys_TR_FromTPMPublic(esys, tpmHandle_, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr_));
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, tr_); }
  uint32_t tpmHandle_;
  ESYS_TR tr_ = ESYS_TR_NONE;
};

// Esys_TR_Close(handle): forgets an ESYS_TR without touching the TPM object (for persistent and NV handles).
class TrCloseWorker : public TpmWorker {
 public:
  TrCloseWorker(Napi::Env env, TpmContextPtr ctx, ESYS_TR handle) : TpmWorker(env, ctx, "Esys_TR_Close"), handle_(handle) {}

 private:
  void Run(ESYS_CONTEXT* esys) override { Ok(Esys_TR_Close(esys, &handle_)); }
  ESYS_TR handle_;
};

// TPM2_EvictControl(owner, object, persistentHandle) → the new ESYS_TR (ESYS_TR_NONE when evicting a persistent one).
class EvictControlWorker : public TpmWorker {
 public:
  EvictControlWorker(Napi::Env env, TpmContextPtr ctx, ESYS_TR object, uint32_t persistent)
      : TpmWorker(env, ctx, "TPM2_EvictControl"), object_(object), persistent_(persistent) {}

 private:
  void Run(ESYS_CONTEXT* esys) override {
    Ok(Esys_EvictControl(esys, ESYS_TR_RH_OWNER, object_, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, persistent_,
                         &newHandle_));
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, newHandle_); }
  ESYS_TR object_;
  uint32_t persistent_;
  ESYS_TR newHandle_ = ESYS_TR_NONE;
};

// TPM2_NV_ReadPublic(nvIndex TPM handle) → { nvPublic TPM2B_NV_PUBLIC, name }.
class NvReadPublicWorker : public TpmWorker {
 public:
  NvReadPublicWorker(Napi::Env env, TpmContextPtr ctx, uint32_t index)
      : TpmWorker(env, ctx, "TPM2_NV_ReadPublic"), index_(index) {}

 private:
  void Run(ESYS_CONTEXT* esys) override {
    ESYS_TR tr = ESYS_TR_NONE;
    if (!Ok(Esys_TR_FromTPMPublic(esys, index_, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr))) return;
    TPM2B_NV_PUBLIC* nvPublic = nullptr;
    TPM2B_NAME* name = nullptr;
    if (Ok(Esys_NV_ReadPublic(esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nvPublic, &name)) &&
        Ok(MarshalAll(nvPublic, Tss2_MU_TPM2B_NV_PUBLIC_Marshal, &nvPublic_), "marshalling nvPublic")) {
      name_.assign(name->name, name->name + name->size);
    }
    Free(nvPublic);
    Free(name);
    Esys_TR_Close(esys, &tr);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("nvPublic", ToBuffer(env, nvPublic_));
    o.Set("name", ToBuffer(env, name_));
    return o;
  }
  uint32_t index_;
  Bytes nvPublic_;
  Bytes name_;
};

// TPM2_NV_Read(auth, nvIndex TPM handle, size, offset), in chunks of at most TPM_PT_NV_BUFFER_MAX bytes.
// auth: the index itself (TPMA_NV_AUTHREAD, empty auth) unless TPM_RH_OWNER / TPM_RH_PLATFORM is given.
class NvReadWorker : public TpmWorker {
 public:
  NvReadWorker(Napi::Env env, TpmContextPtr ctx, uint32_t index, uint32_t size, uint32_t offset, ESYS_TR auth)
      : TpmWorker(env, ctx, "TPM2_NV_Read"), index_(index), size_(size), offset_(offset), auth_(auth) {}

 private:
  void Run(ESYS_CONTEXT* esys) override {
    size_t chunk = 512;
    TPMI_YES_NO more = TPM2_NO;
    TPMS_CAPABILITY_DATA* cap = nullptr;
    if (Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES,
                           TPM2_PT_NV_BUFFER_MAX, 1, &more, &cap) == TSS2_RC_SUCCESS &&
        cap->data.tpmProperties.count > 0 && cap->data.tpmProperties.tpmProperty[0].property == TPM2_PT_NV_BUFFER_MAX &&
        cap->data.tpmProperties.tpmProperty[0].value > 0) {
      chunk = cap->data.tpmProperties.tpmProperty[0].value;
    }
    Free(cap);
    chunk = std::min<size_t>(chunk, TPM2_MAX_NV_BUFFER_SIZE);

    ESYS_TR tr = ESYS_TR_NONE;
    if (!Ok(Esys_TR_FromTPMPublic(esys, index_, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr))) return;
    ESYS_TR auth = auth_ == ESYS_TR_NONE ? tr : auth_;
    while (out_.size() < size_) {
      UINT16 n = static_cast<UINT16>(std::min<size_t>(chunk, size_ - out_.size()));
      UINT16 off = static_cast<UINT16>(offset_ + out_.size());
      TPM2B_MAX_NV_BUFFER* data = nullptr;
      if (!Ok(Esys_NV_Read(esys, auth, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, n, off, &data))) break;
      bool empty = data->size == 0;
      out_.insert(out_.end(), data->buffer, data->buffer + std::min<size_t>(data->size, size_ - out_.size()));
      Free(data);
      if (empty) {
        Fail("the TPM returned no data");
        break;
      }
    }
    Esys_TR_Close(esys, &tr);
  }
  Napi::Value Result(Napi::Env env) override { return ToBuffer(env, out_); }
  uint32_t index_;
  uint32_t size_;
  uint32_t offset_;
  ESYS_TR auth_;
  Bytes out_;
};

// TPM2_GetCapability(capability, property, propertyCount) → { moreData, capabilityData TPMS_CAPABILITY_DATA }.
class GetCapabilityWorker : public TpmWorker {
 public:
  GetCapabilityWorker(Napi::Env env, TpmContextPtr ctx, uint32_t capability, uint32_t property, uint32_t count)
      : TpmWorker(env, ctx, "TPM2_GetCapability"), capability_(capability), property_(property), count_(count) {}

 private:
  void Run(ESYS_CONTEXT* esys) override {
    TPMI_YES_NO more = TPM2_NO;
    TPMS_CAPABILITY_DATA* data = nullptr;
    if (Ok(Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, capability_, property_, count_, &more,
                              &data))) {
      more_ = more == TPM2_YES;
      Ok(MarshalAll(data, Tss2_MU_TPMS_CAPABILITY_DATA_Marshal, &data_), "marshalling capabilityData");
    }
    Free(data);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("moreData", Napi::Boolean::New(env, more_));
    o.Set("capabilityData", ToBuffer(env, data_));
    return o;
  }
  uint32_t capability_;
  uint32_t property_;
  uint32_t count_;
  bool more_ = false;
  Bytes data_;
};

// TPM2_FlushContext(handle); the ESYS_TR is released too.
class FlushContextWorker : public TpmWorker {
 public:
  FlushContextWorker(Napi::Env env, TpmContextPtr ctx, ESYS_TR handle)
      : TpmWorker(env, ctx, "TPM2_FlushContext"), handle_(handle) {}

 private:
  void Run(ESYS_CONTEXT* esys) override { Ok(Esys_FlushContext(esys, handle_)); }
  ESYS_TR handle_;
};

// Esys_Finalize + TCTI finalize. Idempotent; later commands reject with "the TPM context is closed".
class CloseWorker : public TpmWorker {
 public:
  CloseWorker(Napi::Env env, TpmContextPtr ctx) : TpmWorker(env, ctx, "close") {}

 private:
  void Execute() override {
    std::lock_guard<std::mutex> lock(ctx_->mu);
    ctx_->CloseLocked();
  }
  void Run(ESYS_CONTEXT*) override {}
};

// ---- key import and sealing (keys helper: TPM2_Import, TPM2_Create with sensitive data, TPM2_Unseal) --------------

// Overwrites secret bytes in a way the compiler may not elide.
void Wipe(void* p, size_t n) {
  volatile uint8_t* v = static_cast<volatile uint8_t*>(p);
  while (n--) *v++ = 0;
}
void Wipe(Bytes& b) {
  Wipe(b.data(), b.size());
  b.clear();
}

// TPM2_Import(parent, encryptionKey, objectPublic TPM2B_PUBLIC, duplicate TPM2B_PRIVATE, inSymSeed
// TPM2B_ENCRYPTED_SECRET, symmetricAlg TPMT_SYM_DEF_OBJECT) → outPrivate TPM2B_PRIVATE. The duplicate may hold a
// plaintext sensitive area: every copy this worker owns is wiped before it is destroyed.
class ImportWorker : public TpmWorker {
 public:
  ImportWorker(Napi::Env env, TpmContextPtr ctx, ESYS_TR parent, Bytes encryptionKey, Bytes objectPublic,
               Bytes duplicate, Bytes inSymSeed, Bytes symmetricAlg)
      : TpmWorker(env, ctx, "TPM2_Import"), parent_(parent), encryptionKey_(std::move(encryptionKey)),
        objectPublic_(std::move(objectPublic)), duplicate_(std::move(duplicate)), inSymSeed_(std::move(inSymSeed)),
        symmetricAlg_(std::move(symmetricAlg)) {}
  ~ImportWorker() override { Wipe(duplicate_); Wipe(encryptionKey_); }

 private:
  void Run(ESYS_CONTEXT* esys) override {
    TPM2B_DATA encryptionKey{};
    TPM2B_PUBLIC objectPublic{};
    TPM2B_PRIVATE duplicate{};
    TPM2B_ENCRYPTED_SECRET inSymSeed{};
    TPMT_SYM_DEF_OBJECT symmetricAlg{};
    TPM2B_PRIVATE* outPrivate = nullptr;
    if (encryptionKey_.size() > sizeof(encryptionKey.buffer)) {
      Fail("encryptionKey is too long");
    } else if (inSymSeed_.size() > sizeof(inSymSeed.secret)) {
      Fail("inSymSeed is too long");
    } else if (Ok(UnmarshalAll(objectPublic_, Tss2_MU_TPM2B_PUBLIC_Unmarshal, &objectPublic), "objectPublic is not a TPM2B_PUBLIC") &&
               Ok(UnmarshalAll(duplicate_, Tss2_MU_TPM2B_PRIVATE_Unmarshal, &duplicate), "duplicate is not a TPM2B_PRIVATE") &&
               Ok(UnmarshalAll(symmetricAlg_, Tss2_MU_TPMT_SYM_DEF_OBJECT_Unmarshal, &symmetricAlg),
                  "symmetricAlg is not a TPMT_SYM_DEF_OBJECT")) {
      encryptionKey.size = static_cast<UINT16>(encryptionKey_.size());
      std::copy(encryptionKey_.begin(), encryptionKey_.end(), encryptionKey.buffer);
      inSymSeed.size = static_cast<UINT16>(inSymSeed_.size());
      std::copy(inSymSeed_.begin(), inSymSeed_.end(), inSymSeed.secret);
      if (Ok(Esys_Import(esys, parent_, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &encryptionKey, &objectPublic,
                         &duplicate, &inSymSeed, &symmetricAlg, &outPrivate))) {
        Ok(MarshalAll(outPrivate, Tss2_MU_TPM2B_PRIVATE_Marshal, &outPrivate_), "marshalling outPrivate");
      }
    }
    Free(outPrivate);
    Wipe(&duplicate, sizeof(duplicate));
    Wipe(&encryptionKey, sizeof(encryptionKey));
    Wipe(duplicate_);
    Wipe(encryptionKey_);
  }
  Napi::Value Result(Napi::Env env) override { return ToBuffer(env, outPrivate_); }
  ESYS_TR parent_;
  Bytes encryptionKey_;
  Bytes objectPublic_;
  Bytes duplicate_;
  Bytes inSymSeed_;
  Bytes symmetricAlg_;
  Bytes outPrivate_;
};

// TPM2_Create(parent, inSensitive {userAuth empty, data}, inPublic) → { outPublic, outPrivate }: a sealed data object
// (KEYEDHASH) or a SYMCIPHER/HMAC key whose bits come from `data`. The plaintext copies are wiped.
class CreateSealedWorker : public TpmWorker {
 public:
  CreateSealedWorker(Napi::Env env, TpmContextPtr ctx, ESYS_TR parent, Bytes inPublic, Bytes data)
      : TpmWorker(env, ctx, "TPM2_Create"), parent_(parent), inPublic_(std::move(inPublic)), data_(std::move(data)) {}
  ~CreateSealedWorker() override { Wipe(data_); }

 private:
  void Run(ESYS_CONTEXT* esys) override {
    TPM2B_PUBLIC inPublic{};
    if (!Ok(UnmarshalAll(inPublic_, Tss2_MU_TPM2B_PUBLIC_Unmarshal, &inPublic), "inPublic is not a TPM2B_PUBLIC")) {
      Wipe(data_);
      return;
    }
    TPM2B_SENSITIVE_CREATE sensitive{};
    sensitive.sensitive.data.size = static_cast<UINT16>(data_.size());
    std::copy(data_.begin(), data_.end(), sensitive.sensitive.data.buffer);
    Wipe(data_);
    TPM2B_DATA outsideInfo{};
    TPML_PCR_SELECTION creationPcr{};
    TPM2B_PRIVATE* outPrivate = nullptr;
    TPM2B_PUBLIC* outPublic = nullptr;
    TPM2B_CREATION_DATA* creationData = nullptr;
    TPM2B_DIGEST* creationHash = nullptr;
    TPMT_TK_CREATION* creationTicket = nullptr;
    TSS2_RC rc = Esys_Create(esys, parent_, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &inPublic,
                             &outsideInfo, &creationPcr, &outPrivate, &outPublic, &creationData, &creationHash,
                             &creationTicket);
    Wipe(&sensitive, sizeof(sensitive));
    if (Ok(rc) && Ok(MarshalAll(outPublic, Tss2_MU_TPM2B_PUBLIC_Marshal, &outPublic_), "marshalling outPublic")) {
      Ok(MarshalAll(outPrivate, Tss2_MU_TPM2B_PRIVATE_Marshal, &outPrivate_), "marshalling outPrivate");
    }
    Free(outPrivate);
    Free(outPublic);
    Free(creationData);
    Free(creationHash);
    Free(creationTicket);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("outPublic", ToBuffer(env, outPublic_));
    o.Set("outPrivate", ToBuffer(env, outPrivate_));
    return o;
  }
  ESYS_TR parent_;
  Bytes inPublic_;
  Bytes data_;
  Bytes outPublic_;
  Bytes outPrivate_;
};

// TPM2_Unseal(item) → the sealed data (TPM2B_SENSITIVE_DATA contents). The returned Buffer is the caller's to wipe.
class UnsealWorker : public TpmWorker {
 public:
  UnsealWorker(Napi::Env env, TpmContextPtr ctx, ESYS_TR item) : TpmWorker(env, ctx, "TPM2_Unseal"), item_(item) {}
  ~UnsealWorker() override { Wipe(out_); }

 private:
  void Run(ESYS_CONTEXT* esys) override {
    TPM2B_SENSITIVE_DATA* data = nullptr;
    if (Ok(Esys_Unseal(esys, item_, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &data))) {
      out_.assign(data->buffer, data->buffer + data->size);
      Wipe(data, sizeof(*data));
    }
    Free(data);
  }
  Napi::Value Result(Napi::Env env) override { return ToBuffer(env, out_); }
  ESYS_TR item_;
  Bytes out_;
};

// ---- end of key import and sealing ----------------------------------------------------------------------------------
// ---- key-establishment commands (cmc: indirect POP, RFC 5272 §6.7) --------------------------------------------------

// TPM2_RSA_Decrypt(key, cipherText, inScheme TPMT_RSA_DECRYPT, label) → message bytes.
class RsaDecryptWorker : public TpmWorker {
 public:
  RsaDecryptWorker(Napi::Env env, TpmContextPtr ctx, ESYS_TR key, Bytes cipherText, Bytes scheme, Bytes label)
      : TpmWorker(env, ctx, "TPM2_RSA_Decrypt"), key_(key), cipherText_(std::move(cipherText)), scheme_(std::move(scheme)),
        label_(std::move(label)) {}

 private:
  void Run(ESYS_CONTEXT* esys) override {
    TPMT_RSA_DECRYPT scheme{};
    if (!Ok(UnmarshalAll(scheme_, Tss2_MU_TPMT_RSA_DECRYPT_Unmarshal, &scheme), "scheme is not a TPMT_RSA_DECRYPT")) return;
    TPM2B_PUBLIC_KEY_RSA cipherText{};
    cipherText.size = static_cast<UINT16>(cipherText_.size());
    std::copy(cipherText_.begin(), cipherText_.end(), cipherText.buffer);
    TPM2B_DATA label{};
    label.size = static_cast<UINT16>(label_.size());
    std::copy(label_.begin(), label_.end(), label.buffer);
    TPM2B_PUBLIC_KEY_RSA* message = nullptr;
    if (Ok(Esys_RSA_Decrypt(esys, key_, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &cipherText, &scheme, &label, &message))) {
      message_.assign(message->buffer, message->buffer + message->size);
    }
    Free(message);
  }
  Napi::Value Result(Napi::Env env) override { return ToBuffer(env, message_); }
  ESYS_TR key_;
  Bytes cipherText_;
  Bytes scheme_;
  Bytes label_;
  Bytes message_;
};

// TPM2_ECDH_ZGen(key, inPoint TPM2B_ECC_POINT) → outPoint TPM2B_ECC_POINT (the shared point; Z is its x coordinate).
class EcdhZGenWorker : public TpmWorker {
 public:
  EcdhZGenWorker(Napi::Env env, TpmContextPtr ctx, ESYS_TR key, Bytes inPoint)
      : TpmWorker(env, ctx, "TPM2_ECDH_ZGen"), key_(key), inPoint_(std::move(inPoint)) {}

 private:
  void Run(ESYS_CONTEXT* esys) override {
    TPM2B_ECC_POINT inPoint{};
    if (!Ok(UnmarshalAll(inPoint_, Tss2_MU_TPM2B_ECC_POINT_Unmarshal, &inPoint), "inPoint is not a TPM2B_ECC_POINT")) return;
    TPM2B_ECC_POINT* outPoint = nullptr;
    if (Ok(Esys_ECDH_ZGen(esys, key_, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &inPoint, &outPoint))) {
      Ok(MarshalAll(outPoint, Tss2_MU_TPM2B_ECC_POINT_Marshal, &outPoint_), "marshalling outPoint");
    }
    Free(outPoint);
  }
  Napi::Value Result(Napi::Env env) override { return ToBuffer(env, outPoint_); }
  ESYS_TR key_;
  Bytes inPoint_;
  Bytes outPoint_;
};

// ---- end of key-establishment commands --------------------------------------------------------------------------------

}  // namespace

// ---- JS methods ---------------------------------------------------------------------------------------------------

Napi::Value Tpm::GetRandom(const Napi::CallbackInfo& info) {
  return StartWorker(info, [&] {
    uint32_t n = ArgU32(info, 0, "n");
    if (n > 65536) throw Napi::RangeError::New(info.Env(), "getRandom: n must be <= 65536");
    return new GetRandomWorker(info.Env(), ctx_, n);
  });
}

Napi::Value Tpm::CreatePrimary(const Napi::CallbackInfo& info) {
  return StartWorker(info, [&] {
    ESYS_TR h = HierarchyTr(info, 0, "hierarchy");
    return new CreatePrimaryWorker(info.Env(), ctx_, h, ArgBytes(info, 1, "inPublic"));
  });
}

Napi::Value Tpm::Create(const Napi::CallbackInfo& info) {
  return StartWorker(info, [&] {
    ESYS_TR parent = ArgU32(info, 0, "parentHandle");
    return new CreateWorker(info.Env(), ctx_, parent, ArgBytes(info, 1, "inPublic"));
  });
}

Napi::Value Tpm::Load(const Napi::CallbackInfo& info) {
  return StartWorker(info, [&] {
    ESYS_TR parent = ArgU32(info, 0, "parentHandle");
    Bytes priv = ArgBytes(info, 1, "inPrivate");
    Bytes pub = ArgBytes(info, 2, "inPublic");
    return new LoadWorker(info.Env(), ctx_, parent, std::move(priv), std::move(pub));
  });
}

Napi::Value Tpm::Sign(const Napi::CallbackInfo& info) {
  return StartWorker(info, [&] {
    ESYS_TR key = ArgU32(info, 0, "keyHandle");
    Bytes digest = ArgBytes(info, 1, "digest", sizeof(TPMU_HA));
    Bytes scheme = ArgBytes(info, 2, "scheme");
    return new SignWorker(info.Env(), ctx_, key, std::move(digest), std::move(scheme));
  });
}

Napi::Value Tpm::Certify(const Napi::CallbackInfo& info) {
  return StartWorker(info, [&] {
    ESYS_TR object = ArgU32(info, 0, "objectHandle");
    ESYS_TR signer = ArgU32(info, 1, "signHandle");
    Bytes qd = ArgBytes(info, 2, "qualifyingData", sizeof(TPMT_HA));
    Bytes scheme = ArgBytes(info, 3, "scheme");
    return new CertifyWorker(info.Env(), ctx_, object, signer, std::move(qd), std::move(scheme));
  });
}

Napi::Value Tpm::Quote(const Napi::CallbackInfo& info) {
  return StartWorker(info, [&] {
    ESYS_TR signer = ArgU32(info, 0, "signHandle");
    Bytes qd = ArgBytes(info, 1, "qualifyingData", sizeof(TPMT_HA));
    Bytes scheme = ArgBytes(info, 2, "scheme");
    Bytes sel = ArgBytes(info, 3, "pcrSelection");
    return new QuoteWorker(info.Env(), ctx_, signer, std::move(qd), std::move(scheme), std::move(sel));
  });
}

Napi::Value Tpm::PcrRead(const Napi::CallbackInfo& info) {
  return StartWorker(info, [&] { return new PcrReadWorker(info.Env(), ctx_, ArgBytes(info, 0, "selection")); });
}

Napi::Value Tpm::ReadPublic(const Napi::CallbackInfo& info) {
  return StartWorker(info, [&] { return new ReadPublicWorker(info.Env(), ctx_, ArgU32(info, 0, "handle")); });
}

Napi::Value Tpm::TrFromTpmPublic(const Napi::CallbackInfo& info) {
  return StartWorker(info, [&] { return new TrFromTpmPublicWorker(info.Env(), ctx_, ArgU32(info, 0, "tpmHandle")); });
}

Napi::Value Tpm::TrClose(const Napi::CallbackInfo& info) {
  return StartWorker(info, [&] { return new TrCloseWorker(info.Env(), ctx_, ArgU32(info, 0, "handle")); });
}

Napi::Value Tpm::EvictControl(const Napi::CallbackInfo& info) {
  return StartWorker(info, [&] {
    ESYS_TR object = ArgU32(info, 0, "objectHandle");
    uint32_t persistent = ArgU32(info, 1, "persistentHandle");
    return new EvictControlWorker(info.Env(), ctx_, object, persistent);
  });
}

Napi::Value Tpm::NvReadPublic(const Napi::CallbackInfo& info) {
  return StartWorker(info, [&] { return new NvReadPublicWorker(info.Env(), ctx_, ArgU32(info, 0, "nvIndex")); });
}

Napi::Value Tpm::NvRead(const Napi::CallbackInfo& info) {
  return StartWorker(info, [&] {
    uint32_t index = ArgU32(info, 0, "nvIndex");
    uint32_t size = ArgU32(info, 1, "size");
    uint32_t offset = ArgU32(info, 2, "offset");
    if (size > 65535 || offset > 65535 || size + offset > 65535) {
      throw Napi::RangeError::New(info.Env(), "nvRead: size/offset out of range");
    }
    ESYS_TR auth = ESYS_TR_NONE;
    if (info.Length() > 3 && !info[3].IsUndefined()) {
      uint32_t a = ArgU32(info, 3, "authHandle");
      if (a == TPM2_RH_OWNER) auth = ESYS_TR_RH_OWNER;
      else if (a == TPM2_RH_PLATFORM) auth = ESYS_TR_RH_PLATFORM;
      else if (a != index) throw Napi::TypeError::New(info.Env(), "nvRead: authHandle must be TPM_RH_OWNER, TPM_RH_PLATFORM or the index");
    }
    return new NvReadWorker(info.Env(), ctx_, index, size, offset, auth);
  });
}

Napi::Value Tpm::GetCapability(const Napi::CallbackInfo& info) {
  return StartWorker(info, [&] {
    uint32_t cap = ArgU32(info, 0, "capability");
    uint32_t prop = ArgU32(info, 1, "property");
    uint32_t count = ArgU32(info, 2, "propertyCount");
    return new GetCapabilityWorker(info.Env(), ctx_, cap, prop, count);
  });
}

Napi::Value Tpm::FlushContext(const Napi::CallbackInfo& info) {
  return StartWorker(info, [&] { return new FlushContextWorker(info.Env(), ctx_, ArgU32(info, 0, "handle")); });
}

Napi::Value Tpm::Close(const Napi::CallbackInfo& info) {
  return StartWorker(info, [&] { return new CloseWorker(info.Env(), ctx_); });
}

// ---- key import and sealing (keys helper) ---------------------------------------------------------------------------

Napi::Value Tpm::Import(const Napi::CallbackInfo& info) {
  return StartWorker(info, [&] {
    ESYS_TR parent = ArgU32(info, 0, "parentHandle");
    Bytes encryptionKey = ArgBytes(info, 1, "encryptionKey", sizeof(TPM2B_DATA::buffer));
    Bytes objectPublic = ArgBytes(info, 2, "objectPublic");
    Bytes duplicate = ArgBytes(info, 3, "duplicate", sizeof(TPM2B_PRIVATE));
    Bytes inSymSeed = ArgBytes(info, 4, "inSymSeed", sizeof(TPM2B_ENCRYPTED_SECRET::secret));
    Bytes symmetricAlg = ArgBytes(info, 5, "symmetricAlg");
    return new ImportWorker(info.Env(), ctx_, parent, std::move(encryptionKey), std::move(objectPublic),
                            std::move(duplicate), std::move(inSymSeed), std::move(symmetricAlg));
  });
}

Napi::Value Tpm::CreateSealed(const Napi::CallbackInfo& info) {
  return StartWorker(info, [&] {
    ESYS_TR parent = ArgU32(info, 0, "parentHandle");
    Bytes inPublic = ArgBytes(info, 1, "inPublic");
    Bytes data = ArgBytes(info, 2, "data", sizeof(TPM2B_SENSITIVE_DATA::buffer));
    return new CreateSealedWorker(info.Env(), ctx_, parent, std::move(inPublic), std::move(data));
  });
}

Napi::Value Tpm::Unseal(const Napi::CallbackInfo& info) {
  return StartWorker(info, [&] { return new UnsealWorker(info.Env(), ctx_, ArgU32(info, 0, "itemHandle")); });
}

// ---- end of key import and sealing ----------------------------------------------------------------------------------

// ---- key-establishment JS methods (cmc) ----------------------------------------------------------------------------

Napi::Value Tpm::RsaDecrypt(const Napi::CallbackInfo& info) {
  return StartWorker(info, [&] {
    ESYS_TR key = ArgU32(info, 0, "keyHandle");
    Bytes cipherText = ArgBytes(info, 1, "cipherText", TPM2_MAX_RSA_KEY_BYTES);
    Bytes scheme = ArgBytes(info, 2, "scheme");
    Bytes label = ArgBytes(info, 3, "label", sizeof(TPMU_HA));
    return new RsaDecryptWorker(info.Env(), ctx_, key, std::move(cipherText), std::move(scheme), std::move(label));
  });
}

Napi::Value Tpm::EcdhZGen(const Napi::CallbackInfo& info) {
  return StartWorker(info, [&] {
    ESYS_TR key = ArgU32(info, 0, "keyHandle");
    return new EcdhZGenWorker(info.Env(), ctx_, key, ArgBytes(info, 1, "inPoint", sizeof(TPM2B_ECC_POINT)));
  });
}

}  // namespace enrolld
