// TA store (agent/store/ta-store.ts): persistence (atomic write, 0600, no temp files left, stale temps removed),
// the set digest, add/update/remove/replace, reload, corrupt files and failed writes leaving memory unchanged.
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { certificateFingerprint, certificateToPem } from '../../agent/pki/cert.js';
import { TaStoreError, TrustAnchorStore, trustAnchorSetDigest } from '../../agent/store/ta-store.js';
import { LabCa } from '../../deploy/lab/ca.js';

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
  const doc = JSON.parse(await readFile(file, 'utf8'));
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

test.after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test.run();
