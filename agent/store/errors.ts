import { EnrolldError } from '../util/errors.js';
import type { FileProblem } from './envelope.js';

export interface FileReport {
  path: string;
  problem: FileProblem;
  detail: string;
}

/** Neither the current file nor its previous copy holds a usable document. Nothing was modified. */
export class StateCorruptError extends EnrolldError {
  readonly main: FileReport;
  readonly prev: FileReport;
  constructor(main: FileReport, prev: FileReport, options?: { cause?: unknown }) {
    super(
      'store.corrupt',
      `no usable state: ${main.path}: ${main.problem} (${main.detail}); ${prev.path}: ${prev.problem} (${prev.detail})`,
      options,
    );
    this.main = main;
    this.prev = prev;
  }
}

/** A stored blob exists but is damaged (truncated, checksum mismatch…). */
export class BlobCorruptError extends EnrolldError {
  readonly report: FileReport;
  constructor(name: string, report: FileReport) {
    super('store.blob-corrupt', `blob ${JSON.stringify(name)} is unusable: ${report.problem} (${report.detail})`);
    this.report = report;
  }
}

/** Caller error: invalid data or name handed to a store (nothing was written). */
export class StoreUsageError extends EnrolldError {
  constructor(message: string) {
    super('store.usage', message);
  }
}
