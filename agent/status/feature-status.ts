// Per-feature outcome record in the state dir (feature-status.json, a DocumentStore): the last success,
// the last error and failure counts by error code, for each of enroll, pal, firmware. `enrolld status` shows the
// last error per feature from it; the metrics textfile exports the last success and the failures by kind.
// Recording never throws into the caller and never blocks it: writes are chained and errors only logged.
// A success that changes nothing but lastSuccess may be held in memory (`persistAfterMs`): the PAL poll's
// lastSuccess is also the `at` of its summary (pal-summary.ts, written every poll), which readFeatureStatus merges
// in, so the file is rewritten for it at most once per that interval (and on flushed(), at shutdown).
import { DocumentStore } from '../store/document-store.js';
import { FEATURE_STATUS_FILE } from '../store/layout.js';
import type { Logger } from '../util/log.js';
import { readPalSummary } from './pal-summary.js';

export { FEATURE_STATUS_FILE };
export type Feature = 'enroll' | 'pal' | 'firmware';
export const FEATURES: readonly Feature[] = ['enroll', 'pal', 'firmware'];
/** Distinct error codes counted per feature; further codes are counted as `other` (bounded metric cardinality). */
export const MAX_KINDS = 32;

export interface FeatureRecord {
  lastSuccess?: string;
  lastError?: { code: string; at: string };
  failures: Record<string, number>;
}

export type FeatureStatus = Partial<Record<Feature, FeatureRecord>>;

const CODE = /^[A-Za-z0-9_.:-]{1,64}$/;

export class FeatureStatusStore {
  private current: FeatureStatus | undefined;
  private chain: Promise<void> = Promise.resolve();
  /** lastSuccess per feature as last written to the file. */
  private persisted: Partial<Record<Feature, string>> = {};
  /** A recorded success is not on disk yet. */
  private dirty = false;
  private readonly store: DocumentStore<FeatureStatus>;
  readonly file: string;

  constructor(stateDir: string, private readonly log?: Logger) {
    this.store = featureStatusStore(stateDir, log);
    this.file = this.store.path;
  }

  /**
   * Records a success. With `persistAfterMs`, a success that only moves lastSuccess is written when the persisted
   * one is at least that much older (else kept in memory until then or flushed()): only for a feature whose readers
   * get the exact time elsewhere (the PAL summary).
   */
  success(feature: Feature, at: Date | string, options: { persistAfterMs?: number } = {}): void {
    const iso = new Date(at).toISOString();
    this.update((s) => {
      const had = s[feature];
      const r = (s[feature] ??= { failures: {} });
      r.lastSuccess = iso;
      const before = this.persisted[feature];
      const hold = options.persistAfterMs !== undefined && had !== undefined && before !== undefined && Date.parse(iso) - Date.parse(before) < options.persistAfterMs;
      return !hold;
    });
  }

  failure(feature: Feature, code: string, at: Date | string): void {
    const kind = CODE.test(code) ? code : 'invalid-code';
    this.update((s) => {
      const r = (s[feature] ??= { failures: {} });
      r.lastError = { code: kind, at: new Date(at).toISOString() };
      const key = kind in r.failures || Object.keys(r.failures).length < MAX_KINDS ? kind : 'other';
      r.failures[key] = (r.failures[key] ?? 0) + 1;
    });
  }

  /** Resolves when every recorded outcome so far is written, or held in memory (see success()). */
  recorded(): Promise<void> {
    return this.chain;
  }

  /** Resolves when every recorded outcome so far is on disk, held successes included (or its write failed and was logged). */
  flushed(): Promise<void> {
    this.chain = this.chain
      .then(async () => {
        if (this.dirty && this.current) await this.write(this.current);
      })
      .catch((err) => this.log?.warn('status.feature-status-write-failed', { err }));
    return this.chain;
  }

  /** `fn` changes the record and says whether to write it now (false: held in memory, see success()). */
  private update(fn: (s: FeatureStatus) => boolean | void): void {
    this.chain = this.chain
      .then(async () => {
        // A damaged record (both copies) starts over: it is a status aid, not a guard.
        if (!this.current) {
          this.current = await this.store.load().then((s) => sanitize(s), () => ({}));
          this.persisted = successes(this.current);
        }
        if (fn(this.current) === false) {
          this.dirty = true;
          return;
        }
        await this.write(this.current);
      })
      .catch((err) => this.log?.warn('status.feature-status-write-failed', { err }));
  }

  private async write(s: FeatureStatus): Promise<void> {
    await this.store.save(s);
    this.dirty = false;
    this.persisted = successes(s);
  }
}

function featureStatusStore(stateDir: string, log?: Logger): DocumentStore<FeatureStatus> {
  return new DocumentStore<FeatureStatus>({
    dir: stateDir,
    name: FEATURE_STATUS_FILE,
    kind: 'enrolld-feature-status',
    version: 1,
    validate: (v): v is FeatureStatus => typeof v === 'object' && v !== null && !Array.isArray(v),
    legacy: (j) => (typeof j === 'object' && j !== null && !Array.isArray(j) ? sanitize(j) : undefined),
    pretty: false,
    ...(log ? { log } : {}),
  });
}

/** The well-formed per-feature records of a document. */
function sanitize(v: unknown): FeatureStatus {
  if (typeof v !== 'object' || v === null) return {};
  const out: FeatureStatus = {};
  for (const f of FEATURES) {
    const r = (v as Record<string, unknown>)[f] as FeatureRecord | undefined;
    if (r && typeof r === 'object' && typeof r.failures === 'object' && r.failures !== null) out[f] = r;
  }
  return out;
}

function successes(s: FeatureStatus): Partial<Record<Feature, string>> {
  const out: Partial<Record<Feature, string>> = {};
  for (const f of FEATURES) if (s[f]?.lastSuccess) out[f] = s[f]!.lastSuccess!;
  return out;
}

/**
 * The recorded outcomes ({} when none or unreadable: a damaged file never blocks `enrolld status`), the PAL's
 * lastSuccess taken from the last poll summary when that is a newer success. Read-only.
 */
export async function readFeatureStatus(stateDir: string): Promise<FeatureStatus> {
  const [doc, poll] = await Promise.all([featureStatusStore(stateDir).peekData(), readPalSummary(stateDir)]);
  const s = sanitize(doc);
  const at = poll && poll.outcome === 'ok' && poll.error === undefined && !Number.isNaN(Date.parse(poll.at)) ? new Date(poll.at).toISOString() : undefined;
  if (at && s.pal && (!s.pal.lastSuccess || Date.parse(at) > Date.parse(s.pal.lastSuccess))) s.pal = { ...s.pal, lastSuccess: at };
  return s;
}
