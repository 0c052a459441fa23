// TpmKeyStore.importKey / sealSecret against a real swtpm: P-256 and RSA-2048 PKCS#8 keys imported with TPM2_Import
// (unwrapped duplicate), signatures verified by node:crypto against the original public key, the imported key used
// again from a second keystore (a restart), no transient left behind, bad keys and blobs refused with typed errors.
import { createPublicKey, generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TpmClient } from '../../agent/keystore/addon.js';
import type { KeyRecord } from '../../agent/keystore/keystore.js';
import { TpmKeyStore, TpmKeyStoreError } from '../../agent/keystore/tpm.js';
import { PkiDecodeError } from '../../agent/pki/errors.js';
import {
  IMPORTED_SIGNING_ATTRS,
  TPMA_OBJECT,
  TPM2,
  TPM_ALG,
  TPM_HT,
  TpmCommandError,
  importedEccP256Public,
  marshalPublic2B,
  symDefObjectNull,
  unmarshalPublic2B,
  unwrappedDuplicate,
} from '../../agent/tpm2/index.js';
import { startSwtpm, type Swtpm } from '../harness/swtpm.js';

let swtpm: Swtpm;
let store: TpmKeyStore;

function pkcs8(k: KeyObject): Uint8Array {
  return new Uint8Array(k.export({ type: 'pkcs8', format: 'der' }));
}

const ecKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsaKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
let ecRecord: KeyRecord;
let rsaRecord: KeyRecord;

test.before(async () => {
  swtpm = await startSwtpm();
  store = await TpmKeyStore.open({ tcti: swtpm.tcti });
});

test.after(async () => {
  await store?.close();
  await swtpm?.stop();
});

test('P-256 PKCS#8 key: imported, signs, signature verifies with the original public key', async () => {
  const der = pkcs8(ecKeys.privateKey);
  const before = Buffer.from(der);
  ecRecord = await store.importKey('imported-ec', der);
  assert.ok(Buffer.from(der).equals(before), 'the caller’s buffer is the caller’s to wipe');
  assert.is(ecRecord.algorithm, 'ecc-p256');
  assert.ok(Buffer.from(ecRecord.spki).equals(ecKeys.publicKey.export({ type: 'spki', format: 'der' })));
  const msg = new TextEncoder().encode('imported p-256');
  const sig = await store.signer(ecRecord).sign(msg);
  assert.ok(verify('sha256', msg, ecKeys.publicKey, sig));
  const pub = unmarshalPublic2B(new Uint8Array(Buffer.from(ecRecord.location.public as string, 'base64')));
  assert.is(pub.objectAttributes, IMPORTED_SIGNING_ATTRS);
  assert.is(pub.objectAttributes & (TPMA_OBJECT.FIXED_TPM | TPMA_OBJECT.FIXED_PARENT | TPMA_OBJECT.SENSITIVE_DATA_ORIGIN), 0);
  // the stored private blob is the TPM's encrypted form: the scalar d is nowhere in it
  const d = Buffer.from(ecKeys.privateKey.export({ format: 'jwk' }).d!, 'base64url');
  assert.is(Buffer.from(ecRecord.location.private as string, 'base64').indexOf(d), -1);
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
});

test('RSA-2048 PKCS#8 key: imported, PKCS#1 v1.5 signature verifies; TLS options are the TPM engine (TLS 1.2)', async () => {
  rsaRecord = await store.importKey('imported-rsa', pkcs8(rsaKeys.privateKey));
  assert.is(rsaRecord.algorithm, 'rsa-2048');
  assert.ok(Buffer.from(rsaRecord.spki).equals(rsaKeys.publicKey.export({ type: 'spki', format: 'der' })));
  const msg = new TextEncoder().encode('imported rsa');
  const sig = await store.signer(rsaRecord).sign(msg);
  assert.ok(verify('sha256', msg, rsaKeys.publicKey, sig));
  const tls = await store.tlsKeyOptions(rsaRecord);
  assert.is(tls.privateKeyIdentifier, 'imported-rsa');
  assert.is(tls.maxVersion, 'TLSv1.2');
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
});

test('the imported keys survive a restart: a second keystore signs with the stored records', async () => {
  await store.close();
  store = await TpmKeyStore.open({ tcti: swtpm.tcti });
  for (const [rec, pubKey] of [[ecRecord, ecKeys.publicKey], [rsaRecord, rsaKeys.publicKey]] as const) {
    const msg = new TextEncoder().encode(`after restart ${rec.id}`);
    const sig = await store.signer(rec).sign(msg);
    assert.ok(verify('sha256', msg, createPublicKey({ key: Buffer.from(rec.spki), format: 'der', type: 'spki' }), sig));
    assert.ok(verify('sha256', msg, pubKey, sig));
  }
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
});

test('bad keys are refused with typed errors and nothing is returned', async () => {
  const p384 = pkcs8(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey);
  const rsa1024 = pkcs8(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey);
  const ed = pkcs8(generateKeyPairSync('ed25519').privateKey);
  const good = pkcs8(ecKeys.privateKey);
  const cases: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['garbage', new Uint8Array([1, 2, 3, 4, 5])],
    ['truncated', good.subarray(0, good.byteLength - 5)],
    ['trailing bytes', new Uint8Array([...good, 0])],
    ['P-384', p384],
    ['RSA-1024', rsa1024],
    ['Ed25519', ed],
  ];
  for (const [name, der] of cases) {
    try {
      await store.importKey(`bad-${name.replace(/[^a-z0-9]/gi, '')}`, der);
      assert.unreachable(name);
    } catch (err) {
      assert.instance(err, PkiDecodeError, name);
    }
  }
  try {
    await store.importKey('bad id!', good);
    assert.unreachable('bad id');
  } catch (err) {
    assert.instance(err, TpmKeyStoreError);
  }
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
});

test('bad blobs: a corrupted imported private blob fails TPM2_Load with a TpmCommandError, no transient left', async () => {
  const priv = Buffer.from(ecRecord.location.private as string, 'base64');
  priv[priv.length - 3]! ^= 0x55;
  const bad: KeyRecord = { ...ecRecord, location: { ...ecRecord.location, private: priv.toString('base64') } };
  try {
    await store.signer(bad).sign(new Uint8Array([1]));
    assert.unreachable();
  } catch (err) {
    assert.instance(err, TpmCommandError);
    assert.is((err as TpmCommandError).command, 'TPM2_Load');
  }
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
});

test('TPM rules (raw addon): fixedTPM on an imported object and a malformed duplicate are refused by TPM2_Import', async () => {
  const raw = TpmClient.open(swtpm.tcti);
  try {
    const { object: srk } = await raw.execute(TPM2.TrFromTpmPublic, { tpmHandle: store.srkHandle });
    const jwk = ecKeys.privateKey.export({ format: 'jwk' });
    const x = new Uint8Array(Buffer.from(jwk.x!, 'base64url'));
    const y = new Uint8Array(Buffer.from(jwk.y!, 'base64url'));
    const d = new Uint8Array(Buffer.from(jwk.d!, 'base64url'));
    const fixed = importedEccP256Public(x, y);
    fixed.objectAttributes |= TPMA_OBJECT.FIXED_TPM | TPMA_OBJECT.FIXED_PARENT;
    const dup = unwrappedDuplicate({ sensitiveType: TPM_ALG.ECC, authValue: new Uint8Array(0), seedValue: new Uint8Array(32), sensitive: d });
    const e0 = new Uint8Array(0);
    const imp = (objectPublic: Uint8Array, duplicate: Uint8Array) =>
      raw.execute(TPM2.Import, { parentHandle: srk, encryptionKey: e0, objectPublic, duplicate, inSymSeed: e0, symmetricAlg: symDefObjectNull() });
    const err1 = await imp(marshalPublic2B(fixed), dup).catch((e: unknown) => e);
    assert.instance(err1, TpmCommandError);
    assert.match((err1 as Error).message, /attributes/i);
    // the duplicate's inner size disagrees with its contents
    const broken = new Uint8Array(dup);
    broken[3] = (broken[3]! + 7) & 0xff;
    const err2 = await imp(marshalPublic2B(importedEccP256Public(x, y)), broken).catch((e: unknown) => e);
    assert.instance(err2, TpmCommandError);
    // not a TPM2B_PRIVATE at all: refused before reaching the TPM
    const err3 = await imp(marshalPublic2B(importedEccP256Public(x, y)), new Uint8Array([0, 9, 1])).catch((e: unknown) => e);
    assert.instance(err3, TpmCommandError);
    await raw.execute(TPM2.TrClose, { object: srk });
  } finally {
    await raw.close();
  }
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
});

test('sealSecret: a symmetric key sealed as a KEYEDHASH object unseals to the same bytes; limits enforced', async () => {
  const secret = new Uint8Array(Array.from({ length: 32 }, (_, i) => i * 7 + 1));
  const rec = await store.sealSecret('aes-key-1', secret);
  assert.is(rec.length, 32);
  const pub = unmarshalPublic2B(new Uint8Array(Buffer.from(rec.location.public as string, 'base64')));
  assert.is(pub.type, TPM_ALG.KEYEDHASH);
  assert.is(pub.objectAttributes & TPMA_OBJECT.FIXED_TPM, TPMA_OBJECT.FIXED_TPM);
  assert.is(Buffer.from(rec.location.private as string, 'base64').indexOf(Buffer.from(secret)), -1);
  const out = await store.unsealSecret(rec);
  assert.ok(Buffer.from(out).equals(Buffer.from(secret)));
  for (const n of [0, 129]) {
    try {
      await store.sealSecret('too-long', new Uint8Array(n));
      assert.unreachable();
    } catch (err) {
      assert.instance(err, TpmKeyStoreError);
    }
  }
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
  console.log('tpm-import timings', JSON.stringify(Object.fromEntries(Object.entries(store.stats()).filter(([k]) => /import|seal|probe|sign$/i.test(k)))));
});

test.run();
