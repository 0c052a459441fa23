// Persisted TAMP state (`<stateDir>/tamp.json`, atomic writes, 0600): the apex trust anchor (RFC 5934 §1.2; kept
// here, not in the TrustAnchorStore, because only TAMP uses it), the module's community memberships (§4.7), the last
// accepted sequence number per TAMP signer trust anchor (§6, keyed by the TA key identifier), and the outbox of
// signed responses waiting to be POSTed to /tamp/return. Every change is one writeFileAtomic; a corrupt file is an
// error, never a silent reset (a reset would re-open replays).
import path from 'node:path';
import { ensurePrivateDir, readFileIfExists, removeStaleTemps, writeFileAtomic } from '../../store/atomic-file.js';
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

export class TampStateFile {
  readonly file: string;
  private queue: Promise<unknown> = Promise.resolve();
  constructor(dir: string) {
    this.file = path.join(path.resolve(dir), 'tamp.json');
  }

  async load(): Promise<TampStateDoc> {
    await removeStaleTemps(this.file);
    const raw = await readFileIfExists(this.file);
    if (!raw) return { schema: 1, communities: [], seq: {}, outbox: [] };
    let d: TampStateDoc;
    try {
      d = JSON.parse(raw.toString('utf8')) as TampStateDoc;
    } catch (e) {
      throw new TampStateError(`${this.file}: not JSON: ${(e as Error).message}`, { cause: e });
    }
    if (!d || d.schema !== 1 || !Array.isArray(d.communities) || typeof d.seq !== 'object' || !Array.isArray(d.outbox)) throw new TampStateError(`${this.file}: not a schema-1 TAMP state file`);
    return d;
  }

  /** Read-modify-write, serialized; `fn` may throw to abort without writing. */
  update<T>(fn: (d: TampStateDoc) => T): Promise<T> {
    const run = this.queue.then(async () => {
      const d = await this.load();
      const r = fn(d);
      await ensurePrivateDir(path.dirname(this.file));
      await writeFileAtomic(this.file, JSON.stringify(d, null, 2) + '\n');
      return r;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
