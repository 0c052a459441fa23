// The lab's CMS (RFC 5652) for the package services: a one-signer SignedData over a small content (§5; signed
// attributes content-type, message-digest, signing-time and any others, DER-sorted as a SET OF, §5.4; sid the
// subjectKeyIdentifier, version 3, §5.3), the signed-attributes encoding alone (for the streamed firmware package),
// a ContentInfo around an unsigned content, and opening what a device returns (one SignedData, its SignerInfo
// verified by pkijs against the certificate it carries).
import { createHash, createPublicKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { der, parse } from './der.js';

export const OID_DATA = '1.2.840.113549.1.7.1';
export const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
export const OID_ENCRYPTED_DATA = '1.2.840.113549.1.7.6';
export const OID_SHA256 = '2.16.840.1.101.3.4.2.1';
const OID_ATTR_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const OID_ATTR_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const OID_ATTR_SIGNING_TIME = '1.2.840.113549.1.9.5';
const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const OID_RSA_SHA256 = '1.2.840.113549.1.1.11';

export const attribute = (type: string, value: asn1js.BaseBlock): pkijs.Attribute => new pkijs.Attribute({ type, values: [value] });

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING of a key. */
export function keyIdOf(key: KeyObject): Uint8Array {
  const spki = new pkijs.PublicKeyInfo({ schema: parse(new Uint8Array(createPublicKey(key).export({ type: 'spki', format: 'der' })), 'spki') });
  return new Uint8Array(createHash('sha1').update(spki.subjectPublicKey.valueBlock.valueHexView).digest());
}

/** The signed attributes (content-type and message-digest first), DER-sorted (X.690 §11.6). */
export function signedAttributes(o: { eContentType: string; digest: Uint8Array; signingTime?: Date; more?: pkijs.Attribute[] }): pkijs.Attribute[] {
  const attrs = [
    attribute(OID_ATTR_CONTENT_TYPE, new asn1js.ObjectIdentifier({ value: o.eContentType })),
    attribute(OID_ATTR_MESSAGE_DIGEST, new asn1js.OctetString({ valueHex: o.digest })),
    ...(o.signingTime ? [attribute(OID_ATTR_SIGNING_TIME, new asn1js.UTCTime({ valueDate: o.signingTime }))] : []),
    ...(o.more ?? []),
  ];
  return attrs.map((a) => ({ a, d: Buffer.from(der(a)) })).sort((x, y) => Buffer.compare(x.d, y.d)).map((x) => x.a);
}

/** A SignerInfo (version 3, sid [0] subjectKeyIdentifier) signing `attrs` with `key`; `corrupt` flips a byte of the signature. */
export function signerInfo(o: { key: KeyObject; keyId: Uint8Array; attrs: pkijs.Attribute[]; unsignedAttrs?: pkijs.Attribute[]; corrupt?: boolean }): pkijs.SignerInfo {
  // §5.4: the signature is over the DER of the attributes as a SET OF (tag 0x31), not the [0] IMPLICIT form.
  const set = der(new asn1js.Set({ value: o.attrs.map((a) => a.toSchema()) }));
  const rsa = o.key.asymmetricKeyType === 'rsa';
  const sig = new Uint8Array(cryptoSign('sha256', set, rsa ? o.key : { key: o.key, dsaEncoding: 'der' }));
  if (o.corrupt) sig[sig.length - 5]! ^= 0x55;
  return new pkijs.SignerInfo({
    version: 3,
    sid: new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: o.keyId }),
    digestAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID_SHA256 }),
    signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: o.attrs }),
    ...(o.unsignedAttrs ? { unsignedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 1, attributes: o.unsignedAttrs }) } : {}),
    signatureAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: rsa ? OID_RSA_SHA256 : OID_ECDSA_SHA256 }),
    signature: new asn1js.OctetString({ valueHex: sig }),
  });
}

export interface SignOptions {
  eContentType: string;
  eContent: Uint8Array;
  key: KeyObject;
  /** The sid (default: computed from the key). */
  keyId?: Uint8Array;
  /** DER certificates to include (the signer's first). */
  certificates?: Uint8Array[];
  signingTime?: Date;
  attributes?: pkijs.Attribute[];
  unsignedAttributes?: pkijs.Attribute[];
  corruptSignature?: boolean;
}

/** DER ContentInfo { id-signedData, SignedData } with one SignerInfo. */
export function signedData(o: SignOptions): Uint8Array {
  const attrs = signedAttributes({ eContentType: o.eContentType, digest: new Uint8Array(createHash('sha256').update(o.eContent).digest()), ...(o.signingTime ? { signingTime: o.signingTime } : {}), ...(o.attributes ? { more: o.attributes } : {}) });
  const si = signerInfo({ key: o.key, keyId: o.keyId ?? keyIdOf(o.key), attrs, ...(o.unsignedAttributes ? { unsignedAttrs: o.unsignedAttributes } : {}), ...(o.corruptSignature ? { corrupt: true } : {}) });
  const encap = new pkijs.EncapsulatedContentInfo({ eContentType: o.eContentType });
  encap.eContent = new asn1js.OctetString({ valueHex: o.eContent }); // primitive: the constructor would segment it
  const sd = new pkijs.SignedData({
    version: 3,
    digestAlgorithms: [new pkijs.AlgorithmIdentifier({ algorithmId: OID_SHA256 })],
    encapContentInfo: encap,
    signerInfos: [si],
    ...(o.certificates?.length ? { certificates: o.certificates.map((c) => new pkijs.Certificate({ schema: parse(c, 'certificate') })) } : {}),
  });
  return der(new pkijs.ContentInfo({ contentType: OID_SIGNED_DATA, content: sd.toSchema(true) }));
}

/** RFC 5652 §5.2 degenerate SignedData carrying only certificates (RFC 7030 §4.1.3 certs-only). */
export function certsOnly(certificates: Uint8Array[]): Uint8Array {
  const sd = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: OID_DATA }),
    certificates: certificates.map((c) => new pkijs.Certificate({ schema: parse(c, 'certificate') })),
  });
  return der(new pkijs.ContentInfo({ contentType: OID_SIGNED_DATA, content: sd.toSchema(true) }));
}

/** ContentInfo { contentType, [0] EXPLICIT content } around an unsigned DER content. */
export function contentInfo(contentType: string, content: Uint8Array): Uint8Array {
  return der(new pkijs.ContentInfo({ contentType, content: parse(content, 'content') }));
}

export interface OpenedSignedData {
  eContentType: string;
  eContent: Uint8Array;
  signatureValid: boolean;
  signerCertificate?: pkijs.Certificate;
}

/** Opens a ContentInfo(SignedData) with exactly one SignerInfo and an encapsulated content; verifies it when it carries certificates. */
export async function openSignedData(body: Uint8Array, o: { requireCertificates?: boolean } = {}): Promise<OpenedSignedData> {
  const ci = new pkijs.ContentInfo({ schema: parse(body, 'ContentInfo') });
  if (ci.contentType !== OID_SIGNED_DATA) throw new Error(`content type ${ci.contentType} is not id-signedData`);
  const sd = new pkijs.SignedData({ schema: ci.content });
  if (sd.signerInfos.length !== 1) throw new Error(`${sd.signerInfos.length} SignerInfos, exactly one expected`);
  const e = sd.encapContentInfo;
  if (!e.eContent) throw new Error('no encapsulated content');
  const out: OpenedSignedData = { eContentType: e.eContentType, eContent: new Uint8Array(e.eContent.getValue()), signatureValid: false };
  if (!sd.certificates?.length) {
    if (o.requireCertificates) throw new Error('no certificates to verify the signature with');
    return out;
  }
  const v = (await sd.verify({ signer: 0, checkChain: false, extendedMode: true }).catch((x: unknown) => x)) as { signatureVerified?: boolean; signerCertificate?: pkijs.Certificate };
  out.signatureValid = v.signatureVerified === true;
  if (v.signerCertificate) out.signerCertificate = v.signerCertificate;
  return out;
}
