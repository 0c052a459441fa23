// One TAMP message processed (RFC 5934 §2, §4, §6) and the signed response or TAMPError queued: the part of the
// manager that decodes, verifies and builds DER. The manager loads this module at the first TAMP package run, so
// composition, the status part and returning queued responses do not load the ASN.1 stack.
import type { TrustAnchorStore } from '../../store/ta-store.js';
import { createSignedData, signerWithChainOptions } from '../../pki/asn1/cms-signed-data-create.js';
import { Asn1DecodeError } from '../../pki/asn1/errors.js';
import { TAMPApexUpdate } from '../../pki/asn1/tamp-apex-update.js';
import { TAMPCommunityUpdate } from '../../pki/asn1/tamp-community-update.js';
import { TAMPError } from '../../pki/asn1/tamp-error.js';
import type { TAMPMsgRef } from '../../pki/asn1/tamp-msg-ref.js';
import { OID_CT_TAMP_APEX_UPDATE, OID_CT_TAMP_COMMUNITY_UPDATE, OID_CT_TAMP_SEQ_NUM_ADJUST, OID_CT_TAMP_STATUS_QUERY, OID_CT_TAMP_UPDATE } from '../../pki/asn1/tamp-oids.js';
import { SequenceNumberAdjust } from '../../pki/asn1/tamp-sequence-number-adjust.js';
import { TAMPStatusQuery } from '../../pki/asn1/tamp-status-query.js';
import { targetMatches } from '../../pki/asn1/tamp-target-identifier.js';
import { TAMPUpdate } from '../../pki/asn1/tamp-update.js';
import { TrustAnchorChoice } from '../../pki/asn1/trust-anchor-choice.js';
import { decodeEstBody } from '../../protocols/est/base64-body.js';
import { EnrolldError } from '../../util/errors.js';
import { apexUpdate } from './apex-update.js';
import { communityUpdate } from './community-update.js';
import { contingencyRequest, verifyContingencySigned } from './contingency.js';
import { TampFailure } from './failure.js';
import { DEFAULT_ADDED_USES, type TampConfig, type TampOutcome } from './manager.js';
import { sequenceAdjust } from './sequence-adjust.js';
import type { TampStateDoc, TampStateFile } from './state.js';
import { statusQuery } from './status-query.js';
import { trustAnchorUpdate } from './trust-anchor-update.js';
import { peekContentType, verifyTampMessage } from './verify.js';
import { type TampActionContext, type TampPlan, type TampView, keyIdOfChoice } from './view.js';

/** What processing needs of the manager. */
export interface TampSession {
  readonly cfg: TampConfig;
  readonly state: TampStateFile;
  now(): Date;
}

/** The apex TA of the TAMP state (base64 DER TrustAnchorChoice). */
export const decodeApex = (b64: string): TrustAnchorChoice => TrustAnchorChoice.fromDer(Buffer.from(b64, 'base64'));

function view(d: TampStateDoc, ta: TrustAnchorStore): TampView {
  return { ...(d.apex ? { apex: decodeApex(d.apex) } : {}), anchors: ta.list(), communities: [...d.communities], seq: { ...d.seq } };
}

async function sign(s: TampSession, contentType: string, content: Uint8Array): Promise<Uint8Array> {
  const rs = s.cfg.returnSigner;
  const r = typeof rs === 'function' ? await rs() : rs;
  if (!r) throw new EnrolldError('tamp.no_credential', 'no device credential to sign the TAMP response with (not enrolled yet)');
  return createSignedData({
    eContentType: contentType,
    eContent: content,
    ...signerWithChainOptions(r),
    signingTime: s.now(),
  });
}

async function queue(s: TampSession, contentType: string, der: Uint8Array, answers: string): Promise<void> {
  await s.state.update((d) => {
    d.outbox.push({ contentType, der: Buffer.from(der).toString('base64'), answers });
  });
}

/** A signed TAMPError for `request`, queued. */
export async function refuseTampMessage(s: TampSession, request: string, f: TampFailure): Promise<TampOutcome> {
  const err = new TAMPError({ msgType: request, status: f.status, ...(f.msgRef ? { msgRef: f.msgRef } : {}) });
  const der = await sign(s, TAMPError.CONTENT_TYPE, err.toDer());
  await queue(s, TAMPError.CONTENT_TYPE, der, request);
  return { ok: false, request, status: f.status, message: f.message, response: der };
}

/**
 * Processes one TAMP message body (binary or base64 DER). `expected` is the request type the PAL entry announced
 * (the msgType of a TAMPError when the message itself cannot tell). Never throws for bad input.
 */
export async function processTampMessage(s: TampSession, body: Uint8Array, ta: TrustAnchorStore, expected: string = OID_CT_TAMP_STATUS_QUERY): Promise<TampOutcome> {
  let request = expected;
  try {
    let der: Uint8Array;
    try {
      der = decodeEstBody(body, 'TAMP message');
    } catch (e) {
      throw new TampFailure('decodeFailure', (e as Error).message, undefined, { cause: e });
    }
    request = peekContentType(der) ?? expected;
    const d0 = await s.state.load();
    const apexDer = d0.apex ? decodeApex(d0.apex).certificateDer() : undefined;
    const cont = contingencyRequest(der);
    let v: { contentType: string; content: Uint8Array; anchor: 'apex' | 'tamp'; anchorKeyId: string };
    if (cont) {
      // §4.5: an apex update signed with the apex's contingency key (contingency.ts); same sequence slot as the apex
      const apexChoice = d0.apex ? decodeApex(d0.apex) : undefined;
      const r = verifyContingencySigned(cont, apexChoice);
      v = { ...r, anchor: 'apex', anchorKeyId: Buffer.from(keyIdOfChoice(apexChoice!)!).toString('hex') };
    } else v = await verifyTampMessage(der, { ...(apexDer ? { apex: apexDer } : {}), tamp: ta.certificatesFor('tamp'), all: ta.list().map((a) => a.der) }, s.now());
    request = v.contentType;
    let msgRef: TAMPMsgRef;
    let plan: (c: TampActionContext) => TampPlan;
    try {
      switch (v.contentType) {
        case OID_CT_TAMP_STATUS_QUERY: {
          const m = TAMPStatusQuery.fromDer(v.content);
          msgRef = m.query;
          plan = (c) => statusQuery(c, m);
          break;
        }
        case OID_CT_TAMP_UPDATE: {
          const m = TAMPUpdate.fromDer(v.content);
          msgRef = m.msgRef;
          plan = (c) => trustAnchorUpdate(c, m);
          break;
        }
        case OID_CT_TAMP_APEX_UPDATE: {
          const m = TAMPApexUpdate.fromDer(v.content);
          msgRef = m.msgRef;
          if (v.anchor !== 'apex') throw new TampFailure('notAuthorized', 'an apex update must be signed under the apex trust anchor', msgRef);
          plan = (c) => apexUpdate(c, m);
          break;
        }
        case OID_CT_TAMP_COMMUNITY_UPDATE: {
          const m = TAMPCommunityUpdate.fromDer(v.content);
          msgRef = m.msgRef;
          plan = (c) => communityUpdate(c, m);
          break;
        }
        case OID_CT_TAMP_SEQ_NUM_ADJUST: {
          const m = SequenceNumberAdjust.fromDer(v.content);
          msgRef = m.msgRef;
          plan = (c) => sequenceAdjust(c);
          break;
        }
        default:
          throw new TampFailure('unsupportedTAMPMsgType', `content type ${v.contentType} is not a TAMP request this module processes`);
      }
    } catch (e) {
      if (!(e instanceof Asn1DecodeError)) throw e;
      // §4: a TAMPVersion other than v2 is versionNumberMismatch; anything else malformed is decodeFailure
      throw new TampFailure(e.path.endsWith('.version') && e.reason === 'constraint' ? 'versionNumberMismatch' : 'decodeFailure', e.message, undefined, { cause: e });
    }
    const before = view(d0, ta);
    const match = targetMatches(msgRef.target, { ...s.cfg.module, communities: before.communities });
    if (match === 'unsupported') throw new TampFailure('unsupportedTargetIdentifier', `target ${msgRef.target.kind} is not supported`, msgRef);
    if (!match) throw new TampFailure('incorrectTarget', `this module is not the target (${msgRef.target.kind})`, msgRef);
    const last = before.seq[v.anchorKeyId];
    if (last !== undefined && msgRef.seqNum <= BigInt(last)) throw new TampFailure('seqNumFailure', `sequence number ${msgRef.seqNum} is not greater than ${last} (last accepted from this trust anchor)`, msgRef);
    const p = plan({ view: before, msgRef, addedUses: s.cfg.addedUses ?? DEFAULT_ADDED_USES });
    // §6: the sequence number is recorded (with the TAMP state changes) before the action takes effect
    const after = await s.state.update((d) => {
      if (d.seq[v.anchorKeyId] !== last) throw new TampFailure('resourcesBusy', 'TAMP state changed concurrently', msgRef);
      d.seq[v.anchorKeyId] = msgRef.seqNum.toString();
      p.mutate?.(d);
      return d;
    });
    if (p.anchors) {
      try {
        await ta.replace(p.anchors);
      } catch (e) {
        throw new TampFailure('resourcesBusy', `trust anchor store update failed: ${(e as Error).message}`, msgRef, { cause: e });
      }
    }
    const r = p.respond(view(after, ta));
    const der2 = await sign(s, r.contentType, r.der);
    await queue(s, r.contentType, der2, request);
    return { ok: true, request, responseType: r.contentType, response: der2 };
  } catch (e) {
    const f = e instanceof TampFailure ? e : new TampFailure('other', `TAMP processing failed: ${(e as Error).message}`, undefined, { cause: e });
    return refuseTampMessage(s, request, f);
  }
}
