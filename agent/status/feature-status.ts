// Per-feature outcome record in the state dir (feature-status.json, a DocumentStore): the last success,
// the last error and failure counts by error code, for each of enroll, pal, firmware. `enrolld status` shows the
// last error per feature from it; the metrics textfile exports the last success and the failures by kind.
// Recording never throws into the caller and never blocks it: writes are chained and errors only logged.
import { DocumentStore } from '../store/document-store.js';
import { FEATURE_STATUS_FILE } from '../store/layout.js';
import type { Logger } from '../util/log.js';

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
  private readonly store: DocumentStore<FeatureStatus>;
  readonly file: string;

  constructor(stateDir: string, private readonly log?: Logger) {
    this.store = featureStatusStore(stateDir, log);
    this.file = this.store.path;
  }

  success(feature: Feature, at: Date | string): void {
    this.update((s) => {
      const r = (s[feature] ??= { failures: {} });
      r.lastSuccess = new Date(at).toISOString();
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

  /** Resolves when every recorded outcome so far is on disk (or its write failed and was logged). */
  flushed(): Promise<void> {
    return this.chain;
  }

  private update(fn: (s: FeatureStatus) => void): void {
    this.chain = this.chain
      .then(async () => {
        // A damaged record (both copies) starts over: it is a status aid, not a guard.
        this.current ??= await this.store.load().then((s) => sanitize(s), () => ({}));
        fn(this.current);
        await this.store.save(this.current);
      })
      .catch((err) => this.log?.warn('status.feature-status-write-failed', { err }));
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

/** The recorded outcomes ({} when none or unreadable: a damaged file never blocks `enrolld status`). Read-only. */
export async function readFeatureStatus(stateDir: string): Promise<FeatureStatus> {
  return sanitize(await featureStatusStore(stateDir).peekData());
}
