// One versioned, checksummed document in a private directory, with its previous good copy: the store every state
// file of the agent goes through (agent/store/layout.ts names them all).
//
// Files (directory 0700; files 0600):
//   <name>        the current generation (see envelope.ts for the checksummed format)
//   <name>.prev   the previous good generation
//
// save(): the current file (known good) is hard-linked to a temp name which is renamed over <name>.prev, then the
// new generation is written with writeFileAtomic (temp + fsync + rename + directory fsync). At every instant both
// names hold complete documents, so a crash at any point leaves either the old or the new generation loadable.
// load(): <name> if it verifies; otherwise <name>.prev, reporting why the current file was rejected (empty,
// truncated, checksum mismatch, unsupported version, invalid data…). Neither usable → StateCorruptError (typed; no
// file is touched, so an operator can inspect both) — never "empty", which for anti-replay or anti-downgrade state
// would re-open what it guards. Single writer: one daemon owns the directory; peek() is the read-only view for
// other processes (`enrolld status`).
// In memory: the owner keeps the document it last loaded from or wrote to <name>, with that file's identity (dev,
// inode, size, mtime, ctime). A load while the file still has that identity returns the kept document (a fresh copy)
// without reading or sweeping; a save of data identical to what this instance last wrote there is skipped (already
// durable). Any other change to the file (hand edit, damage, removal) changes its identity: the next load reads both
// copies again. A new process always reads from disk, so recovery after a crash is unchanged.
// Migration from a file written before the store existed (bare JSON, no envelope): `legacy` converts it, once, on
// the first load; the converted document is written in the store format at once.
import { link, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../util/log.js';
import {
  ensurePrivateDir,
  readFileIfExists,
  removeIfExists,
  removeStaleTemps,
  tempPathFor,
  writeFileAtomic,
} from './atomic-file.js';
import { PREV_SUFFIX } from './layout.js';
import { SerialQueue } from './serial-queue.js';
import { decodeEnvelope, encodeEnvelope, type Decoded, type FileProblem } from './envelope.js';
import { StateCorruptError, StoreUsageError, type FileReport } from './errors.js';

/** What the lifecycle needs (structurally the same as lifecycle/enroller's StateAccess). */
export interface StateStore<T> {
  /** The newest complete state, or undefined when nothing was ever saved. Throws StateCorruptError if no copy is usable. */
  load(): Promise<T | undefined>;
  /** Persists `data` as the next generation; returns once it is durable. */
  save(data: T): Promise<void>;
}

export interface DocumentStoreOptions<T> {
  /** Private directory of the store (created 0700). */
  dir: string;
  /** File name (agent/store/layout.ts); the previous copy is `<name>.prev`. */
  name: string;
  /** Document kind recorded in the file: a file of another kind is never accepted. */
  kind: string;
  /** Current schema version of `data` (>= 1). */
  version: number;
  /** Structural check applied to loaded (and migrated) data and to data before it is saved. */
  validate?: (data: unknown) => data is T;
  /**
   * Upgrades data written with an older schema version (`from` < version) to the current one. Called on load; the
   * upgraded data is written with the current version on the next save (the old file then becomes the .prev copy).
   * Without a hook, an older version is treated as unusable like a newer one.
   */
  migrate?: (data: unknown, from: number) => T;
  /** Time source for savedAt (default: system clock). */
  now?: () => Date;
  /** Receives store.recovered / store.temp-removed warnings. */
  log?: Logger;
  /** Indent the data in the file (default true: an operator may read it). */
  pretty?: boolean;
  /**
   * Converts the content of a file in the format used before this store (bare JSON, parsed) to the current data, or
   * returns undefined when it is not such a file. Only tried when the current file is not a store document and no
   * .prev copy exists (after the first save in the store format, a non-envelope file is damage, not a legacy file).
   * It may throw to say why a file of that format is unusable: the error becomes the StateCorruptError's cause.
   */
  legacy?: (json: unknown) => T | undefined;
  /**
   * Keep the previous generation as `<name>.prev` (default true). Off only for status aids rewritten at a high rate
   * whose loss means "unknown" (download progress, last poll, next run): they stay checksummed, a damaged one is
   * reported and not used. Never off for a document that guards anything.
   */
  previous?: boolean;
}

export type LoadSource = 'main' | 'prev';

export type LoadResult<T> =
  | { status: 'fresh' }
  | {
      status: 'loaded';
      data: T;
      generation: number;
      savedAt: string;
      /** Schema version found in the file (before migration). */
      version: number;
      source: LoadSource;
      /** Set when the current file was unusable and the previous copy was used. */
      recovered?: FileReport;
      /** Set when data was migrated from this older version. */
      migratedFrom?: number;
      /** Set when the file was in the pre-store format (bare JSON) and was converted. */
      legacy?: true;
    };

export interface SaveResult {
  generation: number;
  savedAt: string;
}

export class DocumentStore<T> implements StateStore<T> {
  readonly path: string;
  readonly prevPath: string;
  readonly name: string;
  private readonly o: DocumentStoreOptions<T>;
  private readonly kind: string;
  /** Serialises load/save (one writer, one document). */
  private readonly queue = new SerialQueue();
  private opened = false;
  /** Highest generation seen on disk (main or prev); the next save writes generation + 1. */
  private generation = 0;
  /** True when state.json is known to hold a verified document (so it may become .prev). */
  private mainGood = false;
  private last: LoadResult<T> | undefined;
  /** The document <name> holds as this instance last read or wrote it, while the file keeps that identity. */
  private kept: Kept<T> | undefined;

  constructor(options: DocumentStoreOptions<T>) {
    if (!Number.isSafeInteger(options.version) || options.version < 1) throw new StoreUsageError(`version must be an integer >= 1`);
    const name = options.name;
    if (!name || name.includes('/') || name.startsWith('.')) throw new StoreUsageError(`bad state file name ${JSON.stringify(name)}`);
    this.o = options;
    this.name = name;
    this.kind = options.kind;
    this.path = path.join(path.resolve(options.dir), name);
    this.prevPath = this.path + PREV_SUFFIX;
  }

  /** The result of the last load (for `enrolld status`), if any. */
  get lastLoad(): LoadResult<T> | undefined {
    return this.last;
  }

  async load(): Promise<T | undefined> {
    const r = await this.loadDetailed();
    return r.status === 'loaded' ? r.data : undefined;
  }

  async save(data: T): Promise<void> {
    await this.saveDetailed(data);
  }

  /** Loads the newest usable generation, telling where it came from. */
  loadDetailed(): Promise<LoadResult<T>> {
    return this.serial(() => this.doLoad());
  }

  /** Saves `data` as the next generation. */
  saveDetailed(data: T): Promise<SaveResult> {
    return this.serial(() => this.doSave(data));
  }

  /**
   * Read-modify-write, serialised with every other load/save of this instance: `fn` gets the newest usable document
   * (undefined when none was ever saved) and returns the next one, which is saved before the promise resolves. `fn`
   * may throw to abort without writing. Both copies unusable → StateCorruptError, nothing written.
   */
  update(fn: (current: T | undefined) => T | Promise<T>): Promise<T> {
    return this.serial(async () => {
      const r = await this.doLoad(false);
      const next = await fn(r.status === 'loaded' ? r.data : undefined);
      await this.doSave(next);
      return next;
    });
  }

  /**
   * The newest usable document without writing anything (no temp sweep, no legacy conversion on disk, no directory
   * creation): for readers in another process than the owner, such as `enrolld status`.
   */
  peek(): Promise<LoadResult<T>> {
    return this.doLoad(true);
  }

  /** peek()'s data, or undefined when there is none or no copy is usable (status displays: never throws). */
  async peekData(): Promise<T | undefined> {
    try {
      const r = await this.peek();
      return r.status === 'loaded' ? r.data : undefined;
    } catch {
      return undefined;
    }
  }

  private serial<R>(fn: () => Promise<R>): Promise<R> {
    return this.queue.run(fn);
  }

  private async doLoad(readOnly = false): Promise<LoadResult<T>> {
    if (!readOnly && this.opened && this.kept) {
      const k = this.kept;
      if (sameFile(k.id, await fileId(this.path))) {
        const result: LoadResult<T> = { ...k.result, data: JSON.parse(k.json) as T };
        this.last = result;
        return result;
      }
      this.kept = undefined;
    }
    if (!readOnly) {
      await ensurePrivateDir(path.dirname(this.path));
      const removed = await removeStaleTemps(this.path);
      removed.push(...(await removeStaleTemps(this.prevPath)));
      if (removed.length) this.o.log?.warn('store.temp-removed', { file: this.path, removed: removed.join(',') });
    }

    const main = await this.read(this.path);
    const prev = await this.read(this.prevPath);
    if (!readOnly) {
      this.opened = true;
      this.generation = Math.max(main.ok ? main.generation : 0, prev.ok ? prev.generation : 0);
      this.mainGood = main.ok;
    }

    let result: LoadResult<T>;
    const legacyCandidate = !main.ok && (main.problem === 'malformed' || main.problem === 'truncated') && !prev.ok && prev.problem === 'missing';
    const legacyRead = legacyCandidate ? await this.readLegacy() : undefined;
    const legacy = legacyRead && 'data' in legacyRead ? legacyRead : undefined;
    if (main.ok) {
      result = { status: 'loaded', ...main.value, source: 'main' };
    } else if (legacy) {
      // The pre-store format, converted once: written at once in the store format, current and previous copy.
      const savedAt = (this.o.now?.() ?? new Date()).toISOString();
      result = { status: 'loaded', data: legacy.data, generation: 1, savedAt, version: this.o.version, source: 'main', legacy: true };
      if (!readOnly) {
        // Two separate files (not a hard link): damage to one inode must leave the other copy intact.
        if (this.o.previous !== false) await writeFileAtomic(this.prevPath, this.encode(legacy.data, 1, savedAt), { syncDir: false });
        await this.writeGeneration(legacy.data, 1, savedAt);
        this.o.log?.info('store.migrated', { file: this.path, from: 'bare JSON' });
      }
    } else if (prev.ok) {
      const recovered: FileReport = { path: this.path, problem: main.problem, detail: main.detail };
      result = { status: 'loaded', ...prev.value, source: 'prev', recovered };
      this.o.log?.warn('store.recovered', {
        file: this.path,
        problem: main.problem,
        detail: main.detail,
        from: this.prevPath,
        generation: prev.generation,
      });
    } else if (main.problem === 'missing' && prev.problem === 'missing') {
      result = { status: 'fresh' };
    } else {
      const refused = legacyRead && 'refused' in legacyRead ? legacyRead.refused : undefined;
      const detail = this.o.legacy && legacyCandidate ? `${main.detail}; not a legacy document either${refused ? ` (${(refused as Error).message})` : ''}` : main.detail;
      throw new StateCorruptError(
        { path: this.path, problem: main.problem, detail },
        { path: this.prevPath, problem: prev.problem, detail: prev.detail },
        refused === undefined ? undefined : { cause: refused },
      );
    }
    if (!readOnly) {
      this.last = result;
      if (result.status === 'loaded' && result.source === 'main' && !result.legacy) {
        const { data, ...rest } = result;
        await this.keep(data, rest, false);
      }
    }
    return result;
  }

  /** Remembers `data` as what <name> holds now (see the header: the in-memory copy). */
  private async keep(data: T, result: Kept<T>['result'], written: boolean): Promise<void> {
    const id = await fileId(this.path);
    this.kept = id ? { json: JSON.stringify(data), id, result, written } : undefined;
  }

  /** The current file as a document of the pre-store format (bare JSON), if `legacy` accepts it; or why it refused it. */
  private async readLegacy(): Promise<{ data: T } | { refused: unknown } | undefined> {
    if (!this.o.legacy) return undefined;
    let bytes: Buffer | undefined;
    try {
      bytes = await readFileIfExists(this.path);
    } catch {
      return undefined;
    }
    // A store document whose header is damaged is damage, not a legacy file.
    if (!bytes || bytes.subarray(0, 12).toString('latin1') === '{"checksum":') return undefined;
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      return undefined;
    }
    let data: T | undefined;
    try {
      data = this.o.legacy(json);
    } catch (err) {
      return { refused: err };
    }
    if (data === undefined || (this.o.validate && !this.o.validate(data))) return undefined;
    return { data };
  }

  private async doSave(data: T): Promise<SaveResult> {
    if (this.o.validate && !this.o.validate(data)) throw new StoreUsageError('refusing to save data that fails validation');
    if (!this.opened) {
      try {
        await this.doLoad();
      } catch (err) {
        // Both copies unusable and the caller chose to write a fresh state: allowed; the damaged current file is not
        // rotated into .prev (mainGood stays false), so the damaged .prev is replaced by the next save.
        if (!(err instanceof StateCorruptError)) throw err;
      }
    }
    const k = this.kept;
    if (k?.written && k.json === JSON.stringify(data) && sameFile(k.id, await fileId(this.path))) {
      // Byte-identical to the generation this instance wrote, which is still the current file: already durable.
      return { generation: k.result.generation, savedAt: k.result.savedAt };
    }
    this.kept = undefined;
    const generation = this.generation + 1;
    const savedAt = (this.o.now?.() ?? new Date()).toISOString();
    if (this.mainGood && this.o.previous !== false) await this.rotate();
    await this.writeGeneration(data, generation, savedAt);
    return { generation, savedAt };
  }

  private encode(data: T, generation: number, savedAt: string): Buffer {
    return encodeEnvelope({ kind: this.kind, version: this.o.version, generation, savedAt, data }, { pretty: this.o.pretty ?? true });
  }

  private async writeGeneration(data: T, generation: number, savedAt: string): Promise<void> {
    const bytes = this.encode(data, generation, savedAt);
    this.kept = undefined;
    await writeFileAtomic(this.path, bytes); // fsyncs the directory: covers the rotation's rename too
    this.generation = generation;
    this.mainGood = true;
    await this.keep(data, { status: 'loaded', generation, savedAt, version: this.o.version, source: 'main' }, true);
  }

  /** state.json → state.json.prev without ever leaving either name incomplete: link to a temp name, rename over .prev. */
  private async rotate(): Promise<void> {
    const tmp = tempPathFor(this.prevPath);
    try {
      await link(this.path, tmp);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return; // current file vanished (removed by hand): nothing to keep
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV' && code !== 'EMLINK') throw err;
      // File system without hard links: copy the verified bytes instead.
      const bytes = await readFileIfExists(this.path);
      if (bytes && decodeEnvelope(bytes, this.kind).ok) await writeFileAtomic(this.prevPath, bytes, { syncDir: false });
      return;
    }
    try {
      await rename(tmp, this.prevPath);
    } finally {
      // rename() of two links to the same inode (a crash right after a previous rotation) succeeds without removing tmp.
      await removeIfExists(tmp);
    }
  }

  private async read(
    file: string,
  ): Promise<
    | { ok: true; generation: number; value: { data: T; generation: number; savedAt: string; version: number; migratedFrom?: number } }
    | { ok: false; problem: FileProblem; detail: string }
  > {
    let bytes: Buffer | undefined;
    try {
      bytes = await readFileIfExists(file);
    } catch (err) {
      return { ok: false, problem: 'unreadable', detail: (err as Error).message };
    }
    const d: Decoded<unknown> = decodeEnvelope(bytes, this.kind);
    if (!d.ok) return d;
    const env = d.envelope;
    let data: unknown = env.data;
    let migratedFrom: number | undefined;
    if (env.version > this.o.version) {
      return { ok: false, problem: 'unsupported-version', detail: `version ${env.version} is newer than supported ${this.o.version}` };
    }
    if (env.version < this.o.version) {
      if (!this.o.migrate) {
        return { ok: false, problem: 'unsupported-version', detail: `version ${env.version} is older than ${this.o.version} and no migration exists` };
      }
      try {
        data = this.o.migrate(data, env.version);
      } catch (err) {
        return { ok: false, problem: 'invalid-data', detail: `migration from version ${env.version} failed: ${(err as Error).message}` };
      }
      migratedFrom = env.version;
    }
    if (this.o.validate && !this.o.validate(data)) {
      return { ok: false, problem: 'invalid-data', detail: 'content fails validation' };
    }
    const value = { data: data as T, generation: env.generation, savedAt: env.savedAt, version: env.version };
    return { ok: true, generation: env.generation, value: migratedFrom === undefined ? value : { ...value, migratedFrom } };
  }
}

interface FileId {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

interface Kept<T> {
  /** JSON of the data (each load parses a fresh copy: callers may mutate what they get). */
  json: string;
  id: FileId;
  result: Omit<Extract<LoadResult<T>, { status: 'loaded' }>, 'data'>;
  /** Written by this instance (fsync'd), not only read. */
  written: boolean;
}

async function fileId(file: string): Promise<FileId | undefined> {
  try {
    const s = await stat(file, { bigint: true });
    return { dev: s.dev, ino: s.ino, size: s.size, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs };
  } catch {
    return undefined;
  }
}

const sameFile = (a: FileId, b: FileId | undefined): boolean =>
  b !== undefined && a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;

/** A DocumentStore for the file at `file` (its directory is the store's private directory). */
export function documentAt<T>(file: string, options: Omit<DocumentStoreOptions<T>, 'dir' | 'name'>): DocumentStore<T> {
  return new DocumentStore<T>({ ...options, dir: path.dirname(file), name: path.basename(file) });
}

/**
 * A DocumentStore whose data is checked by `check`, which throws a typed error naming what is wrong: the check is the
 * store's validation, and it decides whether a file of the pre-store format (bare JSON, same shape) is converted.
 * Load it with loadChecked().
 */
export function checkedDocumentAt<T>(
  file: string,
  check: (data: unknown) => void,
  options: Omit<DocumentStoreOptions<T>, 'dir' | 'name' | 'validate' | 'legacy'>,
): DocumentStore<T> {
  const validate = (d: unknown): d is T => {
    try {
      check(d);
      return true;
    } catch {
      return false;
    }
  };
  return documentAt<T>(file, { ...options, validate, legacy: (j) => (check(j), j as T) });
}

/**
 * load() of a checkedDocumentAt store, where "no copy usable" becomes the caller's typed error: the check's own
 * error when it refused a bare-JSON file (`own`), else `corrupt(message, cause)`.
 */
export async function loadChecked<T>(store: DocumentStore<T>, own: (e: unknown) => boolean, corrupt: (message: string, cause: unknown) => Error): Promise<T | undefined> {
  try {
    return await store.load();
  } catch (e) {
    if (!(e instanceof StateCorruptError)) throw e;
    if (own(e.cause)) throw e.cause;
    throw corrupt(e.message, e);
  }
}

/** What a CheckedDocument needs: the document's kind and version, its check, and the owner's typed error. */
export interface CheckedDocumentOptions {
  kind: string;
  version: number;
  now?: (() => Date) | undefined;
  log?: Logger | undefined;
  /** Throws the owner's typed error naming what is wrong with `data` (read from `file`). */
  check: (data: unknown, file: string) => void;
  /** The owner's error class: thrown by `check` (passed through as it is), and made with reason "corrupt" when no copy is usable. */
  error: new (reason: string, message: string, options?: { cause?: unknown }) => Error;
}

/**
 * A checkedDocumentAt store at an absolute path, loaded with loadChecked, whose operations run one at a time: the
 * part the trust-anchor and CRL stores share.
 */
export class CheckedDocument<T> {
  readonly file: string;
  private readonly store: DocumentStore<T>;
  private readonly queue = new SerialQueue();

  constructor(file: string, private readonly o: CheckedDocumentOptions) {
    const abs = path.resolve(file);
    this.file = abs;
    this.store = checkedDocumentAt<T>(abs, (d) => o.check(d, abs), {
      kind: o.kind,
      version: o.version,
      ...(o.now ? { now: o.now } : {}),
      ...(o.log ? { log: o.log } : {}),
    });
  }

  /** The data (undefined when no file exists); both copies unusable → the owner's error. */
  load(): Promise<T | undefined> {
    const E = this.o.error;
    return loadChecked(this.store, (e) => e instanceof E, (message, cause) => new E('corrupt', message, { cause }));
  }

  /** Loads in turn with the other operations and hands the data to `apply` (an owner's in-memory copy). */
  reload(apply: (data: T | undefined) => void): Promise<void> {
    return this.serial(async () => apply(await this.load()));
  }

  save(data: T): Promise<void> {
    return this.store.save(data);
  }

  /** Runs `fn` after every earlier operation finished (one writer at a time). */
  serial<R>(fn: () => Promise<R>): Promise<R> {
    return this.queue.run(fn);
  }
}
