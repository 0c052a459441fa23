// Certificate helpers shared by protocols, the TA store and the lab server: pkijs objects from DER/PEM, DER out,
// public-key and name comparisons, fingerprints.
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { bytesEqual, decodeAsn1, toArrayBuffer } from './der.js';
import { PkiDecodeError } from './errors.js';
import { ATTRIBUTE_OIDS } from './name.js';
import { pemDecodeAll, pemEncode } from './pem.js';
import './name-equality.js';
import './schema-memo.js';
import { lruGet } from '../util/lru.js';

export function certificateFromDer(der: Uint8Array): pkijs.Certificate {
  const asn1 = decodeAsn1(der, 'Certificate');
  try {
    return new pkijs.Certificate({ schema: asn1 });
  } catch (e) {
    throw new PkiDecodeError('certificate', `not an X.509 certificate: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Parsed certificates shared by DER content, for certificates the agent holds and reads again and again (trust
 * anchors, the current credential and its chain): each is parsed once instead of on every poll or enrollment.
 * The objects are shared: callers only read them (pkijs validation does not modify its inputs). Bounded (LRU):
 * a parsed certificate holds ~40 KB of heap (asn1js blocks; measured by heap-snapshot diff in the year soak), and the
 * working set is a few anchors plus the credential and its chain, so eight entries; each renewal's retired
 * credential falls out instead of piling up.
 */
const SHARED_MAX = 8;
const shared = new Map<string, pkijs.Certificate>();

const sharedKey = (der: Uint8Array): string => Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');

export function sharedCertificateFromDer(der: Uint8Array): pkijs.Certificate {
  return lruGet(shared, sharedKey(der), SHARED_MAX, () => certificateFromDer(der));
}

/** The shared parse of `der` when there is one (no parse otherwise): read-only use. */
export function sharedCertificateIfParsed(der: Uint8Array): pkijs.Certificate | undefined {
  const key = sharedKey(der);
  return shared.has(key) ? lruGet(shared, key, SHARED_MAX, () => shared.get(key)!) : undefined;
}

/** Puts an already parsed certificate (its exact DER `der`) into the shared cache: read-only from then on. */
export function shareCertificate(der: Uint8Array, cert: pkijs.Certificate): void {
  const key = sharedKey(der);
  shared.delete(key);
  lruGet(shared, key, SHARED_MAX, () => cert);
}

/** certificatesFromPem through the shared cache (see sharedCertificateFromDer): read-only use. */
export function sharedCertificatesFromPem(pem: string): pkijs.Certificate[] {
  return pemDecodeAll(pem, 'CERTIFICATE').map((b) => sharedCertificateFromDer(b.der));
}

/**
 * True when both encode to the same DER (certificateToDer): same to-be-signed bytes (kept as received by a
 * parsed certificate), signature algorithm and signature, without re-encoding the to-be-signed part; certificates built here and not yet signed are compared encoded.
 */
export function sameCertificate(a: pkijs.Certificate, b: pkijs.Certificate): boolean {
  if (a === b) return true;
  if (a.tbsView.byteLength > 0 && b.tbsView.byteLength > 0) {
    // what certificateToDer encodes after the to-be-signed bytes: the signature algorithm and value
    const tail = (c: pkijs.Certificate): Uint8Array => new Uint8Array([...new Uint8Array(c.signatureAlgorithm.toSchema().toBER(false)), ...new Uint8Array(c.signatureValue.toBER(false))]);
    return bytesEqual(a.tbsView, b.tbsView) && bytesEqual(tail(a), tail(b));
  }
  return bytesEqual(certificateToDer(a), certificateToDer(b));
}

/** Every CERTIFICATE block in a PEM bundle. */
export function certificatesFromPem(pem: string): pkijs.Certificate[] {
  return pemDecodeAll(pem, 'CERTIFICATE').map((b) => certificateFromDer(b.der));
}

export function certificateToDer(cert: pkijs.Certificate): Uint8Array {
  return new Uint8Array(cert.toSchema().toBER(false));
}

export function certificateToPem(cert: pkijs.Certificate | Uint8Array): string {
  return pemEncode('CERTIFICATE', cert instanceof Uint8Array ? cert : certificateToDer(cert));
}

/** SPKI encodings of parsed certificates (read-only objects, see sharedCertificateFromDer): each encoded once. */
const spkiOf = new WeakMap<pkijs.Certificate, Uint8Array>();

/** DER SubjectPublicKeyInfo of a certificate (callers only read it). */
export function certificateSpki(cert: pkijs.Certificate): Uint8Array {
  // a certificate built here (no to-be-signed bytes yet) may still change: encoded every time
  if (cert.tbsView.byteLength === 0) return new Uint8Array(cert.subjectPublicKeyInfo.toSchema().toBER(false));
  let spki = spkiOf.get(cert);
  if (!spki) {
    spki = new Uint8Array(cert.subjectPublicKeyInfo.toSchema().toBER(false));
    spkiOf.set(cert, spki);
  }
  return spki;
}

/** True when the certificate certifies exactly the key `spki` (DER SubjectPublicKeyInfo). */
export function certificateHasKey(cert: pkijs.Certificate, spki: Uint8Array): boolean {
  return bytesEqual(certificateSpki(cert), spki);
}

/**
 * DER of a Name (for exact comparisons: RFC 5280 §7.1 comparison is left to pkijs where it matters): the bytes it
 * was decoded from when it was decoded (pkijs keeps them; its toSchema() would decode and re-encode them, ≈ 0.15 ms),
 * else its encoding.
 */
export function nameDer(name: pkijs.RelativeDistinguishedNames): Uint8Array {
  return name.valueBeforeDecode.byteLength > 0 ? new Uint8Array(name.valueBeforeDecode) : new Uint8Array(name.toSchema().toBER(false));
}

export function isSelfIssued(cert: pkijs.Certificate): boolean {
  return cert.subject.isEqual(cert.issuer);
}

/** Lower-case hex SHA-256 (or other) digest of the whole DER certificate — the RFC 7030 §4.1.1 "fingerprint". */
export function certificateFingerprint(cert: pkijs.Certificate | Uint8Array, algorithm: 'sha256' | 'sha512' = 'sha256'): string {
  const der = cert instanceof Uint8Array ? cert : certificateToDer(cert);
  return createHash(algorithm).update(der).digest('hex');
}

const OID_SUBJECT_KEY_IDENTIFIER = '2.5.29.14';

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value of a DER SubjectPublicKeyInfo. */
export function keyIdentifierFromSpki(spki: Uint8Array): Uint8Array {
  const info = new pkijs.PublicKeyInfo({ schema: asn1js.fromBER(spki).result });
  return new Uint8Array(createHash('sha1').update(info.subjectPublicKey.valueBlock.valueHexView).digest());
}

/** The subjectKeyIdentifier extension value (RFC 5280 §4.2.1.2), undefined when absent or unparsable. */
export function certificateSubjectKeyId(cert: pkijs.Certificate): Uint8Array | undefined {
  const ext = findExtension(cert.extensions, OID_SUBJECT_KEY_IDENTIFIER);
  if (!ext) return undefined;
  let p: ReturnType<typeof asn1js.fromBER>;
  try {
    p = asn1js.fromBER(ext.extnValue.valueBlock.valueHexView);
  } catch {
    return undefined;
  }
  return p.result instanceof asn1js.OctetString ? new Uint8Array(p.result.valueBlock.valueHexView) : undefined;
}

/** Key identifier of a certificate: its subjectKeyIdentifier, else RFC 5280 §4.2.1.2 method 1 over its key. */
export function certificateKeyId(cert: pkijs.Certificate): Uint8Array {
  return certificateSubjectKeyId(cert) ?? keyIdentifierFromSpki(certificateSpki(cert));
}

/** The extension with `oid`, if present. */
export function findExtension(
  exts: pkijs.Extension[] | undefined,
  oid: string,
): pkijs.Extension | undefined {
  return exts?.find((e) => e.extnID === oid);
}

/** The attribute types describeName prints by their short name (the rest by OID). */
const SHORT_NAMES: Record<string, string> = Object.fromEntries(['CN', 'C', 'L', 'ST', 'O', 'OU', 'serialNumber', 'emailAddress', 'DC'].map((k) => [ATTRIBUTE_OIDS[k]!, k]));

/** Human-readable one-line subject, e.g. "CN=device-1, O=Acme" (for logs and error messages only). */
export function describeName(name: pkijs.RelativeDistinguishedNames): string {
  return name.typesAndValues
    .map((tv) => `${SHORT_NAMES[tv.type] ?? tv.type}=${(tv.value.valueBlock as { value?: unknown }).value ?? '?'}`)
    .join(', ');
}

export { toArrayBuffer };
