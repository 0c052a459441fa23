// The CMC decryption key on the daemon cycle (agent/features/cmc/decryption-key.ts) against the lab's CMC side over
// TLS, keys in swtpm: a decrypt-only RSA-2048 key (ktri) and a P-256 key (kari, TPM2_ECDH_ZGen) enrolled with
// indirect POP (RFC 5272 §6.7) in a PKIData signed by the device's TPM credential, stored (0600) and renewed with a
// new key at the renewal fraction; a wrong witness is answered popFailed, nothing is stored, and the next attempt
// waits for the persisted backoff.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate, constants, publicEncrypt, randomBytes } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import path from 'node:path';
import type { TpmKeyStore } from '../../agent/keystore/tpm.js';
import { buildCsr } from '../../agent/pki/csr.js';
import { pemEncode } from '../../agent/pki/pem.js';
import { ManualClock } from '../../agent/lifecycle/clock.js';
import { fromStoredKey, toStoredKey, type AgentState } from '../../agent/lifecycle/state.js';
import { memoryLogger } from '../../agent/util/log.js';
import { CmcEnrollment, OID_CMC, type CmcEnrollmentOptions } from '../../agent/protocols/cmc/index.js';
import { DecryptionKeyEnroller, type DecryptionKeyAlgorithm } from '../../agent/features/cmc/decryption-key.js';
import { CMC_DECRYPTION_KEY_FILE } from '../../agent/store/layout.js';
import type { CmcLab } from '../../deploy/lab/cmc.js';
import type { AgentEnv } from '../harness/agent-env.js';
import { startCmcIdevidLab } from '../harness/tpm-idevid.js';
import { pyDecode, requirePyasn1 } from '../harness/pydecode.js';

const DAY = 86_400_000;
let env: AgentEnv;
let ks: TpmKeyStore;
let lab: CmcLab;
let options: CmcEnrollmentOptions;
let agent: AgentState;
let n = 0;

test.before(async () => {
  requirePyasn1();
  ({ env, ks, lab, options } = await startCmcIdevidLab());
  // the device's signing credential (with a SAN the decryption key's request must repeat)
  const key = await ks.createKey('ldevid', 'ecc-p256');
  const csr = (await buildCsr({ subject: 'CN=dev-0001,O=enrolld demo', signer: ks.signer(key), san: { dns: ['dev-0001.devices.example'] } })).der;
  const r = await new CmcEnrollment(options).enroll({ operation: 'enroll', csr });
  if (r.kind !== 'issued') throw new Error('no credential');
  const x = new X509Certificate(Buffer.from(r.cert));
  agent = {
    schema: 1, phase: 'enrolled', history: [],
    credential: {
      key: toStoredKey(key), certPem: pemEncode('CERTIFICATE', r.cert), chainPem: r.chain.map((c) => pemEncode('CERTIFICATE', c)), subject: x.subject, serial: x.serialNumber,
      notBefore: new Date(x.validFrom).toISOString(), notAfter: new Date(x.validTo).toISOString(), renewAt: new Date(Date.now() + 20 * DAY).toISOString(),
    },
  };
});

test.after(async () => {
  await ks?.close().catch(() => undefined);
  await env?.stop();
});

function enroller(algorithm: DecryptionKeyAlgorithm) {
  const stateDir = mkdtempSync(path.join(env.dir, `dk-${++n}-`));
  const clock = new ManualClock(new Date());
  const protocol = new CmcEnrollment(options);
  const dk = new DecryptionKeyEnroller({ protocol, keystore: ks, algorithm, stateDir, clock, log: memoryLogger('error'), renewFraction: 2 / 3, backoffMinSeconds: 60, backoffMaxSeconds: 3600, random: () => 0.5 });
  return { dk, clock, stateDir, protocol };
}

const spkiOf = (pem: string): Buffer => Buffer.from(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }));

test('RSA-2048: nothing before the device has a credential; enrolled with indirect POP (ktri), stored 0600, the TPM key decrypts to the certificate; renewed with a new key at 2/3', async () => {
  lab.options.pop = {};
  const { dk, clock, stateDir, protocol } = enroller('rsa-2048');
  assert.is(await dk.check({ schema: 1, phase: 'bootstrapped', history: [] }), 'not-due', 'no credential to sign the PKIData yet');
  const before = lab.requests.length;
  assert.is(await dk.check(agent), 'enrolled');
  assert.equal(lab.requests.slice(before).map((q) => q.status), ['popRequired', 'success']);
  const issued = lab.issued[lab.issued.length - 1]!;
  assert.is(issued.operation, 'reenroll', 'signed by the device credential');
  assert.is(pyDecode('decode_envelope.py', lab.popEnvelopes[lab.popEnvelopes.length - 1]!).recipientInfos[0].type, 'ktri');
  assert.ok(JSON.stringify(pyDecode('decode_cms.py', protocol.lastRequestDer!)).includes(OID_CMC.decryptedPOP), 'decryptedPOP control in the last request');
  const s1 = await dk.state();
  const c1 = s1.current!;
  assert.ok(c1, 'record stored');
  assert.ok(spkiOf(c1.certPem).equals(Buffer.from(c1.key.spki, 'base64')), 'the certificate is for the decryption key');
  assert.match(new X509Certificate(c1.certPem).subject, /CN=dev-0001/);
  assert.is(statSync(path.join(stateDir, CMC_DECRYPTION_KEY_FILE)).mode & 0o777, 0o600);
  // the certified key is usable: what is encrypted to the certificate opens in the TPM
  const secret = randomBytes(32);
  const ct = publicEncrypt({ key: new X509Certificate(c1.certPem).publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, secret);
  assert.ok(Buffer.from(await ks.decrypt(fromStoredKey(c1.key), ct)).equals(secret));
  // before the renewal fraction nothing is sent
  const count = lab.requests.length;
  await clock.advance(19 * DAY);
  assert.is(await dk.check(agent), 'not-due');
  assert.is(lab.requests.length, count);
  await clock.advance(1.5 * DAY);
  assert.is(await dk.check(agent), 'renewed');
  const c2 = (await dk.state()).current!;
  assert.is.not(c2.key.id, c1.key.id, 'a new key');
  assert.is.not(c2.serial, c1.serial);
  assert.ok(spkiOf(c2.certPem).equals(Buffer.from(c2.key.spki, 'base64')));
});

test('P-256: kari answered with TPM2_ECDH_ZGen; the certificate carries the EC key', async () => {
  lab.options.pop = { pop: 'kmac128' };
  const { dk } = enroller('ecc-p256');
  assert.is(await dk.check(agent), 'enrolled');
  assert.is(pyDecode('decode_envelope.py', lab.popEnvelopes[lab.popEnvelopes.length - 1]!).recipientInfos[0].type, 'kari');
  const c = (await dk.state()).current!;
  assert.is(new X509Certificate(c.certPem).publicKey.asymmetricKeyType, 'ec');
  assert.ok(spkiOf(c.certPem).equals(Buffer.from(c.key.spki, 'base64')));
});

test('a wrong witness: popFailed sent to the CA, nothing issued or stored, the next try waits for the persisted backoff, then succeeds', async () => {
  lab.options.pop = { pop: 'kmac128', tamper: 'witness' };
  const { dk, clock } = enroller('rsa-2048');
  const issued = lab.issued.length;
  const aborts = lab.popAborts.length;
  const t0 = clock.now().getTime();
  assert.is(await dk.check(agent), 'failed');
  assert.equal(lab.popAborts.slice(aborts).map((a) => a.failInfo), ['popFailed']);
  assert.is(lab.issued.length, issued, 'nothing issued');
  const s = await dk.state();
  assert.is(s.current, undefined, 'nothing stored');
  assert.is(s.pending, undefined);
  assert.equal([s.failures, s.last?.result, s.last?.code], [1, 'failed', 'cmc.protocol.pop']);
  const wait = Date.parse(s.nextCheck!) - t0;
  assert.is(wait, 45_000, 'the first backoff step (60 s, jitter 0.5)');
  const requests = lab.requests.length;
  assert.is(await dk.check(agent), 'not-due', 'no hot loop');
  assert.is(lab.requests.length, requests);
  lab.options.pop = {};
  await clock.advance(wait);
  assert.is(await dk.check(agent), 'enrolled');
  assert.is((await dk.state()).failures, 0);
});

test.run();
