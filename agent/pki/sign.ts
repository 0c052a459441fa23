// Signing X.509-style structures (CSR, certificate, CRL, CMS signed attributes) through a `Signer`, i.e. with a key
// that never leaves the TPM: the signer produces a signature value over the TBS DER (SHA-256 unless asked otherwise).
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { HASH_SIZES, isEcc, rsaBytes, type HashAlgorithm, type KeyAlgorithm, type Signer } from './signer.js';
import { signatureByOid, signatureOid } from './algorithms.js';
import { bytesEqual } from './der.js';
import { PkiSignError } from './errors.js';

export { OID_ECDSA_WITH_SHA256, OID_SHA256_WITH_RSA } from './algorithms.js';

/** The (key kind, hash) a signature algorithm OID names, or undefined for algorithms the agent cannot sign with. */
export function signatureAlgorithmInfo(oid: string): { kind: 'ecc' | 'rsa'; hash: HashAlgorithm } | undefined {
  const a = signatureByOid(oid);
  if (!a?.hash || (a.key !== 'ec' && a.key !== 'rsa')) return undefined;
  return { kind: a.key === 'ec' ? 'ecc' : 'rsa', hash: a.hash };
}

/** AlgorithmIdentifier for the signer's signature with `hash` (default SHA-256): ecdsa-with-SHAnnn (no parameters,
 * RFC 5758 §3.2) or shaNNNWithRSAEncryption (NULL parameters, RFC 4055 §5). */
export function signatureAlgorithmFor(algorithm: KeyAlgorithm, hash: HashAlgorithm = 'sha256'): pkijs.AlgorithmIdentifier {
  if (!(hash in HASH_SIZES)) throw new PkiSignError(`unsupported hash algorithm ${String(hash)}`);
  switch (algorithm) {
    case 'ecc-p256':
    case 'ecc-p384':
      return new pkijs.AlgorithmIdentifier({ algorithmId: signatureOid('ec', hash) });
    case 'rsa-2048':
    case 'rsa-3072':
      return new pkijs.AlgorithmIdentifier({ algorithmId: signatureOid('rsa', hash), algorithmParams: new asn1js.Null() });
    default:
      throw new PkiSignError(`unsupported key algorithm ${String(algorithm)}`);
  }
}

/**
 * Checks that an ECDSA signature is a DER ECDSA-Sig-Value with minimal INTEGERs (OpenSSL rejects padded ones), so a
 * misbehaving signer fails here with a clear error instead of at the CA.
 */
export function assertEcdsaSigValue(sig: Uint8Array): void {
  const parsed = asn1js.fromBER(sig);
  const seq = parsed.result;
  const ok =
    parsed.offset === sig.byteLength &&
    seq instanceof asn1js.Sequence &&
    seq.valueBlock.value.length === 2 &&
    seq.valueBlock.value.every((v) => v instanceof asn1js.Integer) &&
    bytesEqual(new Uint8Array(seq.toBER(false)), sig);
  if (!ok) throw new PkiSignError('signer returned a malformed ECDSA-Sig-Value (expected DER SEQUENCE of two minimal INTEGERs)');
  for (const v of seq.valueBlock.value as asn1js.Integer[]) {
    const h = v.valueBlock.valueHexView;
    if ((h.length > 1 && h[0] === 0 && (h[1]! & 0x80) === 0) || (h[0]! & 0x80) !== 0) {
      throw new PkiSignError('signer returned an ECDSA-Sig-Value with non-minimal or negative INTEGERs');
    }
  }
}

/** Signs `tbs` (DER) with the signer and `hash` (default SHA-256). Returns the signature value bytes, checked for
 * well-formedness. */
export async function signTbs(tbs: Uint8Array, signer: Signer, hash: HashAlgorithm = 'sha256'): Promise<Uint8Array> {
  let sig: Uint8Array;
  try {
    sig = hash === 'sha256' ? await signer.sign(tbs) : await signer.sign(tbs, hash);
  } catch (e) {
    throw new PkiSignError(`signer failed: ${(e as Error).message}`, { cause: e });
  }
  if (isEcc(signer.algorithm)) assertEcdsaSigValue(sig);
  else {
    const n = rsaBytes(signer.algorithm);
    if (sig.byteLength !== n) throw new PkiSignError(`${signer.algorithm} signature must be ${n} bytes, got ${sig.byteLength}`);
  }
  return sig;
}
