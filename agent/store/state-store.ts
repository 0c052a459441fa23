// Crash-safe persisted state (DESIGN.md "Lifecycle": every transition is one atomic state write).
//
// Files, in a private directory (0700; files 0600):
//   state.json        the current generation (see envelope.ts for the checksummed format)
//   state.json.prev   the previous good generation
//
// save(): the current file (known good) is hard-linked to a temp name which is renamed over state.json.prev, then the
// new generation is written with writeFileAtomic (temp + fsync + rename + directory fsync). At every instant both
// names hold complete documents, so a crash at any point leaves either the old or the new generation loadable.
// load(): state.json if it verifies; otherwise state.json.prev, reporting why the current file was rejected (empty,
// truncated, checksum mismatch, unsupported version, invalid data…). Neither usable → StateCorruptError (typed; no
// file is touched, so an operator can inspect both). Single writer: one daemon owns the directory.
import { link, rename } from 'node:fs/promises';
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
import { decodeEnvelope, encodeEnvelope, type Decoded, type FileProblem } from './envelope.js';
import { StateCorruptError, StoreUsageError, type FileReport } from './errors.js';

/** What the lifecycle needs (structurally the same as lifecycle/enroller's StateAccess). */
export interface StateStore<T> {
  /** The newest complete state, or undefined when nothing was ever saved. Throws StateCorruptError if no copy is usable. */
  load(): Promise<T | undefined>;
  /** Persists `data` as the next generation; returns once it is durable. */
  save(data: T): Promise<void>;
}

export interface StateStoreOptions<T> {
  /** Private directory of the store (created 0700). */
  dir: string;
  /** File name (default "state.json"); the previous copy is `<name>.prev`. */
  name?: string;
  /** Document kind recorded in the file (default "enrolld-state"). */
  kind?: string;
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
    };

export interface SaveResult {
  generation: number;
  savedAt: string;
}

export class FileStateStore<T> implements StateStore<T> {
  readonly path: string;
  readonly prevPath: string;
  private readonly o: StateStoreOptions<T>;
  private readonly kind: string;
  /** Serialises load/save (one writer, one document). */
  private queue: Promise<unknown> = Promise.resolve();
  private opened = false;
  /** Highest generation seen on disk (main or prev); the next save writes generation + 1. */
  private generation = 0;
  /** True when state.json is known to hold a verified document (so it may become .prev). */
  private mainGood = false;
  private last: LoadResult<T> | undefined;

  constructor(options: StateStoreOptions<T>) {
    if (!Number.isSafeInteger(options.version) || options.version < 1) throw new StoreUsageError(`version must be an integer >= 1`);
    const name = options.name ?? 'state.json';
    if (name.includes('/') || name.startsWith('.')) throw new StoreUsageError(`bad state file name ${JSON.stringify(name)}`);
    this.o = options;
    this.kind = options.kind ?? 'enrolld-state';
    this.path = path.join(path.resolve(options.dir), name);
    this.prevPath = `${this.path}.prev`;
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

  private serial<R>(fn: () => Promise<R>): Promise<R> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async doLoad(): Promise<LoadResult<T>> {
    await ensurePrivateDir(path.dirname(this.path));
    const removed = await removeStaleTemps(this.path);
    removed.push(...(await removeStaleTemps(this.prevPath)));
    if (removed.length) this.o.log?.warn('store.temp-removed', { file: this.path, removed: removed.join(',') });

    const main = await this.read(this.path);
    const prev = await this.read(this.prevPath);
    this.opened = true;
    this.generation = Math.max(main.ok ? main.generation : 0, prev.ok ? prev.generation : 0);
    this.mainGood = main.ok;

    let result: LoadResult<T>;
    if (main.ok) {
      result = { status: 'loaded', ...main.value, source: 'main' };
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
      throw new StateCorruptError(
        { path: this.path, problem: main.problem, detail: main.detail },
        { path: this.prevPath, problem: prev.problem, detail: prev.detail },
      );
    }
    this.last = result;
    return result;
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
    const generation = this.generation + 1;
    const savedAt = (this.o.now?.() ?? new Date()).toISOString();
    const bytes = encodeEnvelope(
      { kind: this.kind, version: this.o.version, generation, savedAt, data },
      { pretty: this.o.pretty ?? true },
    );
    if (this.mainGood) await this.rotate();
    await writeFileAtomic(this.path, bytes); // fsyncs the directory: covers the rotation's rename too
    this.generation = generation;
    this.mainGood = true;
    return { generation, savedAt };
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
