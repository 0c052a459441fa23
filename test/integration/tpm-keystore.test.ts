// TpmKeyStore against a real swtpm: SRK provisioning, ECC/RSA signatures verified by node:crypto, keys surviving a
// restart (new process), typed errors leaving no transient handle, sequential and concurrent use through the queue.
import { spawnSync } from 'node:child_process';
import { createHash, createPublicKey, verify } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TpmClient } from '../../agent/keystore/addon.js';
import type { KeyRecord } from '../../agent/keystore/keystore.js';
import { TpmKeyStore, TpmKeyStoreError } from '../../agent/keystore/tpm.js';
import {
  TPM2,
  TPM_HT,
  TPM_RH,
  TpmCommandError,
  eccP256SigningTemplate,
  isStorageKey,
  marshalPublic2B,
  tpmHandle,
  unmarshalPublic2B,
} from '../../agent/tpm2/index.js';
import { startSwtpm, type Swtpm } from '../harness/swtpm.js';

let swtpm: Swtpm;
let store: TpmKeyStore;
let ecc: KeyRecord;
let rsa: KeyRecord;

const spkiKey = (r: KeyRecord) => createPublicKey({ key: Buffer.from(r.spki), format: 'der', type: 'spki' });

test.before(async () => {
  swtpm = await startSwtpm();
  // leave a stale transient behind, as a crashed agent would on a TPM without resource manager
  const raw = TpmClient.open(swtpm.tcti);
  await raw.execute(TPM2.CreatePrimary, { primaryHandle: TPM_RH.OWNER, inPublic: marshalPublic2B(eccP256SigningTemplate()) });
  await raw.close();
  store = await TpmKeyStore.open({ tcti: swtpm.tcti });
});

test.after(async () => {
  await store?.close();
  await swtpm?.stop();
});

function timingSummary(s: ReturnType<TpmKeyStore['stats']>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s)) out[k] = `n=${v.count} avg=${(v.totalMs / v.count).toFixed(2)}`;
  return out;
}

test('flushStaleTransients removes what a previous process left loaded', async () => {
  assert.is((await store.listHandles(TPM_HT.TRANSIENT)).length, 1);
  assert.is(await store.flushStaleTransients(), 1);
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
});

test('SRK is persistent at 0x81000001 and is a storage key; reopening reuses it', async () => {
  assert.ok((await store.listHandles(TPM_HT.PERSISTENT)).includes(tpmHandle(0x81000001)));
  assert.is(store.srkHandle, 0x81000001);
});

test('ECC P-256 key: Signer.sign verifies with node:crypto (DER ECDSA-Sig-Value)', async () => {
  ecc = await store.createKey('ldevid-ecc', 'ecc-p256');
  assert.is(ecc.algorithm, 'ecc-p256');
  assert.is(ecc.location.parent, 0x81000001);
  assert.type(ecc.location.public, 'string');
  assert.type(ecc.location.private, 'string');
  assert.is(spkiKey(ecc).asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const msg = Buffer.from('CSR to be signed');
  const sig = await store.signer(ecc).sign(msg);
  assert.is(sig[0], 0x30);
  assert.ok(verify('sha256', msg, spkiKey(ecc), sig));
  const sig2 = await store.signDigest(ecc, createHash('sha256').update(msg).digest());
  assert.ok(verify('sha256', msg, spkiKey(ecc), sig2));
  assert.not.ok(verify('sha256', Buffer.from('other'), spkiKey(ecc), sig2));
});

test('RSA-2048 key: PKCS#1 v1.5 signature verifies with node:crypto', async () => {
  rsa = await store.createKey('ldevid-rsa', 'rsa-2048');
  assert.is(spkiKey(rsa).asymmetricKeyDetails?.modulusLength, 2048);
  const msg = Buffer.from('RSA CSR');
  const sig = await store.signer(rsa).sign(msg);
  assert.is(sig.length, 256);
  assert.ok(verify('sha256', msg, spkiKey(rsa), sig));
});

test('a key survives an addon reload: another node process signs with the stored blobs', async () => {
  await store.close();
  const here = path.dirname(fileURLToPath(import.meta.url));
  const modUrl = new URL(`file://${path.resolve(here, '../../agent/keystore/tpm.js')}`).href;
  const record = JSON.stringify({ ...ecc, spki: Buffer.from(ecc.spki).toString('base64') });
  const script = `
    import { TpmKeyStore } from ${JSON.stringify(modUrl)};
    const rec = JSON.parse(process.env.REC); rec.spki = Buffer.from(rec.spki, 'base64');
    const s = await TpmKeyStore.open({ tcti: process.env.TCTI });
    const sig = await s.signer(rec).sign(Buffer.from('from another process'));
    const left = await s.listHandles(0x80);
    await s.close();
    process.stdout.write(JSON.stringify({ sig: Buffer.from(sig).toString('base64'), left }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, REC: record, TCTI: swtpm.tcti },
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { sig: string; left: number[] };
  assert.equal(out.left, []);
  assert.ok(verify('sha256', Buffer.from('from another process'), spkiKey(ecc), Buffer.from(out.sig, 'base64')));
  // and in-process: close + reopen, same blobs, same SRK
  store = await TpmKeyStore.open({ tcti: swtpm.tcti });
  const sig = await store.signer(rsa).sign(Buffer.from('after reopen'));
  assert.ok(verify('sha256', Buffer.from('after reopen'), spkiKey(rsa), sig));
});

test('a corrupted private blob: typed TpmCommandError with decoded rc, no transient left', async () => {
  const priv = Buffer.from(ecc.location.private as string, 'base64');
  priv[priv.length - 5]! ^= 0x5a; // flip bits inside the encrypted sensitive area
  const bad: KeyRecord = { ...ecc, location: { ...ecc.location, private: priv.toString('base64') } };
  const err = await store.signer(bad).sign(Buffer.from('x')).catch((e: unknown) => e);
  assert.instance(err, TpmCommandError);
  const te = err as TpmCommandError;
  assert.is(te.code, 'tpm.command');
  assert.is(te.command, 'TPM2_Load');
  assert.ok(te.tpmRc !== 0, te.message);
  assert.match(te.message, /TPM2_Load failed: .*\(rc 0x[0-9a-f]{8}\)/);
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
  // the queue keeps going after a failed job
  assert.ok(verify('sha256', Buffer.from('y'), spkiKey(ecc), await store.signer(ecc).sign(Buffer.from('y'))));
});

test('bad requests raise typed errors before touching the TPM', async () => {
  const e1 = await store.signDigest(ecc, new Uint8Array(31)).catch((e: unknown) => e);
  assert.instance(e1, TpmKeyStoreError);
  const e2 = await store.signDigest({ ...ecc, location: { parent: 0x81000002, public: 'AA==', private: 'AA==' } }, new Uint8Array(32)).catch((e: unknown) => e);
  assert.instance(e2, TpmKeyStoreError);
  const e3 = await store.createKey('bad id!', 'ecc-p256').catch((e: unknown) => e);
  assert.instance(e3, TpmKeyStoreError);
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
});

test('20 sequential signs leave zero transient handles', async () => {
  const key = spkiKey(ecc);
  for (let i = 0; i < 20; i++) {
    const msg = Buffer.from(`seq ${i}`);
    assert.ok(verify('sha256', msg, key, await store.signer(ecc).sign(msg)));
  }
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
});

test('10 concurrent signs (Promise.all) all succeed through the queue', async () => {
  const msgs = Array.from({ length: 10 }, (_, i) => Buffer.from(`concurrent ${i}`));
  const recs = msgs.map((_, i) => (i % 3 === 0 ? rsa : ecc));
  const sigs = await Promise.all(msgs.map((m, i) => store.signer(recs[i]!).sign(m)));
  sigs.forEach((s, i) => assert.ok(verify('sha256', msgs[i]!, spkiKey(recs[i]!), s), `signature ${i}`));
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
});

test('getRandom and stats', async () => {
  assert.is((await store.getRandom(48)).length, 48);
  const s = store.stats();
  assert.ok(s.sign!.count >= 10);
  assert.ok(s['op.signDigest']!.count >= 10);
  assert.ok(s.load!.errors >= 1);
  console.log('\nTPM timings (ms, in-process, swtpm):', JSON.stringify(timingSummary(s), null, 1));
});

test('a persistent non-storage object at the SRK handle is refused', async () => {
  await store.close();
  const raw = TpmClient.open(swtpm.tcti);
  const { objectHandle: handle } = await raw.execute(TPM2.CreatePrimary, { primaryHandle: TPM_RH.OWNER, inPublic: marshalPublic2B(eccP256SigningTemplate()) });
  const { newObjectHandle: tr } = await raw.execute(TPM2.EvictControl, { objectHandle: handle, persistentHandle: tpmHandle(0x81000005) });
  await raw.execute(TPM2.FlushContext, { flushHandle: handle });
  const { outPublic } = await raw.execute(TPM2.ReadPublic, { objectHandle: tr });
  assert.not.ok(isStorageKey(unmarshalPublic2B(outPublic)));
  await raw.execute(TPM2.TrClose, { object: tr });
  await raw.close();
  const err = await TpmKeyStore.open({ tcti: swtpm.tcti, srkHandle: 0x81000005 }).catch((e: unknown) => e);
  assert.instance(err, TpmKeyStoreError);
  assert.match(String(err), /not a storage key/);
  store = await TpmKeyStore.open({ tcti: swtpm.tcti });
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
});

test.run();
