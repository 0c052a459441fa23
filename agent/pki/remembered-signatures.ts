// Certificate signature checks for path validation (RFC 5280 §6.1.3 (a)(1)) are a pure function of the signed bytes,
// the signature, its algorithm and the issuer's public key. A device validates the same CA chain on every renewal
// and poll, so a check that succeeded is remembered (by a SHA-256 of all four) and not repeated through WebCrypto;
// a failed check is never remembered, and a new certificate (its own bytes) is always checked.
import { createHash, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { lruSet } from '../util/lru.js';

const REMEMBERED_MAX = 32;

export class RememberingCryptoEngine extends pkijs.CryptoEngine {
  private readonly verified = new Map<string, true>();
  /** Checks that reached WebCrypto (for tests). */
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
    const key = createHash('sha256')
      .update(ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data))
      .update(signature.valueBlock.valueHexView)
      .update(new Uint8Array(signatureAlgorithm.toSchema().toBER(false)))
      .update(new Uint8Array(publicKeyInfo.toSchema().toBER(false)))
      .update(shaAlgorithm ?? '')
      .digest('base64');
    if (this.verified.has(key)) {
      lruSet(this.verified, key, REMEMBERED_MAX, true);
      return true;
    }
    this.checked++;
    const ok = await super.verifyWithPublicKey(data, signature, publicKeyInfo, signatureAlgorithm, shaAlgorithm);
    if (ok) lruSet(this.verified, key, REMEMBERED_MAX, true);
    return ok;
  }
}

/** The engine validateChain uses. */
export const chainCrypto = new RememberingCryptoEngine();
