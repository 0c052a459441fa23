// An in-process OpenSSL ENGINE ("enrolld-tpm") registered in Node's own OpenSSL, so that a Node TLS client can
// authenticate with a TPM-resident key: tls.connect({ privateKeyEngine: 'enrolld-tpm', privateKeyIdentifier: id }).
// OpenSSL 3 routes keys with a non-default EC_KEY/RSA method ("foreign" keys) through the legacy method table, so
// the TLS CertificateVerify signature lands in the callbacks below, which load the key blobs under the SRK, run
// TPM2_Sign and flush — holding the same mutex as every other ESYS call. The private key never leaves the TPM.
// ECDSA keys work with TLS 1.2 and 1.3; RSA keys only with RSASSA-PKCS1-v1_5 (TLS 1.2), since RSA-PSS in the
// legacy path needs a raw RSA private operation that a sign-only TPM key does not offer.
#include <napi.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tpm_context.h"

namespace enrolld {
namespace {

constexpr const char* kEngineId = "enrolld-tpm";

struct TlsKey {
  std::weak_ptr<TpmContext> tpm;
  TPM2_HANDLE parent = 0;
  TPM2B_PUBLIC pub{};
  TPM2B_PRIVATE priv{};
  // ESYS_TR of the parent, looked up once under the context mutex. Never closed here: ESYS hands out the same
  // ESYS_TR for a TPM handle it already knows, so closing it would invalidate the keystore's own SRK object.
  ESYS_TR parent_tr = ESYS_TR_NONE;
};

std::mutex g_keys_mu;
std::map<std::string, std::shared_ptr<TlsKey>> g_keys;
std::mutex g_err_mu;
std::string g_last_error;

int g_ec_ex_index = -1;
int g_rsa_ex_index = -1;
EC_KEY_METHOD* g_ec_method = nullptr;
RSA_METHOD* g_rsa_method = nullptr;
ENGINE* g_engine = nullptr;

void SetLastError(const std::string& what) {
  std::lock_guard<std::mutex> lock(g_err_mu);
  g_last_error = what;
}

std::string RcText(const char* command, TSS2_RC rc) {
  return std::string(command) + " failed: " + Tss2_RC_Decode(rc);
}

// ex_data holds a heap copy of the shared_ptr so the key outlives its registry entry while OpenSSL uses it.
void FreeKeyExData(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<std::shared_ptr<TlsKey>*>(ptr);
}

// Load the key under its parent, sign `digest` with `scheme`, flush; every path flushes what it loaded.
bool TpmSign(const std::shared_ptr<TlsKey>& key, const unsigned char* dgst, size_t dlen, const TPMT_SIG_SCHEME& scheme,
             TPMT_SIGNATURE** out) {
  std::shared_ptr<TpmContext> tpm = key->tpm.lock();
  if (!tpm) {
    SetLastError("TPM context closed");
    return false;
  }
  if (dlen > sizeof(TPMU_HA)) {
    SetLastError("digest too long");
    return false;
  }
  std::lock_guard<std::mutex> lock(tpm->mu);
  if (tpm->esys == nullptr) {
    SetLastError("TPM context closed");
    return false;
  }
  TSS2_RC rc = TSS2_RC_SUCCESS;
  if (key->parent_tr == ESYS_TR_NONE) {
    rc = Esys_TR_FromTPMPublic(tpm->esys, key->parent, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &key->parent_tr);
    if (rc != TSS2_RC_SUCCESS) {
      key->parent_tr = ESYS_TR_NONE;
      SetLastError(RcText("TR_FromTPMPublic", rc));
      return false;
    }
  }
  ESYS_TR handle = ESYS_TR_NONE;
  rc = Esys_Load(tpm->esys, key->parent_tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &key->priv, &key->pub, &handle);
  if (rc != TSS2_RC_SUCCESS) {
    SetLastError(RcText("Load", rc));
    return false;
  }
  TPM2B_DIGEST digest{};
  digest.size = static_cast<UINT16>(dlen);
  std::memcpy(digest.buffer, dgst, dlen);
  TPMT_TK_HASHCHECK validation{};
  validation.tag = TPM2_ST_HASHCHECK;
  validation.hierarchy = TPM2_RH_NULL;
  validation.digest.size = 0;
  rc = Esys_Sign(tpm->esys, handle, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &digest, &scheme, &validation, out);
  TSS2_RC frc = Esys_FlushContext(tpm->esys, handle);
  if (rc != TSS2_RC_SUCCESS) {
    SetLastError(RcText("Sign", rc));
    return false;
  }
  if (frc != TSS2_RC_SUCCESS) {
    Esys_Free(*out);
    *out = nullptr;
    SetLastError(RcText("FlushContext", frc));
    return false;
  }
  return true;
}

TPMI_ALG_HASH HashForDigestLength(size_t dlen) {
  switch (dlen) {
    case 32: return TPM2_ALG_SHA256;
    case 48: return TPM2_ALG_SHA384;
    case 64: return TPM2_ALG_SHA512;
    default: return TPM2_ALG_ERROR;
  }
}

ECDSA_SIG* EcdsaSignSig(const unsigned char* dgst, int dlen, const BIGNUM*, const BIGNUM*, EC_KEY* eckey) {
  auto* holder = static_cast<std::shared_ptr<TlsKey>*>(EC_KEY_get_ex_data(eckey, g_ec_ex_index));
  if (holder == nullptr || dlen <= 0) return nullptr;
  TPMT_SIG_SCHEME scheme{};
  scheme.scheme = TPM2_ALG_ECDSA;
  scheme.details.ecdsa.hashAlg = HashForDigestLength(static_cast<size_t>(dlen));
  if (scheme.details.ecdsa.hashAlg == TPM2_ALG_ERROR) {
    SetLastError("unsupported ECDSA digest length " + std::to_string(dlen));
    return nullptr;
  }
  TPMT_SIGNATURE* sig = nullptr;
  if (!TpmSign(*holder, dgst, static_cast<size_t>(dlen), scheme, &sig)) return nullptr;
  BIGNUM* r = BN_bin2bn(sig->signature.ecdsa.signatureR.buffer, sig->signature.ecdsa.signatureR.size, nullptr);
  BIGNUM* s = BN_bin2bn(sig->signature.ecdsa.signatureS.buffer, sig->signature.ecdsa.signatureS.size, nullptr);
  Esys_Free(sig);
  ECDSA_SIG* out = ECDSA_SIG_new();
  if (r == nullptr || s == nullptr || out == nullptr || ECDSA_SIG_set0(out, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(out);
    return nullptr;
  }
  return out;
}

int EcdsaSign(int, const unsigned char* dgst, int dlen, unsigned char* sig, unsigned int* siglen, const BIGNUM* kinv,
              const BIGNUM* r, EC_KEY* eckey) {
  ECDSA_SIG* s = EcdsaSignSig(dgst, dlen, kinv, r, eckey);
  if (s == nullptr) return 0;
  unsigned char* p = sig;
  int len = i2d_ECDSA_SIG(s, &p);
  ECDSA_SIG_free(s);
  if (len <= 0) return 0;
  *siglen = static_cast<unsigned int>(len);
  return 1;
}

int RsaSign(int type, const unsigned char* m, unsigned int m_length, unsigned char* sigret, unsigned int* siglen,
            const RSA* rsa) {
  auto* holder = static_cast<std::shared_ptr<TlsKey>*>(RSA_get_ex_data(rsa, g_rsa_ex_index));
  if (holder == nullptr) return 0;
  TPMT_SIG_SCHEME scheme{};
  scheme.scheme = TPM2_ALG_RSASSA;
  switch (type) {
    case NID_sha256: scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256; break;
    case NID_sha384: scheme.details.rsassa.hashAlg = TPM2_ALG_SHA384; break;
    case NID_sha512: scheme.details.rsassa.hashAlg = TPM2_ALG_SHA512; break;
    default:
      SetLastError("unsupported RSA digest NID " + std::to_string(type));
      return 0;
  }
  TPMT_SIGNATURE* sig = nullptr;
  if (!TpmSign(*holder, m, m_length, scheme, &sig)) return 0;
  const TPM2B_PUBLIC_KEY_RSA& s = sig->signature.rsassa.sig;
  std::memcpy(sigret, s.buffer, s.size);
  *siglen = s.size;
  Esys_Free(sig);
  return 1;
}

// Raw private RSA operations (PSS, decryption) are not available from a sign-only TPM key.
int RsaPrivRefuse(int, const unsigned char*, unsigned char*, RSA*, int) {
  SetLastError("raw RSA private operation requested (RSA-PSS or decryption): not supported for TPM keys");
  return -1;
}

EVP_PKEY* EccKey(const std::shared_ptr<TlsKey>& key) {
  const TPMS_ECC_POINT& point = key->pub.publicArea.unique.ecc;
  const TPMI_ECC_CURVE curve = key->pub.publicArea.parameters.eccDetail.curveID;
  if (curve != TPM2_ECC_NIST_P256 && curve != TPM2_ECC_NIST_P384) {
    SetLastError("only NIST P-256 and P-384 TLS keys are supported");
    return nullptr;
  }
  EC_KEY* ec = EC_KEY_new_by_curve_name(curve == TPM2_ECC_NIST_P256 ? NID_X9_62_prime256v1 : NID_secp384r1);
  BIGNUM* x = BN_bin2bn(point.x.buffer, point.x.size, nullptr);
  BIGNUM* y = BN_bin2bn(point.y.buffer, point.y.size, nullptr);
  EVP_PKEY* pkey = nullptr;
  bool ok = ec != nullptr && x != nullptr && y != nullptr && EC_KEY_set_public_key_affine_coordinates(ec, x, y) == 1 &&
            EC_KEY_set_method(ec, g_ec_method) == 1 &&
            EC_KEY_set_ex_data(ec, g_ec_ex_index, new std::shared_ptr<TlsKey>(key)) == 1;
  BN_free(x);
  BN_free(y);
  if (ok) {
    pkey = EVP_PKEY_new();
    if (pkey == nullptr || EVP_PKEY_assign(pkey, EVP_PKEY_EC, ec) != 1) {
      EVP_PKEY_free(pkey);
      pkey = nullptr;
      ok = false;
    }
  }
  if (!ok) EC_KEY_free(ec);
  return pkey;
}

EVP_PKEY* RsaKey(const std::shared_ptr<TlsKey>& key) {
  const TPM2B_PUBLIC_KEY_RSA& modulus = key->pub.publicArea.unique.rsa;
  UINT32 exponent = key->pub.publicArea.parameters.rsaDetail.exponent;
  if (exponent == 0) exponent = 65537;
  RSA* rsa = RSA_new();
  BIGNUM* n = BN_bin2bn(modulus.buffer, modulus.size, nullptr);
  BIGNUM* e = BN_new();
  EVP_PKEY* pkey = nullptr;
  bool ok = rsa != nullptr && n != nullptr && e != nullptr && BN_set_word(e, exponent) == 1 &&
            RSA_set0_key(rsa, n, e, nullptr) == 1;
  if (!ok) {
    BN_free(n);
    BN_free(e);
  }
  ok = ok && RSA_set_method(rsa, g_rsa_method) == 1 &&
       RSA_set_ex_data(rsa, g_rsa_ex_index, new std::shared_ptr<TlsKey>(key)) == 1;
  if (ok) {
    pkey = EVP_PKEY_new();
    if (pkey == nullptr || EVP_PKEY_assign(pkey, EVP_PKEY_RSA, rsa) != 1) {
      EVP_PKEY_free(pkey);
      pkey = nullptr;
      ok = false;
    }
  }
  if (!ok) RSA_free(rsa);
  return pkey;
}

EVP_PKEY* LoadPrivateKey(ENGINE*, const char* key_id, UI_METHOD*, void*) {
  std::shared_ptr<TlsKey> key;
  {
    std::lock_guard<std::mutex> lock(g_keys_mu);
    auto it = g_keys.find(key_id == nullptr ? "" : key_id);
    if (it != g_keys.end()) key = it->second;
  }
  if (!key) {
    SetLastError(std::string("no TLS key registered as '") + (key_id ? key_id : "") + "'");
    return nullptr;
  }
  switch (key->pub.publicArea.type) {
    case TPM2_ALG_ECC: return EccKey(key);
    case TPM2_ALG_RSA: return RsaKey(key);
    default:
      SetLastError("unsupported TPM key type for TLS");
      return nullptr;
  }
}

bool EnsureEngine() {
  if (g_engine != nullptr) return true;
  g_ec_ex_index = EC_KEY_get_ex_new_index(0, nullptr, nullptr, nullptr, FreeKeyExData);
  g_rsa_ex_index = RSA_get_ex_new_index(0, nullptr, nullptr, nullptr, FreeKeyExData);
  g_ec_method = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
  g_rsa_method = RSA_meth_dup(RSA_PKCS1_OpenSSL());
  if (g_ec_ex_index < 0 || g_rsa_ex_index < 0 || g_ec_method == nullptr || g_rsa_method == nullptr) return false;
  EC_KEY_METHOD_set_sign(g_ec_method, EcdsaSign, nullptr, EcdsaSignSig);
  RSA_meth_set1_name(g_rsa_method, "enrolld TPM RSA");
  RSA_meth_set_sign(g_rsa_method, RsaSign);
  RSA_meth_set_priv_enc(g_rsa_method, RsaPrivRefuse);
  RSA_meth_set_priv_dec(g_rsa_method, RsaPrivRefuse);
  ENGINE* e = ENGINE_new();
  if (e == nullptr) return false;
  if (ENGINE_set_id(e, kEngineId) != 1 || ENGINE_set_name(e, "enrolld TPM 2.0 key engine") != 1 ||
      ENGINE_set_load_privkey_function(e, LoadPrivateKey) != 1 || ENGINE_add(e) != 1) {
    ENGINE_free(e);
    return false;
  }
  g_engine = e;
  return true;
}

// registerTlsKey(tpm: Tpm, id: string, parentTpmHandle: number, public: Buffer, private: Buffer): void
Napi::Value RegisterTlsKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 5 || !info[1].IsString() || !info[2].IsNumber() || !info[3].IsBuffer() || !info[4].IsBuffer()) {
    throw Napi::TypeError::New(env, "registerTlsKey(tpm, id, parentTpmHandle, public: Buffer, private: Buffer)");
  }
  auto key = std::make_shared<TlsKey>();
  key->tpm = UnwrapTpmContext(info[0]);
  key->parent = info[2].As<Napi::Number>().Uint32Value();
  auto pub = info[3].As<Napi::Buffer<uint8_t>>();
  auto priv = info[4].As<Napi::Buffer<uint8_t>>();
  size_t off = 0;
  if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(pub.Data(), pub.Length(), &off, &key->pub) != TSS2_RC_SUCCESS ||
      off != pub.Length()) {
    throw Napi::Error::New(env, "registerTlsKey: malformed TPM2B_PUBLIC");
  }
  off = 0;
  if (Tss2_MU_TPM2B_PRIVATE_Unmarshal(priv.Data(), priv.Length(), &off, &key->priv) != TSS2_RC_SUCCESS ||
      off != priv.Length()) {
    throw Napi::Error::New(env, "registerTlsKey: malformed TPM2B_PRIVATE");
  }
  if (!EnsureEngine()) throw Napi::Error::New(env, "registerTlsKey: could not register the OpenSSL engine");
  std::lock_guard<std::mutex> lock(g_keys_mu);
  g_keys[info[1].As<Napi::String>().Utf8Value()] = key;
  return env.Undefined();
}

Napi::Value UnregisterTlsKey(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "unregisterTlsKey(id)");
  std::lock_guard<std::mutex> lock(g_keys_mu);
  return Napi::Boolean::New(info.Env(), g_keys.erase(info[0].As<Napi::String>().Utf8Value()) == 1);
}

Napi::Value TlsEngineLastError(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(g_err_mu);
  return Napi::String::New(info.Env(), g_last_error);
}

}  // namespace

void InitTlsEngine(Napi::Env env, Napi::Object exports) {
  exports.Set("tlsEngineId", Napi::String::New(env, kEngineId));
  exports.Set("registerTlsKey", Napi::Function::New(env, RegisterTlsKey, "registerTlsKey"));
  exports.Set("unregisterTlsKey", Napi::Function::New(env, UnregisterTlsKey, "unregisterTlsKey"));
  exports.Set("tlsEngineLastError", Napi::Function::New(env, TlsEngineLastError, "tlsEngineLastError"));
}

}  // namespace enrolld
