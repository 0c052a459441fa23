// atomic-file primitives, the checksummed envelope, and BlobStore bundles.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { commitFile, writeFileAtomicStream } from '../../agent/store/atomic-file.js';
import {
  BlobCorruptError,
  BlobStore,
  StoreUsageError,
  decodeEnvelope,
  encodeEnvelope,
  readFileIfExists,
  writeFileAtomic,
} from '../../agent/store/index.js';

const root = mkdtempSync(path.join(tmpdir(), 'enrolld-files-'));
let seq = 0;
const newDir = (): string => path.join(root, `d${++seq}`);
const mode = (p: string): number => statSync(p).mode & 0o777;

test.after(() => rmSync(root, { recursive: true, force: true }));

test('writeFileAtomic: creates 0600, replaces content, leaves no temp file; a pre-existing 0644 file becomes 0600', async () => {
  const dir = mkdtempSync(path.join(root, 'a'));
  const f = path.join(dir, 'x.bin');
  writeFileSync(f, 'old', { mode: 0o644 });
  chmodSync(f, 0o644);
  await writeFileAtomic(f, new Uint8Array([1, 2, 3]));
  assert.equal([...readFileSync(f)], [1, 2, 3]);
  assert.is(mode(f), 0o600);
  await writeFileAtomic(f, 'text ✓');
  assert.is(readFileSync(f, 'utf8'), 'text ✓');
  assert.equal(readdirSync(dir), ['x.bin']);
  assert.is(await readFileIfExists(path.join(dir, 'nope')), undefined);
});

test('writeFileAtomic: a failure leaves the target untouched and no temp file', async () => {
  const dir = mkdtempSync(path.join(root, 'b'));
  const f = path.join(dir, 'target');
  writeFileSync(f, 'keep');
  // Renaming a file over a non-empty directory fails after the temp file was written.
  const blocker = path.join(dir, 'sub');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(path.join(blocker, 'inner'), { recursive: true });
  try {
    await writeFileAtomic(blocker, 'x');
    assert.unreachable();
  } catch (err) {
    assert.ok(['EISDIR', 'ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? ''));
  }
  assert.equal(readdirSync(dir).sort(), ['sub', 'target']);
  assert.is(readFileSync(f, 'utf8'), 'keep');
});

test('writeFileAtomicStream: a pipeline fills a 0600 temp that replaces the target; a failed pipeline leaves the target and no temp', async () => {
  const dir = mkdtempSync(path.join(root, 's'));
  const f = path.join(dir, 'image.bin');
  writeFileSync(f, 'old', { mode: 0o644 });
  chmodSync(f, 0o644);
  const n = await writeFileAtomicStream(f, async (_fh, sink) => {
    assert.equal(readFileSync(f, 'utf8'), 'old', 'the target is untouched while the temp fills');
    await pipeline(Readable.from([Buffer.from('new '), Buffer.from('image')]), sink());
    return 9;
  });
  assert.is(n, 9);
  assert.is(readFileSync(f, 'utf8'), 'new image');
  assert.is(mode(f), 0o600);
  assert.equal(readdirSync(dir), ['image.bin']);
  const broken = async function* (): AsyncGenerator<Buffer> {
    yield Buffer.from('partial');
    throw new Error('stream broke');
  };
  await writeFileAtomicStream(f, (_fh, sink) => pipeline(broken(), sink())).then(
    () => assert.unreachable('the failure must surface'),
    (e: Error) => assert.is(e.message, 'stream broke'),
  );
  assert.is(readFileSync(f, 'utf8'), 'new image');
  assert.equal(readdirSync(dir), ['image.bin']);
  writeFileSync(path.join(dir, 'image.bin.part'), 'resumed', { mode: 0o600 });
  await commitFile(path.join(dir, 'image.bin.part'), f);
  assert.is(readFileSync(f, 'utf8'), 'resumed');
  assert.equal(readdirSync(dir), ['image.bin']);
});

test('envelope: exact-bytes checksum; valid JSON; every defect is classified', () => {
  const bytes = encodeEnvelope({ kind: 'k', version: 3, generation: 9, savedAt: 't', data: { b: 1, 2: 'two', s: 'é' } });
  const d = decodeEnvelope(bytes, 'k');
  assert.ok(d.ok);
  assert.equal(d.ok && d.envelope, { kind: 'k', version: 3, generation: 9, savedAt: 't', data: { 2: 'two', b: 1, s: 'é' } });
  assert.is(JSON.parse(bytes.toString()).generation, 9);
  const cases: Array<[Uint8Array | undefined, string]> = [
    [undefined, 'missing'],
    [new Uint8Array(0), 'empty'],
    [new Uint8Array(100), 'empty'],
    [bytes.subarray(0, 10), 'truncated'],
    [bytes.subarray(0, bytes.length - 1), 'truncated'],
    [Buffer.concat([bytes.subarray(0, bytes.length - 3), Buffer.from(' }\n')]), 'checksum-mismatch'],
    [Buffer.from('hello\nworld}\n'), 'malformed'],
  ];
  for (const [input, problem] of cases) {
    const r = decodeEnvelope(input, 'k');
    assert.is(r.ok ? 'ok' : r.problem, problem);
  }
  assert.is((decodeEnvelope(bytes, 'other') as { problem: string }).problem, 'wrong-kind');
});

test('BlobStore: put/get, bundles switch together, list, delete, modes', async () => {
  const dir = newDir();
  const b = new BlobStore({ dir });
  assert.equal(await b.list(), []);
  assert.is(await b.get('cacerts'), undefined);
  await b.put('cacerts', new Uint8Array([0x30, 0x82, 0x01]));
  assert.equal([...(await b.get('cacerts'))!], [0x30, 0x82, 0x01]);
  await b.putBundle('ldevid', { cert: new Uint8Array([1]), public: new Uint8Array([2]), private: new Uint8Array([3]) });
  await b.putBundle('ldevid', { cert: new Uint8Array([4]), public: new Uint8Array([5]), private: new Uint8Array([6]) });
  const parts = await b.getBundle('ldevid');
  assert.equal(Object.fromEntries(Object.entries(parts!).map(([k, v]) => [k, [...v]])), { cert: [4], public: [5], private: [6] });
  assert.equal(await b.list(), ['cacerts', 'ldevid']);
  assert.is(mode(dir), 0o700);
  for (const n of readdirSync(dir)) assert.is(mode(path.join(dir, n)), 0o600);
  assert.is(await b.delete('cacerts'), true);
  assert.is(await b.delete('cacerts'), false);
  assert.equal(await b.list(), ['ldevid']);
});

test('BlobStore: damaged file → BlobCorruptError; bad names → StoreUsageError', async () => {
  const dir = newDir();
  const b = new BlobStore({ dir });
  await b.put('fw', new Uint8Array(1000).fill(7));
  const f = path.join(dir, 'fw.blob');
  writeFileSync(f, readFileSync(f).subarray(0, 500));
  try {
    await b.get('fw');
    assert.unreachable();
  } catch (err) {
    assert.instance(err, BlobCorruptError);
    assert.is((err as BlobCorruptError).report.problem, 'truncated');
  }
  for (const bad of ['../x', '.hidden', '', 'a/b']) {
    try {
      await b.put(bad, new Uint8Array(1));
      assert.unreachable(bad);
    } catch (err) {
      assert.instance(err, StoreUsageError);
    }
  }
});

test.run();
