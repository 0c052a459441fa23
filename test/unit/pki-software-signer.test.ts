import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SoftwareKeyStore, SoftwareSigner } from '../../agent/keystore/software.js';
import { assertEcdsaSigValue } from '../../agent/pki/sign.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'enrolld-swks-'));
const pub = (spki: Uint8Array) => createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });

for (const alg of ['ecc-p256', 'rsa-2048'] as const) {
  test(`${alg}: sign(m) verifies as a signature over m (node/OpenSSL)`, async () => {
    const s = SoftwareSigner.generate(alg);
    for (let i = 0; i < (alg === 'ecc-p256' ? 20 : 3); i++) {
      const m = Buffer.from(`message ${i}`);
      const sig = await s.sign(new Uint8Array(m));
      if (alg === 'ecc-p256') assertEcdsaSigValue(sig);
      assert.ok(verify('sha256', m, pub(s.spki), Buffer.from(sig)), `round ${i}`);
      assert.not.ok(verify('sha256', Buffer.from('other'), pub(s.spki), Buffer.from(sig)));
    }
  });
}

test('SoftwareKeyStore: create (persisted 0600), reload after restart, TLS options, delete', async () => {
  const ks = new SoftwareKeyStore({ dir: tmp });
  const rec = await ks.createKey('ldevid-1', 'ecc-p256');
  assert.is(rec.algorithm, 'ecc-p256');
  assert.is(statSync(String(rec.location.file)).mode & 0o777, 0o600);
  const tls = await ks.tlsKeyOptions(rec);
  assert.match(tls.key ?? '', 'BEGIN PRIVATE KEY');
  assert.is(tls.sigalgs, 'ecdsa_secp256r1_sha256');
  await ks.close();
  const ks2 = new SoftwareKeyStore({ dir: tmp });
  assert.throws(() => ks2.signer(rec));
  const s = await ks2.load(rec);
  assert.ok(Buffer.from(s.spki).equals(Buffer.from(rec.spki)));
  await ks2.deleteKey(rec);
  await ks2.load(rec).then(() => assert.unreachable(), () => {});
  await ks2.createKey('../escape', 'ecc-p256').then(() => assert.unreachable(), (e) => assert.match(String(e), 'invalid key id'));
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
