// What the lab's package services need from CMS (RFC 5652) beyond deploy/lab/pki/signed-data.ts: the signed
// attributes and the SignerInfo of a streamed SignedData (the firmware package, §5.3/§5.4), an unsigned attribute
// added to a signed message (§5.3 unsignedAttrs: RFC 5934 §4.5's contingency decrypt key), and opening what a
// device returns (one SignedData, its SignerInfo verified by pkijs against the certificate it carries).
import { createHash, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { der as parseDer, encode } from '../pki/der.js';
import { OID } from '../pki/oids.js';
import { signatureAlgorithm, signBytes } from '../pki/signature.js';
import { attribute, signedAttributesDer, sortAttributes } from '../pki/signed-data.js';

/** RFC 5652 §8 id-encryptedData. */
export const OID_ENCRYPTED_DATA = '1.2.840.113549.1.7.6';

/** The signed attributes of a SignerInfo: content-type, message-digest (SHA-256), signing-time and `more`, DER-sorted. */
export function signedAttributes(o: { eContentType: string; digest: Uint8Array; signingTime?: Date; more?: pkijs.Attribute[] }): pkijs.Attribute[] {
  return sortAttributes([
    attribute(OID.contentType, new asn1js.ObjectIdentifier({ value: o.eContentType })),
    attribute(OID.messageDigest, new asn1js.OctetString({ valueHex: o.digest })),
    ...(o.signingTime ? [attribute(OID.signingTime, new asn1js.UTCTime({ valueDate: o.signingTime }))] : []),
    ...(o.more ?? []),
  ]);
}

/** A SignerInfo (version 3, sid [0] subjectKeyIdentifier, SHA-256) over `attrs`; `corrupt` flips a signature byte. */
export function signerInfo(o: { key: KeyObject; keyId: Uint8Array; attrs: pkijs.Attribute[]; corrupt?: boolean }): pkijs.SignerInfo {
  const sig = signBytes(o.key, signedAttributesDer(o.attrs));
  if (o.corrupt) sig[sig.length - 5]! ^= 0x55;
  return new pkijs.SignerInfo({
    version: 3,
    sid: new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: o.keyId }),
    digestAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 }),
    signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: o.attrs }),
    signatureAlgorithm: signatureAlgorithm(o.key),
    signature: new asn1js.OctetString({ valueHex: sig }),
  });
}

export const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

/** Adds one unsigned attribute to the (single) SignerInfo of a ContentInfo(SignedData). */
export function withUnsignedAttribute(signed: Uint8Array, type: string, value: asn1js.BaseBlock): Uint8Array {
  const ci = new pkijs.ContentInfo({ schema: parseDer(signed, 'ContentInfo') });
  const sd = new pkijs.SignedData({ schema: ci.content });
  sd.signerInfos[0]!.unsignedAttrs = new pkijs.SignedAndUnsignedAttributes({ type: 1, attributes: [attribute(type, value)] });
  return encode(new pkijs.ContentInfo({ contentType: OID.signedData, content: sd.toSchema(true) }));
}

export interface OpenedSignedData {
  eContentType: string;
  eContent: Uint8Array;
  /** Whether it carries certificates (the signature can be checked). */
  hasCertificates: boolean;
  signatureValid: boolean;
  signerCertificate?: pkijs.Certificate;
}

/** Opens a ContentInfo(SignedData) with exactly one SignerInfo and an encapsulated content; verifies it when it carries certificates. */
export async function openSignedData(body: Uint8Array): Promise<OpenedSignedData> {
  const ci = new pkijs.ContentInfo({ schema: parseDer(body, 'ContentInfo') });
  if (ci.contentType !== OID.signedData) throw new Error(`content type ${ci.contentType} is not id-signedData`);
  const sd = new pkijs.SignedData({ schema: ci.content });
  if (sd.signerInfos.length !== 1) throw new Error(`${sd.signerInfos.length} SignerInfos, exactly one expected`);
  const e = sd.encapContentInfo;
  if (!e.eContent) throw new Error('no encapsulated content');
  const out: OpenedSignedData = { eContentType: e.eContentType, eContent: new Uint8Array(e.eContent.getValue()), hasCertificates: !!sd.certificates?.length, signatureValid: false };
  if (!out.hasCertificates) return out;
  const v = (await sd.verify({ signer: 0, checkChain: false, extendedMode: true }).catch((x: unknown) => x)) as { signatureVerified?: boolean; signerCertificate?: pkijs.Certificate };
  out.signatureValid = v.signatureVerified === true;
  if (v.signerCertificate) out.signerCertificate = v.signerCertificate;
  return out;
}
