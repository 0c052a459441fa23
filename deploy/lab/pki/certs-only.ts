// The certs-only Simple PKI Response (RFC 5272 §4.1, RFC 8551 §3.6): a ContentInfo with a SignedData (RFC 5652 §5)
// that has no signers and no content, only certificates.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { parseCertificate } from './cert.js';
import { der, DerError } from './der.js';
import { OID } from './oids.js';

export const CERTS_ONLY = 'application/pkcs7-mime; smime-type=certs-only';

export function certsOnly(certs: Array<Uint8Array | pkijs.Certificate>): Uint8Array {
  const sd = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: OID.data }),
    digestAlgorithms: [],
    certificates: certs.map((c) => (c instanceof Uint8Array ? parseCertificate(c) : c)),
    signerInfos: [],
  });
  const ci = new pkijs.ContentInfo({ contentType: OID.signedData, content: sd.toSchema(true) });
  return new Uint8Array(ci.toSchema().toBER(false));
}

/** The certificates of a certs-only message, as the exact DER received. */
export function parseCertsOnly(bytes: Uint8Array): Uint8Array[] {
  const ci = new pkijs.ContentInfo({ schema: der(bytes, 'certs-only ContentInfo') });
  if (ci.contentType !== OID.signedData) throw new DerError(`expected SignedData, got ${ci.contentType}`);
  const sd = ci.content as asn1js.Sequence;
  const tagged = sd.valueBlock.value.find((e) => e.idBlock.tagClass === 3 && e.idBlock.tagNumber === 0) as asn1js.Constructed | undefined;
  return (tagged?.valueBlock.value ?? []).filter((e) => e instanceof asn1js.Sequence).map((e) => new Uint8Array(e.valueBeforeDecodeView));
}
