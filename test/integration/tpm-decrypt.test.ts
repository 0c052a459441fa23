// TPM2_RSA_Decrypt and TPM2_ECDH_ZGen through the keystore queue (load → use → flush) against swtpm, cross-checked
// with node:crypto: OAEP-SHA-256 ciphertexts made by node decrypt in the TPM; ECDH Z from the TPM equals node's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { constants, createECDH, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import { startSwtpm, type Swtpm } from '../harness/swtpm.js';

let swtpm: Swtpm;
let ks: TpmKeyStore;

test.before(async () => {
  swtpm = await startSwtpm();
  ks = await TpmKeyStore.open({ tcti: swtpm.tcti });
});
test.after(async () => {
  await ks?.close().catch(() => undefined);
  await swtpm?.stop();
});

test('RSA-2048 decryption key: node encrypts (OAEP SHA-256), the TPM decrypts', async () => {
  const key = await ks.createDecryptionKey('ke-rsa', 'rsa-2048');
  const pub = createPublicKey({ key: Buffer.from(key.spki), format: 'der', type: 'spki' });
  const secret = randomBytes(32);
  const ct = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, secret);
  const pt = await ks.decrypt(key, new Uint8Array(ct));
  assert.ok(Buffer.from(pt).equals(secret));
  // A corrupted ciphertext is a typed TPM error, not a crash.
  const bad = Buffer.from(ct);
  bad[10] ^= 0xff;
  await ks.decrypt(key, new Uint8Array(bad)).then(
    () => assert.unreachable(),
    (e) => assert.match(String((e as Error).message), /RSA_Decrypt/),
  );
  // Wrong padding (PKCS#1 v1.5 ciphertext) does not decrypt under OAEP either.
  const v15 = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_PADDING }, secret);
  await ks.decrypt(key, new Uint8Array(v15)).then(() => assert.unreachable(), () => undefined);
  assert.is((await ks.listHandles()).length, 0, 'flushed on every path');
});

test('ECC P-256 decryption key: TPM2_ECDH_ZGen Z equals node:crypto ECDH', async () => {
  const key = await ks.createDecryptionKey('ke-ecc', 'ecc-p256');
  const devicePoint = createPublicKey({ key: Buffer.from(key.spki), format: 'der', type: 'spki' }).export({ format: 'jwk' });
  const eph = createECDH('prime256v1');
  eph.generateKeys();
  const raw = eph.getPublicKey(); // 04 || x || y
  const z = await ks.ecdhZGen(key, { x: new Uint8Array(raw.subarray(1, 33)), y: new Uint8Array(raw.subarray(33, 65)) });
  const devRaw = Buffer.concat([Buffer.from([4]), Buffer.from(devicePoint.x!, 'base64url'), Buffer.from(devicePoint.y!, 'base64url')]);
  const expected = eph.computeSecret(devRaw);
  assert.is(z.byteLength, 32);
  assert.ok(Buffer.from(z).equals(expected));
  // A point not on the curve is refused by the TPM (typed error).
  await ks.ecdhZGen(key, { x: new Uint8Array(32).fill(1), y: new Uint8Array(32).fill(2) }).then(
    () => assert.unreachable(),
    (e) => assert.match(String((e as Error).message), /ECDH_ZGen/),
  );
  assert.is((await ks.listHandles()).length, 0);
});

test('a key-establishment key cannot sign; a signing key cannot decrypt', async () => {
  const ke = await ks.createDecryptionKey('ke-nosign', 'ecc-p256');
  await ks.signDigest(ke, new Uint8Array(32)).then(() => assert.unreachable(), (e) => assert.match(String((e as Error).message), /Sign/));
  const sig = await ks.createKey('sig-nodecrypt', 'ecc-p256');
  const eph = createECDH('prime256v1');
  eph.generateKeys();
  const raw = eph.getPublicKey();
  await ks.ecdhZGen(sig, { x: new Uint8Array(raw.subarray(1, 33)), y: new Uint8Array(raw.subarray(33, 65)) }).then(() => assert.unreachable(), (e) => assert.match(String((e as Error).message), /ECDH_ZGen/));
  assert.is((await ks.listHandles()).length, 0);
});

test.run();
