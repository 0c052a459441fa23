// Freshness nonce bound to the CMP transaction (draft-ietf-lamps-attestation-freshness-08 §5): the genm NonceRequest
// and the ir that carries the evidence share one transactionID; the lab refuses a nonce in another transaction,
// replayed or expired, with a CMP error (badPOP) and issues nothing. The InfoType OIDs (TBD in the draft) are
// configurable on both sides, and reqInfo/respInfo pass through. swtpm + lab.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as asn1js from 'asn1js';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import type { KeyRecord } from '../../agent/keystore/keystore.js';
import { buildCsr } from '../../agent/pki/csr.js';
import { buildCertifyEvidence, CERTIFY_NONCE_REQUEST } from '../../agent/attest/evidence.js';
import { provisionAttestationKey, type ProvisionedAk } from '../../agent/attest/provision.js';
import { CmpEnrollment } from '../../agent/protocols/cmp/enrollment.js';
import { CmpProtocolError, CmpRejectedError } from '../../agent/protocols/cmp/errors.js';
import { createAttestationCa, labAkCertifier } from '../../deploy/lab/attestation.js';
import { createLabServer, type LabServer } from '../../deploy/lab/server.js';
import { registerCmpHandlers, CMP_WELL_KNOWN_PATH, type LabCmpRecord } from '../../deploy/lab/cmp.js';
import { startSwtpm, type Swtpm } from '../harness/swtpm.js';
import { ConfigError, parseConfig } from '../../agent/config.js';
import { FRESHNESS_OID_PLACEHOLDERS } from '../../agent/attest/constants.js';
import { randomBytes, X509Certificate } from 'node:crypto';
import { NonceRequest } from '../../agent/pki/asn1/nonce-request.js';
import { NonceRequestTypeInfo } from '../../agent/pki/asn1/nonce-request-type-info.js';
import { NonceResponse } from '../../agent/pki/asn1/nonce-response.js';
import { OID_ID_IT_NONCE_REQUEST, OID_ID_IT_NONCE_RESPONSE } from '../../agent/pki/asn1/oids.js';
import { buildAttestationExtension } from '../../agent/pki/asn1/evidence-attribute.js';
import { InfoTypeAndValue } from '../../agent/protocols/cmp/asn1/info-type-and-value.js';

const SECRET = new TextEncoder().encode('lab-cmp-secret');
const OTHER_TYPES = { request: '1.3.6.1.4.1.99999.7.1', response: '1.3.6.1.4.1.99999.7.2' };
let tpm: Swtpm;
let ks: TpmKeyStore;
let lab: LabServer;
let records: LabCmpRecord[];
let ak: ProvisionedAk;
let dir: string;
const clock = { offsetMs: 0 };

test.before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-fresh-cmp-'));
  const attCa = await createAttestationCa();
  lab = await createLabServer({ attestation: { trustAnchors: [attCa.root.der], nonce: { ttlSeconds: 120 } }, now: () => new Date(Date.now() + clock.offsetMs) });
  records = registerCmpHandlers(lab.router, { ca: lab.ca, attestation: lab.attestation, reference: 'dev-0001', secret: SECRET, now: () => new Date(Date.now() + clock.offsetMs) });
  registerCmpHandlers(lab.router, { ca: lab.ca, attestation: lab.attestation, reference: 'dev-0001', secret: SECRET, path: `${CMP_WELL_KNOWN_PATH}/p/other-oids`, nonceInfoTypes: OTHER_TYPES });
  tpm = await startSwtpm();
  ks = await TpmKeyStore.open({ tcti: tpm.tcti });
  ak = await provisionAttestationKey({ keystore: ks, certifier: labAkCertifier(attCa), deviceId: 'dev-0001', akKeyFile: path.join(dir, 'ak.json'), akCertFile: path.join(dir, 'ak.pem') });
});

test.after(async () => {
  await ks?.close();
  await tpm?.stop();
  await lab?.close();
  rmSync(dir, { recursive: true, force: true });
});

function cmp(extra: Partial<ConstructorParameters<typeof CmpEnrollment>[0]> = {}): CmpEnrollment {
  return new CmpEnrollment({
    url: `${lab.url}${CMP_WELL_KNOWN_PATH}`,
    tlsTrustAnchors: [lab.trustAnchorPem],
    trustAnchors: [lab.ca.root.der],
    mac: { reference: 'dev-0001', secret: SECRET, iterations: 1000 },
    keystore: ks,
    ...extra,
  });
}

async function attestedCsr(key: KeyRecord, nonce: Uint8Array): Promise<Uint8Array> {
  const ev = await buildCertifyEvidence({ keystore: ks, key, ak: ak.ak, akChain: ak.chain, nonce });
  return (await buildCsr({ subject: 'CN=dev-0001,O=enrolld', signer: ks.signer(key), attributes: [ev.attribute] })).der;
}

const issuedCount = (): number => records.filter((r) => r.outcome === 'issued').length;

async function rejected(p: Promise<unknown>): Promise<CmpRejectedError> {
  const err = await p.catch((e: unknown) => e);
  assert.instance(err, CmpRejectedError, String(err));
  assert.equal((err as CmpRejectedError).failInfo, ['badPOP']);
  return err as CmpRejectedError;
}

test('genm and ir in one transactionID: issued; reqInfo comes back as respInfo', async () => {
  const p = cmp();
  const reqInfo = new Uint8Array(new asn1js.Utf8String({ value: 'pcr-policy-7' }).toBER(false));
  const n = await p.nonce({ ...CERTIFY_NONCE_REQUEST, reqInfo });
  assert.equal(n.respInfo, reqInfo, 'respInfo passed through');
  const key = await ks.createKey('fc-1', 'ecc-p256');
  const r = await p.enroll({ operation: 'enroll', csr: await attestedCsr(key, n.nonce), key });
  assert.is(r.kind, 'issued', JSON.stringify(records.slice(-3)));
  assert.equal(lab.attestation.events.at(-1), { ok: true });
});

test('genm NonceRequest then cr in the same transactionID (CmpClient.requestCertificate): issued; the same cr in another transaction → badPOP attest.nonce-other-session', async () => {
  const p = cmp();
  const tid = new Uint8Array(randomBytes(16));
  const req = new NonceRequest({ len: 32, reqTypeInfo: new NonceRequestTypeInfo({ type: CERTIFY_NONCE_REQUEST.type! }) });
  const itavs = await p.client.generalMessage([new InfoTypeAndValue({ infoType: OID_ID_IT_NONCE_REQUEST, infoValue: req.toSchema() })], { kind: 'mac' }, tid);
  const it = itavs.find((i) => i.infoType === OID_ID_IT_NONCE_RESPONSE);
  assert.ok(it, 'genp carries the nonce response');
  const nonce = NonceResponse.fromInfoTypeAndValue(it.toSchema(), 'InfoTypeAndValue', OID_ID_IT_NONCE_RESPONSE).nonce;
  const key = await ks.createKey('fc-cr', 'ecc-p256');
  const ev = await buildCertifyEvidence({ keystore: ks, key, ak: ak.ak, akChain: ak.chain, nonce });
  const params = { newKey: ks.signer(key), subject: { CN: 'dev-0001', O: 'enrolld' }, extensions: [buildAttestationExtension(ev.bundle)], protection: { kind: 'mac' as const } };
  const before = issuedCount();
  assert.match((await rejected(p.client.requestCertificate('cr', { ...params, transactionID: new Uint8Array(randomBytes(16)) }))).message, /attest\.nonce-other-session/);
  assert.is(issuedCount(), before);
  const r = await p.client.requestCertificate('cr', { ...params, transactionID: tid });
  assert.is(r.kind, 'issued', JSON.stringify(records.slice(-3)));
  assert.equal(records.filter((x) => x.outcome === 'issued').at(-1)!.body, 'cr');
  if (r.kind === 'issued') assert.ok(new X509Certificate(Buffer.from(r.cert)).publicKey.export({ type: 'spki', format: 'der' }).equals(Buffer.from(key.spki)));
  assert.equal(lab.attestation.events.at(-1), { ok: true });
});

test('a nonce from another transaction is refused (badPOP, attest.nonce-other-session), not consumed, nothing issued', async () => {
  const a = cmp();
  const b = cmp();
  const n = await a.nonce(CERTIFY_NONCE_REQUEST);
  const key = await ks.createKey('fc-2', 'ecc-p256');
  const csr = await attestedCsr(key, n.nonce);
  const before = issuedCount();
  const err = await rejected(b.enroll({ operation: 'enroll', csr, key }));
  assert.match(err.message, /attest\.nonce-other-session/);
  assert.is(err.status, 400, 'permanent for the lifecycle: a fresh key and nonce are needed');
  assert.is(issuedCount(), before);
  // not consumed by the refusal: its own transaction still redeems it
  assert.is((await a.enroll({ operation: 'enroll', csr, key })).kind, 'issued');
});

test('replayed and expired nonces → badPOP with the reason, nothing issued', async () => {
  const p = cmp();
  const n = await p.nonce(CERTIFY_NONCE_REQUEST);
  const k1 = await ks.createKey('fc-3', 'ecc-p256');
  const csr1 = await attestedCsr(k1, n.nonce);
  assert.is((await p.enroll({ operation: 'enroll', csr: csr1, key: k1 })).kind, 'issued');
  const before = issuedCount();
  // same nonce, another key, in a new request (the agent never continues a finished transaction)
  const k2 = await ks.createKey('fc-4', 'ecc-p256');
  assert.match((await rejected(p.enroll({ operation: 'enroll', csr: await attestedCsr(k2, n.nonce), key: k2 }))).message, /attest\.nonce-replayed/);
  const m = await p.nonce(CERTIFY_NONCE_REQUEST);
  const csr3 = await attestedCsr(k2, m.nonce);
  clock.offsetMs = 121_000;
  try {
    assert.match((await rejected(p.enroll({ operation: 'enroll', csr: csr3, key: k2 }))).message, /attest\.nonce-expired/);
  } finally {
    clock.offsetMs = 0;
  }
  assert.is(issuedCount(), before);
});

test('InfoType OIDs are configurable: a server on other OIDs → typed CmpProtocolError with the defaults, works when configured', async () => {
  const url = `${lab.url}${CMP_WELL_KNOWN_PATH}/p/other-oids`;
  const err = await cmp({ url }).nonce(CERTIFY_NONCE_REQUEST).catch((e: unknown) => e);
  assert.instance(err, CmpProtocolError, String(err));
  const p = cmp({ url, nonceInfoTypes: OTHER_TYPES });
  const n = await p.nonce(CERTIFY_NONCE_REQUEST);
  assert.is(n.nonce.byteLength, 32);
  const key = await ks.createKey('fc-5', 'ecc-p256');
  assert.is((await p.enroll({ operation: 'enroll', csr: await attestedCsr(key, n.nonce), key })).kind, 'issued');
});

test('config attestation.freshnessOids: placeholders by default, overridable, a non-OID is a ConfigError', () => {
  const base = { deviceId: 'd', stateDir: '/tmp/x', tpm: {}, est: { url: 'https://ca.example', trustAnchorsFile: 'ta.pem' }, identity: { subject: 'CN=d' } };
  assert.equal(parseConfig(base, '/etc/enrolld').attestation.freshnessOids, FRESHNESS_OID_PLACEHOLDERS);
  const c = parseConfig({ ...base, attestation: { freshnessOids: { cmpNonceRequest: OTHER_TYPES.request, cmpNonceResponse: OTHER_TYPES.response } } }, '/etc/enrolld');
  assert.is(c.attestation.freshnessOids.cmpNonceRequest, OTHER_TYPES.request);
  assert.is(c.attestation.freshnessOids.cmcNonceRequest, FRESHNESS_OID_PLACEHOLDERS.cmcNonceRequest);
  assert.throws(() => parseConfig({ ...base, attestation: { freshnessOids: { cmcNonceResponse: 'id-cmc-99' } } }, '/etc/enrolld'), (e: unknown) => e instanceof ConfigError && /freshnessOids\.cmcNonceResponse/.test((e as Error).message));
  assert.throws(() => parseConfig({ ...base, attestation: { freshnessOids: { tbd4: '1.2.3' } } }, '/etc/enrolld'), (e: unknown) => e instanceof ConfigError);
});

test.run();
