// PKCS#8 PrivateKeyInfo (RFC 5208 §5 / RFC 5958 §2 OneAsymmetricKey v1) → the raw key material a TPM import needs
// (P-256: d and the public point; RSA-2048: n, e and the first prime). Parsed with asn1js/pkijs without copying the
// input (copyInput: false); the copies pkijs makes of the inner key are wiped before returning, so the plaintext key
// lives only in the caller's DER buffer and the returned material, which the caller wipes with wipe().
import { createECDH } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { PkiDecodeError } from './errors.js';
import type { KeyAlgorithm } from './signer.js';

const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const OID_P256 = '1.2.840.10045.3.1.7';

export type PrivateKeyMaterial =
  | { algorithm: Extract<KeyAlgorithm, 'ecc-p256'>; d: Uint8Array; x: Uint8Array; y: Uint8Array; wipe(): void }
  | { algorithm: Extract<KeyAlgorithm, 'rsa-2048'>; n: Uint8Array; e: number; p: Uint8Array; wipe(): void };

/** Overwrites bytes with zeros. */
export function wipeBytes(...bufs: (Uint8Array | undefined)[]): void {
  for (const b of bufs) b?.fill(0);
}

/** An unsigned big-endian integer left-padded (or stripped of leading zeros) to exactly `size` bytes. */
function fixed(b: Uint8Array, size: number, what: string): Uint8Array {
  let start = 0;
  while (start < b.byteLength - 1 && b[start] === 0 && b.byteLength - start > size) start++;
  const v = b.subarray(start);
  if (v.byteLength > size) throw new PkiDecodeError('private-key', `${what} is longer than ${size} bytes`);
  const out = new Uint8Array(size);
  out.set(v, size - v.byteLength);
  return out;
}

/** Zeros every ArrayBuffer behind the views (pkijs's private copies of the inner key). */
function wipeViews(...views: (Uint8Array | undefined)[]): void {
  for (const v of views) if (v) new Uint8Array(v.buffer).fill(0);
}

function hexView(block: { valueBlock: { valueHexView: Uint8Array } } | undefined): Uint8Array | undefined {
  return block?.valueBlock.valueHexView;
}

/**
 * Decodes a DER PKCS#8 PrivateKeyInfo holding an ECDSA P-256 or RSA-2048 private key. Throws PkiDecodeError
 * ("pki.decode.private-key") for anything else. The input buffer is not modified (the caller wipes it).
 */
export function decodePrivateKey(pkcs8: Uint8Array): PrivateKeyMaterial {
  const asn1 = asn1js.fromBER(pkcs8, { copyInput: false } as never);
  if (asn1.offset === -1 || asn1.offset !== pkcs8.byteLength) {
    throw new PkiDecodeError('private-key', 'PKCS#8 private key is not one DER element');
  }
  let info: pkijs.PrivateKeyInfo;
  try {
    info = new pkijs.PrivateKeyInfo({ schema: asn1.result });
  } catch (err) {
    throw new PkiDecodeError('private-key', `not a PKCS#8 PrivateKeyInfo: ${(err as Error).message}`, { cause: err });
  }
  const alg = info.privateKeyAlgorithm.algorithmId;
  const parsed = info.parsedKey;
  try {
    if (alg === OID_EC_PUBLIC_KEY) {
      const curve = (info.privateKeyAlgorithm.algorithmParams as asn1js.ObjectIdentifier | undefined)?.valueBlock?.toString();
      if (curve !== OID_P256) throw new PkiDecodeError('private-key', `EC curve ${curve ?? '(none)'} is not P-256`);
      if (!(parsed instanceof pkijs.ECPrivateKey)) throw new PkiDecodeError('private-key', 'EC private key does not parse');
      const dView = hexView(parsed.privateKey as never);
      if (!dView || dView.byteLength === 0 || dView.byteLength > 32) throw new PkiDecodeError('private-key', 'EC private key is not 32 bytes');
      const d = fixed(dView, 32, 'EC private key');
      if (d.every((v) => v === 0)) throw new PkiDecodeError('private-key', 'EC private key is zero');
      // The public point: recomputed from d (an optional publicKey field is not trusted; the import is probed anyway).
      const ecdh = createECDH('prime256v1');
      let point: Buffer;
      try {
        ecdh.setPrivateKey(Buffer.from(d.buffer, d.byteOffset, d.byteLength));
        point = ecdh.getPublicKey();
      } catch (err) {
        wipeBytes(d);
        throw new PkiDecodeError('private-key', 'EC private key is out of range for P-256', { cause: err });
      }
      const x = new Uint8Array(point.subarray(1, 33));
      const y = new Uint8Array(point.subarray(33, 65));
      return { algorithm: 'ecc-p256', d, x, y, wipe: () => wipeBytes(d) };
    }
    if (alg === OID_RSA_ENCRYPTION) {
      if (!(parsed instanceof pkijs.RSAPrivateKey)) throw new PkiDecodeError('private-key', 'RSA private key does not parse');
      const nView = hexView(parsed.modulus as never);
      const pView = hexView(parsed.prime1 as never);
      const eView = hexView(parsed.publicExponent as never);
      if (!nView || !pView || !eView) throw new PkiDecodeError('private-key', 'RSA private key lacks n, e or p');
      const n = fixed(nView, 256, 'RSA modulus');
      if ((n[0]! & 0x80) === 0) throw new PkiDecodeError('private-key', 'RSA modulus is not 2048 bits');
      const eb = fixed(eView, 4, 'RSA public exponent');
      const e = Buffer.from(eb).readUInt32BE(0);
      if (e < 3 || e % 2 === 0) throw new PkiDecodeError('private-key', `RSA public exponent ${e} is unusable`);
      const p = fixed(pView, 128, 'RSA prime p');
      return { algorithm: 'rsa-2048', n, e, p, wipe: () => wipeBytes(p) };
    }
    throw new PkiDecodeError('private-key', `unsupported private key algorithm ${alg}`);
  } finally {
    // pkijs re-parsed the inner privateKey OCTET STRING into its own buffer: zero it (and every view into it).
    const inner = hexView(info.privateKey as never);
    if (parsed instanceof pkijs.ECPrivateKey) wipeViews(hexView(parsed.privateKey as never));
    if (parsed instanceof pkijs.RSAPrivateKey) {
      wipeViews(
        hexView(parsed.privateExponent as never),
        hexView(parsed.prime1 as never),
        hexView(parsed.prime2 as never),
        hexView(parsed.exponent1 as never),
        hexView(parsed.exponent2 as never),
        hexView(parsed.coefficient as never),
      );
    }
    void inner; // a view into the caller's buffer (copyInput: false): the caller wipes it
  }
}
