// CRL store (agent/store/crl-store.ts): only CRLs whose signer chains to a TA authorized for CRLs are admitted,
// newer (cRLNumber, else thisUpdate) replaces older, expired / future / forged / delta CRLs are refused, persistence.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CRL_STORE_KIND, CrlRejectedError, CrlStore, CrlStoreError } from '../../agent/store/crl-store.js';
import { decodeEnvelope } from '../../agent/store/envelope.js';
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
  assert.is(crls.list().length, 1);
  assert.is(crls.list()[0]!.crlNumber, 3n);
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
  assert.is(crls.isRevoked(leaf), false);
  await crls.offer(await crl(5n, { revoked: [{ serial: leaf }] }), { intermediates: [ca.issuing.der] });
  assert.is(crls.isRevoked(leaf), true);
  const again = await CrlStore.open(path.join(dir, 'crls.json'), { taStore: ta, now: () => NOW });
  assert.is(again.list()[0]!.crlNumber, 5n);
  assert.is(again.list()[0]!.revokedCount, 1);
  assert.is(again.isRevoked(leaf), true);
});

test('a root-signed CRL validates directly to the TA', async () => {
  const { crls } = await stores();
  const r = await crls.offer(await crl(1n, {}, ca.root));
  assert.is(r.status, 'stored');
  assert.is(crls.forIssuer(ca.root.certificate).length, 1);
});

test('forged (untrusted key with the same issuer name), unknown issuer, unauthorized TA → rejected, nothing stored', async () => {
  const { crls } = await stores();
  await rejects(crls.offer(await crl(9n, {}, impostor.issuing), { intermediates: [ca.issuing.der] }), 'signature');
  await rejects(crls.offer(await crl(9n, {}, impostor.issuing), { intermediates: [impostor.issuing.der] }), 'untrusted');
  await rejects(crls.offer(await crl(9n)), 'no_issuer');
  assert.is(crls.list().length, 0);
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
  assert.is(crls.list().length, 0);
});

test('crls.json torn → the previous CRL (.prev); both copies damaged → crl.store.corrupt, not "no CRLs"', async () => {
  const { ta, crls, dir } = await stores();
  const file = path.join(dir, 'crls.json');
  await crls.offer(await crl(1n), { intermediates: [ca.issuing.der] });
  await crls.offer(await crl(2n), { intermediates: [ca.issuing.der] });
  await truncate(file, Math.floor((await stat(file)).size / 2));
  const again = await CrlStore.open(file, { taStore: ta, now: () => NOW });
  assert.is(again.list()[0]!.crlNumber, 1n);
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

test.after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test.run();
