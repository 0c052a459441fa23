// Issuing certificates (RFC 5280 §4.1): a TBSCertificate built with pkijs, signed with node:crypto, and the
// extensions the lab's profiles use (§4.2.1.1–§4.2.1.12).
import { createHash, KeyObject, randomBytes, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { parseCertificate } from './cert.js';
import { der, encode, toAb } from './der.js';
import { OID } from './oids.js';
import { signatureAlgorithm, signBytes, type Hash } from './signature.js';

export type SigningKey = KeyObject | webcrypto.CryptoKey;

export const keyObject = (k: SigningKey): KeyObject => (k instanceof KeyObject ? k : KeyObject.from(k));

export function publicKeyInfo(spki: Uint8Array | pkijs.PublicKeyInfo): pkijs.PublicKeyInfo {
  return spki instanceof Uint8Array ? new pkijs.PublicKeyInfo({ schema: der(spki, 'SubjectPublicKeyInfo') }) : spki;
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value. */
export function keyIdentifier(spki: Uint8Array | pkijs.PublicKeyInfo): Uint8Array {
  return new Uint8Array(createHash('sha1').update(publicKeyInfo(spki).subjectPublicKey.valueBlock.valueHexView).digest());
}

export function extension(extnID: string, critical: boolean, value: asn1js.BaseBlock | { toSchema(): asn1js.BaseBlock }): pkijs.Extension {
  return new pkijs.Extension({ extnID, critical, extnValue: toAb(encode(value)) });
}

/** §4.2.1.3 KeyUsage: bit 0 digitalSignature, 2 keyEncipherment, 5 keyCertSign, 6 cRLSign (critical). */
export function keyUsage(bits: number[]): pkijs.Extension {
  let v = 0;
  for (const b of bits) v |= 0x80 >> b;
  return extension(OID.keyUsage, true, new asn1js.BitString({ valueHex: toAb(new Uint8Array([v])), unusedBits: 7 - Math.max(...bits) }));
}

export const basicConstraints = (cA: boolean, pathLenConstraint?: number): pkijs.Extension =>
  extension(OID.basicConstraints, true, new pkijs.BasicConstraints({ cA, ...(pathLenConstraint !== undefined ? { pathLenConstraint } : {}) }));
export const subjectKeyId = (spki: Uint8Array | pkijs.PublicKeyInfo): pkijs.Extension =>
  extension(OID.subjectKeyId, false, new asn1js.OctetString({ valueHex: toAb(keyIdentifier(spki)) }));
export const authorityKeyId = (keyId: Uint8Array): pkijs.Extension =>
  extension(OID.authorityKeyId, false, new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: toAb(keyId) }) }));
export const extKeyUsage = (purposes: string[]): pkijs.Extension => extension(OID.extKeyUsage, false, new pkijs.ExtKeyUsage({ keyPurposes: purposes }));

/** A positive 16-byte serial number (§4.1.2.2). */
export function randomSerial(): asn1js.Integer {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return new asn1js.Integer({ valueHex: toAb(b) });
}

export interface SignCertificateOptions {
  issuer: pkijs.RelativeDistinguishedNames;
  subject: pkijs.RelativeDistinguishedNames;
  spki: Uint8Array | pkijs.PublicKeyInfo;
  notBefore: Date;
  notAfter: Date;
  extensions: pkijs.Extension[];
  signingKey: SigningKey;
  hash?: Hash;
  serialNumber?: asn1js.Integer;
}

/** Builds, signs and re-parses a v3 certificate (so tbsView/valueBeforeDecode are the exact DER). */
export function signCertificate(o: SignCertificateOptions): pkijs.Certificate {
  const key = keyObject(o.signingKey);
  const cert = new pkijs.Certificate();
  cert.version = 2;
  cert.serialNumber = o.serialNumber ?? randomSerial();
  cert.signature = signatureAlgorithm(key, o.hash);
  cert.issuer = o.issuer;
  cert.subject = o.subject;
  cert.notBefore = new pkijs.Time({ type: o.notBefore.getUTCFullYear() < 2050 ? 0 : 1, value: o.notBefore });
  cert.notAfter = new pkijs.Time({ type: o.notAfter.getUTCFullYear() < 2050 ? 0 : 1, value: o.notAfter });
  cert.subjectPublicKeyInfo = publicKeyInfo(o.spki);
  cert.extensions = o.extensions;
  const tbs = cert.encodeTBS();
  const sig = signBytes(key, new Uint8Array(tbs.toBER(false)), o.hash);
  const whole = new asn1js.Sequence({ value: [tbs, cert.signature.toSchema(), new asn1js.BitString({ valueHex: toAb(sig) })] });
  return parseCertificate(new Uint8Array(whole.toBER(false)));
}

/** iPAddress octets (RFC 5280 §4.2.1.6: 4 octets for IPv4, 16 for IPv6). */
function ipOctets(ip: string): Uint8Array {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return new Uint8Array(ip.split('.').map(Number));
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) throw new Error(`not an IP address: ${ip}`);
  return new Uint8Array(groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
}

/** §4.2.1.6 subjectAltName with dNSName and iPAddress entries. */
export function subjectAltName(o: { dns?: string[]; ip?: string[] }, critical = false): pkijs.Extension {
  const names = [
    ...(o.dns ?? []).map((value) => new pkijs.GeneralName({ type: 2, value })),
    ...(o.ip ?? []).map((ip) => new pkijs.GeneralName({ type: 7, value: new asn1js.OctetString({ valueHex: toAb(ipOctets(ip)) }) })),
  ];
  return extension(OID.subjectAltName, critical, new pkijs.GeneralNames({ names }));
}
