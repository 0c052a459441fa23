// Signing X.509-style structures (CSR, certificate, CRL, CMS signed attributes) through a `Signer`, i.e. with a key
// that never leaves the TPM: the signer produces a SHA-256 signature value over the TBS DER.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { KeyAlgorithm, Signer } from './signer.js';
import { bytesEqual } from './der.js';
import { PkiSignError } from './errors.js';

export const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
export const OID_SHA256_WITH_RSA = '1.2.840.113549.1.1.11';

/** AlgorithmIdentifier for the signer's SHA-256 signature: ecdsa-with-SHA256 (no parameters, RFC 5758 §3.2) or
 * sha256WithRSAEncryption (NULL parameters, RFC 4055 §5). */
export function signatureAlgorithmFor(algorithm: KeyAlgorithm): pkijs.AlgorithmIdentifier {
  switch (algorithm) {
    case 'ecc-p256':
      return new pkijs.AlgorithmIdentifier({ algorithmId: OID_ECDSA_WITH_SHA256 });
    case 'rsa-2048':
      return new pkijs.AlgorithmIdentifier({ algorithmId: OID_SHA256_WITH_RSA, algorithmParams: new asn1js.Null() });
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

/** Signs `tbs` (DER) with the signer (SHA-256). Returns the signature value bytes, checked for well-formedness. */
export async function signTbs(tbs: Uint8Array, signer: Signer): Promise<Uint8Array> {
  let sig: Uint8Array;
  try {
    sig = await signer.sign(tbs);
  } catch (e) {
    throw new PkiSignError(`signer failed: ${(e as Error).message}`, { cause: e });
  }
  if (signer.algorithm === 'ecc-p256') assertEcdsaSigValue(sig);
  else if (sig.byteLength !== 256) throw new PkiSignError(`RSA-2048 signature must be 256 bytes, got ${sig.byteLength}`);
  return sig;
}
