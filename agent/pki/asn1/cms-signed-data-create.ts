// Creating a small CMS SignedData (RFC 5652 §5) around an encapsulated content with a `Signer` (a TPM key or the
// software signer): signed attributes content-type + message-digest (+ signing-time), SHA-256, one SignerInfo whose
// sid is the subjectKeyIdentifier (version 3; RFC 4108 §3.1.2.1 RECOMMENDS it) — taken from the certificate's SKI
// extension, or computed from the key (RFC 5280 §4.2.1.2 method 1) when there is no certificate — or the
// issuerAndSerialNumber (version 1) when the certificate has no SKI extension. The certificates given are included.
// Used for RFC 4108 load receipts/errors; small contents only (the content is held in memory).
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { signTbs, signatureAlgorithmFor } from '../sign.js';
import type { Signer } from '../signer.js';
import { OID_SHA256 } from '../algorithms.js';
import { certificateFromDer, certificateSubjectKeyId, keyIdentifierFromSpki } from '../cert.js';
import { contentTypeAttribute, messageDigestAttribute, signedAttributesDer, signingTimeAttribute, sortAttributes } from './cms-attributes.js';
import { OID_SIGNED_DATA } from '../cms/oids.js';

/** Re-exported for the lab server, which imports them from here. */
export { OID_SHA256 };
export { keyIdentifierFromSpki };

export interface CreateSignedDataOptions {
  eContentType: string;
  eContent: Uint8Array;
  signer: Signer;
  /** DER certificate of the signer (included, and used for the sid). */
  certificate?: Uint8Array;
  /** More certificates to include (chain). */
  extraCertificates?: Uint8Array[];
  /** signing-time attribute value; omitted when undefined (a module without a real-time clock, RFC 4108 §3.2). */
  signingTime?: Date;
  /** More signed attributes. */
  attributes?: pkijs.Attribute[];
}

/** The device key signing what the agent returns (firmware receipts, TAMP responses, key-package receipts). */
export interface SignerWithChain {
  signer: Signer;
  /** DER certificate of the signing key. */
  certificate?: Uint8Array;
  /** Its intermediates, so a verifier needs only the root (RFC 5652 §5.1 certificates). */
  chain?: Uint8Array[];
}

/** createSignedData options for a SignerWithChain: the key, its certificate and the chain. */
export function signerWithChainOptions(s: SignerWithChain): Pick<CreateSignedDataOptions, 'signer' | 'certificate' | 'extraCertificates'> {
  return { signer: s.signer, ...(s.certificate ? { certificate: s.certificate } : {}), ...(s.chain?.length ? { extraCertificates: s.chain } : {}) };
}

/** Returns the DER ContentInfo { id-signedData, SignedData }. */
export async function createSignedData(o: CreateSignedDataOptions): Promise<Uint8Array> {
  const cert = o.certificate ? certificateFromDer(o.certificate) : undefined;
  const ski = cert ? certificateSubjectKeyId(cert) : keyIdentifierFromSpki(o.signer.spki);
  const sid =
    ski !== undefined
      ? new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: ski })
      : new pkijs.IssuerAndSerialNumber({ issuer: cert!.issuer, serialNumber: cert!.serialNumber });
  const digest = new Uint8Array(createHash('sha256').update(o.eContent).digest());
  const attrs = sortAttributes([
    contentTypeAttribute(o.eContentType),
    messageDigestAttribute(digest),
    ...(o.signingTime ? [signingTimeAttribute(o.signingTime)] : []),
    ...(o.attributes ?? []),
  ]);
  const signature = await signTbs(signedAttributesDer(attrs), o.signer);
  const sha256 = new pkijs.AlgorithmIdentifier({ algorithmId: OID_SHA256 });
  const signerInfo = new pkijs.SignerInfo({
    version: ski !== undefined ? 3 : 1,
    sid,
    digestAlgorithm: sha256,
    signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: attrs }),
    signatureAlgorithm: signatureAlgorithmFor(o.signer.algorithm),
    signature: new asn1js.OctetString({ valueHex: signature }),
  });
  const certs = [...(o.certificate ? [o.certificate] : []), ...(o.extraCertificates ?? [])].map(certificateFromDer);
  const encapContentInfo = new pkijs.EncapsulatedContentInfo({ eContentType: o.eContentType });
  encapContentInfo.eContent = new asn1js.OctetString({ valueHex: o.eContent }); // primitive (DER); the constructor would split it
  const sd = new pkijs.SignedData({
    version: 3,
    digestAlgorithms: [new pkijs.AlgorithmIdentifier({ algorithmId: OID_SHA256 })],
    encapContentInfo,
    signerInfos: [signerInfo],
    ...(certs.length ? { certificates: certs } : {}),
  });
  const ci = new pkijs.ContentInfo({ contentType: OID_SIGNED_DATA, content: sd.toSchema(true) });
  return new Uint8Array(ci.toSchema().toBER(false));
}

/** An unsigned RFC 4108 receipt/error: ContentInfo { contentType, content [0] EXPLICIT <the DER value> }. */
export function createUnsignedContentInfo(contentType: string, content: Uint8Array): Uint8Array {
  const parsed = asn1js.fromBER(content);
  if (parsed.offset !== content.byteLength || parsed.result.error) throw new Error('content is not a single BER element');
  return new Uint8Array(new pkijs.ContentInfo({ contentType, content: parsed.result }).toSchema().toBER(false));
}
