// TPMT_SIG_SCHEME (Part 2 §11.2.1.5) and TPMT_SIGNATURE (Part 2 §11.3.4) with conversion to X.509 signature values.
import { TPM_ALG, algName } from './constants.js';
import { Tpm2FormatError, Tpm2UnsupportedError } from './errors.js';
import { TpmReader, TpmWriter } from './marshal.js';
import { type AsymScheme, writeAsymScheme } from './public.js';

export type SigScheme = AsymScheme;

/** TPMT_SIG_SCHEME bytes. */
export function marshalSigScheme(s: SigScheme): Uint8Array {
  if (s.scheme === TPM_ALG.RSAES) throw new Tpm2FormatError('RSAES is not a signature scheme');
  const w = new TpmWriter();
  writeAsymScheme(w, s);
  return w.finish();
}

export const SIG_SCHEME_NULL: SigScheme = { scheme: TPM_ALG.NULL, hashAlg: TPM_ALG.NULL };
export const SIG_SCHEME_ECDSA_SHA256: SigScheme = { scheme: TPM_ALG.ECDSA, hashAlg: TPM_ALG.SHA256 };
export const SIG_SCHEME_RSASSA_SHA256: SigScheme = { scheme: TPM_ALG.RSASSA, hashAlg: TPM_ALG.SHA256 };

/** TPM_ALG hash ids by node:crypto name (the hashes a signing key may be asked to use). */
export const TPM_HASH_BY_NAME: Readonly<Record<'sha256' | 'sha384' | 'sha512', number>> = {
  sha256: TPM_ALG.SHA256,
  sha384: TPM_ALG.SHA384,
  sha512: TPM_ALG.SHA512,
};

/** TPMT_SIGNATURE — TPMS_SIGNATURE_RSA (§11.3.1), TPMS_SIGNATURE_ECC (§11.3.2), TPMT_HA for HMAC, nothing for NULL. */
export type TpmtSignature =
  | { sigAlg: typeof TPM_ALG.RSASSA | typeof TPM_ALG.RSAPSS; hashAlg: number; sig: Uint8Array }
  | {
      sigAlg: typeof TPM_ALG.ECDSA | typeof TPM_ALG.ECDAA | typeof TPM_ALG.SM2 | typeof TPM_ALG.ECSCHNORR;
      hashAlg: number;
      r: Uint8Array;
      s: Uint8Array;
    }
  | { sigAlg: typeof TPM_ALG.HMAC; hashAlg: number; digest: Uint8Array }
  | { sigAlg: typeof TPM_ALG.NULL; hashAlg: typeof TPM_ALG.NULL };

export function readSignature(r: TpmReader): TpmtSignature {
  const sigAlg = r.u16('sigAlg');
  switch (sigAlg) {
    case TPM_ALG.RSASSA:
    case TPM_ALG.RSAPSS:
      return { sigAlg, hashAlg: r.u16('hash'), sig: r.tpm2b('sig', 512) };
    case TPM_ALG.ECDSA:
    case TPM_ALG.ECDAA:
    case TPM_ALG.SM2:
    case TPM_ALG.ECSCHNORR:
      return { sigAlg, hashAlg: r.u16('hash'), r: r.tpm2b('signatureR', 128), s: r.tpm2b('signatureS', 128) };
    case TPM_ALG.HMAC: {
      const hashAlg = r.u16('hashAlg');
      const size = { [TPM_ALG.SHA1]: 20, [TPM_ALG.SHA256]: 32, [TPM_ALG.SHA384]: 48, [TPM_ALG.SHA512]: 64 }[hashAlg];
      if (size === undefined) throw new Tpm2FormatError(`${r.what}: HMAC signature with unknown hash ${algName(hashAlg)}`);
      return { sigAlg, hashAlg, digest: r.bytes(size, 'digest') };
    }
    case TPM_ALG.NULL:
      return { sigAlg, hashAlg: TPM_ALG.NULL };
    default:
      throw new Tpm2FormatError(`${r.what}: unknown sigAlg ${algName(sigAlg)}`);
  }
}

/** Parses TPMT_SIGNATURE bytes (the whole buffer). */
export function unmarshalSignature(bytes: Uint8Array): TpmtSignature {
  const r = new TpmReader(bytes, 'TPMT_SIGNATURE');
  const s = readSignature(r);
  r.end();
  return s;
}

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  if (n < 0x100) return [0x81, n];
  return [0x82, n >> 8, n & 0xff];
}

/** DER INTEGER of an unsigned big-endian value, minimal (no redundant leading zeros; 0x00 added when the MSB is set). */
function derUnsignedInteger(v: Uint8Array): number[] {
  let i = 0;
  while (i < v.byteLength - 1 && v[i] === 0) i++;
  const body = Array.from(v.subarray(i));
  if (body.length === 0) body.push(0);
  if (body[0]! & 0x80) body.unshift(0);
  return [0x02, ...derLength(body.length), ...body];
}

/** DER ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 5480 §2.2 / SEC 1), minimal INTEGERs. */
export function ecdsaSignatureToDer(r: Uint8Array, s: Uint8Array): Uint8Array {
  const body = [...derUnsignedInteger(r), ...derUnsignedInteger(s)];
  return new Uint8Array([0x30, ...derLength(body.length), ...body]);
}

/** The X.509/TLS signature value: DER ECDSA-Sig-Value for ECDSA, the raw signature for RSASSA/RSAPSS. */
export function signatureToDer(sig: TpmtSignature): Uint8Array {
  switch (sig.sigAlg) {
    case TPM_ALG.ECDSA:
      return ecdsaSignatureToDer(sig.r, sig.s);
    case TPM_ALG.RSASSA:
    case TPM_ALG.RSAPSS:
      return new Uint8Array(sig.sig);
    default:
      throw new Tpm2UnsupportedError(`no X.509 encoding for a ${algName(sig.sigAlg)} signature`);
  }
}
