// PKCS#8 PrivateKeyInfo (RFC 5208 §5 / RFC 5958 §2 OneAsymmetricKey) → the raw key material a TPM import needs
// (P-256: d and the public point; RSA-2048: n, e and the first prime). The DER is parsed IN PLACE (asn1js
// copyInput: false via parseDer's inPlace option) and the inner ECPrivateKey (RFC 5915 §3) / RSAPrivateKey
// (RFC 8017 A.1.2) are read from views into the caller's buffer — not through pkijs.PrivateKeyInfo, whose inner
// re-parse and INTEGER conversion leave copies of the key nobody can wipe. The only copies are the fixed-size
// outputs returned here, which the caller wipes with wipe(); the caller also wipes its input.
// Servers that send the "traditional" OpenSSL forms instead of PKCS#8 (a bare RSAPrivateKey, RFC 8017 A.1.2, or
// ECPrivateKey, RFC 5915 §3) are met by privateKeyForm() + pkcs8FromTraditional(), which wraps the key unchanged in
// a PrivateKeyInfo so the one decoder above reads it; the caller decides whether to accept them.
import { createECDH } from 'node:crypto';
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './asn1/errors.js';
import { type AsnNode, Tag, isContext, isUniversal, parseDer, readOid, readSmallInt, seqChildren } from './asn1/der.js';
import { PkiDecodeError } from './errors.js';
import { OID_EC_PUBLIC_KEY, OID_P256, OID_RSA_ENCRYPTION } from './algorithms.js';
import type { KeyAlgorithm } from './signer.js';


export type PrivateKeyMaterial =
  | { algorithm: Extract<KeyAlgorithm, 'ecc-p256'>; d: Uint8Array; x: Uint8Array; y: Uint8Array; wipe(): void }
  | { algorithm: Extract<KeyAlgorithm, 'rsa-2048'>; n: Uint8Array; e: number; p: Uint8Array; wipe(): void };

/** Overwrites bytes with zeros. */
export function wipeBytes(...bufs: (Uint8Array | undefined)[]): void {
  for (const b of bufs) b?.fill(0);
}

const bad = (message: string, cause?: unknown): PkiDecodeError => new PkiDecodeError('private-key', message, cause ? { cause } : undefined);

/** An unsigned big-endian integer (a view) left-padded / stripped of leading zeros to exactly `size` fresh bytes. */
function fixed(b: Uint8Array, size: number, what: string): Uint8Array {
  let start = 0;
  while (start < b.byteLength - 1 && b[start] === 0 && b.byteLength - start > size) start++;
  const v = b.subarray(start);
  if (v.byteLength > size) throw bad(`${what} is longer than ${size} bytes`);
  const out = new Uint8Array(size);
  out.set(v, size - v.byteLength);
  return out;
}

/** The content octets of a primitive INTEGER / OCTET STRING node: a view, not a copy. */
function contentView(node: AsnNode | undefined, tag: number, path: string): Uint8Array {
  if (!node || !isUniversal(node, tag) || (node as asn1js.BaseBlock).idBlock.isConstructed) throw bad(`${path}: expected ${tag === Tag.INTEGER ? 'INTEGER' : 'OCTET STRING'}`);
  const v = (node as asn1js.BaseBlock).valueBlock as unknown as { valueHexView: Uint8Array };
  if (v.valueHexView.byteLength === 0) throw bad(`${path}: empty`);
  if (tag === Tag.INTEGER && (v.valueHexView[0]! & 0x80) !== 0) throw bad(`${path}: negative`);
  return v.valueHexView;
}

/** How a DER private key is encoded: PKCS#8 PrivateKeyInfo, PKCS#1 RSAPrivateKey or SEC1 ECPrivateKey. */
export type PrivateKeyForm = 'pkcs8' | 'pkcs1' | 'sec1';

/** The encoding, told by the second field (AlgorithmIdentifier, modulus INTEGER, privateKey OCTET STRING). */
export function privateKeyForm(der: Uint8Array): PrivateKeyForm {
  let f: AsnNode[];
  try {
    f = seqChildren(parseDer(der, 'private key', { inPlace: true }), 'private key');
  } catch (e) {
    throw bad(`not a DER private key: ${(e as Error).message}`, e);
  }
  if (isUniversal(f[0], Tag.INTEGER) && isUniversal(f[1], Tag.INTEGER)) return 'pkcs1';
  if (isUniversal(f[0], Tag.INTEGER) && isUniversal(f[1], Tag.OCTET_STRING)) return 'sec1';
  return 'pkcs8';
}

/** A DER TLV header: tag and definite length (X.690 §8.1.3). */
function tlvHeader(tag: number, length: number): number[] {
  const len: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) len.unshift(n % 256);
  return length < 0x80 ? [tag, length] : [tag, 0x80 | len.length, ...len];
}

/**
 * Wraps a PKCS#1 RSAPrivateKey or SEC1 ECPrivateKey (whose parameters name the curve) in a PKCS#8 PrivateKeyInfo,
 * the key octets copied unchanged. Returns a fresh buffer the caller wipes; the input is not modified. The
 * envelope is written by hand so that the only copy of the key is this buffer (not asn1js's internal ones).
 */
export function pkcs8FromTraditional(der: Uint8Array): Uint8Array {
  const form = privateKeyForm(der);
  let algId: Uint8Array;
  if (form === 'pkcs1') {
    algId = new Uint8Array(new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID_RSA_ENCRYPTION }), new asn1js.Null()] }).toBER(false));
  } else if (form === 'sec1') {
    let curve: string;
    try {
      const k = seqChildren(parseDer(der, 'ECPrivateKey', { inPlace: true }), 'ECPrivateKey');
      const params = k.slice(2).find((n) => isContext(n, 0, true));
      if (!params) throw bad('ECPrivateKey without parameters: the curve is unknown');
      curve = readOid((params as asn1js.Constructed).valueBlock.value[0], 'ECPrivateKey.parameters');
    } catch (e) {
      if (e instanceof PkiDecodeError) throw e;
      throw bad(`ECPrivateKey: ${(e as Error).message}`, e);
    }
    algId = new Uint8Array(new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID_EC_PUBLIC_KEY }), new asn1js.ObjectIdentifier({ value: curve })] }).toBER(false));
  } else {
    throw bad('already a PKCS#8 PrivateKeyInfo');
  }
  const version = [Tag.INTEGER, 1, 0];
  const octets = tlvHeader(Tag.OCTET_STRING, der.byteLength);
  const body = version.length + algId.byteLength + octets.length + der.byteLength;
  const outer = tlvHeader(Tag.SEQUENCE | 0x20, body);
  const out = new Uint8Array(outer.length + body);
  let o = 0;
  for (const part of [outer, version, algId, octets]) {
    out.set(part, o);
    o += part.length;
  }
  out.set(der, o);
  return out;
}

/**
 * Decodes a DER PKCS#8 PrivateKeyInfo holding an ECDSA P-256 or RSA-2048 private key. Throws PkiDecodeError
 * ("pki.decode.private-key") for anything else. The input buffer is not modified (the caller wipes it).
 */
export function decodePrivateKey(pkcs8: Uint8Array): PrivateKeyMaterial {
  let outer: AsnNode[];
  let alg: string;
  let params: AsnNode | undefined;
  let inner: AsnNode;
  try {
    outer = seqChildren(parseDer(pkcs8, 'PrivateKeyInfo', { inPlace: true }), 'PrivateKeyInfo');
    readSmallInt(outer[0], 'PrivateKeyInfo.version', 0, 1);
    const algId = seqChildren(outer[1], 'PrivateKeyInfo.privateKeyAlgorithm');
    alg = readOid(algId[0], 'PrivateKeyInfo.privateKeyAlgorithm.algorithm');
    params = algId[1];
    inner = parseDer(contentView(outer[2], Tag.OCTET_STRING, 'PrivateKeyInfo.privateKey'), 'PrivateKeyInfo.privateKey', { inPlace: true });
    for (const extra of outer.slice(3)) {
      if (!isContext(extra, 0) && !isContext(extra, 1)) throw bad('PrivateKeyInfo: unknown trailing element');
    }
  } catch (e) {
    if (e instanceof PkiDecodeError) throw e;
    throw bad(`not a PKCS#8 PrivateKeyInfo: ${(e as Error).message}`, e);
  }
  try {
    if (alg === OID_EC_PUBLIC_KEY) {
      const curve = params && isUniversal(params, Tag.OID) ? readOid(params, 'ECParameters') : undefined;
      if (curve !== OID_P256) throw bad(`EC curve ${curve ?? '(none)'} is not P-256`);
      const k = seqChildren(inner, 'ECPrivateKey');
      readSmallInt(k[0], 'ECPrivateKey.version', 1, 1);
      const dView = contentView(k[1], Tag.OCTET_STRING, 'ECPrivateKey.privateKey');
      if (dView.byteLength > 32) throw bad('EC private key is longer than 32 bytes');
      const d = fixed(dView, 32, 'EC private key');
      if (d.every((v) => v === 0)) {
        wipeBytes(d);
        throw bad('EC private key is zero');
      }
      // The public point is recomputed from d (an optional publicKey field is not trusted; the import probes it too).
      let point: Buffer;
      try {
        const ecdh = createECDH('prime256v1');
        ecdh.setPrivateKey(Buffer.from(d.buffer, d.byteOffset, d.byteLength));
        point = ecdh.getPublicKey();
      } catch (err) {
        wipeBytes(d);
        throw bad('EC private key is out of range for P-256', err);
      }
      return { algorithm: 'ecc-p256', d, x: new Uint8Array(point.subarray(1, 33)), y: new Uint8Array(point.subarray(33, 65)), wipe: () => wipeBytes(d) };
    }
    if (alg === OID_RSA_ENCRYPTION) {
      const k = seqChildren(inner, 'RSAPrivateKey');
      readSmallInt(k[0], 'RSAPrivateKey.version', 0, 0); // two-prime only
      if (k.length !== 9) throw bad(`RSAPrivateKey has ${k.length} fields, expected 9`);
      const n = fixed(contentView(k[1], Tag.INTEGER, 'RSAPrivateKey.modulus'), 256, 'RSA modulus');
      if ((n[0]! & 0x80) === 0) throw bad('RSA modulus is not 2048 bits');
      const eView = contentView(k[2], Tag.INTEGER, 'RSAPrivateKey.publicExponent');
      if (eView.byteLength > 5) throw bad('RSA public exponent is too large');
      const e = Number(BigInt(`0x${Buffer.from(eView).toString('hex')}`));
      if (e < 3 || e % 2 === 0 || e > 0xffffffff) throw bad(`RSA public exponent ${e} is unusable`);
      const p = fixed(contentView(k[4], Tag.INTEGER, 'RSAPrivateKey.prime1'), 128, 'RSA prime p');
      if ((p[0]! & 0x80) === 0) {
        wipeBytes(p);
        throw bad('RSA prime p is not 1024 bits');
      }
      return { algorithm: 'rsa-2048', n, e, p, wipe: () => wipeBytes(p) };
    }
    throw bad(`unsupported private key algorithm ${alg}`);
  } catch (e) {
    if (e instanceof PkiDecodeError) throw e;
    if (e instanceof Asn1DecodeError) throw bad(e.message, e);
    throw e;
  }
}
