// One Command per TPM command (go-tpm tpm2/ style), each registered as a method of the JS `Tpm` object: the ESYS call
// plus marshalling only — all policy lives in TypeScript (agent/tpm2, agent/keystore). Argument and result names are
// those of TPM 2.0 Part 3 and of the typed descriptions in agent/tpm2/commands.ts. Objects created inside a command
// that are not handed to JS are flushed on every path; copies of secret inputs are wiped.
#include <algorithm>

#include "command.h"

namespace enrolld {
namespace {

// TPM2_GetRandom (Part 3 §16.1), repeated until bytesRequested (each response carries at most one digest's worth).
struct GetRandom final : Command {
  uint32_t n;
  explicit GetRandom(Args& a) : Command(a), n(a.U32("bytesRequested")) {
    if (n > 65536) throw Napi::RangeError::New(a.Env(), "bytesRequested must be <= 65536");
  }
  void Run(ESYS_CONTEXT* esys) override {
    Bytes out;
    while (out.size() < n) {
      Output<TPM2B_DIGEST> rnd;
      UINT16 want = static_cast<UINT16>(std::min<size_t>(n - out.size(), sizeof(TPM2B_DIGEST::buffer)));
      if (!Ok(Esys_GetRandom(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, want, rnd.Out()))) return;
      if (rnd->size == 0) return Fail("the TPM returned no random bytes");
      out.insert(out.end(), rnd->buffer, rnd->buffer + std::min<size_t>(rnd->size, n - out.size()));
    }
    Return("randomBytes", std::move(out));
  }
};
ENROLLD_COMMAND(GetRandom, "getRandom", "TPM2_GetRandom");

// TPM2_CreatePrimary (Part 3 §24.1) with empty inSensitive, outsideInfo and creationPCR.
struct CreatePrimary final : Command {
  ESYS_TR primary;
  TPM2B_PUBLIC inPublic{};
  explicit CreatePrimary(Args& a) : Command(a), primary(a.Hierarchy("primaryHandle")) {
    ENROLLD_UNMARSHAL(a, "inPublic", TPM2B_PUBLIC, &inPublic);
  }
  void Run(ESYS_CONTEXT* esys) override {
    TPM2B_SENSITIVE_CREATE sensitive{};
    TPM2B_DATA outsideInfo{};
    TPML_PCR_SELECTION creationPcr{};
    ESYS_TR handle = ESYS_TR_NONE;
    Output<TPM2B_PUBLIC> outPublic;
    Output<TPM2B_CREATION_DATA> creationData;
    Output<TPM2B_DIGEST> creationHash;
    Output<TPMT_TK_CREATION> creationTicket;
    if (!Ok(Esys_CreatePrimary(esys, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &inPublic,
                               &outsideInfo, &creationPcr, &handle, outPublic.Out(), creationData.Out(),
                               creationHash.Out(), creationTicket.Out()))) {
      return;
    }
    if (!ENROLLD_RETURN("outPublic", TPM2B_PUBLIC, outPublic.get())) {
      Esys_FlushContext(esys, handle);
      return;
    }
    Return("objectHandle", handle);
  }
};
ENROLLD_COMMAND(CreatePrimary, "createPrimary", "TPM2_CreatePrimary");

// TPM2_Create (Part 3 §12.1) with empty outsideInfo and creationPCR. inSensitive.data = sensitiveData when given (a
// sealed data object, or a SYMCIPHER/HMAC key whose bits the caller supplies); its copies are wiped.
struct Create final : Command {
  ESYS_TR parent;
  TPM2B_PUBLIC inPublic{};
  TPM2B_SENSITIVE_CREATE sensitive{};
  explicit Create(Args& a) : Command(a), parent(a.Tr("parentHandle")) {
    ENROLLD_UNMARSHAL(a, "inPublic", TPM2B_PUBLIC, &inPublic);
    if (a.Has("sensitiveData")) a.Into2B("sensitiveData", &sensitive.sensitive.data);
  }
  ~Create() override { Wipe(&sensitive, sizeof(sensitive)); }
  void Run(ESYS_CONTEXT* esys) override {
    TPM2B_DATA outsideInfo{};
    TPML_PCR_SELECTION creationPcr{};
    Output<TPM2B_PRIVATE> outPrivate;
    Output<TPM2B_PUBLIC> outPublic;
    Output<TPM2B_CREATION_DATA> creationData;
    Output<TPM2B_DIGEST> creationHash;
    Output<TPMT_TK_CREATION> creationTicket;
    TSS2_RC rc = Esys_Create(esys, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &inPublic,
                             &outsideInfo, &creationPcr, outPrivate.Out(), outPublic.Out(), creationData.Out(),
                             creationHash.Out(), creationTicket.Out());
    Wipe(&sensitive, sizeof(sensitive));
    if (Ok(rc) && ENROLLD_RETURN("outPublic", TPM2B_PUBLIC, outPublic.get())) {
      ENROLLD_RETURN("outPrivate", TPM2B_PRIVATE, outPrivate.get());
    }
  }
};
ENROLLD_COMMAND(Create, "create", "TPM2_Create");

// TPM2_Load (Part 3 §12.2).
struct Load final : Command {
  ESYS_TR parent;
  TPM2B_PRIVATE inPrivate{};
  TPM2B_PUBLIC inPublic{};
  explicit Load(Args& a) : Command(a), parent(a.Tr("parentHandle")) {
    ENROLLD_UNMARSHAL(a, "inPrivate", TPM2B_PRIVATE, &inPrivate);
    ENROLLD_UNMARSHAL(a, "inPublic", TPM2B_PUBLIC, &inPublic);
  }
  void Run(ESYS_CONTEXT* esys) override {
    ESYS_TR handle = ESYS_TR_NONE;
    if (Ok(Esys_Load(esys, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &inPrivate, &inPublic, &handle))) {
      Return("objectHandle", handle);
    }
  }
};
ENROLLD_COMMAND(Load, "load", "TPM2_Load");

// TPM2_Sign (Part 3 §20.2) with a NULL hashcheck ticket (the key is unrestricted).
struct Sign final : Command {
  ESYS_TR key;
  TPM2B_DIGEST digest{};
  TPMT_SIG_SCHEME scheme{};
  explicit Sign(Args& a) : Command(a), key(a.Tr("keyHandle")) {
    a.Into2B("digest", &digest);
    ENROLLD_UNMARSHAL(a, "inScheme", TPMT_SIG_SCHEME, &scheme);
  }
  void Run(ESYS_CONTEXT* esys) override {
    TPMT_TK_HASHCHECK validation{};
    validation.tag = TPM2_ST_HASHCHECK;
    validation.hierarchy = TPM2_RH_NULL;
    Output<TPMT_SIGNATURE> signature;
    if (Ok(Esys_Sign(esys, key, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &digest, &scheme, &validation,
                     signature.Out()))) {
      ENROLLD_RETURN("signature", TPMT_SIGNATURE, signature.get());
    }
  }
};
ENROLLD_COMMAND(Sign, "sign", "TPM2_Sign");

// TPM2_Certify (Part 3 §18.2) → certifyInfo (the TPMS_ATTEST bytes) and signature.
struct Certify final : Command {
  ESYS_TR object, signer;
  TPM2B_DATA qualifyingData{};
  TPMT_SIG_SCHEME scheme{};
  explicit Certify(Args& a) : Command(a), object(a.Tr("objectHandle")), signer(a.Tr("signHandle")) {
    a.Into2B("qualifyingData", &qualifyingData);
    ENROLLD_UNMARSHAL(a, "inScheme", TPMT_SIG_SCHEME, &scheme);
  }
  void Run(ESYS_CONTEXT* esys) override {
    Output<TPM2B_ATTEST> attest;
    Output<TPMT_SIGNATURE> signature;
    if (Ok(Esys_Certify(esys, object, signer, ESYS_TR_PASSWORD, ESYS_TR_PASSWORD, ESYS_TR_NONE, &qualifyingData,
                        &scheme, attest.Out(), signature.Out())) &&
        ENROLLD_RETURN("signature", TPMT_SIGNATURE, signature.get())) {
      Return("certifyInfo", attest->attestationData, attest->size);
    }
  }
};
ENROLLD_COMMAND(Certify, "certify", "TPM2_Certify");

// TPM2_Quote (Part 3 §18.4) → quoted (the TPMS_ATTEST bytes) and signature.
struct Quote final : Command {
  ESYS_TR signer;
  TPM2B_DATA qualifyingData{};
  TPMT_SIG_SCHEME scheme{};
  TPML_PCR_SELECTION pcrSelect{};
  explicit Quote(Args& a) : Command(a), signer(a.Tr("signHandle")) {
    a.Into2B("qualifyingData", &qualifyingData);
    ENROLLD_UNMARSHAL(a, "inScheme", TPMT_SIG_SCHEME, &scheme);
    ENROLLD_UNMARSHAL(a, "pcrSelect", TPML_PCR_SELECTION, &pcrSelect);
  }
  void Run(ESYS_CONTEXT* esys) override {
    Output<TPM2B_ATTEST> quoted;
    Output<TPMT_SIGNATURE> signature;
    if (Ok(Esys_Quote(esys, signer, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qualifyingData, &scheme, &pcrSelect,
                      quoted.Out(), signature.Out())) &&
        ENROLLD_RETURN("signature", TPMT_SIGNATURE, signature.get())) {
      Return("quoted", quoted->attestationData, quoted->size);
    }
  }
};
ENROLLD_COMMAND(Quote, "quote", "TPM2_Quote");

// TPM2_PCR_Read (Part 3 §22.4) → pcrUpdateCounter, pcrSelectionOut, pcrValues (one Buffer per digest).
struct PcrRead final : Command {
  TPML_PCR_SELECTION selection{};
  explicit PcrRead(Args& a) : Command(a) { ENROLLD_UNMARSHAL(a, "pcrSelectionIn", TPML_PCR_SELECTION, &selection); }
  void Run(ESYS_CONTEXT* esys) override {
    UINT32 counter = 0;
    Output<TPML_PCR_SELECTION> selectionOut;
    Output<TPML_DIGEST> values;
    if (!Ok(Esys_PCR_Read(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &selection, &counter, selectionOut.Out(),
                          values.Out())) ||
        !ENROLLD_RETURN("pcrSelectionOut", TPML_PCR_SELECTION, selectionOut.get())) {
      return;
    }
    std::vector<Bytes> digests;
    for (UINT32 i = 0; i < values->count; i++) {
      digests.emplace_back(values->digests[i].buffer, values->digests[i].buffer + values->digests[i].size);
    }
    Return("pcrUpdateCounter", counter);
    Return("pcrValues", std::move(digests));
  }
};
ENROLLD_COMMAND(PcrRead, "pcrRead", "TPM2_PCR_Read");

// TPM2_ReadPublic (Part 3 §12.4) → outPublic, name, qualifiedName (names as raw TPMU_NAME bytes).
struct ReadPublic final : Command {
  ESYS_TR object;
  explicit ReadPublic(Args& a) : Command(a), object(a.Tr("objectHandle")) {}
  void Run(ESYS_CONTEXT* esys) override {
    Output<TPM2B_PUBLIC> outPublic;
    Output<TPM2B_NAME> name, qualifiedName;
    if (Ok(Esys_ReadPublic(esys, object, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, outPublic.Out(), name.Out(),
                           qualifiedName.Out())) &&
        ENROLLD_RETURN("outPublic", TPM2B_PUBLIC, outPublic.get())) {
      Return("name", name->name, name->size);
      Return("qualifiedName", qualifiedName->name, qualifiedName->size);
    }
  }
};
ENROLLD_COMMAND(ReadPublic, "readPublic", "TPM2_ReadPublic");

// Esys_TR_FromTPMPublic (ESAPI): the ESYS_TR of a TPM handle (reads the object's public area or the NV public).
struct TrFromTpmPublic final : Command {
  TPM2_HANDLE handle;
  explicit TrFromTpmPublic(Args& a) : Command(a), handle(a.Handle("tpmHandle")) {}
  void Run(ESYS_CONTEXT* esys) override {
    ESYS_TR tr = ESYS_TR_NONE;
    if (Ok(Esys_TR_FromTPMPublic(esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr))) Return("object", tr);
  }
};
ENROLLD_COMMAND(TrFromTpmPublic, "trFromTpmPublic", "Esys_TR_FromTPMPublic");

// Esys_TR_Close (ESAPI): forgets an ESYS_TR without touching the TPM object (for persistent and NV handles).
struct TrClose final : Command {
  ESYS_TR object;
  explicit TrClose(Args& a) : Command(a), object(a.Tr("object")) {}
  void Run(ESYS_CONTEXT* esys) override { Ok(Esys_TR_Close(esys, &object)); }
};
ENROLLD_COMMAND(TrClose, "trClose", "Esys_TR_Close");

// TPM2_EvictControl (Part 3 §28.5) with auth TPM_RH_OWNER → newObjectHandle (ESYS_TR_NONE when evicting).
struct EvictControl final : Command {
  ESYS_TR object;
  TPM2_HANDLE persistent;
  explicit EvictControl(Args& a) : Command(a), object(a.Tr("objectHandle")), persistent(a.Handle("persistentHandle")) {}
  void Run(ESYS_CONTEXT* esys) override {
    ESYS_TR handle = ESYS_TR_NONE;
    if (Ok(Esys_EvictControl(esys, ESYS_TR_RH_OWNER, object, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, persistent,
                             &handle))) {
      Return("newObjectHandle", handle);
    }
  }
};
ENROLLD_COMMAND(EvictControl, "evictControl", "TPM2_EvictControl");

// TPM2_NV_ReadPublic (Part 3 §31.6) of an NV index TPM handle → nvPublic, nvName.
struct NvReadPublic final : Command {
  TPM2_HANDLE index;
  explicit NvReadPublic(Args& a) : Command(a), index(a.Handle("nvIndex")) {}
  void Run(ESYS_CONTEXT* esys) override {
    ESYS_TR tr = ESYS_TR_NONE;
    if (!Ok(Esys_TR_FromTPMPublic(esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr))) return;
    Output<TPM2B_NV_PUBLIC> nvPublic;
    Output<TPM2B_NAME> name;
    if (Ok(Esys_NV_ReadPublic(esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, nvPublic.Out(), name.Out())) &&
        ENROLLD_RETURN("nvPublic", TPM2B_NV_PUBLIC, nvPublic.get())) {
      Return("nvName", name->name, name->size);
    }
    Esys_TR_Close(esys, &tr);
  }
};
ENROLLD_COMMAND(NvReadPublic, "nvReadPublic", "TPM2_NV_ReadPublic");

// TPM2_NV_Read (Part 3 §31.13) in chunks of at most TPM_PT_NV_BUFFER_MAX bytes. authHandle: the index itself
// (TPMA_NV_AUTHREAD, empty auth) unless TPM_RH_OWNER / TPM_RH_PLATFORM is given.
struct NvRead final : Command {
  TPM2_HANDLE index;
  uint32_t size, offset;
  ESYS_TR auth = ESYS_TR_NONE;
  explicit NvRead(Args& a) : Command(a), index(a.Handle("nvIndex")), size(a.U32("size")), offset(a.U32("offset")) {
    if (size > 65535 || offset > 65535 || size + offset > 65535) {
      throw Napi::RangeError::New(a.Env(), "nvRead: size/offset out of range");
    }
    if (!a.Has("authHandle")) return;
    uint32_t h = a.Handle("authHandle");
    if (h == TPM2_RH_OWNER) auth = ESYS_TR_RH_OWNER;
    else if (h == TPM2_RH_PLATFORM) auth = ESYS_TR_RH_PLATFORM;
    else if (h != index) throw Napi::TypeError::New(a.Env(), "authHandle must be TPM_RH_OWNER, TPM_RH_PLATFORM or the index");
  }
  void Run(ESYS_CONTEXT* esys) override {
    size_t chunk = 512;
    TPMI_YES_NO more = TPM2_NO;
    Output<TPMS_CAPABILITY_DATA> cap;
    if (Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES,
                           TPM2_PT_NV_BUFFER_MAX, 1, &more, cap.Out()) == TSS2_RC_SUCCESS &&
        cap->data.tpmProperties.count > 0 && cap->data.tpmProperties.tpmProperty[0].property == TPM2_PT_NV_BUFFER_MAX &&
        cap->data.tpmProperties.tpmProperty[0].value > 0) {
      chunk = cap->data.tpmProperties.tpmProperty[0].value;
    }
    chunk = std::min<size_t>(chunk, TPM2_MAX_NV_BUFFER_SIZE);

    ESYS_TR tr = ESYS_TR_NONE;
    if (!Ok(Esys_TR_FromTPMPublic(esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr))) return;
    Bytes out;
    while (out.size() < size) {
      UINT16 n = static_cast<UINT16>(std::min<size_t>(chunk, size - out.size()));
      UINT16 off = static_cast<UINT16>(offset + out.size());
      Output<TPM2B_MAX_NV_BUFFER> data;
      if (!Ok(Esys_NV_Read(esys, auth == ESYS_TR_NONE ? tr : auth, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, n,
                           off, data.Out()))) {
        break;
      }
      if (data->size == 0) {
        Fail("the TPM returned no data");
        break;
      }
      out.insert(out.end(), data->buffer, data->buffer + std::min<size_t>(data->size, size - out.size()));
    }
    Esys_TR_Close(esys, &tr);
    if (!failed()) Return("data", std::move(out));
  }
};
ENROLLD_COMMAND(NvRead, "nvRead", "TPM2_NV_Read");

// TPM2_GetCapability (Part 3 §30.2) → moreData, capabilityData (TPMS_CAPABILITY_DATA).
struct GetCapability final : Command {
  uint32_t capability, property, count;
  explicit GetCapability(Args& a)
      : Command(a), capability(a.U32("capability")), property(a.U32("property")), count(a.U32("propertyCount")) {}
  void Run(ESYS_CONTEXT* esys) override {
    TPMI_YES_NO more = TPM2_NO;
    Output<TPMS_CAPABILITY_DATA> data;
    if (Ok(Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, capability, property, count, &more,
                              data.Out())) &&
        ENROLLD_RETURN("capabilityData", TPMS_CAPABILITY_DATA, data.get())) {
      Return("moreData", more == TPM2_YES);
    }
  }
};
ENROLLD_COMMAND(GetCapability, "getCapability", "TPM2_GetCapability");

// TPM2_FlushContext (Part 3 §28.4); the ESYS_TR is released too.
struct FlushContext final : Command {
  ESYS_TR handle;
  explicit FlushContext(Args& a) : Command(a), handle(a.Tr("flushHandle")) {}
  void Run(ESYS_CONTEXT* esys) override { Ok(Esys_FlushContext(esys, handle)); }
};
ENROLLD_COMMAND(FlushContext, "flushContext", "TPM2_FlushContext");

// TPM2_Import (Part 3 §13.3) → outPrivate. The duplicate may hold a plaintext sensitive area (an unwrapped duplicate):
// every copy this command owns is wiped.
struct Import final : Command {
  ESYS_TR parent;
  TPM2B_DATA encryptionKey{};
  TPM2B_PUBLIC objectPublic{};
  TPM2B_PRIVATE duplicate{};
  TPM2B_ENCRYPTED_SECRET inSymSeed{};
  TPMT_SYM_DEF_OBJECT symmetricAlg{};
  explicit Import(Args& a) : Command(a), parent(a.Tr("parentHandle")) {
    a.Into2B("encryptionKey", &encryptionKey);
    ENROLLD_UNMARSHAL(a, "objectPublic", TPM2B_PUBLIC, &objectPublic);
    ENROLLD_UNMARSHAL(a, "duplicate", TPM2B_PRIVATE, &duplicate);
    a.Into("inSymSeed", &inSymSeed.size, inSymSeed.secret, sizeof(inSymSeed.secret));
    ENROLLD_UNMARSHAL(a, "symmetricAlg", TPMT_SYM_DEF_OBJECT, &symmetricAlg);
  }
  ~Import() override {
    Wipe(&duplicate, sizeof(duplicate));
    Wipe(&encryptionKey, sizeof(encryptionKey));
  }
  void Run(ESYS_CONTEXT* esys) override {
    Output<TPM2B_PRIVATE> outPrivate;
    if (Ok(Esys_Import(esys, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &encryptionKey, &objectPublic,
                       &duplicate, &inSymSeed, &symmetricAlg, outPrivate.Out()))) {
      ENROLLD_RETURN("outPrivate", TPM2B_PRIVATE, outPrivate.get());
    }
    Wipe(&duplicate, sizeof(duplicate));
    Wipe(&encryptionKey, sizeof(encryptionKey));
  }
};
ENROLLD_COMMAND(Import, "import", "TPM2_Import");

// TPM2_Unseal (Part 3 §12.7) → outData, the sealed bytes (the JS caller wipes its Buffer; the copies here are wiped).
struct Unseal final : Command {
  ESYS_TR item;
  explicit Unseal(Args& a) : Command(a), item(a.Tr("itemHandle")) {}
  void Run(ESYS_CONTEXT* esys) override {
    Output<TPM2B_SENSITIVE_DATA, true> data;
    if (Ok(Esys_Unseal(esys, item, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, data.Out()))) {
      Return("outData", data->buffer, data->size);
    }
  }
};
ENROLLD_COMMAND(Unseal, "unseal", "TPM2_Unseal");

// TPM2_RSA_Decrypt (Part 3 §14.3) → message.
struct RsaDecrypt final : Command {
  ESYS_TR key;
  TPM2B_PUBLIC_KEY_RSA cipherText{};
  TPMT_RSA_DECRYPT scheme{};
  TPM2B_DATA label{};
  explicit RsaDecrypt(Args& a) : Command(a), key(a.Tr("keyHandle")) {
    a.Into2B("cipherText", &cipherText);
    ENROLLD_UNMARSHAL(a, "inScheme", TPMT_RSA_DECRYPT, &scheme);
    a.Into2B("label", &label);
  }
  void Run(ESYS_CONTEXT* esys) override {
    Output<TPM2B_PUBLIC_KEY_RSA, true> message;
    if (Ok(Esys_RSA_Decrypt(esys, key, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &cipherText, &scheme, &label,
                            message.Out()))) {
      Return("message", message->buffer, message->size);
    }
  }
};
ENROLLD_COMMAND(RsaDecrypt, "rsaDecrypt", "TPM2_RSA_Decrypt");

// TPM2_ECDH_ZGen (Part 3 §14.5) → outPoint, the shared point (Z is its x coordinate).
struct EcdhZGen final : Command {
  ESYS_TR key;
  TPM2B_ECC_POINT inPoint{};
  explicit EcdhZGen(Args& a) : Command(a), key(a.Tr("keyHandle")) {
    ENROLLD_UNMARSHAL(a, "inPoint", TPM2B_ECC_POINT, &inPoint);
  }
  void Run(ESYS_CONTEXT* esys) override {
    Output<TPM2B_ECC_POINT, true> outPoint;
    if (Ok(Esys_ECDH_ZGen(esys, key, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &inPoint, outPoint.Out()))) {
      ENROLLD_RETURN("outPoint", TPM2B_ECC_POINT, outPoint.get());
    }
  }
};
ENROLLD_COMMAND(EcdhZGen, "ecdhZGen", "TPM2_ECDH_ZGen");

// Esys_Finalize + TCTI finalize. Idempotent; later commands reject with "the TPM context is closed".
struct Close final : Command {
  explicit Close(Args& a) : Command(a) {}
  void Execute() override {
    std::lock_guard<std::mutex> lock(ctx_->mu);
    ctx_->CloseLocked();
  }
  void Run(ESYS_CONTEXT*) override {}
};
ENROLLD_COMMAND(Close, "close", "close");

}  // namespace
}  // namespace enrolld
