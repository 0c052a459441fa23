// Verification of a signed TAMP message (RFC 5934 §2, §6): ContentInfo → SignedData with exactly one SignerInfo,
// signed attributes present, an encapsulated TAMP content; the signature (pkijs, over the DER signed attributes);
// and the signer's certification path (RFC 5280) to the apex TA or to a TA authorized for TAMP (TaUse 'tamp').
// A signer that chains only to some other installed TA is notAuthorized; to none, noTrustAnchor. The TA the path
// ends at names the sequence-number slot (§6: per TAMP signer TA, by key identifier).
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { keyIdentifierFromSpki } from '../../pki/asn1/cms-signed-data-create.js';
import { OID_CMS_SIGNED_DATA } from '../../pki/asn1/firmware-oids.js';
import type { TAMPMsgRef } from '../../pki/asn1/tamp-msg-ref.js';
import type { TampStatusCodeName } from '../../pki/asn1/tamp-oids.js';
import { certificateFromDer, certificateSpki, certificateFingerprint } from '../../pki/cert.js';
import { validateChain } from '../../pki/chain.js';
import { ChainValidationError } from '../../pki/errors.js';
import { EnrolldError } from '../../util/errors.js';

/** A refused TAMP message: `status` is the RFC 5934 StatusCode returned in the TAMPError. */
export class TampFailure extends EnrolldError {
  constructor(
    readonly status: TampStatusCodeName,
    message: string,
    readonly msgRef?: TAMPMsgRef,
    options?: { cause?: unknown },
  ) {
    super(`tamp.${status}`, message, options);
  }
}

const OID_SKI = '2.5.29.14';

/** Key identifier of a TA certificate: its subjectKeyIdentifier, else RFC 5280 §4.2.1.2 method 1. */
export function taKeyId(cert: pkijs.Certificate): Uint8Array {
  const ext = cert.extensions?.find((e) => e.extnID === OID_SKI);
  if (ext) {
    const p = asn1js.fromBER(ext.extnValue.valueBlock.valueHexView);
    if (p.result instanceof asn1js.OctetString) return new Uint8Array(p.result.valueBlock.valueHexView);
  }
  return keyIdentifierFromSpki(certificateSpki(cert));
}

export interface TampSignerAnchors {
  /** The apex TA certificate, when an apex is installed. */
  apex?: Uint8Array;
  /** TAs authorized for TAMP (TaUse 'tamp'). */
  tamp: Uint8Array[];
  /** Every installed TA (to tell notAuthorized from noTrustAnchor). */
  all: Uint8Array[];
}

export interface VerifiedTampMessage {
  contentType: string;
  content: Uint8Array;
  signer: pkijs.Certificate;
  /** Which kind of TA the signer chains to. */
  anchor: 'apex' | 'tamp';
  anchorCert: pkijs.Certificate;
  /** Hex key identifier of that TA (the sequence-number slot). */
  anchorKeyId: string;
}

/** Reads eContentType without verifying anything (for the msgType of a TAMPError), tolerating anything. */
export function peekContentType(der: Uint8Array): string | undefined {
  try {
    const ci = new pkijs.ContentInfo({ schema: asn1js.fromBER(der).result });
    return new pkijs.SignedData({ schema: ci.content }).encapContentInfo.eContentType;
  } catch {
    return undefined;
  }
}

export async function verifyTampMessage(der: Uint8Array, anchors: TampSignerAnchors, at: Date): Promise<VerifiedTampMessage> {
  let ci: pkijs.ContentInfo;
  try {
    const parsed = asn1js.fromBER(der);
    if (parsed.offset !== der.byteLength || parsed.result.error) throw new Error(parsed.result.error || 'trailing bytes');
    ci = new pkijs.ContentInfo({ schema: parsed.result });
  } catch (e) {
    throw new TampFailure('decodeFailure', `not a CMS ContentInfo: ${(e as Error).message}`, undefined, { cause: e });
  }
  if (ci.contentType !== OID_CMS_SIGNED_DATA) throw new TampFailure('badContentInfo', `content type ${ci.contentType} is not signedData (TAMP messages must be signed)`);
  let sd: pkijs.SignedData;
  try {
    sd = new pkijs.SignedData({ schema: ci.content });
  } catch (e) {
    throw new TampFailure('badSignedData', `SignedData does not parse: ${(e as Error).message}`, undefined, { cause: e });
  }
  if (sd.signerInfos.length === 0) throw new TampFailure('missingSignature', 'no SignerInfo');
  if (sd.signerInfos.length > 1) throw new TampFailure('badSignedData', `${sd.signerInfos.length} SignerInfos, exactly one is required`);
  const e = sd.encapContentInfo;
  if (!e.eContent) throw new TampFailure('missingContent', 'no encapsulated content');
  const si = sd.signerInfos[0]!;
  if (!si.signedAttrs) throw new TampFailure('badSignedAttrs', 'signed attributes are required');
  let result: { signatureVerified?: boolean | null; signerCertificate?: pkijs.Certificate | null };
  try {
    result = (await sd.verify({ signer: 0, checkChain: false, extendedMode: true })) as typeof result;
  } catch (err) {
    const r = err as { signerCertificate?: pkijs.Certificate; message?: string };
    if (!r.signerCertificate) throw new TampFailure('noTrustAnchor', `signer certificate not included (${r.message ?? String(err)})`);
    throw new TampFailure('signatureFailure', `signature does not verify (${r.message ?? String(err)})`);
  }
  if (!result.signatureVerified || !result.signerCertificate) throw new TampFailure('signatureFailure', 'signature does not verify');
  const signer = result.signerCertificate;
  const others = (sd.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate && c !== signer);
  const tryPath = async (tas: Uint8Array[]): Promise<pkijs.Certificate | undefined> => {
    if (tas.length === 0) return undefined;
    try {
      const { path } = await validateChain({ leaf: signer, intermediates: others, trustAnchors: tas, at });
      const end = path[path.length - 1]!;
      // the path ends at one of `tas` (validateChain builds to the anchors only); find it by fingerprint
      const fp = certificateFingerprint(end);
      return tas.map(certificateFromDer).find((t) => certificateFingerprint(t) === fp) ?? end;
    } catch (err) {
      if (err instanceof ChainValidationError) return undefined;
      throw err;
    }
  };
  const content = new Uint8Array(e.eContent.getValue());
  const apex = anchors.apex ? await tryPath([anchors.apex]) : undefined;
  if (apex) return { contentType: e.eContentType, content, signer, anchor: 'apex', anchorCert: apex, anchorKeyId: Buffer.from(taKeyId(apex)).toString('hex') };
  const mgmt = await tryPath(anchors.tamp);
  if (mgmt) return { contentType: e.eContentType, content, signer, anchor: 'tamp', anchorCert: mgmt, anchorKeyId: Buffer.from(taKeyId(mgmt)).toString('hex') };
  if (await tryPath(anchors.all)) throw new TampFailure('notAuthorized', 'the signer chains to a trust anchor that is not authorized for TAMP');
  throw new TampFailure('noTrustAnchor', 'the signer does not chain to the apex or a TAMP trust anchor');
}
