// CMP against the lab server's CMP endpoint (deploy/lab/cmp.ts): the freshness nonce by genm, and an ir whose
// CRMF template carries TPM2_Certify evidence (id-aa-attestation extension) bound to that nonce, verified by the lab
// with deploy/lab/attestation.ts. Plus the refusals: evidence with a nonce the lab never issued, a replayed nonce.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, X509Certificate } from 'node:crypto';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import { buildCsr } from '../../agent/pki/csr.js';
import { buildAttestedEvidence, buildCertifyEvidence, CERTIFY_NONCE_REQUEST } from '../../agent/attest/evidence.js';
import { provisionAttestationKey, type ProvisionedAk } from '../../agent/attest/provision.js';
import { CmpEnrollment } from '../../agent/protocols/cmp/enrollment.js';
import { CmpProtectionError, CmpRejectedError } from '../../agent/protocols/cmp/errors.js';
import { CmpClient } from '../../agent/protocols/cmp/client.js';
import { RootCaKeyUpdateContent } from '../../agent/protocols/cmp/asn1/root-ca-key-update-content.js';
import { pemDecode } from '../../agent/pki/pem.js';
import { execFileSync } from 'node:child_process';
import { Enroller } from '../../agent/lifecycle/enroller.js';
import { ManualClock } from '../../agent/lifecycle/clock.js';
import type { AgentState } from '../../agent/lifecycle/state.js';
import { validateChain } from '../../agent/pki/chain.js';
import { memoryLogger } from '../../agent/util/log.js';
import { readFileSync } from 'node:fs';
import { createAttestationCa, labAkCertifier } from '../../deploy/lab/attestation.js';
import { createLabServer, type LabServer } from '../../deploy/lab/server.js';
import { registerCmpHandlers, CMP_WELL_KNOWN_PATH, type LabCmpRecord } from '../../deploy/lab/cmp.js';
import { startSwtpm, type Swtpm } from '../harness/swtpm.js';

const SECRET = new TextEncoder().encode('lab-cmp-secret');
let tpm: Swtpm;
let ks: TpmKeyStore;
let lab: LabServer;
let records: LabCmpRecord[];
let ak: ProvisionedAk;
let dir: string;
let cmp: CmpEnrollment;

test.before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-cmp-lab-'));
  const attCa = await createAttestationCa();
  lab = await createLabServer({ attestation: { trustAnchors: [attCa.root.der], nonce: { ttlSeconds: 120 } } });
  records = registerCmpHandlers(lab.router, { ca: lab.ca, attestation: lab.attestation, reference: 'dev-0001', secret: SECRET });
  tpm = await startSwtpm();
  ks = await TpmKeyStore.open({ tcti: tpm.tcti });
  ak = await provisionAttestationKey({ keystore: ks, certifier: labAkCertifier(attCa), deviceId: 'dev-0001', akKeyFile: path.join(dir, 'ak.json'), akCertFile: path.join(dir, 'ak.pem') });
  cmp = new CmpEnrollment(options());
});

function options(): ConstructorParameters<typeof CmpEnrollment>[0] {
  return {
    url: `${lab.url}${CMP_WELL_KNOWN_PATH}`,
    tlsTrustAnchors: [lab.trustAnchorPem],
    trustAnchors: [lab.ca.root.der],
    mac: { reference: 'dev-0001', secret: SECRET, iterations: 1000 },
    keystore: ks,
  };
}

test.after(async () => {
  await ks?.close();
  await tpm?.stop();
  await lab?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('nonce by genm: id-it-nonceRequest → id-it-nonceResponse', async () => {
  const n = await cmp.nonce(CERTIFY_NONCE_REQUEST);
  assert.is(n.nonce.byteLength, 32);
  assert.is(n.expirySeconds, 120);
  assert.ok(n.freshnessRequired);
  assert.is(records.at(-1)!.outcome, 'general');
});

test('attested ir: TPM2_Certify evidence in the CRMF template, bound to the CMP nonce, verified by the lab', async () => {
  const key = await ks.createKey('att-1', 'ecc-p256');
  const ev = await buildAttestedEvidence({ keystore: ks, key, ak: ak.ak, akChain: ak.chain, nonces: cmp, now: () => new Date() });
  const { der } = await buildCsr({ subject: 'CN=dev-0001,O=enrolld', signer: ks.signer(key), attributes: [ev.attribute] });
  const r = await cmp.enroll({ operation: 'enroll', csr: der, key });
  assert.is(r.kind, 'issued', JSON.stringify(records));
  if (r.kind !== 'issued') return;
  const cert = new X509Certificate(Buffer.from(r.cert));
  assert.ok(Buffer.from(cert.publicKey.export({ type: 'spki', format: 'der' })).equals(Buffer.from(key.spki)));
  assert.equal(lab.attestation.events.at(-1), { ok: true });
  assert.equal(cmp.client.sent.slice(-2), ['ir', 'certConf']);
});

test('evidence over a nonce the lab never issued → rejected (badPOP), nothing issued', async () => {
  const key = await ks.createKey('att-2', 'ecc-p256');
  const ev = await buildCertifyEvidence({ keystore: ks, key, ak: ak.ak, akChain: ak.chain, nonce: new Uint8Array(randomBytes(32)) });
  const { der } = await buildCsr({ subject: 'CN=dev-0001', signer: ks.signer(key), attributes: [ev.attribute] });
  const before = records.filter((x) => x.outcome === 'issued').length;
  const err = await cmp.enroll({ operation: 'enroll', csr: der, key }).catch((e: unknown) => e);
  assert.instance(err, CmpRejectedError, String(err));
  assert.equal((err as CmpRejectedError).failInfo, ['badPOP']);
  assert.match((err as Error).message, /attest\./);
  assert.is(lab.attestation.events.at(-1)!.ok, false);
  assert.is(records.filter((x) => x.outcome === 'issued').length, before);
});

test('p10cr with the evidence in the PKCS#10 attribute is verified the same way', async () => {
  const key = await ks.createKey('att-3', 'ecc-p256');
  const p10 = new CmpEnrollment({ ...options(), request: 'p10cr' });
  // the nonce genm and the p10cr share one transactionID (attestation-freshness §5)
  const ev = await buildAttestedEvidence({ keystore: ks, key, ak: ak.ak, akChain: ak.chain, nonces: p10, now: () => new Date() });
  const { der } = await buildCsr({ subject: 'CN=dev-0001', signer: ks.signer(key), attributes: [ev.attribute] });
  const r = await p10.enroll({ operation: 'enroll', csr: der, key });
  assert.is(r.kind, 'issued', JSON.stringify(records.slice(-2)));
  assert.equal(lab.attestation.events.at(-1), { ok: true });
});

test('the shared Enroller over CMP with attested TPM keys: enroll (ir, MAC) then renew (kur signed by the current TPM key)', async () => {
  let doc: AgentState | undefined;
  const protocol = new CmpEnrollment(options());
  const enroller = new Enroller({
    clock: new ManualClock(new Date()),
    log: memoryLogger('warn'),
    keystore: ks,
    protocol,
    state: { load: async () => (doc ? structuredClone(doc) : undefined), save: async (d) => void (doc = structuredClone(d)) },
    buildCsr: async (key, signer) => {
      const ev = await buildAttestedEvidence({ keystore: ks, key, ak: ak.ak, akChain: ak.chain, nonces: protocol, now: () => new Date() });
      return (await buildCsr({ subject: 'CN=dev-0001,O=enrolld', signer, attributes: [ev.attribute] })).der;
    },
    verifyIssued: async (cert, chain, at) => {
      await validateChain({ leaf: cert, intermediates: chain, trustAnchors: [lab.ca.root.der], at });
    },
    policy: { keyAlgorithm: 'ecc-p256', renewFraction: 2 / 3, backoffMinSeconds: 60, backoffMaxSeconds: 3600 },
    random: () => 0.5,
  });
  const first = await enroller.step();
  assert.is(first.action, 'issued', `${first.error?.message} ${JSON.stringify(records.slice(-2))}`);
  const second = await enroller.step({ force: true });
  assert.is(second.action, 'issued', `${second.error?.message} ${JSON.stringify(records.slice(-2))}`);
  assert.equal(protocol.client.sent, ['genm', 'ir', 'certConf', 'genm', 'kur', 'certConf']);
  assert.is.not(second.state.credential!.key.id, first.state.credential!.key.id);
  const cert = new X509Certificate(second.state.credential!.certPem);
  assert.ok(Buffer.from(cert.publicKey.export({ type: 'spki', format: 'der' })).equals(Buffer.from(second.state.credential!.key.spki, 'base64')));
  assert.equal(lab.attestation.events.slice(-2), [{ ok: true }, { ok: true }]);
});

test('genm id-it-caCerts → the lab CA certificates', async () => {
  const certs = await cmp.client.caCerts({ kind: 'mac' });
  assert.equal(certs, [lab.ca.issuing.der, lab.ca.root.der]);
});

test('genm id-it-rootCaCert → rootCaKeyUpdate: accepted only when newWithOld is signed by the old root', async () => {
  const sh = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  sh(['req', '-x509', ...ec, '-keyout', 'old.key', '-out', 'old.pem', '-subj', '/CN=Root G1', '-days', '5', '-addext', 'basicConstraints=critical,CA:TRUE']);
  sh(['req', '-x509', ...ec, '-keyout', 'new.key', '-out', 'new.pem', '-subj', '/CN=Root G2', '-days', '5', '-addext', 'basicConstraints=critical,CA:TRUE']);
  sh(['req', '-new', '-key', 'new.key', '-subj', '/CN=Root G2', '-out', 'new.csr']);
  sh(['x509', '-req', '-in', 'new.csr', '-CA', 'old.pem', '-CAkey', 'old.key', '-CAcreateserial', '-days', '5', '-out', 'nwo.pem']);
  const der = (f: string): Uint8Array => pemDecode(readFileSync(path.join(dir, f), 'utf8'), 'CERTIFICATE');
  const c = new CmpEnrollment(options()).client;
  // no update configured
  assert.is(await c.rootCaKeyUpdate(der('old.pem'), { kind: 'mac' }), undefined);
  const at = (p: string, upd: RootCaKeyUpdateContent): CmpClient => {
    registerCmpHandlers(lab.router, { ca: lab.ca, reference: 'dev-0001', secret: SECRET, rootCaKeyUpdate: upd, path: p });
    return new CmpClient({ ...options(), url: `${lab.url}${p}` });
  };
  const upd = await at('/cmp-root-ok', new RootCaKeyUpdateContent({ newWithNew: der('new.pem'), newWithOld: der('nwo.pem') })).rootCaKeyUpdate(der('old.pem'), { kind: 'mac' });
  assert.equal(upd?.newWithNew, der('new.pem'));
  // newWithOld that the old root did not sign (the self-signed new root in its place) → refused
  const err = await at('/cmp-root-bad', new RootCaKeyUpdateContent({ newWithNew: der('new.pem'), newWithOld: der('new.pem') })).rootCaKeyUpdate(der('old.pem'), { kind: 'mac' }).catch((e: unknown) => e);
  assert.instance(err, CmpProtectionError);
});

test('waiting → pollReq/pollRep → the certificate on the last pollReq, then certConf (RFC 9483 §4.4)', async () => {
  registerCmpHandlers(lab.router, { ca: lab.ca, reference: 'dev-0001', secret: SECRET, path: '/cmp-wait', waiting: { polls: 1, checkAfterSeconds: 7 } });
  const w = new CmpEnrollment({ ...options(), url: `${lab.url}/cmp-wait` });
  const key = await ks.createKey('wait-1', 'ecc-p256');
  const { der } = await buildCsr({ subject: 'CN=dev-0001,O=enrolld', signer: ks.signer(key) });
  const first = await w.enroll({ operation: 'enroll', csr: der, key });
  assert.is(first.kind, 'pending', JSON.stringify(first));
  const second = await w.enroll({ operation: 'enroll', csr: der, key });
  assert.ok(second.kind === 'pending' && second.retryAfterSeconds === 7, JSON.stringify(second));
  const third = await w.enroll({ operation: 'enroll', csr: der, key });
  assert.is(third.kind, 'issued', JSON.stringify(records.slice(-3)));
  if (third.kind === 'issued') assert.ok(Buffer.from(new X509Certificate(Buffer.from(third.cert)).publicKey.export({ type: 'spki', format: 'der' })).equals(Buffer.from(key.spki)));
  assert.equal(w.client.sent, ['ir', 'pollReq', 'pollReq', 'certConf']);
});

test.run();
