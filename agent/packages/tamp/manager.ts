// TAMP (RFC 5934) over the EST extensions (RFC 8295 §7): PAL types 0028/0030/0032/0034/0036 GET a signed TAMP
// message from /tamp (size-capped), the manager verifies it (verify.ts: SignedData, one signer, path to the apex TA
// or a TA authorized for 'tamp'; contingency.ts: an apex update signed with the apex's contingency key), decodes it, checks the target (§4.1 TargetIdentifier against this module) and the
// sequence number (§6: strictly greater than the last accepted from the signer's TA; replays and lower numbers are
// seqNumFailure), plans the action on a copy (one file per message kind), persists the sequence number together with
// the TAMP state changes (one atomic write) BEFORE acting, then applies the TA set with one atomic TrustAnchorStore
// write, and answers with a response signed by the device key (Signer, e.g. the TPM key): a confirm / status
// response, or a TAMPError for every refused message (nothing changed, sequence number unchanged). Responses go to
// an outbox in the TAMP state and are POSTed to /tamp/return with their media type (204 expected) right away; the
// odd PAL types 0029…0037 POST whatever is still queued.
import { EnrolldError } from '../../util/errors.js';
import { readFile } from 'node:fs/promises';
import type { HandlerContext, HandlerResult, PackageHandler } from '../../pal/dispatch.js';
import type { PalEntry } from '../../pal/model.js';
import { type SignerWithChain, createSignedData, signerWithChainOptions } from '../../pki/asn1/cms-signed-data-create.js';
import { Asn1DecodeError } from '../../pki/asn1/errors.js';
import { TAMPApexUpdate } from '../../pki/asn1/tamp-apex-update.js';
import { TAMPCommunityUpdate } from '../../pki/asn1/tamp-community-update.js';
import { TAMPError } from '../../pki/asn1/tamp-error.js';
import type { TAMPMsgRef } from '../../pki/asn1/tamp-msg-ref.js';
import { OID_CT_TAMP_APEX_UPDATE, OID_CT_TAMP_COMMUNITY_UPDATE, OID_CT_TAMP_SEQ_NUM_ADJUST, OID_CT_TAMP_STATUS_QUERY, OID_CT_TAMP_UPDATE, TAMP_MEDIA_TYPES, TAMP_PAL_TYPES, type TampStatusCodeName } from '../../pki/asn1/tamp-oids.js';
import { SequenceNumberAdjust } from '../../pki/asn1/tamp-sequence-number-adjust.js';
import { TAMPStatusQuery } from '../../pki/asn1/tamp-status-query.js';
import { type TampModuleIdentity, targetMatches } from '../../pki/asn1/tamp-target-identifier.js';
import { TAMPUpdate } from '../../pki/asn1/tamp-update.js';
import { TrustAnchorChoice } from '../../pki/asn1/trust-anchor-choice.js';
import { certificateFromDer, certificateToDer } from '../../pki/cert.js';
import { pemDecodeAll } from '../../pki/pem.js';
import { decodeEstBody } from '../../protocols/est/base64-body.js';
import { resolvePackageUri } from '../../protocols/est/package-uri.js';
import { ResponseTooLargeError } from '../../protocols/http/errors.js';
import type { Transport } from '../../protocols/http/transport.js';
import type { TaUse, TrustAnchorStore } from '../../store/ta-store.js';
import { failed } from '../common.js';
import type { PackageContext } from '../context.js';
import { apexUpdate } from './apex-update.js';
import { communityUpdate } from './community-update.js';
import { contingencyRequest, verifyContingencySigned } from './contingency.js';
import { sequenceAdjust } from './sequence-adjust.js';
import { type TampStateDoc, TampStateFile } from './state.js';
import { statusQuery } from './status-query.js';
import { trustAnchorUpdate } from './trust-anchor-update.js';
import { TampFailure, peekContentType, verifyTampMessage } from './verify.js';
import { type TampActionContext, type TampPlan, type TampView, keyIdOfChoice } from './view.js';

/** What the composition root fills in (see the report for the options). */
export interface TampConfig {
  /** Private directory of `tamp.json` (apex, communities, sequence numbers, outbox). */
  stateDir: string;
  /** PEM (one CERTIFICATE) or DER file of the apex TA; installed when the TAMP state has no apex yet. */
  apexTaFile?: string;
  /** This module, for TargetIdentifier matching (hwType OID, serial number, optional URI). */
  module: Omit<TampModuleIdentity, 'communities'>;
  /** Communities the module starts in (used while the TAMP state has none recorded). */
  initialCommunities?: readonly string[];
  /**
   * Signs responses: the device key (TPM Signer) and its certificate (+ chain) included in the SignedData. A
   * function is asked at signing time, so responses are signed with whichever device credential is current.
   */
  returnSigner: SignerWithChain | (() => Promise<SignerWithChain | undefined>);
  /** Uses of TAs added by a TAMPUpdate (default cacerts, firmware, crl). */
  addedUses?: readonly TaUse[];
  /** Largest TAMP message accepted from /tamp (default 64 KiB). */
  maxMessageBytes?: number;
  now?: () => Date;
}

export const DEFAULT_TAMP_MAX_BYTES = 64 * 1024;
export const DEFAULT_ADDED_USES: readonly TaUse[] = ['cacerts', 'crl', 'firmware'];
export const TAMP_TYPES = Object.keys(TAMP_PAL_TYPES);

export type TampOutcome =
  | { ok: true; request: string; responseType: string; response: Uint8Array }
  | { ok: false; request: string; status: TampStatusCodeName; message: string; response: Uint8Array };

export class TampManager {
  readonly state: TampStateFile;
  constructor(readonly cfg: TampConfig) {
    this.state = new TampStateFile(cfg.stateDir);
  }

  private now(): Date {
    return (this.cfg.now ?? (() => new Date()))();
  }

  /** Installs the configured apex TA when the state has none (first start). */
  async init(): Promise<void> {
    const d = await this.state.load();
    if (d.apex !== undefined || !this.cfg.apexTaFile) return;
    const raw = await readFile(this.cfg.apexTaFile);
    const text = raw.toString('latin1');
    let choice: Uint8Array;
    if (text.includes('-----BEGIN')) {
      const der = pemDecodeAll(text, 'CERTIFICATE').map((b) => b.der);
      if (der.length !== 1) throw new TampFailure('other', `${this.cfg.apexTaFile}: expected exactly one certificate, found ${der.length}`);
      choice = certificateToDer(certificateFromDer(der[0]!));
    } else {
      // DER: a Certificate or a TrustAnchorChoice (e.g. [2] TrustAnchorInfo carrying a contingency key); must hold a certificate
      const c = TrustAnchorChoice.fromDer(new Uint8Array(raw));
      if (!c.certificateDer()) throw new TampFailure('unsupportedTrustAnchorFormat', `${this.cfg.apexTaFile}: the apex TA must carry a certificate`);
      choice = c.toDer();
    }
    await this.state.update((s) => {
      if (s.apex === undefined) s.apex = Buffer.from(choice).toString('base64');
      if (s.communities.length === 0 && this.cfg.initialCommunities) s.communities = [...this.cfg.initialCommunities];
    });
  }

  /** The installed apex TA, if any. */
  async apex(): Promise<TrustAnchorChoice | undefined> {
    const d = await this.state.load();
    return d.apex ? TrustAnchorChoice.fromDer(Buffer.from(d.apex, 'base64')) : undefined;
  }

  private view(d: TampStateDoc, ta: TrustAnchorStore): TampView {
    return { ...(d.apex ? { apex: TrustAnchorChoice.fromDer(Buffer.from(d.apex, 'base64')) } : {}), anchors: ta.list(), communities: [...d.communities], seq: { ...d.seq } };
  }

  private async sign(contentType: string, content: Uint8Array): Promise<Uint8Array> {
    const rs = this.cfg.returnSigner;
    const r = typeof rs === 'function' ? await rs() : rs;
    if (!r) throw new EnrolldError('tamp.no_credential', 'no device credential to sign the TAMP response with (not enrolled yet)');
    return createSignedData({
      eContentType: contentType,
      eContent: content,
      ...signerWithChainOptions(r),
      signingTime: this.now(),
    });
  }

  private async queue(contentType: string, der: Uint8Array, answers: string): Promise<void> {
    await this.state.update((d) => {
      d.outbox.push({ contentType, der: Buffer.from(der).toString('base64'), answers });
    });
  }

  /** A signed TAMPError for `request`, queued. */
  private async refuse(request: string, f: TampFailure): Promise<TampOutcome> {
    const err = new TAMPError({ msgType: request, status: f.status, ...(f.msgRef ? { msgRef: f.msgRef } : {}) });
    const der = await this.sign(TAMPError.CONTENT_TYPE, err.toDer());
    await this.queue(TAMPError.CONTENT_TYPE, der, request);
    return { ok: false, request, status: f.status, message: f.message, response: der };
  }

  /**
   * Processes one TAMP message body (binary or base64 DER). `expected` is the request type the PAL entry announced
   * (the msgType of a TAMPError when the message itself cannot tell). Never throws for bad input.
   */
  async process(body: Uint8Array, ta: TrustAnchorStore, expected: string = OID_CT_TAMP_STATUS_QUERY): Promise<TampOutcome> {
    await this.init();
    let request = expected;
    try {
      let der: Uint8Array;
      try {
        der = decodeEstBody(body, 'TAMP message');
      } catch (e) {
        throw new TampFailure('decodeFailure', (e as Error).message, undefined, { cause: e });
      }
      request = peekContentType(der) ?? expected;
      const d0 = await this.state.load();
      const apexDer = d0.apex ? TrustAnchorChoice.fromDer(Buffer.from(d0.apex, 'base64')).certificateDer() : undefined;
      const cont = contingencyRequest(der);
      let v: { contentType: string; content: Uint8Array; anchor: 'apex' | 'tamp'; anchorKeyId: string };
      if (cont) {
        // §4.5: an apex update signed with the apex's contingency key (contingency.ts); same sequence slot as the apex
        const apexChoice = d0.apex ? TrustAnchorChoice.fromDer(Buffer.from(d0.apex, 'base64')) : undefined;
        const r = verifyContingencySigned(cont, apexChoice);
        v = { ...r, anchor: 'apex', anchorKeyId: Buffer.from(keyIdOfChoice(apexChoice!)!).toString('hex') };
      } else v = await verifyTampMessage(der, { ...(apexDer ? { apex: apexDer } : {}), tamp: ta.certificatesFor('tamp'), all: ta.list().map((a) => a.der) }, this.now());
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
      const view = this.view(d0, ta);
      const match = targetMatches(msgRef.target, { ...this.cfg.module, communities: view.communities });
      if (match === 'unsupported') throw new TampFailure('unsupportedTargetIdentifier', `target ${msgRef.target.kind} is not supported`, msgRef);
      if (!match) throw new TampFailure('incorrectTarget', `this module is not the target (${msgRef.target.kind})`, msgRef);
      const last = view.seq[v.anchorKeyId];
      if (last !== undefined && msgRef.seqNum <= BigInt(last)) throw new TampFailure('seqNumFailure', `sequence number ${msgRef.seqNum} is not greater than ${last} (last accepted from this trust anchor)`, msgRef);
      const p = plan({ view, msgRef, addedUses: this.cfg.addedUses ?? DEFAULT_ADDED_USES });
      // §6: the sequence number is recorded (with the TAMP state changes) before the action takes effect
      const after = await this.state.update((d) => {
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
      const r = p.respond(this.view(after, ta));
      const der2 = await this.sign(r.contentType, r.der);
      await this.queue(r.contentType, der2, request);
      return { ok: true, request, responseType: r.contentType, response: der2 };
    } catch (e) {
      const f = e instanceof TampFailure ? e : new TampFailure('other', `TAMP processing failed: ${(e as Error).message}`, undefined, { cause: e });
      return this.refuse(request, f);
    }
  }

  /** POSTs queued responses to `url` (/tamp/return); an item leaves the outbox only on 204. */
  async flush(transport: Transport, url: URL, signal?: AbortSignal): Promise<{ sent: number; failed: string[] }> {
    const items = (await this.state.load()).outbox;
    let sent = 0;
    const failures: string[] = [];
    for (const item of items) {
      try {
        const res = await transport.request({
          method: 'POST',
          url,
          headers: { 'content-type': TAMP_MEDIA_TYPES[item.contentType] ?? 'application/cms' },
          body: new Uint8Array(Buffer.from(item.der, 'base64')),
          ...(signal ? { signal } : {}),
        });
        if (res.status !== 204) throw new Error(`HTTP ${res.status}`);
        await this.state.update((d) => {
          d.outbox = d.outbox.filter((o) => o.der !== item.der);
        });
        sent++;
      } catch (e) {
        failures.push(`${TAMP_MEDIA_TYPES[item.contentType] ?? item.contentType}: ${(e as Error).message}`);
      }
    }
    return { sent, failed: failures };
  }

  handler(): PackageHandler<PackageContext> {
    return { types: TAMP_TYPES, handle: (entry, ctx) => this.handle(entry, ctx) };
  }

  private async handle(entry: PalEntry, ctx: HandlerContext<PackageContext>): Promise<HandlerResult> {
    const s = ctx.shared;
    const kind = TAMP_PAL_TYPES[entry.type];
    if (!kind) return failed('tamp.pal_entry', `package type ${entry.type} is not a TAMP type`);
    const opts = s.policy.allowedOrigins ? { allowedOrigins: s.policy.allowedOrigins } : {};
    const url = resolvePackageUri(s.est.ctx, entry.info.kind === 'uri' ? entry.info.uri : undefined, ['tamp'], opts).url;
    const returnUrl = new URL(url);
    returnUrl.pathname = returnUrl.pathname.replace(/\/tamp(\/.*)?$/, '/tamp/return');
    if (kind.returns) {
      const r = await this.flush(s.est.ctx.transport, returnUrl, ctx.signal);
      if (r.failed.length) return failed('tamp.return', r.failed.join('; '));
      return { status: 'ok', detail: `${r.sent} TAMP response(s) returned` };
    }
    const max = this.cfg.maxMessageBytes ?? DEFAULT_TAMP_MAX_BYTES;
    let outcome: TampOutcome;
    try {
      const res = await s.est.ctx.transport.request({
        method: 'GET',
        url,
        headers: { accept: `${TAMP_MEDIA_TYPES[kind.request]}, application/cms` },
        maxResponseBytes: max,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
      if (res.status !== 200) return failed('tamp.http', `GET ${url.pathname}: HTTP ${res.status}`);
      outcome = await this.process(res.body, s.taStore, kind.request);
    } catch (e) {
      if (!(e instanceof ResponseTooLargeError)) throw e;
      // §5 insufficientMemory: the message does not fit what this module accepts
      outcome = await this.refuse(kind.request, new TampFailure('insufficientMemory', `TAMP message larger than ${max} bytes`));
    }
    const sent = await this.flush(s.est.ctx.transport, returnUrl, ctx.signal);
    const tail = sent.failed.length ? ` (return failed: ${sent.failed.join('; ')})` : '';
    if (!outcome.ok) {
      s.log.warn('tamp.refused', { status: outcome.status, message: outcome.message });
      return failed(`tamp.${outcome.status}`, `${outcome.message}; TAMPError returned${tail}`);
    }
    s.log.info('tamp.processed', { request: TAMP_MEDIA_TYPES[outcome.request], response: TAMP_MEDIA_TYPES[outcome.responseType] });
    return { status: 'ok', detail: `${TAMP_MEDIA_TYPES[outcome.responseType]} returned${tail}` };
  }
}
