// Reading a Full PKI Response (RFC 5272 §4.2, §3.2.2 of RFC 7030 §4.3.2) for one request we sent:
// SignedData{PKIResponse} verified and its signer validated to the configured CA trust anchor; transactionId equal
// to ours and recipientNonce echoing our senderNonce (RFC 5272 §6.6); the statusInfoV2 that names our body part
// decides: success → the certificate certifying our key (from the SignedData certificates), pending → pendInfo,
// anything else → CmcFailedError with the CMCFailInfo. Pure: nothing is stored here.
import type * as pkijs from 'pkijs';
import { bytesEqual } from '../../pki/der.js';
import { certificateFromDer, certificateHasKey } from '../../pki/cert.js';
import { Asn1DecodeError } from '../../pki/asn1/errors.js';
import type { CMCStatusInfoV2, PendInfo } from './cmc-status-info-v2.js';
import { OID_CCT_PKI_RESPONSE } from './constants.js';
import { readRecipientNonce, readStatusInfoV2, readTransactionId } from './controls.js';
import { CmcFailedError, CmcProtocolError } from './errors.js';
import { openTrustedCmc, type OpenedCmc } from './signed-message.js';
import { PKIResponse } from './pki-response.js';

type CertInput = pkijs.Certificate | Uint8Array;

export interface ResponseExpectation {
  transactionId: bigint;
  senderNonce: Uint8Array;
  /** Body part ID of our TaggedRequest (the statusInfoV2 must reference it). */
  bodyPartID: number;
  /** DER SubjectPublicKeyInfo of the requested key. */
  spki: Uint8Array;
  /** The CA (or RA) trust anchors the response signer must validate to. */
  trustAnchors: CertInput[];
  at: Date;
}

export type CmcResult =
  | { kind: 'issued'; cert: Uint8Array; chain: Uint8Array[]; status: CMCStatusInfoV2 }
  | { kind: 'pending'; pendInfo: PendInfo; status: CMCStatusInfoV2 };

/**
 * The authenticated PKIResponse of a request we sent: signer validated, transactionId ours, recipientNonce echoing
 * our senderNonce (RFC 5272 §6.6). Also used for the freshness nonce exchange, which has no certification request.
 */
export async function openCmcResponse(der: Uint8Array, exp: Pick<ResponseExpectation, 'transactionId' | 'senderNonce' | 'trustAnchors' | 'at'>): Promise<{ res: PKIResponse; statuses: CMCStatusInfoV2[]; opened: OpenedCmc }> {
  const opened = await openTrustedCmc(der, OID_CCT_PKI_RESPONSE, exp.trustAnchors, exp.at);
  let res: PKIResponse;
  let statuses: CMCStatusInfoV2[];
  let tid: bigint | undefined;
  let rn: Uint8Array | undefined;
  try {
    res = PKIResponse.fromDer(opened.eContent);
    tid = readTransactionId(res.controlSequence);
    rn = readRecipientNonce(res.controlSequence);
    statuses = readStatusInfoV2(res.controlSequence);
  } catch (e) {
    if (e instanceof Asn1DecodeError) throw new CmcProtocolError('malformed', `malformed PKIResponse: ${e.message}`, { cause: e });
    throw e;
  }
  if (tid !== exp.transactionId) throw new CmcProtocolError('transaction-id', `transactionId ${tid ?? 'missing'} is not ours (${exp.transactionId})`);
  if (!rn || !bytesEqual(rn, exp.senderNonce)) throw new CmcProtocolError('recipient-nonce', `recipientNonce ${rn ? 'does not echo' : 'missing; expected'} our senderNonce`);
  return { res, statuses, opened };
}

export async function readCmcResponse(der: Uint8Array, exp: ResponseExpectation): Promise<CmcResult> {
  const { res, statuses, opened } = await openCmcResponse(der, exp);
  const mine = statuses.filter((s) => s.bodyList.some((r) => (typeof r === 'number' ? r === exp.bodyPartID : r[r.length - 1] === exp.bodyPartID)));
  // A lone statusInfoV2 referencing body part 0 (RFC 5272 §3.2.2: "the current PKIData object") counts as ours too.
  const status = mine[0] ?? statuses.find((s) => s.bodyList.some((r) => r === 0));
  if (!status) throw new CmcProtocolError('no-status', `no statusInfoV2 for body part ${exp.bodyPartID}`);
  const info = status.otherInfo;
  switch (status.cMCStatus) {
    case 'success': {
      const idx = opened.certificatesDer.findIndex((c) => certificateHasKey(certificateFromDer(c), exp.spki));
      if (idx < 0) throw new CmcProtocolError('key-mismatch', 'success, but no returned certificate certifies the requested key');
      const cert = opened.certificatesDer[idx]!;
      const chain: Uint8Array[] = [];
      for (const c of opened.certificatesDer) if (!bytesEqual(c, cert) && !chain.some((x) => bytesEqual(x, c))) chain.push(c);
      return { kind: 'issued', cert, chain, status };
    }
    case 'pending':
      if (!info || !('pendInfo' in info)) throw new CmcProtocolError('pending-info', 'pending status without pendInfo (pendToken, pendTime)');
      return { kind: 'pending', pendInfo: info.pendInfo, status };
    default:
      throw new CmcFailedError(status.cMCStatus, info && 'failInfo' in info ? info.failInfo : undefined, status.statusString, res.controlSequence);
  }
}

/** The message's certificates other than the signer's own. */
export function withoutSigner(o: { signerCertificate: pkijs.Certificate; certificatesDer: Uint8Array[] }): Uint8Array[] {
  const signer = new Uint8Array(o.signerCertificate.toSchema().toBER(false));
  return o.certificatesDer.filter((c) => !bytesEqual(c, signer));
}
