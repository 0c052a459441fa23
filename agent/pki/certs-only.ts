// "certs-only" CMS messages (RFC 5751 §3.6 / RFC 8551 §3.6): a degenerate SignedData (RFC 5652 §5) with no
// signers and no content, used to carry certificates (EST /cacerts and enrollment responses, RFC 7030 §4.1.3/§4.2.3).
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { certificateFromDer, certificateToDer, sharedCertificateIfParsed } from './cert.js';
import { bytesEqual, decodeAsn1 } from './der.js';
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
  if (opts.reuseShared) {
    const fast = certsOnlyReusing(der);
    if (fast && (fast.certificates.length > 0 || opts.allowEmpty)) return fast;
  }
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

/** One DER TLV in `b` at `off` (content must end by `end`): tag byte, content span. Only minimal definite lengths. */
function tlv(b: Uint8Array, off: number, end: number): { tag: number; start: number; end: number } | undefined {
  if (off + 2 > end) return undefined;
  const tag = b[off]!;
  if ((tag & 0x1f) === 0x1f) return undefined; // a high tag number: none in these structures
  let len = b[off + 1]!;
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || p + n > end || b[p] === 0) return undefined; // indefinite (BER), oversized, not minimal
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p++]!;
    if (len < 0x80) return undefined; // not minimal
  }
  return p + len > end ? undefined : { tag, start: p, end: p + len };
}

/** The TLVs filling exactly [start, end), or undefined. */
function children(b: Uint8Array, start: number, end: number): Array<{ tag: number; off: number; start: number; end: number }> | undefined {
  const out: Array<{ tag: number; off: number; start: number; end: number }> = [];
  for (let off = start; off < end; ) {
    const t = tlv(b, off, end);
    if (!t) return undefined;
    out.push({ ...t, off });
    off = t.end;
  }
  return out;
}

const SIGNED_DATA_OID = new Uint8Array([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]); // 1.2.840.113549.1.7.2

/**
 * parseCertsOnly with `reuseShared`, decoding with asn1js only what the shared cache does not hold: the message is
 * split at its DER boundaries (RFC 5652 §5.1: ContentInfo → SignedData → certificates), every part but a certificate
 * already parsed in the process (the same bytes asn1js and pkijs accepted before) is decoded with asn1js, and each
 * other certificate is parsed by pkijs as in the full decode. The result is what the full decode gives; anything
 * outside the plain DER shape of a certs-only message (BER lengths, encapsulated content, CRLs, a decode failure)
 * returns undefined, and the full decode then gives its result or its typed error.
 */
function certsOnlyReusing(der: Uint8Array): CertsOnly | undefined {
  const b = der;
  const ci = tlv(b, 0, b.length);
  if (!ci || ci.tag !== 0x30 || ci.end !== b.length) return undefined;
  const ciParts = children(b, ci.start, ci.end);
  if (!ciParts || ciParts.length !== 2 || ciParts[0]!.tag !== 0x06 || ciParts[1]!.tag !== 0xa0) return undefined;
  if (!bytesEqual(b.subarray(ciParts[0]!.start, ciParts[0]!.end), SIGNED_DATA_OID)) return undefined;
  const sd = children(b, ciParts[1]!.start, ciParts[1]!.end);
  if (!sd || sd.length !== 1 || sd[0]!.tag !== 0x30) return undefined;
  const f = children(b, sd[0]!.start, sd[0]!.end);
  // version, digestAlgorithms, encapContentInfo, [0] certificates, signerInfos (no [1] crls: the full decode reads them)
  if (!f || f.length < 4 || f.length > 5) return undefined;
  const [version, digests, encap] = f as [(typeof f)[0], (typeof f)[0], (typeof f)[0]];
  const certs = f.length === 5 ? f[3]! : undefined;
  const signers = f[f.length - 1]!;
  if (version.tag !== 0x02 || digests.tag !== 0x31 || encap.tag !== 0x30 || signers.tag !== 0x31) return undefined;
  if (certs && certs.tag !== 0xa0) return undefined;
  const e = children(b, encap.start, encap.end);
  if (!e || e.length !== 1 || e[0]!.tag !== 0x06) return undefined; // eContent present: the full decode decides
  const d = children(b, digests.start, digests.end);
  const si = children(b, signers.start, signers.end);
  if (!d || !si || !d.every((x) => x.tag === 0x30) || !si.every((x) => x.tag === 0x30)) return undefined;
  for (const x of d) {
    const alg = children(b, x.start, x.end);
    if (!alg || alg.length < 1 || alg.length > 2 || alg[0]!.tag !== 0x06) return undefined;
  }
  const elements = certs ? children(b, certs.start, certs.end) : [];
  if (!elements) return undefined;
  const certificates: pkijs.Certificate[] = [];
  const certificatesDer: Uint8Array[] = [];
  try {
    // what the full decode would read with asn1js, but for the certificates already parsed
    for (const x of [version, digests, encap, signers]) decodeAsn1(b.subarray(x.off, x.end), 'certs-only part');
    for (const x of elements) {
      const raw = b.subarray(x.off, x.end);
      if (x.tag !== 0x30) {
        decodeAsn1(raw, 'certs-only certificate choice'); // another CertificateChoices alternative: ignored
        continue;
      }
      const known = sharedCertificateIfParsed(raw);
      certificates.push(known ?? new pkijs.Certificate({ schema: decodeAsn1(raw, 'certs-only certificate') }));
      certificatesDer.push(new Uint8Array(raw));
    }
  } catch {
    return undefined;
  }
  return { certificates, certificatesDer, crls: [] };
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
