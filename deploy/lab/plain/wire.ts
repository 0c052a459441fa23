// Wire helpers of the plain RFC 7030 peer, written from the RFCs with asn1js/pkijs only: OIDs, the base64 body
// transfer encoding (RFC 7030 §4 / RFC 2045 §6.8), PEM (RFC 7468) and the certs-only Simple PKI Response (RFC 5272 §4.1).
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

export const OID = {
  ecPublicKey: '1.2.840.10045.2.1',
  secp256r1: '1.2.840.10045.3.1.7',
  secp384r1: '1.3.132.0.34',
  secp521r1: '1.3.132.0.35',
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsassaPss: '1.2.840.113549.1.1.10',
  sha256WithRSA: '1.2.840.113549.1.1.11',
  sha384WithRSA: '1.2.840.113549.1.1.12',
  sha512WithRSA: '1.2.840.113549.1.1.13',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  ecdsaWithSHA384: '1.2.840.10045.4.3.3',
  ecdsaWithSHA512: '1.2.840.10045.4.3.4',
  challengePassword: '1.2.840.113549.1.9.7',
  extensionRequest: '1.2.840.113549.1.9.14',
  /** RFC 9908 §3.4: id-aa-certificationRequestInfoTemplate ::= { id-aa 61 }. */
  criTemplate: '1.2.840.113549.1.9.16.2.61',
  signedData: '1.2.840.113549.1.7.2',
  data: '1.2.840.113549.1.7.1',
  organizationName: '2.5.4.10',
  commonName: '2.5.4.3',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  ekuClientAuth: '1.3.6.1.5.5.7.3.2',
  ekuServerAuth: '1.3.6.1.5.5.7.3.1',
} as const;

export const CERTS_ONLY = 'application/pkcs7-mime; smime-type=certs-only';

/** Strict DER decode: one element, no trailing bytes. */
export function der(bytes: Uint8Array, what: string): asn1js.AsnType {
  const r = asn1js.fromBER(bytes);
  if (r.offset === -1 || r.offset !== bytes.byteLength) throw new Error(`${what}: not a single DER element`);
  return r.result;
}

export function toAb(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** RFC 2045 §6.8 base64 with 64-character lines, as EST servers send it. */
export function base64Body(bytes: Uint8Array): string {
  return (Buffer.from(bytes).toString('base64').match(/.{1,64}/g) ?? []).join('\n') + '\n';
}

/** Decodes a base64 request body (whitespace allowed, nothing else). */
export function fromBase64Body(body: Buffer): Uint8Array {
  const s = body.toString('latin1').replace(/[\r\n\t ]/g, '');
  if (s.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(s) || s.length % 4 !== 0) throw new Error('body is not base64');
  return new Uint8Array(Buffer.from(s, 'base64'));
}

export function pem(label: string, bytes: Uint8Array): string {
  return `-----BEGIN ${label}-----\n${base64Body(bytes)}-----END ${label}-----\n`;
}

/** RFC 5272 §4.1 Simple PKI Response: a degenerate SignedData (no signers) carrying certificates, in a ContentInfo. */
export function certsOnly(certs: Uint8Array[]): Uint8Array {
  const sd = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: OID.data }),
    certificates: certs.map((c) => pkijs.Certificate.fromBER(c)),
    signerInfos: [],
  });
  const ci = new pkijs.ContentInfo({ contentType: OID.signedData, content: sd.toSchema(true) });
  return new Uint8Array(ci.toSchema().toBER(false));
}
