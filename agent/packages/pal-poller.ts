// The PAL cycle as the daemon's Poller (agent/lifecycle/daemon.ts): GET /pal (RFC 8295 §2.2) through the EST
// client, follow 0001 pages (agent/pal/chain.ts: loop, depth and entry bounds; every page parsed strictly), then
// dispatch the flattened list in §2.3 order to the package handlers and record what happened. The whole chain is
// fetched and parsed before any handler runs, so a malformed page, a 0001 loop or an oversized body fails the poll
// with a typed error (PalFormatError / PalLimitError / PalChainError) and leaves the TA and CRL stores untouched.
// The outcome is `{ renew: true }` when a handler asked the lifecycle to (re-)enroll.
import type { Poller, PollOutcome } from '../lifecycle/daemon.js';
import type { Clock } from '../lifecycle/clock.js';
import type { AgentState } from '../lifecycle/state.js';
import { loadPalChain, type PalChainResult } from '../pal/chain.js';
import { dispatchPal, type EntryResult, type EntryStatus, type PackageHandlerRegistry } from '../pal/dispatch.js';
import { certificateFromDer, certificateToDer, certificatesFromPem } from '../pki/cert.js';
import type { EstClient } from '../protocols/est/client.js';
import { EST_EXT_OPERATIONS } from '../protocols/est/constants.js';
import { resolvePackageUri } from '../protocols/est/package-uri.js';
import { fetchPalPage, type PalPreference } from '../protocols/est/pal.js';
import type { CrlStore } from '../store/crl-store.js';
import type { TrustAnchorStore } from '../store/ta-store.js';
import { EnrolldError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { EnrollmentRetrieval, PackageContext, PackagePolicy, PeerCertificateStore, RenewalRequest } from './context.js';
import { createPackageRegistry, PLACEHOLDER_CODE, PLACEHOLDER_DETAIL } from './registry.js';
import { pemDecode } from '../pki/pem.js';

export interface PalPollerOptions {
  est: EstClient;
  taStore: TrustAnchorStore;
  crlStore: CrlStore;
  log: Logger;
  clock: Clock;
  policy?: PackagePolicy;
  peers?: PeerCertificateStore;
  /** Default: createPackageRegistry(). */
  registry?: PackageHandlerRegistry<PackageContext>;
  /** PAL encoding to ask for (default 'any': JSON preferred). */
  accept?: PalPreference;
  /** Per-page byte cap (default 1 MiB), entries per page (1000), further pages (8), entries in total (10000). */
  maxBytes?: number;
  maxEntries?: number;
  maxDepth?: number;
  maxTotalEntries?: number;
  onEnrollmentRetrieval?(r: EnrollmentRetrieval): void | Promise<void>;
  /** Called with every poll record (status reporting). */
  onRecord?(record: PalPollRecord): void;
  signal?: AbortSignal;
}

export interface PalPollRecord {
  /** ISO-8601 start of the poll. */
  at: string;
  outcome: 'ok' | 'error';
  pages: number;
  entries: number;
  counts: { ok: number; failed: number; skipped: number; notRun: number };
  /** Distinct codes of failed / skipped / not-run entries, sorted. */
  codes: string[];
  results: EntryResult[];
  renew: boolean;
  renewals: RenewalRequest[];
  /** TA set digest after the poll. */
  taDigest: string;
  /** Set when the PAL could not be fetched or parsed (nothing was dispatched). */
  error?: { code: string; message: string };
}

function credentialOf(state: AgentState): PackageContext['credential'] {
  const c = state.credential;
  if (!c) return undefined;
  try {
    return { certificate: certificateFromDer(pemDecode(c.certPem, 'CERTIFICATE')), chainDer: c.chainPem.flatMap((p) => certificatesFromPem(p).map(certificateToDer)) };
  } catch {
    return undefined;
  }
}

export class PalPoller implements Poller {
  private readonly registry: PackageHandlerRegistry<PackageContext>;
  /** The most recent poll record. */
  last: PalPollRecord | undefined;

  constructor(private readonly o: PalPollerOptions) {
    this.registry = o.registry ?? createPackageRegistry();
  }

  /** Fetches the PAL and every 0001 page (no handler runs). */
  async fetch(): Promise<PalChainResult> {
    const est = this.o.est;
    const origins = this.o.policy?.allowedOrigins;
    const start = resolvePackageUri(est.ctx, undefined, [EST_EXT_OPERATIONS.pal]).url.href;
    return loadPalChain(start, {
      fetch: (uri, signal) =>
        fetchPalPage(est.ctx, {
          uri,
          accept: this.o.accept ?? 'any',
          ...(this.o.maxBytes !== undefined ? { maxBytes: this.o.maxBytes } : {}),
          ...(origins ? { allowedOrigins: origins } : {}),
          ...(signal ? { signal } : {}),
        }),
      allowedSchemes: ['https'],
      ...(this.o.maxBytes !== undefined ? { maxBytes: this.o.maxBytes } : {}),
      ...(this.o.maxEntries !== undefined ? { maxEntries: this.o.maxEntries } : {}),
      ...(this.o.maxDepth !== undefined ? { maxDepth: this.o.maxDepth } : {}),
      ...(this.o.maxTotalEntries !== undefined ? { maxTotalEntries: this.o.maxTotalEntries } : {}),
      ...(this.o.signal ? { signal: this.o.signal } : {}),
    });
  }

  async poll(state: AgentState): Promise<PollOutcome> {
    const { log, clock } = this.o;
    const started = clock.now();
    const base = { at: started.toISOString(), renew: false, renewals: [] as RenewalRequest[] };
    let chain: PalChainResult;
    try {
      chain = await this.fetch();
    } catch (err) {
      const code = err instanceof EnrolldError ? err.code : 'pal.poll.internal';
      const message = err instanceof Error ? err.message : String(err);
      this.record({
        ...base,
        outcome: 'error',
        pages: 0,
        entries: 0,
        counts: { ok: 0, failed: 0, skipped: 0, notRun: 0 },
        codes: [code],
        results: [],
        taDigest: this.o.taStore.digest(),
        error: { code, message },
      });
      log.warn('pal.poll.failed', { code, error: message });
      throw err;
    }

    const renewals: RenewalRequest[] = [];
    const credential = credentialOf(state);
    const context: PackageContext = {
      est: this.o.est,
      taStore: this.o.taStore,
      crlStore: this.o.crlStore,
      log,
      clock,
      policy: this.o.policy ?? {},
      requestRenewal: (req) => {
        renewals.push(req);
        log.info('pal.renewal.requested', { type: req.type, reason: req.reason });
      },
      ...(this.o.onEnrollmentRetrieval ? { onEnrollmentRetrieval: this.o.onEnrollmentRetrieval } : {}),
      ...(this.o.peers ? { peers: this.o.peers } : {}),
      ...(credential ? { credential } : {}),
      ...(state.pending ? { pendingKeySpki: new Uint8Array(Buffer.from(state.pending.key.spki, 'base64')) } : {}),
      intermediates: [...(credential?.chainDer ?? [])],
    };
    const report = await dispatchPal(chain.entries, this.registry, {
      log,
      context,
      ...(this.o.signal ? { signal: this.o.signal } : {}),
    });
    const results = report.results.map((r): EntryResult =>
      r.status === 'ok' && r.detail === PLACEHOLDER_DETAIL ? { ...r, status: 'skipped-unhandled', code: PLACEHOLDER_CODE, message: PLACEHOLDER_DETAIL } : r,
    );
    const n = (st: EntryStatus): number => results.filter((r) => r.status === st).length;
    const codes = [...new Set(results.filter((r) => r.status !== 'ok' && r.code).map((r) => r.code!))].sort();
    const renew = renewals.length > 0;
    this.record({
      ...base,
      outcome: 'ok',
      pages: chain.pages.length,
      entries: chain.entries.length,
      counts: { ok: n('ok'), failed: n('failed'), skipped: n('skipped-unhandled') + n('skipped-unknown'), notRun: n('not-run') },
      codes,
      results,
      renew,
      renewals,
      taDigest: this.o.taStore.digest(),
    });
    log.info('pal.poll.done', { pages: chain.pages.length, entries: chain.entries.length, ok: n('ok'), failed: n('failed'), renew });
    return renew ? { renew: true } : {};
  }

  private record(r: PalPollRecord): void {
    this.last = r;
    this.o.onRecord?.(r);
  }
}
