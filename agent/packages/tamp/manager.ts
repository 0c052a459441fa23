// TAMP (RFC 5934) over the EST extensions (RFC 8295 §7): PAL types 0028/0030/0032/0034/0036 GET a signed TAMP
// message from /tamp (size-capped), the manager (process-message.ts, loaded at the first package run) verifies it
// (verify.ts: SignedData, one signer, path to the apex TA or a TA authorized for 'tamp'; contingency.ts: an apex
// update signed with the apex's contingency key), decodes it, checks the target (§4.1 TargetIdentifier against this module) and the
// sequence number (§6: strictly greater than the last accepted from the signer's TA; replays and lower numbers are
// seqNumFailure), plans the action on a copy (one file per message kind), persists the sequence number together with
// the TAMP state changes (one atomic write) BEFORE acting, then applies the TA set with one atomic TrustAnchorStore
// write, and answers with a response signed by the device key (Signer, e.g. the TPM key): a confirm / status
// response, or a TAMPError for every refused message (nothing changed, sequence number unchanged). Responses go to
// an outbox in the TAMP state and are POSTed to /tamp/return with their media type (204 expected) right away; the
// odd PAL types 0029…0037 POST whatever is still queued.
import type { HandlerContext, HandlerResult, PackageHandler } from '../../pal/dispatch.js';
import type { PalEntry } from '../../pal/model.js';
import type { SignerWithChain } from '../../pki/asn1/cms-signed-data-create.js';
import type { TampModuleIdentity } from '../../pki/asn1/tamp-target-identifier.js';
import { OID_CT_TAMP_STATUS_QUERY, TAMP_MEDIA_TYPES, TAMP_PAL_TYPES, type TampStatusCodeName } from '../../pki/asn1/tamp-oids.js';
import type { TrustAnchorChoice } from '../../pki/asn1/trust-anchor-choice.js';
import { loadCert } from '../../pki/lazy-modules.js';
import { lazyModule } from '../../util/lazy-import.js';
import { resolvePackageUri } from '../../protocols/est/package-uri.js';
import { ResponseTooLargeError } from '../../protocols/http/errors.js';
import type { Transport } from '../../protocols/http/transport.js';
import type { TaUse, TrustAnchorStore } from '../../store/ta-store.js';
import type { PackageContext } from '../context.js';
import { TampFailure } from './failure.js';
import type { TampSession } from './process-message.js';
import { TampStateFile } from './state.js';

// The message processor (CMS, certificate paths, the TAMP DER types, the signed responses) loads at the first TAMP
// package run, the apex file's decoder at the first start: composition, the state, the status part and returning
// queued responses do not need the ASN.1 stack.
const loadProcessor = lazyModule('the TAMP message processor', () => import('./process-message.js'));
const loadApexFile = lazyModule('the TAMP apex trust anchor decoder', () => import('./apex-file.js'));

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

  private session(): TampSession {
    return { cfg: this.cfg, state: this.state, now: () => this.now() };
  }

  /** The processor, with pki/cert.ts (the TA store's decoded certificates are read synchronously while processing). */
  private async processor(): Promise<typeof import('./process-message.js')> {
    const [p] = await Promise.all([loadProcessor(), loadCert()]);
    return p;
  }

  /** Installs the configured apex TA when the state has none (first start: only then is the file decoded). */
  async init(): Promise<void> {
    const d = await this.state.load();
    if (d.apex !== undefined || !this.cfg.apexTaFile) return;
    const choice = await (await loadApexFile()).readApexFile(this.cfg.apexTaFile);
    await this.state.update((s) => {
      if (s.apex === undefined) s.apex = Buffer.from(choice).toString('base64');
      if (s.communities.length === 0 && this.cfg.initialCommunities) s.communities = [...this.cfg.initialCommunities];
    });
  }

  /** The installed apex TA, if any. */
  async apex(): Promise<TrustAnchorChoice | undefined> {
    const d = await this.state.load();
    return d.apex ? (await loadProcessor()).decodeApex(d.apex) : undefined;
  }

  /**
   * Processes one TAMP message body (binary or base64 DER). `expected` is the request type the PAL entry announced
   * (the msgType of a TAMPError when the message itself cannot tell). Never throws for bad input.
   */
  async process(body: Uint8Array, ta: TrustAnchorStore, expected: string = OID_CT_TAMP_STATUS_QUERY): Promise<TampOutcome> {
    const p = await this.processor();
    await this.init();
    return p.processTampMessage(this.session(), body, ta, expected);
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
    if (!kind) return { status: 'failed', code: 'tamp.pal_entry', message: `package type ${entry.type} is not a TAMP type` };
    const opts = s.policy.allowedOrigins ? { allowedOrigins: s.policy.allowedOrigins } : {};
    const url = resolvePackageUri(s.est.ctx, entry.info.kind === 'uri' ? entry.info.uri : undefined, ['tamp'], opts).url;
    const returnUrl = new URL(url);
    returnUrl.pathname = returnUrl.pathname.replace(/\/tamp(\/.*)?$/, '/tamp/return');
    if (kind.returns) {
      const r = await this.flush(s.est.ctx.transport, returnUrl, ctx.signal);
      if (r.failed.length) return { status: 'failed', code: 'tamp.return', message: r.failed.join('; ') };
      return { status: 'ok', detail: `${r.sent} TAMP response(s) returned` };
    }
    // before the GET: a failed load (module.load) fails this run only; nothing is fetched or queued
    const p = await this.processor();
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
      if (res.status !== 200) return { status: 'failed', code: 'tamp.http', message: `GET ${url.pathname}: HTTP ${res.status}` };
      outcome = await this.process(res.body, s.taStore, kind.request);
    } catch (e) {
      if (!(e instanceof ResponseTooLargeError)) throw e;
      // §5 insufficientMemory: the message does not fit what this module accepts
      outcome = await p.refuseTampMessage(this.session(), kind.request, new TampFailure('insufficientMemory', `TAMP message larger than ${max} bytes`));
    }
    const sent = await this.flush(s.est.ctx.transport, returnUrl, ctx.signal);
    const tail = sent.failed.length ? ` (return failed: ${sent.failed.join('; ')})` : '';
    if (!outcome.ok) {
      s.log.warn('tamp.refused', { status: outcome.status, message: outcome.message });
      return { status: 'failed', code: `tamp.${outcome.status}`, message: `${outcome.message}; TAMPError returned${tail}` };
    }
    s.log.info('tamp.processed', { request: TAMP_MEDIA_TYPES[outcome.request], response: TAMP_MEDIA_TYPES[outcome.responseType] });
    return { status: 'ok', detail: `${TAMP_MEDIA_TYPES[outcome.responseType]} returned${tail}` };
  }
}
