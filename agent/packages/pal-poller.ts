// The PAL cycle as the daemon's Poller (agent/lifecycle/daemon.ts): GET /pal (RFC 8295 §2.2) through the EST
// client, follow 0001 pages (agent/pal/chain.ts: loop, depth and entry bounds; every page parsed strictly), then
// dispatch the flattened list in §2.3 order to the package handlers and record what happened. The whole chain is
// fetched and parsed before any handler runs, so a malformed page, a 0001 loop or an oversized body fails the poll
// with a typed error (PalFormatError / PalLimitError / PalChainError) and leaves the TA and CRL stores untouched.
// The outcome is `{ renew: true }` when a handler asked the lifecycle to (re-)enroll.
// Servers without a PAL (RFC 7030 only, e.g. most deployed EST servers): when GET /pal answers 404 or 501 (mode
// 'auto', remembered in the state file and re-probed once a day) or the configuration says there is none, the poller
// runs what RFC 7030 expects of the client itself: /cacerts at start, once per refresh interval, and before the CA
// certificates it holds expire (§4.1.3) — as a 0002 entry through the same dispatch and CaCertsHandler a PAL uses.
import type { Poller, PollOutcome } from '../lifecycle/daemon.js';
import type { Clock } from '../lifecycle/clock.js';
import type { AgentState } from '../lifecycle/state.js';
import { loadPalChain, type PalChainResult } from '../pal/chain.js';
import { dispatchPal, type EntryResult, type EntryStatus, type PackageHandlerRegistry } from '../pal/dispatch.js';
import { loadCert, type CertModule } from '../pki/lazy-modules.js';
import type { EstClient } from '../protocols/est/client.js';
import { EST_EXT_OPERATIONS } from '../protocols/est/constants.js';
import { resolvePackageUri } from '../protocols/est/package-uri.js';
import { fetchPalPage, type PalPreference } from '../protocols/est/pal.js';
import type { CrlStore } from '../store/crl-store.js';
import type { TrustAnchorStore } from '../store/ta-store.js';
import { EnrolldError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { X509Certificate } from 'node:crypto';
import { documentAt, type DocumentStore } from '../store/document-store.js';
import { EstHttpError } from '../protocols/est/errors.js';
import { EST_OPERATIONS } from '../protocols/est/constants.js';
import { estUrl } from '../protocols/est/context.js';
import { PackageType, type PalEntry } from '../pal/model.js';
import type { EnrollmentRetrieval, PackageContext, PackagePolicy, PeerCertificateStore, RenewalRequest } from './context.js';
import { createPackageRegistry, PLACEHOLDER_CODE, PLACEHOLDER_DETAIL } from './registry.js';
import { pemDecode, pemDecodeAll } from '../pki/pem.js';


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
  /** true: the server has a PAL; false: it has none (RFC 7030 mode); 'auto' (default): probe /pal, 404/501 = none. */
  pal?: boolean | 'auto';
  /** Where the PAL probe result and the last /cacerts refresh are remembered (JSON, 0600). Default: in memory. */
  stateFile?: string;
  /** RFC 7030 mode: /cacerts refresh interval (default 24 h); also how long before a CA certificate expires. */
  cacertsRefreshMs?: number;
  /** 'auto' mode: how long a PAL absence is believed before /pal is probed again (default 24 h). */
  palReprobeMs?: number;
}

/** What the poller remembers across restarts (RFC 7030 mode). */
export interface PollerMemory {
  /** When /pal last answered 404/501 (absent: the server has a PAL, or it was never probed). */
  palAbsentAt?: string;
  /** Last successful /cacerts refresh in RFC 7030 mode. */
  cacertsAt?: string;
}

const DAY_MS = 24 * 3600 * 1000;
/** Never refresh /cacerts more often than this on account of expiring CA certificates. */
const MIN_CACERTS_GAP_MS = 3600 * 1000;

/** GET /pal answers that mean "this server has no PAL" (RFC 8295 is an optional extension of RFC 7030). */
export function isPalAbsent(err: unknown): boolean {
  // the chain loader wraps the first page's HTTP error (cause)
  for (let e = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof EstHttpError) return e.status === 404 || e.status === 501;
  }
  return false;
}

export interface PalPollRecord {
  /** ISO-8601 start of the poll. */
  at: string;
  /** 'pal': the server's PAL drove the cycle; 'rfc7030': the server has none and the agent ran /cacerts itself. */
  mode?: 'pal' | 'rfc7030';
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

function credentialOf(state: AgentState, { certificateToDer, certificatesFromPem, sharedCertificateFromDer }: CertModule): PackageContext['credential'] {
  const c = state.credential;
  if (!c) return undefined;
  try {
    return { certificate: sharedCertificateFromDer(pemDecode(c.certPem, 'CERTIFICATE')), chainDer: c.chainPem.flatMap((p) => certificatesFromPem(p).map(certificateToDer)) };
  } catch {
    return undefined;
  }
}

/**
 * The DER of the credential's chain certificates as stored (PEM blocks only, no ASN.1 parse): what cacertsDue reads
 * the notAfter of (node:crypto), on every RFC 7030 poll; none when the credential's PEM is unreadable.
 */
function chainDerOf(state: AgentState): Uint8Array[] {
  const c = state.credential;
  if (!c) return [];
  try {
    pemDecode(c.certPem, 'CERTIFICATE');
    return c.chainPem.flatMap((p) => pemDecodeAll(p, 'CERTIFICATE').map((b) => b.der));
  } catch {
    return [];
  }
}

/** credentialOf for the credential of the last call again (the same certificate is polled with for weeks). */
function credentialCache(): (state: AgentState) => Promise<PackageContext['credential']> {
  let last: { certPem: string; chainPem: string[]; value: PackageContext['credential'] } | undefined;
  return async (state) => {
    const c = state.credential;
    if (!c) return undefined;
    if (last && last.certPem === c.certPem && last.chainPem.length === c.chainPem.length && last.chainPem.every((p, i) => p === c.chainPem[i])) {
      return last.value && { certificate: last.value.certificate, chainDer: [...last.value.chainDer] };
    }
    // pki/cert.ts not loadable: no credential this time (the handlers needing it fail to load the same way), and
    // nothing remembered, so the next dispatch tries again
    const mod = await loadCert().catch(() => undefined);
    if (!mod) return undefined;
    const value = credentialOf(state, mod);
    last = { certPem: c.certPem, chainPem: [...c.chainPem], value };
    return value && { certificate: value.certificate, chainDer: [...value.chainDer] };
  };
}

export class PalPoller implements Poller {
  private readonly registry: PackageHandlerRegistry<PackageContext>;
  private readonly credentialOf = credentialCache();
  /** notAfter (ms) of certificates held, by DER (base64): §4.1.3 checks them on every poll, they rarely change. */
  private readonly notAfterMs = new Map<string, number>();
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

  private memory: PollerMemory | undefined;
  private memoryStore: DocumentStore<PollerMemory> | undefined;

  /** The probe memory document (est-pal-probe.json in the state dir; the bare JSON of earlier releases is converted). */
  private probeStore(): DocumentStore<PollerMemory> | undefined {
    if (!this.o.stateFile) return undefined;
    return (this.memoryStore ??= documentAt<PollerMemory>(this.o.stateFile, {
      kind: 'enrolld-pal-probe',
      version: 1,
      validate: (j): j is PollerMemory => typeof j === 'object' && j !== null && !Array.isArray(j),
      legacy: (j) => (typeof j === 'object' && j !== null && !Array.isArray(j) ? (j as PollerMemory) : undefined),
      pretty: false,
      log: this.o.log,
    }));
  }

  /** The remembered probe/refresh times (loaded once). */
  async memo(): Promise<PollerMemory> {
    if (this.memory) return this.memory;
    let m: PollerMemory = {};
    const store = this.probeStore();
    if (store) {
      try {
        const j = await store.load();
        if (j) m = { ...(typeof j.palAbsentAt === 'string' ? { palAbsentAt: j.palAbsentAt } : {}), ...(typeof j.cacertsAt === 'string' ? { cacertsAt: j.cacertsAt } : {}) };
      } catch (err) {
        // Only a cache of probe times: unusable → probe again.
        this.o.log.warn('pal.memory-unreadable', { file: this.o.stateFile, err });
      }
    }
    return (this.memory = m);
  }

  private async remember(patch: Partial<Record<keyof PollerMemory, string | undefined>>): Promise<void> {
    const m: Record<string, string | undefined> = { ...(await this.memo()), ...patch };
    for (const k of Object.keys(m)) if (m[k] === undefined) delete m[k];
    this.memory = m as PollerMemory;
    await this.probeStore()?.save(this.memory);
  }

  /** Whether this poll uses the PAL or the RFC 7030 cycle (the latter when configured or remembered). */
  async mode(): Promise<'pal' | 'rfc7030' | 'probe'> {
    const pal = this.o.pal ?? 'auto';
    if (pal === true) return 'pal';
    if (pal === false) return 'rfc7030';
    const m = await this.memo();
    if (m.palAbsentAt && this.o.clock.now().getTime() - Date.parse(m.palAbsentAt) < (this.o.palReprobeMs ?? DAY_MS)) return 'rfc7030';
    return 'probe';
  }

  /** RFC 7030 mode: when /cacerts is next due (now when never fetched). */
  async cacertsDue(state: AgentState): Promise<Date> {
    const m = await this.memo();
    if (!m.cacertsAt) return this.o.clock.now();
    const last = Date.parse(m.cacertsAt);
    const refresh = this.o.cacertsRefreshMs ?? DAY_MS;
    // §4.1.3: fetch an up-to-date set before the stored CA certificates expire
    const held = [...this.o.taStore.certificatesFor('cacerts'), ...chainDerOf(state)];
    let earliest = Infinity;
    if (this.notAfterMs.size > 256) this.notAfterMs.clear();
    for (const der of held) {
      const key = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
      let notAfter = this.notAfterMs.get(key);
      if (notAfter === undefined) {
        try {
          notAfter = Date.parse(new X509Certificate(Buffer.from(der)).validTo);
        } catch {
          notAfter = Infinity; // unparsable stored certificate: ignored here
        }
        this.notAfterMs.set(key, notAfter);
      }
      earliest = Math.min(earliest, notAfter);
    }
    const due = Math.min(last + refresh, Math.max(earliest - refresh, last + MIN_CACERTS_GAP_MS));
    return new Date(due);
  }

  async poll(state: AgentState): Promise<PollOutcome> {
    const { log, clock } = this.o;
    const started = clock.now();
    const base = { at: started.toISOString(), renew: false, renewals: [] as RenewalRequest[] };
    const mode = await this.mode();
    if (mode === 'rfc7030') return this.rfc7030Cycle(state, base);
    let chain: PalChainResult;
    try {
      chain = await this.fetch();
    } catch (err) {
      if (mode === 'probe' && isPalAbsent(err)) {
        log.info('pal.absent', { reprobeHours: (this.o.palReprobeMs ?? DAY_MS) / 3600_000, mode: 'rfc7030' });
        await this.remember({ palAbsentAt: started.toISOString() });
        return this.rfc7030Cycle(state, base);
      }
      const code = err instanceof EnrolldError ? err.code : 'pal.poll.internal';
      const message = err instanceof Error ? err.message : String(err);
      this.record({
        ...base,
        mode: 'pal',
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
    if ((await this.memo()).palAbsentAt) {
      log.info('pal.present', { mode: 'pal' });
      await this.remember({ palAbsentAt: undefined });
    }
    const { outcome } = await this.dispatch(state, chain.entries, chain.pages.length, base, 'pal');
    return outcome;
  }

  /** RFC 7030 without a PAL: /cacerts when due, through the 0002 handler; a failure fails the poll (backoff). */
  private async rfc7030Cycle(state: AgentState, base: { at: string; renew: boolean; renewals: RenewalRequest[] }): Promise<PollOutcome> {
    const due = await this.cacertsDue(state);
    const entries: PalEntry[] = [];
    if (this.o.clock.now().getTime() >= due.getTime()) {
      entries.push({ type: PackageType.CaCertificate, size: 0, info: { kind: 'uri', uri: estUrl(this.o.est.ctx, EST_OPERATIONS.cacerts).href } });
    }
    const { outcome, results } = await this.dispatch(state, entries, 0, base, 'rfc7030');
    const failed = results.find((r) => r.status === 'failed');
    if (failed) throw new EnrolldError(failed.code ?? 'cacerts.failed', `RFC 7030 /cacerts refresh failed: ${failed.message ?? failed.code}`);
    if (entries.length) await this.remember({ cacertsAt: this.o.clock.now().toISOString() });
    return outcome;
  }

  private async dispatch(
    state: AgentState,
    entries: PalEntry[],
    pages: number,
    base: { at: string; renew: boolean; renewals: RenewalRequest[] },
    mode: 'pal' | 'rfc7030',
  ): Promise<{ outcome: PollOutcome; results: EntryResult[] }> {
    const { log, clock } = this.o;
    const renewals: RenewalRequest[] = [];
    // Handlers are the only readers of the credential: a poll with nothing to dispatch does not parse it.
    const credential = entries.length ? await this.credentialOf(state) : undefined;
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
    const report = await dispatchPal(entries, this.registry, {
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
      mode,
      outcome: 'ok',
      pages,
      entries: entries.length,
      counts: { ok: n('ok'), failed: n('failed'), skipped: n('skipped-unhandled') + n('skipped-unknown'), notRun: n('not-run') },
      codes,
      results,
      renew,
      renewals,
      taDigest: this.o.taStore.digest(),
    });
    log.info('pal.poll.done', { mode, pages, entries: entries.length, ok: n('ok'), failed: n('failed'), renew });
    return { outcome: renew ? { renew: true } : {}, results };
  }

  private record(r: PalPollRecord): void {
    this.last = r;
    this.o.onRecord?.(r);
  }
}
