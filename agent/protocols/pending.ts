// The one pending-transaction contract of the enrollment protocols: when the CA answers "not yet" (CMP waiting →
// pollReq, RFC 9483 §4.4; CMC pending → queryPending, RFC 5272 §6.13; ACME order processing, RFC 8555 §7.4), the
// protocol keeps what it needs to resume — keyed by the request, i.e. the SHA-256 of the CSR the lifecycle repeats
// for the same pending request — and clears it when the request is answered. The record is JSON-safe; the agent
// persists it through a DocumentStore in the state dir (store/layout.ts), so a resume survives a restart.
import { createHash } from 'node:crypto';
import { documentAt, type DocumentStore } from '../store/document-store.js';
import type { Logger } from '../util/log.js';

export interface PendingTransactions<R> {
  /** The record for this CSR, if a transaction for it is waiting at the CA. */
  get(csr: Uint8Array): R | undefined;
  /** Records (or replaces) the waiting transaction of this CSR; durable when the promise resolves. */
  put(csr: Uint8Array, record: R): Promise<void>;
  /** The CSR's transaction is answered (issued, or given up): forget it; durable when the promise resolves. */
  clear(csr: Uint8Array): Promise<void>;
  /** Every waiting transaction, by request id (hex SHA-256 of the CSR). */
  all(): Record<string, R>;
}

/** The request id of a CSR: hex SHA-256 of its DER. */
export function pendingId(csr: Uint8Array): string {
  return createHash('sha256').update(csr).digest('hex');
}

/** Kept in memory only (tests; a protocol without a state dir). */
export class MemoryPendingTransactions<R> implements PendingTransactions<R> {
  protected readonly records: Map<string, R>;
  constructor(initial: Record<string, R> = {}) {
    this.records = new Map(Object.entries(initial));
  }
  get(csr: Uint8Array): R | undefined {
    return this.records.get(pendingId(csr));
  }
  async put(csr: Uint8Array, record: R): Promise<void> {
    this.records.set(pendingId(csr), record);
  }
  async clear(csr: Uint8Array): Promise<void> {
    this.records.delete(pendingId(csr));
  }
  all(): Record<string, R> {
    return Object.fromEntries(this.records);
  }
}

/** Persisted in a DocumentStore (one document per protocol, all its waiting transactions); loaded once by open(). */
export class StoredPendingTransactions<R> extends MemoryPendingTransactions<R> {
  private constructor(
    private readonly store: DocumentStore<Record<string, R>>,
    initial: Record<string, R>,
  ) {
    super(initial);
  }

  /**
   * Opens the pending document at `file`; `isRecord` checks each record. The bare JSON object of earlier releases
   * (`{ <id>: record }`) is converted once.
   */
  static async open<R>(file: string, kind: string, isRecord: (r: unknown) => r is R, log?: Logger): Promise<StoredPendingTransactions<R>> {
    const isDoc = (d: unknown): d is Record<string, R> => typeof d === 'object' && d !== null && !Array.isArray(d) && Object.values(d).every(isRecord);
    const store = documentAt<Record<string, R>>(file, { kind, version: 1, validate: isDoc, legacy: (j) => (isDoc(j) ? j : undefined), ...(log ? { log } : {}) });
    return new StoredPendingTransactions(store, (await store.load()) ?? {});
  }

  override async put(csr: Uint8Array, record: R): Promise<void> {
    await super.put(csr, record);
    await this.store.save(this.all());
  }

  override async clear(csr: Uint8Array): Promise<void> {
    if (!this.records.has(pendingId(csr))) return;
    await super.clear(csr);
    await this.store.save(this.all());
  }
}
