// Certificate signature checks for path validation (RFC 5280 §6.1.3 (a)(1)) are a pure function of the signed bytes,
// the signature, its algorithm and the issuer's public key. A device validates the same CA chain on every renewal
// and poll, so a check that succeeded is remembered (by a SHA-256 of all four) and not repeated;
// a failed check is never remembered, and a new certificate (its own bytes) is always checked.
// A check not remembered runs through OpenSSL (node:crypto verify) for the plain algorithms — ECDSA on P-256/384/521
// and PKCS#1 v1.5 RSA of at least RSA_MIN_BITS, each with its SHA-2 hash named by the signature OID — rather than
// WebCrypto, whose importKey (JWK conversion, algorithm normalisation, a thread-pool job) is most of a cold check;
// anything else (RSASSA-PSS, Ed25519, a hash given by the caller, a key of another kind or size) goes to pkijs.
import { createHash, createPublicKey, verify as cryptoVerify, webcrypto, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { lruGet, lruSet } from '../util/lru.js';
import { EC_CURVES, RSA_MIN_BITS, signatureByOid } from './algorithms.js';

const REMEMBERED_MAX = 32;
/** Issuer keys as OpenSSL key objects (createPublicKey costs ≈ 0.3 ms): the few CA keys of the device's chains. */
const KEYS_MAX = 8;
const keys = new Map<string, KeyObject | null>();

export class RememberingCryptoEngine extends pkijs.CryptoEngine {
  private readonly verified = new Map<string, true>();
  /** Checks not answered from memory (for tests). */
  checked = 0;

  constructor() {
    super({ name: 'node-webcrypto', crypto: webcrypto as unknown as ConstructorParameters<typeof pkijs.CryptoEngine>[0]['crypto'] });
  }

  override async verifyWithPublicKey(
    data: ArrayBuffer | ArrayBufferView,
    signature: asn1js.BitString | asn1js.OctetString,
    publicKeyInfo: pkijs.PublicKeyInfo,
    signatureAlgorithm: pkijs.AlgorithmIdentifier,
    shaAlgorithm?: string,
  ): Promise<boolean> {
    const signed = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
    const spki = new Uint8Array(publicKeyInfo.toSchema().toBER(false));
    const key = createHash('sha256')
      .update(signed)
      .update(signature.valueBlock.valueHexView)
      .update(new Uint8Array(signatureAlgorithm.toSchema().toBER(false)))
      .update(spki)
      .update(shaAlgorithm ?? '')
      .digest('base64');
    if (this.verified.has(key)) {
      lruSet(this.verified, key, REMEMBERED_MAX, true);
      return true;
    }
    this.checked++;
    const ok = (shaAlgorithm ? undefined : verifyPlain(signed, signature.valueBlock.valueHexView, spki, signatureAlgorithm.algorithmId))
      ?? (await super.verifyWithPublicKey(data, signature, publicKeyInfo, signatureAlgorithm, shaAlgorithm));
    if (ok) lruSet(this.verified, key, REMEMBERED_MAX, true);
    return ok;
  }
}

/** OpenSSL's verdict on a plain ECDSA / PKCS#1 v1.5 signature; undefined when the algorithm or key is not one of those. */
function verifyPlain(signed: Uint8Array, sig: Uint8Array, spki: Uint8Array, algorithmId: string): boolean | undefined {
  const alg = signatureByOid(algorithmId);
  if (!alg?.hash || (alg.key !== 'ec' && alg.key !== 'rsa')) return undefined;
  const spkiBuf = Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength);
  const key = lruGet(keys, spkiBuf.toString('base64'), KEYS_MAX, () => {
    try {
      return createPublicKey({ key: spkiBuf, format: 'der', type: 'spki' });
    } catch {
      return null;
    }
  });
  if (!key) return undefined;
  const kd = key.asymmetricKeyDetails ?? {};
  if (alg.key === 'ec' ? key.asymmetricKeyType !== 'ec' || !(EC_CURVES as readonly string[]).includes(kd.namedCurve ?? '') : key.asymmetricKeyType !== 'rsa' || (kd.modulusLength ?? 0) < RSA_MIN_BITS) return undefined;
  try {
    // X.509 carries ECDSA signatures as DER Ecdsa-Sig-Value (RFC 5758 §3.2); OpenSSL accepts only strict DER
    return cryptoVerify(alg.hash, signed, alg.key === 'ec' ? { key, dsaEncoding: 'der' } : key, sig);
  } catch {
    return false;
  }
}

/** The engine validateChain uses. */
export const chainCrypto = new RememberingCryptoEngine();
