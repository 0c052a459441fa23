// TAMP (RFC 5934) over the EST extensions (RFC 8295 §7): the PAL handler for 0028–0037. Even types are messages to
// GET from /tamp (status query, TA update, apex update, community update, sequence number adjust); odd types ask
// for the answers (response/confirm, or TAMPError) to be POSTed to /tamp/return. Each message:
//   1. CMS SignedData, one signer, signature valid, signer = the apex TA or chaining to a TA authorized for TAMP
//      (TaUse "tamp"); apex updates only from the apex itself (§4.5; contingency keys are not supported);
//   2. the target names this module (allModules, its communities, its hardware type + serial) (§4.1);
//   3. the sequence number is above the last one accepted from that TA (§6), and is persisted before acting;
//   4. the action, with every TA store change as one atomic write;
//   5. the answer signed with the device credential, queued (persisted) and POSTed with its media type (204).
// Failures never change the TA store; they produce a TAMPError where RFC 5934 has one.
import path from 'node:path';
import * as pkijs from 'pkijs';
import type { HandlerContext, HandlerResult, PackageHandler } from '../../pal/dispatch.js';
import type { PalEntry } from '../../pal/model.js';
import type { PackageContext } from '../context.js';
import { resolvePackageUri } from '../../protocols/est/package-uri.js';
import { decodeEstBody } from '../../protocols/est/base64-body.js';
import { createSignedData } from '../../pki/asn1/cms-signed-data-create.js';
import { decodeAsn1 } from '../../pki/der.js';
import { certificateSpki, certificateToDer, certificateFingerprint } from '../../pki/cert.js';
import { validateChain } from '../../pki/chain.js';
import type { Signer } from '../../pki/signer.js';
import { Asn1DecodeError } from '../../pki/asn1/errors.js';
import { OID_CMS_SIGNED_DATA } from '../../pki/asn1/firmware-oids.js';
import { TAMP_MEDIA_TYPES, TampStatus, type TampStatusName } from '../../pki/asn1/tamp-oids.js';
import type { TampMsgRef, TargetIdentifier } from '../../pki/asn1/tamp-msg-ref.js';
import { TampStatusQuery } from '../../pki/asn1/tamp-status-query.js';
import { TampStatusResponse } from '../../pki/asn1/tamp-status-response.js';
import { TampUpdate } from '../../pki/asn1/tamp-update.js';
import { TampUpdateConfirm } from '../../pki/asn1/tamp-update-confirm.js';
import { TampApexUpdate } from '../../pki/asn1/tamp-apex-update.js';
import { TampApexUpdateConfirm } from '../../pki/asn1/tamp-apex-update-confirm.js';
import { TampCommunityUpdate } from '../../pki/asn1/tamp-community-update.js';
import { TampCommunityUpdateConfirm } from '../../pki/asn1/tamp-community-update-confirm.js';
import { SequenceNumberAdjust, SequenceNumberAdjustConfirm } from '../../pki/asn1/tamp-sequence-number-adjust.js';
import { TampError } from '../../pki/asn1/tamp-error.js';
import { keyIdentifierFromSpki } from '../../pki/asn1/cms-signed-data-create.js';
import { readFileIfExists, writeFileAtomic } from '../../store/atomic-file.js';
import type { TaUse, TrustAnchorStore } from '../../store/ta-store.js';
import { EnrolldError } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';

export const TAMP_TYPES = ['0028', '0030', '0032', '0034', '0036'] as const;
export const TAMP_RETURN_TYPES = ['0029', '0031', '0033', '0035', '0037'] as const;
export const TAMP_STATE_FILE = 'tamp-state.json';
/** The TA store name of the apex TA. */
export const APEX_NAME = 'tamp-apex';

export interface TampConfig {
  taStore: TrustAnchorStore;
  /** Private directory for tamp-state.json (sequence numbers, communities, the return outbox). */
  stateDir: string;
  /** This module as TAMP targets name it. */
  device: { hwType?: string; hwSerialNum?: Uint8Array; communities?: string[] };
  /** Signs the answers: the current device credential (asked at signing time). */
  returnSigner: () => Promise<{ signer: Signer; certificate?: Uint8Array } | undefined>;
  /** What a TA added by a TAMP update may be used for (default: CA certificates, EST server, CRLs, firmware). */
  addedUses?: TaUse[];
  maxMessageBytes?: number;
  now?: () => Date;
  log?: Logger;
}

interface TampState {
  version: 1;
  /** Last accepted sequence number per TA (hex key identifier → decimal). */
  seq: Record<string, string>;
  communities: string[];
  outbox: Array<{ mediaType: string; der: string; what: string }>;
}

/** A refused message: the RFC 5934 status for the TAMPError, a stable code for logs. */
export class TampRefused extends EnrolldError {
  constructor(
    readonly status: TampStatusName,
    message: string,
    readonly msgType?: string,
    readonly msgRef?: TampMsgRef,
  ) {
    super(`tamp.${status}`, message);
  }
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export class TampManager {
  constructor(private readonly cfg: TampConfig) {}

  private get file(): string {
    return path.join(this.cfg.stateDir, TAMP_STATE_FILE);
  }

  async state(): Promise<TampState> {
    const text = await readFileIfExists(this.file);
    if (!text) return { version: 1, seq: {}, communities: [...(this.cfg.device.communities ?? [])], outbox: [] };
    const s = JSON.parse(Buffer.from(text).toString('utf8')) as TampState;
    if (s.version !== 1) throw new EnrolldError('tamp.state', `${TAMP_STATE_FILE}: unsupported version`);
    return s;
  }

  private async save(s: TampState): Promise<void> {
    await writeFileAtomic(this.file, JSON.stringify(s) + '\n');
  }

  handler(): PackageHandler<PackageContext> {
    return {
      types: [...TAMP_TYPES, ...TAMP_RETURN_TYPES],
      handle: (entry: PalEntry, ctx: HandlerContext<PackageContext>) => this.handle(entry, ctx),
    };
  }

  private async handle(entry: PalEntry, ctx: HandlerContext<PackageContext>): Promise<HandlerResult> {
    const s = ctx.shared;
    const opts = s.policy.allowedOrigins ? { allowedOrigins: s.policy.allowedOrigins } : {};
    const uri = entry.info.kind === 'uri' ? entry.info.uri : undefined;
    if ((TAMP_RETURN_TYPES as readonly string[]).includes(entry.type)) {
      const url = resolvePackageUri(s.est.ctx, uri, ['tamp'], opts).url;
      if (!/\/tamp\/return$/.test(url.pathname)) url.pathname = url.pathname.replace(/\/tamp(\/.*)?$/, '/tamp/return');
      const r = await this.postOutbox(s.est.ctx.transport, url.toString());
      return r.failed ? { status: 'failed', code: 'tamp.return', message: r.failed } : { status: 'ok', detail: `${r.sent} TAMP answer(s) returned` };
    }
    const url = resolvePackageUri(s.est.ctx, uri, ['tamp'], opts).url;
    const res = await s.est.ctx.transport.request({ method: 'GET', url, maxResponseBytes: this.cfg.maxMessageBytes ?? 256 * 1024, ...(ctx.signal ? { signal: ctx.signal } : {}) });
    if (res.status !== 200) return { status: 'failed', code: 'tamp.http', message: `GET ${url.pathname}: HTTP ${res.status}` };
    const out = await this.process(res.body);
    return out.ok ? { status: 'ok', detail: out.what } : { status: 'failed', code: out.code, message: out.what };
  }

  /** Processes one /tamp body and queues the answer. Never throws for bad input. */
  async process(body: Uint8Array): Promise<{ ok: boolean; code: string; what: string }> {
    let answer: { contentType: string; der: Uint8Array; what: string };
    let result: { ok: boolean; code: string; what: string };
    try {
      const r = await this.processOrThrow(body);
      answer = r;
      result = { ok: true, code: 'tamp.ok', what: r.what };
    } catch (e) {
      if (!(e instanceof TampRefused)) throw e;
      this.cfg.log?.warn('tamp.refused', { code: e.code, error: e.message });
      answer = { contentType: TampError.CONTENT_TYPE, der: new TampError(e.msgType ?? '1.2.840.113549.1.9.16.1.0', TampStatus[e.status], e.msgRef).toDer(), what: `TAMPError ${e.status}` };
      result = { ok: false, code: e.code, what: e.message };
    }
    await this.queue(answer.contentType, answer.der, answer.what);
    return result;
  }

  private async queue(contentType: string, content: Uint8Array, what: string): Promise<void> {
    const rs = await this.cfg.returnSigner();
    const der = rs
      ? await createSignedData({ eContentType: contentType, eContent: content, signer: rs.signer, ...(rs.certificate ? { certificate: rs.certificate } : {}), signingTime: this.now() })
      : undefined;
    if (!der) {
      this.cfg.log?.warn('tamp.unsigned-answer-dropped', { what });
      return;
    }
    const s = await this.state();
    s.outbox.push({ mediaType: TAMP_MEDIA_TYPES[contentType]!, der: Buffer.from(der).toString('base64'), what });
    if (s.outbox.length > 32) s.outbox.splice(0, s.outbox.length - 32);
    await this.save(s);
  }

  async postOutbox(transport: PackageContext['est']['ctx']['transport'], url: string): Promise<{ sent: number; failed?: string }> {
    const s = await this.state();
    let sent = 0;
    while (s.outbox.length) {
      const item = s.outbox[0]!;
      const res = await transport.request({ method: 'POST', url, headers: { 'content-type': item.mediaType }, body: new Uint8Array(Buffer.from(item.der, 'base64')) });
      if (res.status !== 204 && res.status !== 200) return { sent, failed: `POST ${item.what}: HTTP ${res.status}` };
      s.outbox.shift();
      await this.save(s);
      sent++;
    }
    return { sent };
  }

  private now(): Date {
    return (this.cfg.now ?? (() => new Date()))();
  }

  // ---- processing ------------------------------------------------------------------------------------------------

  private async processOrThrow(body: Uint8Array): Promise<{ contentType: string; der: Uint8Array; what: string }> {
    const v = await this.verify(body);
    const ta = this.cfg.taStore;
    switch (v.contentType) {
      case TampStatusQuery.CONTENT_TYPE: {
        const q = this.decode(() => TampStatusQuery.fromDer(v.content), v.contentType);
        await this.accept(v, q.query);
        const st = await this.state();
        const anchors = ta.list().map((a) => a.certificate);
        const status = q.terse
          ? { terse: true as const, taKeyIds: anchors.map((c) => keyIdentifierFromSpki(certificateSpki(c))), communities: st.communities }
          : { terse: false as const, trustAnchors: anchors, communities: st.communities, seqNumbers: Object.entries(st.seq).map(([k, n]) => ({ keyId: new Uint8Array(Buffer.from(k, 'hex')), seqNumber: BigInt(n) })) };
        return { contentType: TampStatusResponse.CONTENT_TYPE, der: new TampStatusResponse(q.query, status).toDer(), what: `status response (${anchors.length} TAs)` };
      }
      case TampUpdate.CONTENT_TYPE: {
        const u = this.decode(() => TampUpdate.fromDer(v.content), v.contentType);
        await this.accept(v, u.msgRef);
        const statuses: number[] = [];
        const adds: pkijs.Certificate[] = [];
        const removes: string[] = [];
        for (const up of u.updates) {
          if ('add' in up) {
            if (ta.find(up.add)) statuses.push(TampStatus.improperTAAddition);
            else {
              adds.push(up.add);
              statuses.push(TampStatus.success);
            }
          } else if ('remove' in up) {
            const found = ta.list().find((a) => Buffer.from(certificateSpki(a.certificate)).equals(Buffer.from(up.remove)));
            if (!found) statuses.push(TampStatus.trustAnchorNotFound);
            else if (found.name === APEX_NAME) statuses.push(TampStatus.apexTAMPAnchor);
            else {
              removes.push(found.fingerprint);
              statuses.push(TampStatus.success);
            }
          } else statuses.push(TampStatus.improperTAChange);
        }
        if (adds.length || removes.length) {
          // One atomic write: the store's replace() with the resulting set.
          const kept = ta.list().filter((a) => !removes.includes(a.fingerprint));
          await ta.replace([
            ...kept.map((a) => ({ name: a.name, source: a.source, uses: a.uses, certificate: a.certificate })),
            ...adds.map((c) => ({ name: `tamp-${certificateFingerprint(c).slice(0, 16)}`, source: 'tamp' as const, uses: this.cfg.addedUses ?? (['cacerts', 'est-server', 'crl', 'firmware'] as TaUse[]), certificate: c })),
          ]);
        }
        this.cfg.log?.info('tamp.update', { added: adds.length, removed: removes.length, statuses: statuses.join(',') });
        return { contentType: TampUpdateConfirm.CONTENT_TYPE, der: new TampUpdateConfirm(u.msgRef, statuses, u.terse ? undefined : ta.list().map((a) => a.certificate)).toDer(), what: `update confirm (${statuses.join(',')})` };
      }
      case TampApexUpdate.CONTENT_TYPE: {
        const a = this.decode(() => TampApexUpdate.fromDer(v.content), v.contentType);
        if (!v.byApex) throw new TampRefused('notAuthorized', 'an apex update must be signed by the current apex trust anchor', v.contentType, a.msgRef);
        await this.accept(v, a.msgRef);
        const others = ta.list().filter((x) => x.name !== APEX_NAME && !(a.clearTrustAnchors && x.source === 'tamp'));
        await ta.replace([...others.map((x) => ({ name: x.name, source: x.source, uses: x.uses, certificate: x.certificate })), { name: APEX_NAME, source: 'tamp', uses: ['tamp'], certificate: a.apexTA }]);
        const st = await this.state();
        if (a.clearCommunities) st.communities = [];
        if (a.seqNumber !== undefined) st.seq[hex(keyIdentifierFromSpki(certificateSpki(a.apexTA)))] = a.seqNumber.toString();
        await this.save(st);
        this.cfg.log?.info('tamp.apex-update', { apex: certificateFingerprint(a.apexTA).slice(0, 16), clearTrustAnchors: a.clearTrustAnchors, clearCommunities: a.clearCommunities });
        return { contentType: TampApexUpdateConfirm.CONTENT_TYPE, der: new TampApexUpdateConfirm(a.msgRef, TampStatus.success, a.terse ? undefined : ta.list().map((x) => x.certificate)).toDer(), what: 'apex update confirm' };
      }
      case TampCommunityUpdate.CONTENT_TYPE: {
        const c = this.decode(() => TampCommunityUpdate.fromDer(v.content), v.contentType);
        await this.accept(v, c.msgRef);
        const st = await this.state();
        st.communities = [...new Set([...st.communities.filter((x) => !c.remove.includes(x)), ...c.add])];
        await this.save(st);
        return { contentType: TampCommunityUpdateConfirm.CONTENT_TYPE, der: new TampCommunityUpdateConfirm(c.msgRef, TampStatus.success, c.terse ? undefined : st.communities).toDer(), what: `community update confirm (${st.communities.length})` };
      }
      case SequenceNumberAdjust.CONTENT_TYPE: {
        const s = this.decode(() => SequenceNumberAdjust.fromDer(v.content), v.contentType);
        await this.accept(v, s.msgRef);
        return { contentType: SequenceNumberAdjustConfirm.CONTENT_TYPE, der: new SequenceNumberAdjustConfirm(s.msgRef, TampStatus.success).toDer(), what: `sequence number adjusted to ${s.msgRef.seqNum}` };
      }
      default:
        throw new TampRefused('unsupportedTAMPMsgType', `content type ${v.contentType} is not a TAMP message this module accepts`, v.contentType);
    }
  }

  private decode<T>(f: () => T, contentType: string): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof Asn1DecodeError) throw new TampRefused(/unsupportedTrustAnchorFormat/.test(e.message) ? 'unsupportedTrustAnchorFormat' : 'decodeFailure', e.message, contentType);
      throw e;
    }
  }

  /** Target (§4.1) and sequence number (§6): persisted before the message acts. */
  private async accept(v: { contentType: string; taKeyId: string }, ref: TampMsgRef): Promise<void> {
    const st = await this.state();
    if (!this.targetsMe(ref.target, st.communities)) throw new TampRefused('incorrectTarget', `the message targets ${ref.target.kind} that does not include this module`, v.contentType, ref);
    const last = st.seq[v.taKeyId];
    if (last !== undefined && ref.seqNum <= BigInt(last)) throw new TampRefused('seqNumFailure', `sequence number ${ref.seqNum} is not above ${last} (replay or out of order)`, v.contentType, ref);
    st.seq[v.taKeyId] = ref.seqNum.toString();
    await this.save(st);
  }

  private targetsMe(t: TargetIdentifier, communities: readonly string[]): boolean {
    const d = this.cfg.device;
    switch (t.kind) {
      case 'allModules':
        return true;
      case 'communities':
        return t.communities.some((c) => communities.includes(c));
      case 'hwModules':
        return t.modules.some(
          (m) =>
            m.hwType === d.hwType &&
            m.serials.some((s) => 'all' in s || ('single' in s && d.hwSerialNum !== undefined && Buffer.from(s.single).equals(Buffer.from(d.hwSerialNum))) || ('low' in s && d.hwSerialNum !== undefined && Buffer.compare(Buffer.from(s.low), Buffer.from(d.hwSerialNum)) <= 0 && Buffer.compare(Buffer.from(d.hwSerialNum), Buffer.from(s.high)) <= 0)),
        );
      case 'uri':
        return false;
    }
  }

  /** §3: SignedData, one signer, valid signature, signer is/chains to the apex or a TAMP-authorized TA. */
  private async verify(body: Uint8Array): Promise<{ contentType: string; content: Uint8Array; taKeyId: string; byApex: boolean }> {
    let der: Uint8Array;
    try {
      der = decodeEstBody(body, 'TAMP message');
    } catch (e) {
      throw new TampRefused('decodeFailure', (e as Error).message);
    }
    let sd: pkijs.SignedData;
    try {
      const ci = new pkijs.ContentInfo({ schema: decodeAsn1(der, 'TAMP ContentInfo') });
      if (ci.contentType !== OID_CMS_SIGNED_DATA) throw new TampRefused('badContentInfo', `content type ${ci.contentType} is not signedData`);
      sd = new pkijs.SignedData({ schema: ci.content });
    } catch (e) {
      if (e instanceof TampRefused) throw e;
      throw new TampRefused('badSignedData', `not a CMS SignedData: ${(e as Error).message}`);
    }
    const contentType = sd.encapContentInfo.eContentType;
    if (sd.signerInfos.length !== 1) throw new TampRefused(sd.signerInfos.length === 0 ? 'missingSignature' : 'badSignerInfo', `${sd.signerInfos.length} signers (exactly one required)`, contentType);
    if (!sd.encapContentInfo.eContent) throw new TampRefused('missingContent', 'no encapsulated content', contentType);
    let r: { signatureVerified?: boolean | null; signerCertificate?: pkijs.Certificate | null };
    const anchors = this.cfg.taStore.anchorsFor('tamp');
    try {
      // The apex/management TA may sign directly (it need not be in the certificate set).
      r = (await sd.verify({ signer: 0, checkChain: false, extendedMode: true, trustedCerts: anchors.map((a) => a.certificate) } as never)) as unknown as typeof r;
    } catch (e) {
      const x = e as { signerCertificate?: unknown; message?: string };
      throw new TampRefused(x.signerCertificate ? 'signatureFailure' : 'noTrustAnchor', `signature: ${x.message ?? String(e)}`, contentType);
    }
    if (!r.signatureVerified || !r.signerCertificate) throw new TampRefused('signatureFailure', 'the signature does not verify', contentType);
    const signer = r.signerCertificate;
    const certs = (sd.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate);
    let root: pkijs.Certificate;
    try {
      const { path: p } = await validateChain({ leaf: signer, intermediates: certs.filter((c) => c !== signer), trustAnchors: anchors.map((a) => a.certificate), at: this.now() });
      root = p[p.length - 1]!;
    } catch (e) {
      throw new TampRefused('notAuthorized', `the signer does not chain to a TA authorized for TAMP: ${(e as Error).message}`, contentType);
    }
    const apex = this.cfg.taStore.get(APEX_NAME);
    const byApex = apex !== undefined && Buffer.from(certificateToDer(apex.certificate)).equals(Buffer.from(certificateToDer(root)));
    return { contentType, content: new Uint8Array(sd.encapContentInfo.eContent.getValue()), taKeyId: hex(keyIdentifierFromSpki(certificateSpki(root))), byApex };
  }
}
