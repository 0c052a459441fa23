// Persisted TAMP state (`<stateDir>/tamp.json`, a DocumentStore: checksummed, previous-good copy, atomic, 0600): the
// apex trust anchor (RFC 5934 §1.2; kept here, not in the TrustAnchorStore, because only TAMP uses it), the module's
// community memberships (§4.7), the last accepted sequence number per TAMP signer trust anchor (§6, keyed by the TA
// key identifier), and the outbox of signed responses waiting to be POSTed to /tamp/return. Every change is one
// save; a torn or damaged file falls back to the previous good copy, and when neither is usable it is an error,
// never a silent reset (a reset would re-open replays).
import { DocumentStore } from '../../store/document-store.js';
import { StateCorruptError } from '../../store/errors.js';
import { TAMP_FILE } from '../../store/layout.js';
import { EnrolldError } from '../../util/errors.js';

export interface TampOutboxItem {
  /** Content type OID of the signed response (confirm, status response or error). */
  contentType: string;
  /** base64 DER ContentInfo(SignedData). */
  der: string;
  /** Request content type it answers (for logs and the odd PAL types). */
  answers: string;
}

export interface TampStateDoc {
  schema: 1;
  /** base64 DER TrustAnchorChoice of the apex TA, when one is installed. */
  apex?: string;
  communities: string[];
  /** hex key identifier → decimal sequence number. */
  seq: Record<string, string>;
  outbox: TampOutboxItem[];
}

export class TampStateError extends EnrolldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('tamp.state', message, options);
  }
}

const isTampStateDoc = (d: unknown): d is TampStateDoc => {
  const x = d as TampStateDoc;
  return typeof x === 'object' && x !== null && x.schema === 1 && Array.isArray(x.communities) && typeof x.seq === 'object' && x.seq !== null && Array.isArray(x.outbox);
};

const empty = (): TampStateDoc => ({ schema: 1, communities: [], seq: {}, outbox: [] });

export class TampStateFile {
  readonly file: string;
  private readonly store: DocumentStore<TampStateDoc>;
  constructor(dir: string) {
    // The schema-1 file of earlier versions (bare JSON) is the legacy format: converted once on the first load.
    this.store = new DocumentStore<TampStateDoc>({ dir, name: TAMP_FILE, kind: 'enrolld-tamp', version: 1, validate: isTampStateDoc, legacy: (j) => (isTampStateDoc(j) ? j : undefined) });
    this.file = this.store.path;
  }

  async load(): Promise<TampStateDoc> {
    try {
      return (await this.store.load()) ?? empty();
    } catch (e) {
      throw this.wrap(e);
    }
  }

  /** Read-modify-write, serialized; `fn` may throw to abort without writing. */
  async update<T>(fn: (d: TampStateDoc) => T): Promise<T> {
    let r!: T;
    try {
      await this.store.update((cur) => {
        const d = cur ?? empty();
        r = fn(d);
        return d;
      });
    } catch (e) {
      throw this.wrap(e);
    }
    return r;
  }

  private wrap(e: unknown): unknown {
    return e instanceof StateCorruptError ? new TampStateError(`${this.file}: ${e.message}`, { cause: e }) : e;
  }
}
