// TA store (agent/store/ta-store.ts): persistence (atomic write, 0600, no temp files left, stale temps removed),
// the set digest, add/update/remove/replace, reload, corrupt files and failed writes leaving memory unchanged.
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { certificateFingerprint, certificateToPem } from '../../agent/pki/cert.js';
import { decodeEnvelope } from '../../agent/store/envelope.js';
import { TA_STORE_KIND, TaStoreError, TrustAnchorStore, trustAnchorSetDigest } from '../../agent/store/ta-store.js';
import { LabCa } from '../../deploy/lab/ca.js';
import { parseConfig } from '../../agent/config.js';
import { createSharedContext } from '../../agent/features/context.js';
import { SoftwareKeyStore } from '../../agent/keystore/software.js';
import { SystemClock } from '../../agent/lifecycle/clock.js';
import { memoryLogger } from '../../agent/util/log.js';

const NOW = new Date('2026-04-01T00:00:00Z');
const ca = await LabCa.create({ now: NOW });
const other = await LabCa.create({ now: NOW, name: 'other' });
const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'enrolld-ta-'));
  dirs.push(d);
  return d;
}
const open = (file: string): Promise<TrustAnchorStore> => TrustAnchorStore.open(file, { now: () => NOW });

/** The document inside the store file's checksummed envelope (asserting the envelope verifies). */
async function stored(file: string): Promise<{ schema: number; anchors: Array<{ name: string; uses: string[] }> }> {
  const d = decodeEnvelope(await readFile(file), TA_STORE_KIND);
  if (!d.ok) throw new Error(`${file}: ${d.problem} (${d.detail})`);
  return d.envelope.data as never;
}

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await p.then(
    () => assert.unreachable(`expected ${code}`),
    (e) => {
      assert.ok(e instanceof TaStoreError, String(e));
      assert.is((e as TaStoreError).code, code, (e as Error).message);
    },
  );
}

test('missing file → empty store with the digest of the empty set; nothing written', async () => {
  const dir = tmp();
  const s = await open(path.join(dir, 'ta.json'));
  assert.is(s.size, 0);
  assert.is(s.digest(), createHash('sha256').update('').digest('hex'));
  assert.equal(await readdir(dir), []);
});

test('add persists atomically with mode 0600; reload gives the same set and digest', async () => {
  const dir = tmp();
  const file = path.join(dir, 'state', 'ta.json');
  const s = await open(file);
  const changes = await s.add([
    { name: 'lab-root', source: 'config', uses: ['cacerts', 'est-server', 'crl'], certificate: ca.root.pem },
    { name: 'other-root', source: 'factory', uses: ['firmware'], certificate: other.root.der },
  ]);
  assert.equal(changes, ['added', 'added']);
  const st = await stat(file);
  assert.is(st.mode & 0o777, 0o600);
  assert.is((await stat(path.dirname(file))).mode & 0o777, 0o700);
  assert.equal(await readdir(path.dirname(file)), ['ta.json'], 'no temp file left behind');
  const doc = await stored(file);
  assert.is(doc.schema, 1);
  assert.is(doc.anchors.length, 2);
  assert.equal(doc.anchors[0].uses, ['cacerts', 'crl', 'est-server'], 'uses sorted');

  const again = await open(file);
  assert.is(again.digest(), s.digest());
  assert.equal(again.list().map((a) => a.name), ['lab-root', 'other-root']);
  assert.is(again.get('lab-root')!.fingerprint, certificateFingerprint(ca.root.der));
  assert.is(again.get(certificateFingerprint(other.root.der))!.name, 'other-root');
  assert.equal(again.certificatesFor('crl').map((d) => certificateFingerprint(d)), [certificateFingerprint(ca.root.der)]);
  assert.is(again.anchorsFor('firmware').length, 1);
  assert.is(again.anchorsFor('tamp').length, 0);
  assert.ok(again.find(ca.root.certificate));
  assert.is(again.get('lab-root')!.addedAt, NOW.toISOString());
});

test('digest: defined over (fingerprint, uses); names and sources do not change it; order does not matter', async () => {
  const s = await open(path.join(tmp(), 'ta.json'));
  await s.add({ name: 'a', source: 'config', uses: ['cacerts'], certificate: ca.root.der });
  const d1 = s.digest();
  const expected = createHash('sha256').update(`${certificateFingerprint(ca.root.der)} cacerts\n`).digest('hex');
  assert.is(d1, expected);
  assert.equal(await s.add({ name: 'a', source: 'config', uses: ['cacerts'], certificate: ca.root.der }), ['unchanged']);
  assert.equal(await s.add({ name: 'renamed', source: 'operator', uses: ['cacerts'], certificate: ca.root.der }), ['updated']);
  assert.is(s.digest(), d1, 'metadata change keeps the digest');
  await s.add({ name: 'renamed', source: 'operator', uses: ['cacerts', 'tamp'], certificate: ca.root.der });
  assert.is.not(s.digest(), d1, 'a use change changes the digest');
  await s.add({ name: 'b', source: 'config', uses: ['firmware'], certificate: other.root.der });
  const list = s.list();
  assert.is(trustAnchorSetDigest([...list].reverse()), s.digest());
});

test('remove and replace', async () => {
  const file = path.join(tmp(), 'ta.json');
  const s = await open(file);
  await s.add([
    { name: 'a', source: 'config', uses: ['cacerts'], certificate: ca.root.der },
    { name: 'b', source: 'config', uses: ['cacerts'], certificate: other.root.der },
  ]);
  assert.is(await s.remove('a'), true);
  assert.is(await s.remove('a'), false);
  assert.is(await s.remove(certificateFingerprint(other.root.der)), true);
  assert.is(s.size, 0);
  assert.is((await open(file)).size, 0);
  await s.replace([{ name: 'issuing', source: 'provisioning', uses: ['crl'], certificate: certificateToPem(ca.issuing.der) }]);
  const r = await open(file);
  assert.equal(r.list().map((a) => a.name), ['issuing']);
  assert.is(r.digest(), s.digest());
});

test('seed: one certificate seeded by two features keeps its name and holds both uses; a repeat writes nothing', async () => {
  const file = path.join(tmp(), 'ta.json');
  const s = await open(file);
  assert.equal(await s.seed([{ name: 'factory-0', source: 'config', uses: ['est-server', 'cacerts', 'crl'], certificate: ca.root.der }]), ['added']);
  // the same CA configured as the firmware anchor, and another for key packages
  assert.equal(
    await s.seed([
      { name: 'firmware-0', source: 'config', uses: ['firmware'], certificate: ca.root.der },
      { name: 'firmware-1', source: 'config', uses: ['firmware'], certificate: other.root.der },
    ]),
    ['updated', 'added'],
  );
  const bytes = await readFile(file);
  assert.equal(await s.seed([{ name: 'firmware-0', source: 'config', uses: ['firmware'], certificate: ca.root.der }]), ['unchanged']);
  assert.equal(await readFile(file), bytes, 'nothing written when nothing changes');
  const r = await open(file);
  assert.equal(r.anchorsFor('est-server').map((a) => a.name), ['factory-0']);
  assert.equal(r.anchorsFor('firmware').map((a) => a.name).sort(), ['factory-0', 'firmware-1']);
  assert.equal([...(await stored(file)).anchors.find((a) => a.name === 'factory-0')!.uses].sort(), ['cacerts', 'crl', 'est-server', 'firmware']);
});

test('invalid input and name clashes are refused; memory and disk unchanged', async () => {
  const file = path.join(tmp(), 'ta.json');
  const s = await open(file);
  await s.add({ name: 'a', source: 'config', uses: ['cacerts'], certificate: ca.root.der });
  const before = await readFile(file, 'utf8');
  const digest = s.digest();
  await rejectsCode(s.add({ name: 'a', source: 'config', uses: ['cacerts'], certificate: other.root.der }), 'ta.store.duplicate');
  await rejectsCode(s.add({ name: 'x', source: 'config', uses: [], certificate: other.root.der }), 'ta.store.invalid');
  await rejectsCode(s.add({ name: 'x', source: 'config', uses: ['everything' as never], certificate: other.root.der }), 'ta.store.invalid');
  await rejectsCode(s.add({ name: 'x', source: 'config', uses: ['cacerts'], certificate: new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]) }), 'ta.store.invalid');
  await rejectsCode(s.add({ name: ' bad name', source: 'config', uses: ['cacerts'], certificate: other.root.der }), 'ta.store.invalid');
  await rejectsCode(s.add({ name: 'x', source: 'config', uses: ['cacerts'], certificate: ca.root.pem + other.root.pem }), 'ta.store.invalid');
  assert.is(s.size, 1);
  assert.is(s.digest(), digest);
  assert.is(await readFile(file, 'utf8'), before);
});

test('a failed write leaves the in-memory set unchanged and no temp file', async () => {
  const dir = tmp();
  const file = path.join(dir, 'ta.json');
  const s = await open(file);
  await mkdir(file); // rename(temp, file) now fails: the target is a directory
  await s.add({ name: 'a', source: 'config', uses: ['cacerts'], certificate: ca.root.der }).then(
    () => assert.unreachable('write should fail'),
    (e) => assert.ok((e as NodeJS.ErrnoException).code, String(e)),
  );
  assert.is(s.size, 0);
  assert.equal((await readdir(dir)).filter((n) => n !== 'ta.json'), []);
  await rm(file, { recursive: true });
  await s.add({ name: 'a', source: 'config', uses: ['cacerts'], certificate: ca.root.der });
  assert.is((await open(file)).size, 1);
});

test('concurrent updates are serialized (both land)', async () => {
  const file = path.join(tmp(), 'ta.json');
  const s = await open(file);
  await Promise.all([
    s.add({ name: 'a', source: 'config', uses: ['cacerts'], certificate: ca.root.der }),
    s.add({ name: 'b', source: 'config', uses: ['cacerts'], certificate: other.root.der }),
    s.add({ name: 'c', source: 'config', uses: ['crl'], certificate: ca.issuing.der }),
  ]);
  assert.equal((await open(file)).list().map((a) => a.name).sort(), ['a', 'b', 'c']);
});

test('stale temp files of dead writers are removed on open; corrupt files are errors, not resets', async () => {
  const dir = tmp();
  const file = path.join(dir, 'ta.json');
  await writeFile(path.join(dir, '.ta.json.tmp-999999999-abcdef'), 'partial');
  await open(file);
  assert.equal(await readdir(dir), []);
  await writeFile(file, '{"schema":1,"anchors":[{"name":"a"', { mode: 0o600 });
  await rejectsCode(open(file), 'ta.store.corrupt');
  await writeFile(file, JSON.stringify({ schema: 2, anchors: [] }));
  await rejectsCode(open(file), 'ta.store.corrupt');
  await writeFile(file, JSON.stringify({ schema: 1, anchors: [{ name: 'a', source: 's', uses: ['cacerts'], cert: 'AAAA', addedAt: NOW.toISOString() }] }));
  await rejectsCode(open(file), 'ta.store.corrupt');
  const good = { name: 'a', source: 's', uses: ['cacerts'], cert: Buffer.from(ca.root.der).toString('base64'), addedAt: NOW.toISOString() };
  await writeFile(file, JSON.stringify({ schema: 1, anchors: [good, { ...good, name: 'b' }] }));
  await rejectsCode(open(file), 'ta.store.duplicate');
});

/** Two generations: lab-root, then lab-root + rollover-root (the .prev copy holds only lab-root). */
async function twoGenerations(): Promise<{ file: string; s: TrustAnchorStore }> {
  const file = path.join(tmp(), 'trust-anchors.json');
  const s = await open(file);
  await s.add({ name: 'lab-root', source: 'config', uses: ['cacerts', 'est-server'], certificate: ca.root.der });
  await s.add({ name: 'rollover-root', source: 'cacerts-rollover', uses: ['cacerts'], certificate: other.root.der });
  return { file, s };
}
const truncateHalf = async (f: string): Promise<void> => truncate(f, Math.floor((await stat(f)).size / 2));
const flipBit = async (f: string, needle: string): Promise<void> => {
  const b = await readFile(f);
  const at = b.indexOf(needle);
  assert.ok(at >= 0, `${needle} in ${f}`);
  b[at + needle.length - 1]! ^= 0x01;
  await writeFile(f, b);
};

for (const [what, hurt] of [
  ['truncated', (f: string) => truncateHalf(f)],
  ['bit-flipped', (f: string) => flipBit(f, '"rollover-root')],
] as const) {
  test(`trust-anchors.json ${what} → the previous good set (.prev), never an empty one`, async () => {
    const { file } = await twoGenerations();
    await hurt(file);
    const again = await open(file);
    assert.equal(again.list().map((a) => a.name), ['lab-root'], 'the previous generation');
    assert.is(again.certificatesFor('cacerts').length, 1);
    // the next write repairs the current file
    await again.add({ name: 'rollover-root', source: 'cacerts-rollover', uses: ['cacerts'], certificate: other.root.der });
    assert.equal((await stored(file)).anchors.map((a) => a.name), ['lab-root', 'rollover-root']);
  });
}

test('both copies of trust-anchors.json damaged → ta.store.corrupt (not an empty set); both files left untouched', async () => {
  const { file } = await twoGenerations();
  await truncateHalf(file);
  await flipBit(`${file}.prev`, '"lab-root');
  const before = [await readFile(file), await readFile(`${file}.prev`)];
  await rejectsCode(open(file), 'ta.store.corrupt');
  await open(file).then(
    () => assert.unreachable(),
    (e) => assert.match((e as Error).message, /trust-anchors\.json/),
  );
  assert.equal([await readFile(file), await readFile(`${file}.prev`)], before, 'nothing rewritten, the operator can inspect both');
  assert.equal((await readdir(path.dirname(file))).sort(), ['trust-anchors.json', 'trust-anchors.json.prev']);
});

test('trust-anchors.json of the earlier bare format is converted once: checksummed, with a .prev copy', async () => {
  const dir = tmp();
  const file = path.join(dir, 'trust-anchors.json');
  const good = { name: 'a', source: 'config', uses: ['cacerts'], cert: Buffer.from(ca.root.der).toString('base64'), addedAt: NOW.toISOString() };
  await writeFile(file, JSON.stringify({ schema: 1, anchors: [good] }, null, 2) + '\n', { mode: 0o600 });
  const s = await open(file);
  assert.equal(s.list().map((a) => a.name), ['a']);
  assert.is((await stored(file)).anchors.length, 1);
  assert.ok(decodeEnvelope(await readFile(`${file}.prev`), TA_STORE_KIND).ok);
  await truncateHalf(file);
  assert.equal((await open(file)).list().map((a) => a.name), ['a'], 'the converted copy is already protected');
});

test('the agent refuses to start over a damaged TA database: no re-seed from the factory file, no trust rebuilt from /cacerts', async () => {
  const dir = tmp();
  await writeFile(path.join(dir, 'ta.pem'), ca.root.pem);
  const config = parseConfig({ deviceId: 'd', stateDir: path.join(dir, 'state'), tpm: {}, est: { url: 'https://ca.example', trustAnchorsFile: 'ta.pem' }, identity: { subject: 'CN=d' } }, dir);
  const start = () => createSharedContext(config, new SoftwareKeyStore(), { clock: new SystemClock(), log: memoryLogger('info') });
  // First start seeds the factory anchor; a rollover adds one the factory file does not have.
  const first = await start();
  assert.equal(first.stores.ta.list().map((a) => a.source), ['config']);
  await first.stores.ta.add({ name: 'rollover-root', source: 'cacerts-rollover', uses: ['cacerts'], certificate: other.root.der });
  await first.sink.close();
  const file = path.join(config.stateDir, 'trust-anchors.json');
  // Both copies damaged.
  await flipBit(`${file}.prev`, '"factory-0');
  await truncateHalf(file);
  await start().then(
    () => assert.unreachable('an agent whose TA database is unusable must not start with an empty or re-seeded one'),
    (e) => {
      assert.instance(e, TaStoreError);
      assert.is((e as TaStoreError).code, 'ta.store.corrupt');
    },
  );
  assert.equal((await readdir(config.stateDir)).filter((n) => n.startsWith('trust-anchors')).sort(), ['trust-anchors.json', 'trust-anchors.json.prev']);
  assert.not.ok(decodeEnvelope(await readFile(file), TA_STORE_KIND).ok, 'not rewritten with the factory seed');
});

test.after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test.run();
