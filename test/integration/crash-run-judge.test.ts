// The crash proof's judgement of a kill, shown able to fail: a credential still valid when `enrolld run` died must
// be there after it (itself or a successor, never an older one) and its key must still sign in swtpm for the
// certificate's public key; an expired one may go.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { credentialLoss, signs } from '../harness/crash-run.js';
import { startSwtpm, type Swtpm } from '../harness/swtpm.js';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import { STATE_SCHEMA, toStoredKey, type AgentState, type Credential } from '../../agent/lifecycle/state.js';
import { PlainCa } from '../../deploy/lab/plain/ca.js';
import { OID } from '../../deploy/lab/pki/oids.js';
import { pem } from '../../deploy/lab/pki/pem.js';

let tpm: Swtpm;
let a: Credential;
let b: Credential;
const NOW = Date.now();

function credential(ca: PlainCa, key: Awaited<ReturnType<TpmKeyStore['createKey']>>, serial: string, notAfter: number): Credential {
  const der = ca.issue({ subject: [[OID.commonName, 'dev-0001']], spki: key.spki, notBefore: new Date(NOW - 60_000), notAfter: new Date(notAfter), profile: 'client' });
  return { key: toStoredKey(key), certPem: pem('CERTIFICATE', der), chainPem: [], subject: 'CN=dev-0001', serial, notBefore: new Date(NOW - 60_000).toISOString(), notAfter: new Date(notAfter).toISOString(), renewAt: new Date(notAfter - 1000).toISOString() };
}
const enrolled = (c: Credential): AgentState => ({ schema: STATE_SCHEMA, phase: 'enrolled', history: [], credential: c });

test.before(async () => {
  tpm = await startSwtpm();
  const ks = await TpmKeyStore.open({ tcti: tpm.tcti });
  try {
    const ca = PlainCa.create({ now: new Date(NOW) });
    a = credential(ca, await ks.createKey('a', 'ecc-p256'), '0a', NOW + 10_000);
    b = credential(ca, await ks.createKey('b', 'ecc-p384'), '0b', NOW + 20_000);
  } finally {
    await ks.close();
  }
});
test.after(async () => {
  await tpm?.stop();
});

test('a still-valid credential gone, or replaced by an older one, is a loss; an expired one may go', async () => {
  const yes = async () => true;
  assert.match((await credentialLoss(enrolled(a), { schema: STATE_SCHEMA, phase: 'bootstrapped', history: [] }, NOW, yes))!, /credential 0a gone \(phase bootstrapped\)/);
  assert.match((await credentialLoss(enrolled(a), undefined, NOW, yes))!, /gone/);
  assert.match((await credentialLoss(enrolled(b), enrolled(a), NOW, yes))!, /replaced by an older one 0a/);
  assert.is(await credentialLoss(enrolled(a), undefined, NOW + 10_001, yes), undefined, 'expired before the kill');
  assert.is(await credentialLoss(undefined, undefined, NOW, yes), undefined);
  assert.is(await credentialLoss(enrolled(a), enrolled(b), NOW, yes), undefined, 'a successor');
});

test('usability in swtpm: the key signs for its certificate (P-256 and P-384); a key that does not certify it is a loss', async () => {
  const inTpm = (c: Credential) => signs(tpm.tcti, c);
  assert.ok(await inTpm(a));
  assert.ok(await inTpm(b));
  assert.is(await credentialLoss(enrolled(a), enrolled(a), NOW, inTpm), undefined);
  const swapped: Credential = { ...a, key: b.key };
  assert.match((await credentialLoss(enrolled(a), enrolled(swapped), NOW, inTpm))!, /its key no longer signs/);
  const broken: Credential = { ...a, key: { ...a.key, location: { ...a.key.location, private: Buffer.from('not a TPM2B_PRIVATE').toString('base64') } } };
  assert.not.ok(await inTpm(broken));
});

test.run();
