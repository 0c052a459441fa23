// FileStateStore: round trip, file modes, generations and the .prev copy, recovery from every kind of damage to the
// current file, a typed error when both copies are unusable, migration hook, stale temp files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileStateStore, StateCorruptError, StoreUsageError, decodeEnvelope, encodeEnvelope, writeFileAtomic, type LoadResult } from '../../agent/store/index.js';
import { memoryLogger } from '../../agent/util/log.js';

interface Doc {
  phase: string;
  n: number;
  note?: string;
}
const isDoc = (d: unknown): d is Doc =>
  typeof d === 'object' && d !== null && typeof (d as Doc).phase === 'string' && typeof (d as Doc).n === 'number';

const root = mkdtempSync(path.join(tmpdir(), 'enrolld-store-'));
let seq = 0;
const newDir = (): string => path.join(root, `s${++seq}`, 'state'); // a directory the store has to create
const fixedNow = () => new Date('2025-03-01T12:00:00.000Z');
const open = (dir: string, extra: Partial<ConstructorParameters<typeof FileStateStore<Doc>>[0]> = {}) =>
  new FileStateStore<Doc>({ dir, version: 1, validate: isDoc, now: fixedNow, ...extra });
const mode = (p: string): number => statSync(p).mode & 0o777;
const loaded = <T>(r: LoadResult<T>) => {
  assert.is(r.status, 'loaded');
  return r as Extract<LoadResult<T>, { status: 'loaded' }>;
};

test.after(() => rmSync(root, { recursive: true, force: true }));

test('fresh directory: load → undefined, directory created 0700', async () => {
  const dir = newDir();
  const s = open(dir);
  assert.is(await s.load(), undefined);
  assert.equal(await s.loadDetailed(), { status: 'fresh' });
  assert.is(mode(dir), 0o700);
  assert.equal(readdirSync(dir), []);
});

test('round trip through a new instance; files 0600; generations count up; .prev holds the previous one', async () => {
  const dir = newDir();
  const s = open(dir);
  await s.save({ phase: 'bootstrapped', n: 1 });
  assert.is(mode(s.path), 0o600);
  assert.equal(readdirSync(dir).sort(), ['state.json']);
  await s.save({ phase: 'enrolling', n: 2, note: 'ünïcödé ✓' });
  assert.is(mode(s.prevPath), 0o600);
  assert.equal(readdirSync(dir).sort(), ['state.json', 'state.json.prev']); // no temp files left

  const r = loaded(await open(dir).loadDetailed());
  assert.equal(r.data, { phase: 'enrolling', n: 2, note: 'ünïcödé ✓' });
  assert.is(r.generation, 2);
  assert.is(r.source, 'main');
  assert.is(r.savedAt, '2025-03-01T12:00:00.000Z');
  assert.is(r.recovered, undefined);
  const prev = decodeEnvelope(readFileSync(s.prevPath), 'enrolld-state');
  assert.ok(prev.ok && prev.envelope.generation === 1);
  assert.equal(prev.ok && prev.envelope.data, { phase: 'bootstrapped', n: 1 });
  // The file is one JSON document an operator can read.
  const doc = JSON.parse(readFileSync(s.path, 'utf8'));
  assert.is(doc.version, 1);
  assert.is(doc.generation, 2);
  assert.match(doc.checksum, /^sha256:[0-9a-f]{64}$/);

  // A reopened store continues the generation count.
  const s2 = open(dir);
  await s2.save({ phase: 'enrolled', n: 3 });
  assert.is(loaded(await s2.loadDetailed()).generation, 3);
});

test('the directory is tightened to 0700 and the file mode stays 0600 under a permissive umask', async () => {
  const dir = newDir();
  const s = open(dir);
  await s.load();
  chmodSync(dir, 0o755);
  const old = process.umask(0o000);
  try {
    await open(dir).save({ phase: 'x', n: 1 });
  } finally {
    process.umask(old);
  }
  assert.is(mode(dir), 0o700);
  assert.is(mode(s.path), 0o600);
});

async function twoGenerations(): Promise<FileStateStore<Doc>> {
  const s = open(newDir());
  await s.save({ phase: 'enrolled', n: 1 });
  await s.save({ phase: 'renewing', n: 2 });
  return s;
}

const damage: Array<[string, (file: string) => void, string]> = [
  ['empty', (f) => writeFileSync(f, ''), 'empty'],
  ['zero-filled (ext4 after power loss)', (f) => writeFileSync(f, Buffer.alloc(statSync(f).size)), 'empty'],
  ['truncated in the body', (f) => truncateSync(f, statSync(f).size - 7), 'truncated'],
  ['truncated in the header', (f) => truncateSync(f, 20), 'truncated'],
  [
    'one flipped byte',
    (f) => {
      const b = readFileSync(f);
      const i = b.indexOf('renewing');
      b[i] = 'R'.charCodeAt(0);
      writeFileSync(f, b);
    },
    'checksum-mismatch',
  ],
  ['not a store file', (f) => writeFileSync(f, '{"phase":"enrolled","n":9}\n'), 'malformed'],
  ['deleted', (f) => rmSync(f), 'missing'],
];

for (const [what, hurt, problem] of damage) {
  test(`current file ${what} → previous generation, reported as ${problem}`, async () => {
    const s = await twoGenerations();
    hurt(s.path);
    const log = memoryLogger();
    const r2 = open(path.dirname(s.path), { log });
    const r = loaded(await r2.loadDetailed());
    assert.equal(r.data, { phase: 'enrolled', n: 1 });
    assert.is(r.generation, 1);
    assert.is(r.source, 'prev');
    assert.is(r.recovered?.problem, problem);
    assert.is(r.recovered?.path, s.path);
    assert.ok(log.lines.some((l) => l.includes('store.recovered') && l.includes(problem)));
    // The next save replaces the damaged file (continuing from the recovered generation); the good .prev stays.
    await r2.save({ phase: 'renewing', n: 3 });
    const after = loaded(await open(path.dirname(s.path)).loadDetailed());
    assert.is(after.source, 'main');
    assert.is(after.generation, 2);
    assert.equal(after.data, { phase: 'renewing', n: 3 });
    const prev = decodeEnvelope(readFileSync(s.prevPath), 'enrolld-state');
    assert.ok(prev.ok && prev.envelope.generation === 1);
  });
}

test('data failing validation, or from a newer version, is not used: falls back to .prev', async () => {
  let s = await twoGenerations();
  await writeFileAtomic(s.path, encodeEnvelope({ kind: 'enrolld-state', version: 1, generation: 2, savedAt: 'x', data: { phase: 7 } }));
  let r = loaded(await open(path.dirname(s.path)).loadDetailed());
  assert.is(r.recovered?.problem, 'invalid-data');
  assert.is(r.generation, 1);

  s = await twoGenerations();
  await writeFileAtomic(s.path, encodeEnvelope({ kind: 'enrolld-state', version: 2, generation: 2, savedAt: 'x', data: { phase: 'a', n: 1 } }));
  r = loaded(await open(path.dirname(s.path)).loadDetailed());
  assert.is(r.recovered?.problem, 'unsupported-version');

  s = await twoGenerations();
  await writeFileAtomic(s.path, encodeEnvelope({ kind: 'enrolld-blob', version: 1, generation: 2, savedAt: 'x', data: { phase: 'a', n: 1 } }));
  r = loaded(await open(path.dirname(s.path)).loadDetailed());
  assert.is(r.recovered?.problem, 'wrong-kind');
});

test('both copies unusable → StateCorruptError naming both problems; nothing is modified', async () => {
  const s = await twoGenerations();
  truncateSync(s.path, 30);
  writeFileSync(s.prevPath, 'garbage');
  const before = [readFileSync(s.path), readFileSync(s.prevPath)];
  const r = open(path.dirname(s.path));
  try {
    await r.load();
    assert.unreachable('load should fail');
  } catch (err) {
    assert.instance(err, StateCorruptError);
    const e = err as StateCorruptError;
    assert.is(e.code, 'store.corrupt');
    assert.is(e.main.problem, 'truncated');
    assert.is(e.prev.problem, 'truncated');
    assert.match(e.message, 'state.json.prev');
  }
  assert.ok(readFileSync(s.path).equals(before[0]!));
  assert.ok(readFileSync(s.prevPath).equals(before[1]!));
  // An explicit fresh start is still possible: save writes a new generation and does not keep the damaged file.
  await r.save({ phase: 'unprovisioned', n: 0 });
  const fresh = loaded(await open(path.dirname(s.path)).loadDetailed());
  assert.equal(fresh.data, { phase: 'unprovisioned', n: 0 });
  assert.is(fresh.source, 'main');
});

test('only .prev present and damaged, or current damaged without .prev → typed error', async () => {
  let s = open(newDir());
  await s.save({ phase: 'a', n: 1 });
  writeFileSync(s.path, '');
  try {
    await open(path.dirname(s.path)).load();
    assert.unreachable();
  } catch (err) {
    assert.instance(err, StateCorruptError);
    assert.is((err as StateCorruptError).prev.problem, 'missing');
  }
  s = await twoGenerations();
  rmSync(s.path);
  writeFileSync(s.prevPath, 'x');
  try {
    await open(path.dirname(s.path)).load();
    assert.unreachable();
  } catch (err) {
    assert.instance(err, StateCorruptError);
    assert.is((err as StateCorruptError).main.problem, 'missing');
  }
});

test('migration hook upgrades older data; persisted with the new version on the next save', async () => {
  const dir = newDir();
  const v1 = new FileStateStore<{ phase: string }>({ dir, version: 1 });
  await v1.save({ phase: 'enrolled' });
  const calls: number[] = [];
  const v2 = open(dir, {
    version: 2,
    migrate: (d, from) => {
      calls.push(from);
      return { ...(d as { phase: string }), n: 42 };
    },
  });
  const r = loaded(await v2.loadDetailed());
  assert.equal(r.data, { phase: 'enrolled', n: 42 });
  assert.is(r.migratedFrom, 1);
  assert.is(r.version, 1);
  assert.equal(calls, [1]);
  await v2.save(r.data);
  const doc = JSON.parse(readFileSync(v2.path, 'utf8'));
  assert.is(doc.version, 2);
  assert.is(doc.generation, 2);
  assert.is(JSON.parse(readFileSync(v2.prevPath, 'utf8')).version, 1); // the old version is the .prev copy
  // Without a hook an older version is unusable.
  rmSync(v2.path);
  try {
    await open(dir, { version: 2 }).load();
    assert.unreachable();
  } catch (err) {
    assert.instance(err, StateCorruptError);
    assert.is((err as StateCorruptError).prev.problem, 'unsupported-version');
  }
});

test('save refuses invalid data; concurrent saves are serialised with distinct generations', async () => {
  const s = open(newDir());
  try {
    await s.save({ phase: 1 } as unknown as Doc);
    assert.unreachable();
  } catch (err) {
    assert.instance(err, StoreUsageError);
  }
  await Promise.all(Array.from({ length: 10 }, (_, i) => s.saveDetailed({ phase: 'p', n: i })));
  const r = loaded(await open(path.dirname(s.path)).loadDetailed());
  assert.equal(r.data, { phase: 'p', n: 9 });
  assert.is(r.generation, 10);
  assert.equal(readdirSync(path.dirname(s.path)).sort(), ['state.json', 'state.json.prev']);
});

test('temp files left by a dead writer are removed on load; a live writer’s are not', async () => {
  const s = await twoGenerations();
  const dir = path.dirname(s.path);
  writeFileSync(path.join(dir, '.state.json.tmp-999999999-abcdef'), 'half');
  writeFileSync(path.join(dir, '.state.json.prev.tmp-999999998-abcdef'), 'half');
  writeFileSync(path.join(dir, `.state.json.tmp-${process.ppid}-live`), 'in progress');
  const log = memoryLogger();
  const r = loaded(await open(dir, { log }).loadDetailed());
  assert.is(r.generation, 2);
  assert.equal(readdirSync(dir).sort(), [`.state.json.tmp-${process.ppid}-live`, 'state.json', 'state.json.prev']);
  assert.ok(log.lines.some((l) => l.includes('store.temp-removed')));
});

test('state survives a crash right after rotation (.prev and current are the same file)', async () => {
  const s = await twoGenerations();
  // Simulate: link(state.json → .prev) happened, the new generation was never renamed in.
  rmSync(s.prevPath);
  const { linkSync } = await import('node:fs');
  linkSync(s.path, s.prevPath);
  const s2 = open(path.dirname(s.path));
  assert.is(loaded(await s2.loadDetailed()).generation, 2);
  await s2.save({ phase: 'enrolled', n: 3 });
  assert.equal(readdirSync(path.dirname(s.path)).sort(), ['state.json', 'state.json.prev']);
  assert.is(loaded(await open(path.dirname(s.path)).loadDetailed()).generation, 3);
});

test.run();
