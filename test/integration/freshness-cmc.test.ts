// Freshness nonce over CMC (draft-ietf-lamps-attestation-freshness-08 §7): an unsigned id-data PKIData carrying only
// transactionId, senderNonce and the nonce request control; the signed PKIResponse with the nonce response control;
// the Full PKI Request with the attested CSR in the SAME transactionId. The lab binds the nonce to the transaction
// and refuses it in another one (CMCFailInfo badRequest, nothing issued). The id-data request is decoded
// independently with `openssl cms -cmsout -print`. swtpm + lab.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as asn1js from 'asn1js';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import type { KeyRecord } from '../../agent/keystore/keystore.js';
import { buildCsr } from '../../agent/pki/csr.js';
import { certificateToDer } from '../../agent/pki/cert.js';
import { buildCertifyEvidence, CERTIFY_NONCE_REQUEST } from '../../agent/attest/evidence.js';
import { provisionAttestationKey, type ProvisionedAk } from '../../agent/attest/provision.js';
import { CmcEnrollment, CmcFailedError, CmcProtocolError, type CmcEnrollmentOptions } from '../../agent/protocols/cmc/index.js';
import { createCmcNonceRequest, newSenderNonce, newTransactionId } from '../../agent/protocols/cmc/request.js';
import { NonceRequest } from '../../agent/pki/asn1/nonce-request.js';
import { LabCa } from '../../deploy/lab/ca.js';
import { createAttestationCa, labAkCertifier } from '../../deploy/lab/attestation.js';
import { registerCmcHandlers, type CmcLab } from '../../deploy/lab/cmc.js';
import { startAgentEnv, type AgentEnv } from '../harness/agent-env.js';

const SUBJECT = 'CN=dev-0001,O=enrolld demo';
const OTHER = { request: '1.3.6.1.4.1.99999.8.1', response: '1.3.6.1.4.1.99999.8.2' };

interface S {
  env: AgentEnv;
  ks: TpmKeyStore;
  ak: ProvisionedAk;
  cmcLab: CmcLab;
  options: CmcEnrollmentOptions;
  clock: { offsetMs: number };
}

async function setup(nonceControls?: { request: string; response: string }): Promise<S> {
  const attCa = await createAttestationCa();
  const clock = { offsetMs: 0 };
  const now = (): Date => new Date(Date.now() + clock.offsetMs);
  const env = await startAgentEnv({ lab: { attestation: { trustAnchors: [attCa.root.der], nonce: { ttlSeconds: 120 } }, now } });
  const ks = await TpmKeyStore.open({ tcti: env.tpm.tcti });
  const mfg = await LabCa.create({ name: 'enrolld manufacturer' });
  const idevidKey = await ks.createKey('idevid', 'ecc-p256');
  const idevid = certificateToDer(
    await mfg.issue({ subject: { CN: 'dev-0001 IDevID', O: 'enrolld manufacturer' }, spki: ks.signer(idevidKey).spki, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000), profile: 'client' }),
  );
  const cmcLab = registerCmcHandlers(
    env.lab.router,
    { ca: env.lab.ca, users: { 'dev-0001': 'factory-secret' }, idevidCaDers: [mfg.root.der], now, checkEvidence: (csr, at) => env.lab.attestation.checkCsr(csr, at) },
    { nonces: env.lab.attestation.nonces, ...(nonceControls ? { nonceControls } : {}) },
  );
  const ak = await provisionAttestationKey({ keystore: ks, certifier: labAkCertifier(attCa), deviceId: 'dev-0001', akKeyFile: path.join(env.dir, 'ak.json'), akCertFile: path.join(env.dir, 'ak.pem') });
  const options: CmcEnrollmentOptions = {
    baseUrl: env.lab.url,
    trustAnchors: [env.lab.trustAnchorPem],
    basicAuth: { username: 'dev-0001', password: 'factory-secret' },
    bootstrap: { signer: ks.signer(idevidKey), certificate: idevid, chain: [mfg.issuing.der] },
    keystore: ks,
  };
  return { env, ks, ak, cmcLab, options, clock };
}

async function teardown(s: S): Promise<void> {
  await s.ks.close().catch(() => undefined);
  await s.env.stop();
}

async function attestedCsr(s: S, key: KeyRecord, nonce: Uint8Array): Promise<Uint8Array> {
  const ev = await buildCertifyEvidence({ keystore: s.ks, key, ak: s.ak.ak, akChain: s.ak.chain, nonce });
  return (await buildCsr({ subject: SUBJECT, signer: s.ks.signer(key), san: { dns: ['dev-0001.devices.example'] }, attributes: [ev.attribute] })).der;
}

async function failedWith(p: Promise<unknown>, failInfo: string): Promise<CmcFailedError> {
  const e = await p.catch((x: unknown) => x);
  assert.instance(e, CmcFailedError, String(e));
  assert.is((e as CmcFailedError).failInfo, failInfo, String(e));
  return e as CmcFailedError;
}

test('nonce PKIData (id-data) → nonceResp; the attested request continues its transactionId and is issued; reqInfo → respInfo', async () => {
  const s = await setup();
  try {
    const cmc = new CmcEnrollment(s.options);
    const reqInfo = new Uint8Array(new asn1js.Utf8String({ value: 'pcr-policy-7' }).toBER(false));
    const n = await cmc.nonce({ ...CERTIFY_NONCE_REQUEST, reqInfo });
    assert.is(n.nonce.byteLength, 32);
    assert.is(n.expirySeconds, 120);
    assert.equal(n.respInfo, reqInfo);
    const nonceTid = s.cmcLab.requests.at(-1)!.transactionId;
    const key = await s.ks.createKey('c1', 'ecc-p256');
    const r = await cmc.enroll({ operation: 'enroll', csr: await attestedCsr(s, key, n.nonce) });
    assert.is(r.kind, 'issued', JSON.stringify(s.env.lab.attestation.events));
    assert.is(s.cmcLab.issued[0]!.transactionId, nonceTid, 'same transactionId as the nonce exchange');
    assert.equal(s.env.lab.attestation.events, [{ ok: true }]);
  } finally {
    await teardown(s);
  }
});

test('openssl reads the nonce request as unsigned id-data; its content is a PKIData with the three controls', async () => {
  const s = await setup();
  try {
    const der = createCmcNonceRequest({ transactionId: newTransactionId(), senderNonce: newSenderNonce(), nonceRequest: new NonceRequest({ len: 32 }).toSchema(), controlType: '1.3.6.1.5.5.7.7.99' });
    const f = path.join(s.env.dir, 'nonce-req.der');
    writeFileSync(f, der);
    const printed = execFileSync('sh', ['-c', `openssl cms -cmsout -print -inform DER -in '${f}' 2>&1`]).toString();
    assert.match(printed, /contentType: pkcs7-data/, printed);
    const content = execFileSync('sh', ['-c', `openssl cms -data_out -inform DER -in '${f}' 2>&1 | openssl asn1parse -inform DER 2>&1`]).toString();
    assert.match(content, /1\.3\.6\.1\.5\.5\.7\.7\.7|CMC Transaction Id|transactionId/i, content);
    assert.match(content, /1\.3\.6\.1\.5\.5\.7\.7\.99/, content);
  } finally {
    await teardown(s);
  }
});

test('a nonce from another transaction → failed badRequest (attest.nonce-other-session), not consumed, nothing issued', async () => {
  const s = await setup();
  try {
    const a = new CmcEnrollment(s.options);
    const b = new CmcEnrollment(s.options);
    const n = await a.nonce(CERTIFY_NONCE_REQUEST);
    const key = await s.ks.createKey('c2', 'ecc-p256');
    const csr = await attestedCsr(s, key, n.nonce);
    const e = await failedWith(b.enroll({ operation: 'enroll', csr }), 'badRequest');
    assert.match(e.message, /attest\.nonce-other-session/);
    assert.is(s.cmcLab.issued.length, 0);
    // its own transaction still redeems it
    assert.is((await a.enroll({ operation: 'enroll', csr })).kind, 'issued');
  } finally {
    await teardown(s);
  }
});

test('replayed and expired nonces → failed badRequest with the reason, nothing issued', async () => {
  const s = await setup();
  try {
    const cmc = new CmcEnrollment(s.options);
    const n = await cmc.nonce(CERTIFY_NONCE_REQUEST);
    const k1 = await s.ks.createKey('c3', 'ecc-p256');
    assert.is((await cmc.enroll({ operation: 'enroll', csr: await attestedCsr(s, k1, n.nonce) })).kind, 'issued');
    const k2 = await s.ks.createKey('c4', 'ecc-p256');
    assert.match((await failedWith(cmc.enroll({ operation: 'enroll', csr: await attestedCsr(s, k2, n.nonce) }), 'badRequest')).message, /attest\.nonce-(replayed|other-session)/);
    const m = await cmc.nonce(CERTIFY_NONCE_REQUEST);
    const csr = await attestedCsr(s, k2, m.nonce);
    s.clock.offsetMs = 121_000;
    assert.match((await failedWith(cmc.enroll({ operation: 'enroll', csr }), 'badRequest')).message, /attest\.nonce-expired/);
    assert.is(s.cmcLab.issued.length, 1);
  } finally {
    await teardown(s);
  }
});

test('control OIDs are configurable: a server on other OIDs answers badRequest to the placeholders; configured, it works', async () => {
  const s = await setup(OTHER);
  try {
    await failedWith(new CmcEnrollment(s.options).nonce(CERTIFY_NONCE_REQUEST), 'badRequest');
    const n = await new CmcEnrollment({ ...s.options, nonceControls: OTHER }).nonce(CERTIFY_NONCE_REQUEST);
    assert.is(n.nonce.byteLength, 32);
    // a server that answers without the response control the agent expects → typed CmcProtocolError
    const e = await new CmcEnrollment({ ...s.options, nonceControls: { request: OTHER.request, response: '1.3.6.1.4.1.99999.8.3' } }).nonce(CERTIFY_NONCE_REQUEST).catch((x: unknown) => x);
    assert.instance(e, CmcProtocolError);
    assert.is((e as CmcProtocolError).reason, 'nonce');
  } finally {
    await teardown(s);
  }
});

test.run();
