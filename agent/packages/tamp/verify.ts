// Verification of a signed TAMP message (RFC 5934 §2, §6) with agent/pki/cms/open-signed.ts: one SignerInfo, signed
// attributes, an encapsulated TAMP content, the signature, and the signer's certification path (RFC 5280) to the
// apex TA or to a TA authorized for TAMP (TaUse 'tamp'); each refusal reason maps to its §5 StatusCode.
// A signer that chains only to some other installed TA is notAuthorized; to none, noTrustAnchor. The TA the path
// ends at names the sequence-number slot (§6: per TAMP signer TA, by key identifier).
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { CmsOpenError, RFC5934_STATUS_NAMES, openSigned, type CmsOpenReason } from '../../pki/cms/open-signed.js';
import type { TampStatusCodeName } from '../../pki/asn1/tamp-oids.js';
import { certificateKeyId } from '../../pki/cert.js';
import { TampFailure } from './failure.js';

export { TampFailure };

/** Key identifier of a TA certificate: its subjectKeyIdentifier, else RFC 5280 §4.2.1.2 method 1. */
export const taKeyId = certificateKeyId;

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

/** RFC 5934 §5 StatusCode for each reason a SignedData is refused. */
const STATUS: Record<CmsOpenReason, TampStatusCodeName> = RFC5934_STATUS_NAMES;

export async function verifyTampMessage(der: Uint8Array, anchors: TampSignerAnchors, at: Date): Promise<VerifiedTampMessage> {
  try {
    const v = await openSigned<'apex' | 'tamp'>(der, {
      trust: { authorized: [{ use: 'apex', anchors: anchors.apex ? [anchors.apex] : [] }, { use: 'tamp', anchors: anchors.tamp }], installed: anchors.all, at },
    });
    return { contentType: v.eContentType, content: v.eContent, signer: v.signer, anchor: v.use, anchorCert: v.anchor, anchorKeyId: Buffer.from(taKeyId(v.anchor)).toString('hex') };
  } catch (e) {
    if (e instanceof CmsOpenError) throw new TampFailure(STATUS[e.reason], e.message, undefined, { cause: e });
    throw e;
  }
}
