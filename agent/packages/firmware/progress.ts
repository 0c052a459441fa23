// Firmware download progress: bytes, rate and ETA, reported at a cadence a log can bear — at the start, then each
// time both another 10 % of the package has arrived and 30 s have passed since the last report (every 30 s when the
// size is unknown), and at the end. Each report goes to the log, to a small document in the firmware work
// directory (download-progress.json, a DocumentStore; read by `enrolld status`) and to an optional listener (the
// MQTT status snapshot).
import { DocumentStore } from '../../store/document-store.js';
import { DOWNLOAD_PROGRESS_FILE } from '../../store/layout.js';
import type { Logger } from '../../util/log.js';

export const PROGRESS_FILE = DOWNLOAD_PROGRESS_FILE;

export interface DownloadProgressReport {
  url: string;
  phase: 'downloading' | 'done' | 'failed';
  bytes: number;
  /** Expected size (Content-Length plus resumed bytes, else the PAL size); absent when unknown. */
  total?: number;
  /** Bytes reused from an interrupted download. */
  resumedFrom: number;
  /** Bytes per second over this attempt (resumed bytes excluded). */
  rate: number;
  /** Seconds left at the current rate; absent without a size or a rate. */
  etaSeconds?: number;
  startedAt: string;
  at: string;
  /** With phase 'failed': the error code. */
  error?: string;
}

export interface ProgressOptions {
  url: string;
  log?: Logger;
  /** Directory of the progress file (the firmware work directory); no file when absent. */
  dir?: string;
  onReport?: (r: DownloadProgressReport) => void;
  /** Minimum time between reports (default 30 s) and minimum advance as a fraction of the total (default 0.1). */
  intervalMs?: number;
  step?: number;
  now?: () => number;
}

export class DownloadProgress {
  private total: number | undefined;
  private resumedFrom = 0;
  private startMs = 0;
  private lastMs = 0;
  private lastBytes = 0;
  private bytes = 0;
  private write: Promise<void> = Promise.resolve();
  private store: DocumentStore<DownloadProgressReport> | undefined;
  private unwritten: DownloadProgressReport | undefined;
  private readonly now: () => number;

  constructor(private readonly o: ProgressOptions) {
    this.now = o.now ?? Date.now;
  }

  start(total: number | undefined, resumedFrom: number): void {
    this.total = total !== undefined && Number.isFinite(total) && total > 0 ? total : undefined;
    this.resumedFrom = resumedFrom;
    this.bytes = resumedFrom;
    this.startMs = this.lastMs = this.now();
    this.lastBytes = resumedFrom;
    this.report('downloading');
  }

  /** After each written chunk: reports when the cadence says so. Cheap otherwise. */
  update(bytes: number): void {
    this.bytes = bytes;
    const t = this.now();
    if (t - this.lastMs < (this.o.intervalMs ?? 30_000)) return;
    if (this.total !== undefined && bytes - this.lastBytes < (this.o.step ?? 0.1) * this.total) return;
    this.lastMs = t;
    this.lastBytes = bytes;
    this.report('downloading');
  }

  finish(bytes: number): void {
    this.bytes = bytes;
    this.report('done');
  }

  fail(code: string): void {
    this.report('failed', code);
  }

  /** Resolves once the last progress file write is done (tests, shutdown). */
  flushed(): Promise<void> {
    return this.write;
  }

  snapshot(phase: DownloadProgressReport['phase'], error?: string): DownloadProgressReport {
    const t = this.now();
    const secs = Math.max(0.001, (t - this.startMs) / 1000);
    const rate = Math.round((this.bytes - this.resumedFrom) / secs);
    const r: DownloadProgressReport = { url: this.o.url, phase, bytes: this.bytes, resumedFrom: this.resumedFrom, rate, startedAt: new Date(this.startMs).toISOString(), at: new Date(t).toISOString() };
    if (this.total !== undefined) r.total = this.total;
    if (phase === 'downloading' && this.total !== undefined && rate > 0) r.etaSeconds = Math.max(0, Math.ceil((this.total - this.bytes) / rate));
    if (error !== undefined) r.error = error;
    return r;
  }

  private report(phase: DownloadProgressReport['phase'], error?: string): void {
    const r = this.snapshot(phase, error);
    const pct = r.total ? Math.min(100, Math.floor((100 * r.bytes) / r.total)) : undefined;
    const fields = { url: r.url, bytes: r.bytes, total: r.total, percent: pct, rateBps: r.rate, etaSeconds: r.etaSeconds, resumedFrom: r.resumedFrom || undefined, code: r.error };
    if (phase === 'failed') this.o.log?.warn('firmware.download.progress', { phase, ...fields });
    else this.o.log?.info('firmware.download.progress', { phase, ...fields });
    if (this.o.dir) {
      const store = (this.store ??= progressStore(this.o.dir));
      // Only the newest report matters: a report superseded while earlier writes are still going is not written.
      const queued = this.unwritten !== undefined;
      this.unwritten = r;
      if (!queued) {
        this.write = this.write
          .then(() => {
            const next = this.unwritten!;
            this.unwritten = undefined;
            return store.save(next);
          })
          .catch((err) => this.o.log?.warn('firmware.progress-write-failed', { err }));
      }
    }
    try {
      this.o.onReport?.(r);
    } catch (err) {
      this.o.log?.warn('firmware.progress-listener-failed', { err });
    }
  }
}

const isReport = (r: unknown): r is DownloadProgressReport =>
  typeof r === 'object' && r !== null && typeof (r as DownloadProgressReport).bytes === 'number' && typeof (r as DownloadProgressReport).phase === 'string';

function progressStore(dir: string): DocumentStore<DownloadProgressReport> {
  return new DocumentStore<DownloadProgressReport>({ dir, name: DOWNLOAD_PROGRESS_FILE, kind: 'enrolld-download-progress', version: 1, validate: isReport, legacy: (j) => (isReport(j) ? j : undefined), pretty: false, previous: false });
}

/** The last progress report in `dir` (undefined when none or unreadable). Read-only: never writes. */
export function readDownloadProgress(dir: string): Promise<DownloadProgressReport | undefined> {
  return progressStore(dir).peekData();
}
