// Named binary blobs (CA certificates, CRLs, firmware packages, TPM key blobs…), each one checksummed file in a private
// directory, replaced atomically. A bundle keeps several parts in ONE file, so one rename switches all of them
// together — e.g. a credential's certificate, chain and key blobs can never be seen half old, half new.
// (The lifecycle's own credential lives inside the agent state document, which FileStateStore switches the same way.)
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { ensurePrivateDir, readFileIfExists, removeIfExists, fsyncDir, writeFileAtomic } from './atomic-file.js';
import { decodeEnvelope, encodeEnvelope } from './envelope.js';
import { BlobCorruptError, StoreUsageError } from './errors.js';
import { SerialQueue } from './serial-queue.js';

const KIND = 'enrolld-blob';
const EXT = '.blob';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const PART = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export type BlobParts = Record<string, Uint8Array>;

export interface BlobStoreOptions {
  /** Private directory (created 0700; files 0600). */
  dir: string;
  now?: () => Date;
}

interface BlobDoc {
  /** part name → base64 */
  parts: Record<string, string>;
}

export class BlobStore {
  readonly dir: string;
  private readonly now: () => Date;
  private ready: Promise<void> | undefined;
  private readonly writes = new SerialQueue();

  constructor(options: BlobStoreOptions) {
    this.dir = path.resolve(options.dir);
    this.now = options.now ?? (() => new Date());
  }

  /** Stores one blob under `name` (replacing any previous one atomically). */
  async put(name: string, bytes: Uint8Array): Promise<void> {
    await this.putBundle(name, { data: bytes });
  }

  /** The blob, or undefined if absent. Throws BlobCorruptError if the file is damaged. */
  async get(name: string): Promise<Uint8Array | undefined> {
    const parts = await this.getBundle(name);
    if (parts === undefined) return undefined;
    const data = parts.data;
    if (!data) throw new BlobCorruptError(name, { path: this.file(name), problem: 'invalid-data', detail: 'stored as a bundle without a "data" part; use getBundle' });
    return data;
  }

  /** Stores several named parts in one file: one rename switches them all. */
  async putBundle(name: string, parts: BlobParts): Promise<void> {
    const file = this.file(name);
    const doc: BlobDoc = { parts: {} };
    for (const [k, v] of Object.entries(parts)) {
      if (!PART.test(k)) throw new StoreUsageError(`bad part name ${JSON.stringify(k)}`);
      if (!(v instanceof Uint8Array)) throw new StoreUsageError(`part ${k} is not a Uint8Array`);
      doc.parts[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
    }
    return this.serial(async () => {
      await this.init();
      const current = decodeEnvelope(await readFileIfExists(file), KIND);
      const generation = current.ok ? current.envelope.generation + 1 : 1;
      const bytes = encodeEnvelope({ kind: KIND, version: 1, generation, savedAt: this.now().toISOString(), data: doc }, { pretty: false });
      await writeFileAtomic(file, bytes);
    });
  }

  /** All parts of a bundle, or undefined if absent. Throws BlobCorruptError if the file is damaged. */
  async getBundle(name: string): Promise<BlobParts | undefined> {
    const file = this.file(name);
    const d = decodeEnvelope(await readFileIfExists(file), KIND);
    if (!d.ok) {
      if (d.problem === 'missing') return undefined;
      throw new BlobCorruptError(name, { path: file, problem: d.problem, detail: d.detail });
    }
    const doc = d.envelope.data as Partial<BlobDoc>;
    if (d.envelope.version !== 1 || typeof doc !== 'object' || doc === null || typeof doc.parts !== 'object' || doc.parts === null) {
      throw new BlobCorruptError(name, { path: file, problem: 'invalid-data', detail: 'not a blob document' });
    }
    const out: BlobParts = {};
    for (const [k, v] of Object.entries(doc.parts)) {
      if (typeof v !== 'string') throw new BlobCorruptError(name, { path: file, problem: 'invalid-data', detail: `part ${k} is not base64` });
      out[k] = new Uint8Array(Buffer.from(v, 'base64'));
    }
    return out;
  }

  /** Removes a blob; returns false if it did not exist. */
  async delete(name: string): Promise<boolean> {
    const file = this.file(name);
    return this.serial(async () => {
      const removed = await removeIfExists(file);
      if (removed) await fsyncDir(this.dir);
      return removed;
    });
  }

  /** Names of stored blobs, sorted. */
  async list(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names
      .filter((n) => n.endsWith(EXT) && !n.startsWith('.'))
      .map((n) => n.slice(0, -EXT.length))
      .filter((n) => NAME.test(n))
      .sort();
  }

  private file(name: string): string {
    if (!NAME.test(name)) throw new StoreUsageError(`bad blob name ${JSON.stringify(name)}`);
    return path.join(this.dir, name + EXT);
  }

  private init(): Promise<void> {
    this.ready ??= ensurePrivateDir(this.dir).catch((err) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  private serial<R>(fn: () => Promise<R>): Promise<R> {
    return this.writes.run(fn);
  }
}
