// Signing CMS SignedData (RFC 5652 §5) for what the lab sends signed: one SignerInfo over signed attributes
// (content-type and message-digest, §5.3 / §11.1–11.2; signing-time §11.3 when given) with SHA-256, sid =
// subjectKeyIdentifier (version 3) when the signer certificate has one, else issuerAndSerialNumber (version 1).
import { createHash, createPublicKey } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { findExtension, parseCertificate } from './cert.js';
import { der, encode, toAb } from './der.js';
import { keyIdentifier, keyObject, type SigningKey } from './issue.js';
import { OID } from './oids.js';
import { signatureAlgorithm, signBytes } from './signature.js';

export interface SignSignedDataOptions {
  eContentType: string;
  eContent: Uint8Array;
  signingKey: SigningKey;
  /** DER certificate of the signing key (included first; gives the sid). */
  certificate?: Uint8Array;
  extraCertificates?: Uint8Array[];
  signingTime?: Date;
  /** More signed attributes. */
  attributes?: pkijs.Attribute[];
  /** Leave the content out (detached, §5.2). */
  detached?: boolean;
}

export function attribute(type: string, value: asn1js.BaseBlock): pkijs.Attribute {
  return new pkijs.Attribute({ type, values: [value] });
}

/** DER SET OF Attribute in DER order (X.690 §11.6: sorted by encoding), as signed (§5.4). */
export function sortAttributes(attrs: pkijs.Attribute[]): pkijs.Attribute[] {
  return attrs
    .map((a) => ({ a, d: Buffer.from(encode(a)) }))
    .sort((x, y) => Buffer.compare(x.d, y.d))
    .map((x) => x.a);
}

/** The DER SignedAttributes with the SET OF tag (§5.4: what the signature covers). */
export function signedAttributesDer(attrs: pkijs.Attribute[]): Uint8Array {
  return new Uint8Array(new asn1js.Set({ value: attrs.map((a) => a.toSchema()) }).toBER(false));
}

/** The DER ContentInfo { id-signedData, SignedData }. */
export function signSignedData(o: SignSignedDataOptions): Uint8Array {
  const key = keyObject(o.signingKey);
  const cert = o.certificate ? parseCertificate(o.certificate) : undefined;
  const skiExt = cert ? findExtension(cert.extensions, OID.subjectKeyId) : undefined;
  const ski = skiExt
    ? new Uint8Array((der(skiExt.extnValue.valueBlock.valueHexView, 'SubjectKeyIdentifier') as asn1js.OctetString).valueBlock.valueHexView)
    : cert
      ? undefined
      : keyIdentifier(new Uint8Array(createPublicKey(key).export({ format: 'der', type: 'spki' })));
  const sid = ski ? new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: toAb(ski) }) : new pkijs.IssuerAndSerialNumber({ issuer: cert!.issuer, serialNumber: cert!.serialNumber });
  const attrs = sortAttributes([
    attribute(OID.contentType, new asn1js.ObjectIdentifier({ value: o.eContentType })),
    attribute(OID.messageDigest, new asn1js.OctetString({ valueHex: toAb(new Uint8Array(createHash('sha256').update(o.eContent).digest())) })),
    ...(o.signingTime ? [attribute(OID.signingTime, new asn1js.UTCTime({ valueDate: o.signingTime }))] : []),
    ...(o.attributes ?? []),
  ]);
  const signature = signBytes(key, signedAttributesDer(attrs));
  const sha256 = new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 });
  const signerInfo = new pkijs.SignerInfo({
    version: ski ? 3 : 1,
    sid,
    digestAlgorithm: sha256,
    signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: attrs }),
    signatureAlgorithm: signatureAlgorithm(key),
    signature: new asn1js.OctetString({ valueHex: toAb(signature) }),
  });
  const encapContentInfo = new pkijs.EncapsulatedContentInfo({ eContentType: o.eContentType });
  if (!o.detached) encapContentInfo.eContent = new asn1js.OctetString({ valueHex: toAb(o.eContent) }); // primitive: the constructor would split it
  const certs = [...(o.certificate ? [o.certificate] : []), ...(o.extraCertificates ?? [])].map(parseCertificate);
  const sd = new pkijs.SignedData({
    version: 3,
    digestAlgorithms: [sha256],
    encapContentInfo,
    signerInfos: [signerInfo],
    ...(certs.length ? { certificates: certs } : {}),
  });
  return new Uint8Array(new pkijs.ContentInfo({ contentType: OID.signedData, content: sd.toSchema(true) }).toSchema().toBER(false));
}

/** ContentInfo { contentType, [0] EXPLICIT content } around a DER value (RFC 5652 §3), unsigned. */
export function contentInfo(contentType: string, content: Uint8Array): Uint8Array {
  return new Uint8Array(new pkijs.ContentInfo({ contentType, content: der(content, 'content') }).toSchema().toBER(false));
}
