// CRL store (agent/store/crl-store.ts): only CRLs whose signer chains to a TA authorized for CRLs are admitted,
// newer (cRLNumber, else thisUpdate) replaces older, expired / future / forged / delta CRLs are refused, persistence
// (the CRLs decoded at the first query after open; a damaged file refused at open).
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CRL_STORE_KIND, CRL_STORE_SCHEMA, CrlRejectedError, CrlStore, CrlStoreError } from '../../agent/store/crl-store.js';
import { decodeEnvelope, encodeEnvelope } from '../../agent/store/envelope.js';
import { TrustAnchorStore } from '../../agent/store/ta-store.js';
import { LabCa } from '../../deploy/lab/ca.js';
import { issueLabCrl } from '../../deploy/lab/pal.js';

const NOW = new Date('2026-04-01T00:00:00Z');
const H = 3_600_000;
const ca = await LabCa.create({ now: NOW });
const impostor = await LabCa.create({ now: NOW }); // same names, different keys
const dirs: string[] = [];

async function stores(uses: Array<'crl' | 'cacerts'> = ['crl', 'cacerts']): Promise<{ ta: TrustAnchorStore; crls: CrlStore; dir: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-crl-'));
  dirs.push(dir);
  const ta = await TrustAnchorStore.open(path.join(dir, 'ta.json'));
  await ta.add({ name: 'root', source: 'test', uses, certificate: ca.root.der });
  const crls = await CrlStore.open(path.join(dir, 'crls.json'), { taStore: ta, now: () => NOW });
  return { ta, crls, dir };
}

async function rejects(p: Promise<unknown>, reason: string): Promise<void> {
  await p.then(
    () => assert.unreachable(`expected crl.rejected.${reason}`),
    (e) => {
      assert.ok(e instanceof CrlRejectedError, String(e));
      assert.is((e as CrlRejectedError).code, `crl.rejected.${reason}`, (e as Error).message);
    },
  );
}

const crl = (n: bigint, opts: Partial<Parameters<typeof issueLabCrl>[1]> = {}, signer = ca.issuing) =>
  issueLabCrl(signer, { thisUpdate: new Date(NOW.getTime() - H), crlNumber: n, ...opts });

test('a CRL from the issuing CA (intermediate supplied) is stored; same → unchanged; older → kept; newer → replaces', async () => {
  const { crls, dir } = await stores();
  const c1 = await crl(1n);
  const r1 = await crls.offer(c1, { intermediates: [ca.issuing.der] });
  assert.is(r1.status, 'stored');
  assert.is(r1.crl.crlNumber, 1n);
  assert.is(r1.crl.scope, 'crl');
  assert.is((await crls.offer(c1, { intermediates: [ca.issuing.der] })).status, 'unchanged');
  const c3 = await crl(3n);
  assert.is((await crls.offer(c3, { intermediates: [ca.issuing.der] })).status, 'stored');
  const c2 = await crl(2n, { thisUpdate: new Date(NOW.getTime() - H / 2) }); // later thisUpdate, lower number
  assert.is((await crls.offer(c2, { intermediates: [ca.issuing.der] })).status, 'older');
  assert.is(crls.size, 1);
  assert.is((await crls.list())[0]!.crlNumber, 3n);
  const file = path.join(dir, 'crls.json');
  assert.is((await stat(file)).mode & 0o777, 0o600);
  const d = decodeEnvelope(await readFile(file), CRL_STORE_KIND);
  if (!d.ok) throw new Error(`${file}: ${d.problem} (${d.detail})`);
  assert.is((d.envelope.data as { crls: unknown[] }).crls.length, 1);
});

test('revocation lookup and reload', async () => {
  const { ta, crls, dir } = await stores();
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const leaf = await ca.issue({
    subject: { CN: 'peer' },
    spki: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })),
    notBefore: new Date(NOW.getTime() - H),
    notAfter: new Date(NOW.getTime() + 24 * H),
    profile: 'client',
  });
  assert.is(await crls.isRevoked(leaf), false);
  await crls.offer(await crl(5n, { revoked: [{ serial: leaf }] }), { intermediates: [ca.issuing.der] });
  assert.is(await crls.isRevoked(leaf), true);
  const again = await CrlStore.open(path.join(dir, 'crls.json'), { taStore: ta, now: () => NOW });
  assert.is((await again.list())[0]!.crlNumber, 5n);
  assert.is((await again.list())[0]!.revokedCount, 1);
  assert.is(await again.isRevoked(leaf), true);
});

test('a root-signed CRL validates directly to the TA', async () => {
  const { crls } = await stores();
  const r = await crls.offer(await crl(1n, {}, ca.root));
  assert.is(r.status, 'stored');
  assert.is((await crls.forIssuer(ca.root.certificate)).length, 1);
});

test('forged (untrusted key with the same issuer name), unknown issuer, unauthorized TA → rejected, nothing stored', async () => {
  const { crls } = await stores();
  await rejects(crls.offer(await crl(9n, {}, impostor.issuing), { intermediates: [ca.issuing.der] }), 'signature');
  await rejects(crls.offer(await crl(9n, {}, impostor.issuing), { intermediates: [impostor.issuing.der] }), 'untrusted');
  await rejects(crls.offer(await crl(9n)), 'no_issuer');
  assert.is(crls.size, 0);
  const noCrlUse = await stores(['cacerts']);
  await rejects(noCrlUse.crls.offer(await crl(1n), { intermediates: [ca.issuing.der] }), 'untrusted');
  await rejects(noCrlUse.crls.offer(await crl(1n, {}, ca.root)), 'no_issuer');
});

test('expired, not yet valid, malformed and delta CRLs are rejected', async () => {
  const { crls } = await stores();
  const opts = { intermediates: [ca.issuing.der] };
  await rejects(crls.offer(await crl(1n, { thisUpdate: new Date(NOW.getTime() - 48 * H), nextUpdate: new Date(NOW.getTime() - H) }), opts), 'expired');
  await rejects(crls.offer(await crl(1n, { thisUpdate: new Date(NOW.getTime() + 2 * H) }), opts), 'not_yet_valid');
  await rejects(crls.offer(new Uint8Array([0x30, 0x00]), opts), 'malformed');
  // delta CRL: add a deltaCRLIndicator and re-sign
  const delta = new pkijs.CertificateRevocationList({ schema: asn1js.fromBER(await crl(2n)).result });
  delta.crlExtensions!.extensions.push(new pkijs.Extension({ extnID: '2.5.29.27', critical: true, extnValue: new asn1js.Integer({ value: 1 }).toBER(false) }));
  await delta.sign(ca.issuing.privateKey, 'SHA-256');
  await rejects(crls.offer(new Uint8Array(delta.toSchema(true).toBER(false)), opts), 'delta');
  assert.is(crls.size, 0);
});

test('crls.json torn → the previous CRL (.prev); both copies damaged → crl.store.corrupt, not "no CRLs"', async () => {
  const { ta, crls, dir } = await stores();
  const file = path.join(dir, 'crls.json');
  await crls.offer(await crl(1n), { intermediates: [ca.issuing.der] });
  await crls.offer(await crl(2n), { intermediates: [ca.issuing.der] });
  await truncate(file, Math.floor((await stat(file)).size / 2));
  const again = await CrlStore.open(file, { taStore: ta, now: () => NOW });
  assert.is((await again.list())[0]!.crlNumber, 1n);
  const b = await readFile(`${file}.prev`);
  b[b.indexOf('"der"') + 10]! ^= 0x01;
  await writeFile(`${file}.prev`, b);
  await CrlStore.open(file, { taStore: ta, now: () => NOW }).then(
    () => assert.unreachable('a damaged CRL store must not load as empty (that un-revokes)'),
    (e) => {
      assert.instance(e, CrlStoreError);
      assert.is((e as CrlStoreError).code, 'crl.store.corrupt');
    },
  );
});

/** Opening `file` fails with crl.store.corrupt whose message matches `detail`. */
async function corruptAtOpen(file: string, ta: TrustAnchorStore, detail: RegExp): Promise<void> {
  await CrlStore.open(file, { taStore: ta, now: () => NOW }).then(
    () => assert.unreachable('a damaged CRL store must not load'),
    (e) => {
      assert.instance(e, CrlStoreError);
      assert.is((e as CrlStoreError).code, 'crl.store.corrupt');
      assert.match((e as Error).message, detail);
    },
  );
}

/** A checksummed crls.json (as the store writes it) holding these records. */
const envelopeOf = (crls: unknown[], generation = 1): Buffer =>
  encodeEnvelope({ kind: CRL_STORE_KIND, version: CRL_STORE_SCHEMA, generation, savedAt: NOW.toISOString(), data: { schema: CRL_STORE_SCHEMA, crls } });

test('after a restart the first revocation check decodes the stored CRLs: the right answers; the file decodes with openssl', async () => {
  const { ta, crls, dir } = await stores();
  const file = path.join(dir, 'crls.json');
  const peer = async (cn: string) => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
    return ca.issue({ subject: { CN: cn }, spki, notBefore: new Date(NOW.getTime() - H), notAfter: new Date(NOW.getTime() + 24 * H), profile: 'client' });
  };
  const [revoked, later, good] = [await peer('revoked'), await peer('revoked-later'), await peer('good')];
  await crls.offer(await crl(4n, { revoked: [{ serial: revoked }] }), { intermediates: [ca.issuing.der] });
  await crls.offer(await crl(1n, { revoked: [{ serial: good }] }, ca.root));
  await crls.offer(await crl(5n, { revoked: [{ serial: revoked }, { serial: later }] }), { intermediates: [ca.issuing.der] });
  const bytes = await readFile(file);

  const again = await CrlStore.open(file, { taStore: ta, now: () => NOW });
  assert.is(again.size, 2);
  const isRevoked = await again.revocationCheck();
  assert.is(isRevoked(revoked), true);
  assert.is(isRevoked(later), true, 'the newer CRL (5) is the one stored');
  assert.is(isRevoked(good), false, 'a root CRL listing the same serial does not revoke a certificate of the issuing CA');
  assert.equal((await again.list()).map((e) => `${e.crlNumber}:${e.revokedCount}`).sort(), ['1:1', '5:2']);
  assert.equal(await readFile(file), bytes, 'decoding writes nothing');
  // an older CRL offered after the restart is compared with the decoded stored one
  assert.is((await again.offer(await crl(4n, { revoked: [{ serial: revoked }] }), { intermediates: [ca.issuing.der] })).status, 'older');

  // what is stored decodes independently of the agent: DER, one CRL per record, the revoked serials listed
  const d = decodeEnvelope(bytes, CRL_STORE_KIND);
  if (!d.ok) throw new Error(`${file}: ${d.problem}`);
  const records = (d.envelope.data as { crls: Array<{ der: string }> }).crls;
  const texts = records.map((r, i) => {
    const der = path.join(dir, `crl-${i}.der`);
    writeFileSync(der, Buffer.from(r.der, 'base64'));
    return execFileSync('openssl', ['crl', '-inform', 'DER', '-in', der, '-noout', '-text'], { encoding: 'utf8' });
  });
  const serial = (c: pkijs.Certificate) => Buffer.from(c.serialNumber.valueBlock.valueHexView).toString('hex').toUpperCase().replace(/^(00)+/, '');
  const issuing = texts.find((t) => /X509v3 CRL Number: *\n *5\n/.test(t))!;
  assert.ok(issuing, texts.join('\n'));
  assert.ok(issuing.includes(serial(revoked)) && issuing.includes(serial(later)) && !issuing.includes(serial(good)), issuing);
});

test('a damaged crls.json is still refused at open: a record without fields, der not base64, a bare-JSON file of garbage', async () => {
  const { ta, dir } = await stores();
  const file = path.join(dir, 'crls.json');
  const good = Buffer.from(await crl(1n)).toString('base64');
  const rec = (der: string) => ({ der, signer: 'ab'.repeat(32), storedAt: NOW.toISOString() });
  // checksummed files (no .prev) whose content the store refuses, reported as the document store reports them
  const invalid = /crls\.json: invalid-data \(content fails validation\); .*crls\.json\.prev: missing/;
  // a record that lost its fields
  await writeFile(file, envelopeOf([{ der: good }]));
  await corruptAtOpen(file, ta, invalid);
  // a der that is not base64
  await writeFile(file, envelopeOf([rec(good), rec('not base64 at all!')]));
  await corruptAtOpen(file, ta, invalid);
  // the bare JSON of earlier releases holding garbage: refused with the reason, not converted
  await writeFile(file, JSON.stringify({ schema: CRL_STORE_SCHEMA, crls: [{ der: 7 }] }));
  await corruptAtOpen(file, ta, /crls\[0\]: malformed record/);
  assert.ok(!(await readFile(file, 'utf8')).startsWith('{"checksum"'), 'the refused bare file is left as it was');
  // damage the checksum catches (a flipped byte): the current copy is refused and the previous one opened
  await rm(file);
  await writeFile(`${file}.prev`, envelopeOf([rec(good)], 1));
  const damaged = Buffer.from(envelopeOf([rec(good)], 2));
  const at = damaged.indexOf(Buffer.from(good.slice(40, 60)));
  damaged[at] = damaged[at] === 0x41 ? 0x42 : 0x41;
  await writeFile(file, damaged);
  assert.equal((await (await CrlStore.open(file, { taStore: ta, now: () => NOW })).list()).map((e) => e.crlNumber), [1n]);
});

for (const [what, der] of [
  ['not DER at all', async () => Buffer.from('not a CRL at all')],
  ['a truncated CRL', async () => Buffer.from(await crl(1n)).subarray(0, 100)],
  [
    'an OCTET STRING where the signature algorithm OID belongs',
    async () => {
      const d = Buffer.from(await crl(1n));
      const at = d.indexOf(Buffer.from([0x02, 0x01, 0x01, 0x30])) + 5;
      assert.is(d[at], 0x06);
      d[at] = 0x04;
      return d;
    },
  ],
] as const) {
  test(`a checksum-valid crls.json whose CRL does not decode (${what}): crl.store.corrupt at the first query, nothing written`, async () => {
    const { ta, dir } = await stores();
    const file = path.join(dir, 'crls.json');
    await writeFile(file, envelopeOf([{ der: (await der()).toString('base64'), signer: 'ab'.repeat(32), storedAt: NOW.toISOString() }]));
    const bytes = await readFile(file);
    const s = await CrlStore.open(file, { taStore: ta, now: () => NOW });
    assert.is(s.size, 1);
    const corrupt = async (p: Promise<unknown>) => {
      const e = await p.then(() => undefined, (e: unknown) => e);
      assert.instance(e, CrlStoreError);
      assert.is((e as CrlStoreError).code, 'crl.store.corrupt');
      assert.match((e as Error).message, /crls\[0\]/);
    };
    await corrupt(s.revocationCheck());
    await corrupt(s.list());
    // an offer cannot be compared with what is stored: refused, the old store kept (no empty set replaces it)
    await corrupt(s.offer(await crl(2n), { intermediates: [ca.issuing.der] }));
    assert.equal(await readFile(file), bytes);
    assert.is(await stat(`${file}.prev`).then(() => 'exists', (e: NodeJS.ErrnoException) => e.code), 'ENOENT');
  });
}

test.after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test.run();
