// DocumentStore: the store every state file goes through. Torn writes and bit flips fall back to the previous good
// copy; files 0600; the pre-store bare JSON is migrated once; a newer version is never used; peek() writes nothing.
// The two guards that must never fall back to "empty": tamp.json (RFC 5934 §6 anti-replay) and firmware-state.json
// (RFC 4108 §1.2.3.2 anti-downgrade). And the pending-transaction contract of CMP/CMC/ACME over it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DocumentStore, StateCorruptError, decodeEnvelope, layout } from '../../agent/store/index.js';
import { TampStateFile, TampStateError } from '../../agent/packages/tamp/state.js';
import { FIRMWARE_STATE_FILE, loadState, saveState, type FirmwareState } from '../../agent/packages/firmware/state.js';
import { StoredPendingTransactions, MemoryPendingTransactions, pendingId } from '../../agent/protocols/pending.js';
import { isCmpPendingTransaction, type CmpPendingTransaction } from '../../agent/protocols/cmp/client.js';
import { memoryLogger } from '../../agent/util/log.js';

interface Doc {
  v: number;
  list: string[];
}
const isDoc = (d: unknown): d is Doc => typeof d === 'object' && d !== null && typeof (d as Doc).v === 'number' && Array.isArray((d as Doc).list);

const root = mkdtempSync(path.join(tmpdir(), 'enrolld-docstore-'));
let seq = 0;
const newDir = (): string => path.join(root, `d${++seq}`);
const open = (dir: string, extra: Partial<ConstructorParameters<typeof DocumentStore<Doc>>[0]> = {}) =>
  new DocumentStore<Doc>({ dir, name: 'doc.json', kind: 'test-doc', version: 1, validate: isDoc, legacy: (j) => (isDoc(j) ? j : undefined), ...extra });
const mode = (p: string): number => statSync(p).mode & 0o777;

/** A torn write: the file ends in the middle (power cut before the data was on disk, or a copy cut short). */
const truncate = (f: string): void => truncateSync(f, Math.floor(statSync(f).size / 2));
/** One bit flipped in the body (storage rot): the JSON may still parse; only the checksum tells. */
const bitFlip = (f: string, needle?: string): void => {
  const b = readFileSync(f);
  const i = needle === undefined ? Math.floor(b.length / 2) : b.indexOf(needle) + needle.length - 1;
  assert.ok(i > 0, `${needle} in ${f}`);
  b[i]! ^= 0x01;
  writeFileSync(f, b);
};

test.after(() => rmSync(root, { recursive: true, force: true }));

test('round trip; files 0600, directory 0700; .prev holds the previous generation; kind and version recorded', async () => {
  const dir = newDir();
  const s = open(dir);
  assert.is(await s.load(), undefined);
  await s.save({ v: 1, list: ['a'] });
  await s.save({ v: 2, list: ['a', 'b'] });
  assert.equal(await open(dir).load(), { v: 2, list: ['a', 'b'] });
  assert.is(mode(s.path), 0o600);
  assert.is(mode(s.prevPath), 0o600);
  assert.is(mode(dir), 0o700);
  assert.equal(readdirSync(dir).sort(), ['doc.json', 'doc.json.prev']);
  const env = decodeEnvelope(readFileSync(s.path), 'test-doc');
  assert.ok(env.ok && env.envelope.version === 1 && env.envelope.generation === 2);
  const prev = decodeEnvelope(readFileSync(s.prevPath), 'test-doc');
  assert.ok(prev.ok && prev.envelope.generation === 1);
});

for (const [what, hurt, problem] of [
  ['torn (truncated)', (f: string) => truncate(f), 'truncated'],
  ['bit-flipped', (f: string) => bitFlip(f, '"b"'), 'checksum-mismatch'],
] as const) {
  test(`${what} current file → previous good copy (reported), the next save repairs it`, async () => {
    const dir = newDir();
    const s = open(dir);
    await s.save({ v: 1, list: ['a'] });
    await s.save({ v: 2, list: ['a', 'b'] });
    hurt(s.path);
    const log = memoryLogger();
    const s2 = open(dir, { log });
    const r = await s2.loadDetailed();
    assert.is(r.status, 'loaded');
    if (r.status !== 'loaded') return;
    assert.equal(r.data, { v: 1, list: ['a'] });
    assert.is(r.source, 'prev');
    assert.is(r.recovered?.problem, problem);
    assert.ok(log.lines.some((l) => l.includes('store.recovered')));
    await s2.save({ v: 3, list: ['c'] });
    assert.equal(await open(dir).load(), { v: 3, list: ['c'] });
  });
}

test('both copies damaged → StateCorruptError (never "empty"); update() writes nothing then', async () => {
  const dir = newDir();
  const s = open(dir);
  await s.save({ v: 1, list: ['a'] });
  await s.save({ v: 2, list: ['b'] });
  truncate(s.path);
  bitFlip(s.prevPath, '"a"');
  const before = readFileSync(s.path);
  await open(dir).load().then(
    () => assert.unreachable('must not load'),
    (e) => assert.instance(e, StateCorruptError),
  );
  await open(dir).update(() => ({ v: 9, list: [] })).then(
    () => assert.unreachable('must not write'),
    (e) => assert.instance(e, StateCorruptError),
  );
  assert.equal(readFileSync(s.path), before);
});

test('a newer version is not used (falls back to .prev, else typed error); an older one needs a migration', async () => {
  const dir = newDir();
  await open(dir).save({ v: 1, list: [] });
  await open(dir, { version: 2, migrate: (d) => d as Doc }).save({ v: 2, list: [] }); // v1 document is now .prev
  const r = await open(dir).loadDetailed(); // this build knows version 1 only
  assert.ok(r.status === 'loaded' && r.source === 'prev' && r.recovered?.problem === 'unsupported-version');
  const only = newDir();
  await open(only, { version: 3 }).save({ v: 3, list: [] });
  await open(only).load().then(
    () => assert.unreachable(),
    (e) => assert.is((e as StateCorruptError).main.problem, 'unsupported-version'),
  );
  const migrated = await open(only, { version: 4, migrate: (d) => ({ ...(d as Doc), v: 4 }) }).loadDetailed();
  assert.ok(migrated.status === 'loaded' && migrated.migratedFrom === 3 && migrated.data.v === 4);
});

test('migration from the bare JSON of earlier releases: read once, written in the store format (with a .prev copy)', async () => {
  const dir = newDir();
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'doc.json');
  writeFileSync(file, JSON.stringify({ v: 7, list: ['old'] }) + '\n', { mode: 0o644 });
  const log = memoryLogger();
  const r = await open(dir, { log }).loadDetailed();
  assert.ok(r.status === 'loaded' && r.legacy === true);
  assert.equal(r.status === 'loaded' && r.data, { v: 7, list: ['old'] });
  assert.ok(log.lines.some((l) => l.includes('store.migrated')));
  const env = decodeEnvelope(readFileSync(file), 'test-doc');
  assert.ok(env.ok, 'rewritten as a store document');
  assert.is(mode(file), 0o600);
  assert.ok(decodeEnvelope(readFileSync(`${file}.prev`), 'test-doc').ok, 'and a previous-good copy exists at once');
  assert.equal(await open(dir).load(), { v: 7, list: ['old'] });
  // A bare file the legacy hook does not accept is damage, not a fresh start.
  const bad = newDir();
  mkdirSync(bad, { recursive: true });
  writeFileSync(path.join(bad, 'doc.json'), '{"v":"x"}');
  await open(bad).load().then(
    () => assert.unreachable(),
    (e) => assert.instance(e, StateCorruptError),
  );
  // A store document with a damaged header is never taken for a legacy file.
  const hdr = newDir();
  const h = open(hdr);
  await h.save({ v: 1, list: [] });
  rmSync(h.prevPath, { force: true });
  const b = readFileSync(h.path);
  b[15] = 'z'.charCodeAt(0); // inside "sha256:…"
  writeFileSync(h.path, b);
  await open(hdr).load().then(
    () => assert.unreachable(),
    (e) => assert.instance(e, StateCorruptError),
  );
});

test('peek() writes nothing: no directory, no migration on disk, no temp sweep', async () => {
  const dir = newDir();
  assert.equal(await open(dir).peek(), { status: 'fresh' });
  assert.is(readdirSync(root).includes(path.basename(dir)), false);
  mkdirSync(dir);
  const file = path.join(dir, 'doc.json');
  writeFileSync(file, JSON.stringify({ v: 1, list: [] }));
  writeFileSync(path.join(dir, '.doc.json.tmp-999999999-abcdef'), 'half');
  const r = await open(dir).peek();
  assert.ok(r.status === 'loaded' && r.legacy === true);
  assert.is(readFileSync(file, 'utf8'), JSON.stringify({ v: 1, list: [] }));
  assert.equal(readdirSync(dir).sort(), ['.doc.json.tmp-999999999-abcdef', 'doc.json']);
});

test('update(): serialised read-modify-write; a throwing fn writes nothing', async () => {
  const s = open(newDir());
  await Promise.all(Array.from({ length: 5 }, (_, i) => s.update((d) => ({ v: (d?.v ?? 0) + 1, list: [...(d?.list ?? []), String(i)] }))));
  assert.equal(await s.load(), { v: 5, list: ['0', '1', '2', '3', '4'] });
  await s.update(() => {
    throw new Error('abort');
  }).catch(() => undefined);
  assert.equal(await s.load(), { v: 5, list: ['0', '1', '2', '3', '4'] });
});

test('previous: false (status aids): checksummed, no .prev; a damaged file is reported, not used', async () => {
  const dir = newDir();
  const s = open(dir, { previous: false });
  await s.save({ v: 1, list: [] });
  await s.save({ v: 2, list: [] });
  assert.equal(readdirSync(dir), ['doc.json']);
  bitFlip(s.path, '"v": 2');
  await open(dir, { previous: false }).load().then(
    () => assert.unreachable(),
    (e) => assert.instance(e, StateCorruptError),
  );
});

// --- tamp.json: anti-replay sequence numbers (RFC 5934 §6) -------------------------------------------------------

async function tampWithTwoGenerations(): Promise<TampStateFile> {
  const t = new TampStateFile(newDir());
  await t.update((d) => void (d.seq['aa'] = '5'));
  await t.update((d) => void (d.seq['aa'] = '6'));
  return t;
}

for (const [what, hurt] of [
  ['truncated', (f: string) => truncate(f)],
  ['bit-flipped', (f: string) => bitFlip(f, '"6')],
] as const) {
  test(`tamp.json ${what} → the previous good sequence number, never an empty state (no replay of seq <= 5)`, async () => {
    const t = await tampWithTwoGenerations();
    hurt(t.file);
    const again = new TampStateFile(path.dirname(t.file));
    assert.equal((await again.load()).seq, { aa: '5' });
    // both copies gone bad: an error, not a reset to {}
    bitFlip(`${t.file}.prev`);
    truncate(t.file);
    await again.load().then(
      () => assert.unreachable('a damaged anti-replay state must not load as empty'),
      (e) => {
        assert.instance(e, TampStateError);
        assert.is((e as TampStateError).code, 'tamp.state');
      },
    );
    await again.update((d) => void (d.seq['aa'] = '0')).then(
      () => assert.unreachable('no write over a damaged anti-replay state'),
      (e) => assert.instance(e, TampStateError),
    );
  });
}

test('tamp.json of the earlier bare format loads, and is rewritten checksummed with a previous-good copy', async () => {
  const dir = newDir();
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, layout.TAMP_FILE);
  const old = { schema: 1, communities: ['1.2.3'], seq: { bb: '41' }, outbox: [] };
  writeFileSync(file, JSON.stringify(old, null, 2) + '\n', { mode: 0o600 });
  const t = new TampStateFile(dir);
  assert.equal(await t.load(), old);
  assert.ok(decodeEnvelope(readFileSync(file), 'enrolld-tamp').ok);
  assert.ok(decodeEnvelope(readFileSync(`${file}.prev`), 'enrolld-tamp').ok);
  truncate(file);
  assert.equal((await new TampStateFile(dir).load()).seq, { bb: '41' }, 'the migrated copy is already protected');
  // A damaged bare file is an error (as before), not a reset.
  const d2 = newDir();
  mkdirSync(d2, { recursive: true });
  writeFileSync(path.join(d2, layout.TAMP_FILE), '{"schema":1,"communities":[],"seq":{"bb":"4');
  await new TampStateFile(d2).load().then(
    () => assert.unreachable(),
    (e) => assert.instance(e, TampStateError),
  );
});

// --- firmware-state.json: anti-downgrade (RFC 4108 §1.2.3.2) -----------------------------------------------------

const fw = (verNum: string): FirmwareState => ({
  version: 1,
  installed: { name: { preferred: { fwPkgID: '1.3.6.1.4.1.32473.7.1', verNum } }, imageSha256: '00', at: '2026-01-01T00:00:00.000Z' },
  stale: [{ fwPkgID: '1.3.6.1.4.1.32473.7.1', staleVerNum: String(Number(verNum) - 1) }],
});

for (const [what, hurt] of [
  ['truncated', (f: string) => truncate(f)],
  ['bit-flipped', (f: string) => bitFlip(f, '"verNum": "9')],
] as const) {
  test(`firmware-state.json ${what} → the previous good state, never empty (a downgrade stays refused)`, async () => {
    const dir = newDir();
    await saveState(dir, fw('8'));
    await saveState(dir, fw('9'));
    const file = path.join(dir, FIRMWARE_STATE_FILE);
    hurt(file);
    const st = await loadState(dir);
    assert.is(st.installed?.name && 'preferred' in st.installed.name ? st.installed.name.preferred.verNum : undefined, '8');
    assert.equal(st.stale, [{ fwPkgID: '1.3.6.1.4.1.32473.7.1', staleVerNum: '7' }]);
    bitFlip(`${file}.prev`);
    truncate(file);
    await loadState(dir).then(
      () => assert.unreachable('a damaged anti-downgrade state must not load as empty'),
      (e) => assert.instance(e, StateCorruptError),
    );
  });
}

test('firmware-state.json of the earlier bare format loads and is migrated', async () => {
  const dir = newDir();
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, FIRMWARE_STATE_FILE);
  writeFileSync(file, JSON.stringify(fw('3'), null, 2) + '\n');
  assert.equal(await loadState(dir), fw('3'));
  assert.ok(decodeEnvelope(readFileSync(file), 'enrolld-firmware-state').ok);
  assert.ok(decodeEnvelope(readFileSync(`${file}.prev`), 'enrolld-firmware-state').ok);
  bitFlip(file, '"verNum": "3');
  assert.equal(await loadState(dir), fw('3'));
});

// --- the pending-transaction contract (CMP pollReq, CMC queryPending, ACME order) ------------------------------

test('pending transactions: keyed by the CSR, persisted, resumed after a reopen, cleared; bare JSON migrated', async () => {
  const dir = newDir();
  const file = path.join(dir, layout.CMP_PENDING_FILE);
  const csr = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x07]);
  const txn: CmpPendingTransaction = { transactionID: 'AAEC', recipNonce: 'AwQF', certReqId: 0, request: 'ir', checkAfter: 5 };
  const p = await StoredPendingTransactions.open(file, 'enrolld-cmp-pending', isCmpPendingTransaction);
  assert.is(p.get(csr), undefined);
  await p.put(csr, txn);
  assert.is(mode(file), 0o600);
  const reopened = await StoredPendingTransactions.open(file, 'enrolld-cmp-pending', isCmpPendingTransaction);
  assert.equal(reopened.get(csr), txn);
  assert.equal(Object.keys(reopened.all()), [pendingId(csr)]);
  await reopened.clear(csr);
  assert.equal((await StoredPendingTransactions.open(file, 'enrolld-cmp-pending', isCmpPendingTransaction)).all(), {});
  // The bare {id: transaction} file of earlier releases.
  const d2 = newDir();
  mkdirSync(d2, { recursive: true });
  writeFileSync(path.join(d2, layout.CMP_PENDING_FILE), JSON.stringify({ [pendingId(csr)]: txn }) + '\n');
  assert.equal((await StoredPendingTransactions.open(path.join(d2, layout.CMP_PENDING_FILE), 'enrolld-cmp-pending', isCmpPendingTransaction)).get(csr), txn);
  const m = new MemoryPendingTransactions<CmpPendingTransaction>();
  await m.put(csr, txn);
  assert.equal(m.get(csr), txn);
});

test('in-memory copy: a load after a save is a fresh copy; an identical save is skipped; a change by anyone else is read', async () => {
  const dir = newDir();
  const s = open(dir);
  await s.save({ v: 0, list: [] });
  await s.save({ v: 1, list: ['a'] });
  const got = (await s.load())!;
  got.list.push('mutated by the caller');
  assert.equal(await s.load(), { v: 1, list: ['a'] });
  const before = statSync(s.path, { bigint: true });
  const prevBefore = readFileSync(s.prevPath, 'utf8');
  await s.save({ v: 1, list: ['a'] });
  const after = statSync(s.path, { bigint: true });
  assert.is(after.ino, before.ino, 'identical save skipped');
  assert.is(after.mtimeNs, before.mtimeNs);
  assert.is(readFileSync(s.prevPath, 'utf8'), prevBefore, 'no rotation either');
  await s.save({ v: 2, list: ['a'] });
  const env = decodeEnvelope(readFileSync(s.path), 'test-doc');
  assert.ok(env.ok && env.envelope.generation === 3, 'the next different save is the next generation');
  // another writer (a second instance) replaces the file: the first instance reads it
  await open(dir).save({ v: 3, list: ['other'] });
  assert.equal(await s.load(), { v: 3, list: ['other'] });
  // damage after a cached load: noticed (size/mtime/ctime), the previous copy is used and reported
  truncate(s.path);
  const r = await s.loadDetailed();
  assert.ok(r.status === 'loaded' && r.source === 'prev' && r.recovered?.problem === 'truncated');
  assert.equal(r.status === 'loaded' && r.data, { v: 2, list: ['a'] });
  // removed by hand: a save after it writes again (not skipped as identical)
  await s.save({ v: 4, list: [] });
  rmSync(s.path);
  await s.save({ v: 4, list: [] });
  assert.equal(await open(dir).load(), { v: 4, list: [] });
});

test.run();
