// "certs-only" CMS messages (RFC 5751 §3.6 / RFC 8551 §3.6): a degenerate SignedData (RFC 5652 §5) with no
// signers and no content, used to carry certificates (EST /cacerts and enrollment responses, RFC 7030 §4.1.3/§4.2.3).
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { certificateFromDer, certificateToDer, sharedCertificateIfParsed } from './cert.js';
import { decodeAsn1 } from './der.js';
import { PkiDecodeError } from './errors.js';

import { CertsOnlySignedData } from './cms/certs-only-signed-data.js';
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
 * `reuseShared`: a certificate already in the shared cache (cert.ts sharedCertificateFromDer: the anchors, the
 * current credential and its chain) is returned as that read-only object instead of being built again.
 */
export function parseCertsOnly(der: Uint8Array, opts: { allowEmpty?: boolean; reuseShared?: boolean } = {}): CertsOnly {
  const asn1 = decodeAsn1(der, 'certs-only ContentInfo');
  let signed: CertsOnlySignedData;
  try {
    const ci = new pkijs.ContentInfo({ schema: asn1 });
    if (ci.contentType !== OID_SIGNED_DATA) {
      throw new PkiDecodeError('pki.cms.content_type', `expected SignedData (${OID_SIGNED_DATA}), got ${ci.contentType}`);
    }
    signed = CertsOnlySignedData.fromSchema(ci.content as asn1js.AsnType);
  } catch (e) {
    if (e instanceof PkiDecodeError) throw e;
    throw new PkiDecodeError('pki.cms.malformed', `malformed certs-only message: ${(e as Error).message}`, { cause: e });
  }
  // eContent may also be a constructed (BER) OCTET STRING, which has segments instead of valueHexView (test/fuzz).
  const eContent = signed.eContent as { valueBlock: { valueHexView?: Uint8Array; value?: unknown[] } } | undefined;
  if (eContent !== undefined && (eContent.valueBlock.valueHexView?.byteLength ?? eContent.valueBlock.value?.length ?? 1) > 0) {
    throw new PkiDecodeError('pki.cms.not_certs_only', 'SignedData carries content; not a certs-only message');
  }
  const certificates: pkijs.Certificate[] = [];
  const certificatesDer: Uint8Array[] = [];
  // RFC 5652 §10.2.3: a SEQUENCE is a Certificate; the tagged choices (attribute certificates, other formats) are
  // ignored. Each is parsed once, from its decoded block; its DER is the exact received bytes (what we later compare,
  // hash or store — never a pkijs re-encoding).
  for (const el of signed.certificates) {
    if (!(el instanceof asn1js.Sequence)) continue;
    const raw = el.valueBeforeDecodeView;
    const known = opts.reuseShared && raw.byteLength > 0 ? sharedCertificateIfParsed(raw) : undefined;
    if (known) {
      certificates.push(known);
      certificatesDer.push(new Uint8Array(raw));
      continue;
    }
    let cert: pkijs.Certificate;
    try {
      cert = new pkijs.Certificate({ schema: el });
    } catch (e) {
      throw new PkiDecodeError('pki.cms.malformed', `malformed certs-only message: certificate ${certificates.length + 1}: ${(e as Error).message}`, { cause: e });
    }
    if (raw.byteLength > 0) {
      certificates.push(cert);
      certificatesDer.push(new Uint8Array(raw));
    } else {
      // Not expected (asn1js keeps the bytes it decoded); fall back to re-encoding and re-parsing.
      const certDer = new Uint8Array(cert.toSchema().toBER(false));
      certificates.push(certificateFromDer(certDer));
      certificatesDer.push(certDer);
    }
  }
  if (certificates.length === 0 && !opts.allowEmpty) {
    throw new PkiDecodeError('pki.cms.no_certificates', 'certs-only message contains no certificate');
  }
  // RFC 5652 §10.2.1: a SEQUENCE is a CertificateList; [1] OtherRevocationInfoFormat is ignored.
  const crls: pkijs.CertificateRevocationList[] = [];
  for (const el of signed.crls) {
    if (!(el instanceof asn1js.Sequence)) continue;
    try {
      crls.push(new pkijs.CertificateRevocationList({ schema: el }));
    } catch (e) {
      throw new PkiDecodeError('pki.cms.malformed', `malformed certs-only message: CRL ${crls.length + 1}: ${(e as Error).message}`, { cause: e });
    }
  }
  return { certificates, certificatesDer, crls };
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
