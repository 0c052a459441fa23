// "certs-only" CMS messages (RFC 5751 §3.6 / RFC 8551 §3.6): a degenerate SignedData (RFC 5652 §5) with no
// signers and no content, used to carry certificates (EST /cacerts and enrollment responses, RFC 7030 §4.1.3/§4.2.3).
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { certificateFromDer, certificateToDer } from './cert.js';
import { decodeAsn1 } from './der.js';
import { PkiDecodeError } from './errors.js';

import { OID_DATA, OID_SIGNED_DATA } from './cms/oids.js';

/** Re-exported for callers that import them from here. */
export { OID_DATA, OID_SIGNED_DATA };

export interface CertsOnly {
  certificates: pkijs.Certificate[];
  /** DER of each certificate, same order. */
  certificatesDer: Uint8Array[];
  crls: pkijs.CertificateRevocationList[];
}

/**
 * Parses a certs-only ContentInfo. Rejects anything that is not SignedData, carries encapsulated content, or has no
 * certificate (unless `allowEmpty`). Other certificate choices (attribute certificates, other formats) are ignored.
 * Signer infos are not expected; if a server adds some they are ignored (nothing here is trusted because of a CMS
 * signature — certificates are validated against the TA store by the caller).
 */
export function parseCertsOnly(der: Uint8Array, opts: { allowEmpty?: boolean } = {}): CertsOnly {
  const asn1 = decodeAsn1(der, 'certs-only ContentInfo');
  let signed: pkijs.SignedData;
  let signedAsn1: asn1js.Sequence;
  try {
    const ci = new pkijs.ContentInfo({ schema: asn1 });
    if (ci.contentType !== OID_SIGNED_DATA) {
      throw new PkiDecodeError('pki.cms.content_type', `expected SignedData (${OID_SIGNED_DATA}), got ${ci.contentType}`);
    }
    signedAsn1 = ci.content as asn1js.Sequence;
    signed = new pkijs.SignedData({ schema: signedAsn1 });
  } catch (e) {
    if (e instanceof PkiDecodeError) throw e;
    throw new PkiDecodeError('pki.cms.malformed', `malformed certs-only message: ${(e as Error).message}`, { cause: e });
  }
  // eContent may also be a constructed (BER) OCTET STRING, which has segments instead of valueHexView (test/fuzz).
  const eContent = signed.encapContentInfo.eContent as { valueBlock: { valueHexView?: Uint8Array; value?: unknown[] } } | undefined;
  if (eContent !== undefined && (eContent.valueBlock.valueHexView?.byteLength ?? eContent.valueBlock.value?.length ?? 1) > 0) {
    throw new PkiDecodeError('pki.cms.not_certs_only', 'SignedData carries content; not a certs-only message');
  }
  const certificates: pkijs.Certificate[] = [];
  const certificatesDer: Uint8Array[] = [];
  // The exact received DER of each certificate (what we later compare, hash or store — never a pkijs re-encoding),
  // taken from the decoded CertificateSet; pkijs' SignedData.certificates follows its elements one to one.
  const set = signedCertificateElements(signedAsn1);
  (signed.certificates ?? []).forEach((c, i) => {
    if (!(c instanceof pkijs.Certificate)) return;
    const raw = set[i]?.valueBeforeDecodeView;
    if (raw && raw.byteLength > 0) {
      certificates.push(c);
      certificatesDer.push(new Uint8Array(raw));
    } else {
      // Not expected (asn1js keeps the bytes it decoded); fall back to re-encoding and re-parsing.
      const certDer = new Uint8Array(c.toSchema().toBER(false));
      certificates.push(certificateFromDer(certDer));
      certificatesDer.push(certDer);
    }
  });
  if (certificates.length === 0 && !opts.allowEmpty) {
    throw new PkiDecodeError('pki.cms.no_certificates', 'certs-only message contains no certificate');
  }
  const crls = (signed.crls ?? []).filter((c): c is pkijs.CertificateRevocationList => c instanceof pkijs.CertificateRevocationList);
  return { certificates, certificatesDer, crls };
}

/** Elements of SignedData.certificates ([0] IMPLICIT CertificateSet, RFC 5652 §5.1), in order; [] if absent. */
function signedCertificateElements(signedData: asn1js.Sequence): asn1js.BaseBlock[] {
  if (!(signedData instanceof asn1js.Sequence)) return [];
  const tagged = signedData.valueBlock.value.find((e) => e.idBlock.tagClass === 3 && e.idBlock.tagNumber === 0) as asn1js.Constructed | undefined;
  return tagged ? tagged.valueBlock.value : [];
}

/** Builds a certs-only message (DER ContentInfo) carrying `certs` (and optional CRLs) in the given order. */
export function createCertsOnly(
  certs: Array<pkijs.Certificate | Uint8Array>,
  crls: pkijs.CertificateRevocationList[] = [],
): Uint8Array {
  const certificates = certs.map((c) => (c instanceof Uint8Array ? certificateFromDer(c) : c));
  const signed = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: OID_DATA }),
    digestAlgorithms: [],
    certificates,
    signerInfos: [],
    ...(crls.length > 0 ? { crls } : {}),
  });
  const ci = new pkijs.ContentInfo({ contentType: OID_SIGNED_DATA, content: signed.toSchema(true) });
  return new Uint8Array(ci.toSchema().toBER(false));
}

/** Re-exported for callers that already hold DER. */
export { certificateToDer };
void asn1js;
