// Lightweight CMP completeness against the lab's CMP endpoint (deploy/lab/cmp.ts, written from RFC 9483/9480 with
// the lab's own codecs): delayed delivery of genp, rp and pkiConf (error "waiting" → pollReq -1 → pollRep → the final
// answer, RFC 9483 §4.4 / RFC 9480 §2.19), a waiting certConf persisted and resumed, bounded polling, hashAlg with
// pvno 3 for an Ed25519-signed certificate (RFC 9480 §2.10/§2.20), certProfile in generalInfo (RFC 9483 §3.1), rr.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SoftwareKeyStore } from '../../agent/keystore/software.js';
import { buildCsr } from '../../agent/pki/csr.js';
import { pemDecode } from '../../agent/pki/pem.js';
import { CmpClient, CmpWaitingError, type CmpOptions } from '../../agent/protocols/cmp/client.js';
import { CmpEnrollment } from '../../agent/protocols/cmp/enrollment.js';
import type { EnrollResult } from '../../agent/protocols/protocol.js';
import { CmpProtocolError, CmpRejectedError } from '../../agent/protocols/cmp/errors.js';
import { OID_IT_CA_CERTS } from '../../agent/protocols/cmp/constants.js';
import { InfoTypeAndValue } from '../../agent/protocols/cmp/asn1/info-type-and-value.js';
import { createLabServer, type LabServer } from '../../deploy/lab/server.js';
import { pyDecode, requirePyasn1, tapRouter, type Tapped } from '../harness/pydecode.js';
import { registerCmpHandlers, type LabCmpOptions, type LabCmpRecord } from '../../deploy/lab/cmp.js';

const SECRET = new TextEncoder().encode('lab-cmp-secret');
const ks = new SoftwareKeyStore();
let lab: LabServer;
let dir: string;
let n = 0;
let wire: Tapped[];

test.before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-cmp-delayed-'));
  lab = await createLabServer();
  wire = tapRouter(lab.router);
});

test.after(async () => {
  await lab?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh lab CMP endpoint with `extra` options; returns its URL path and its record log. */
function endpoint(extra: Partial<LabCmpOptions> = {}): { url: string; records: LabCmpRecord[] } {
  const p = `/cmp-${++n}`;
  const records = registerCmpHandlers(lab.router, { ca: lab.ca, reference: 'dev-0001', secret: SECRET, path: p, ...extra });
  return { url: `${lab.url}${p}`, records };
}

/** The client sleeps through a recorder: the waits are asserted, not slept. */
function client(url: string, extra: Partial<CmpOptions> = {}): { c: CmpClient; sleeps: number[] } {
  const sleeps: number[] = [];
  const c = new CmpClient({
    url, tlsTrustAnchors: [lab.trustAnchorPem], trustAnchors: [lab.ca.root.der], mac: { reference: 'dev-0001', secret: SECRET, iterations: 1000 },
    sleep: async (ms) => void sleeps.push(ms), ...extra,
  });
  return { c, sleeps };
}

async function request(c: CmpClient, name = 'dev-0001') {
  const key = await ks.createKey(`k-${++n}`, 'ecc-p256');
  return { key, r: await c.requestCertificate('ir', { newKey: ks.signer(key), subject: `CN=${name},O=enrolld`, protection: { kind: 'mac' } }) };
}

test('genm answered "waiting": pollReq -1 → pollRep (checkAfter honoured) → the genp on the last pollReq', async () => {
  const { url, records } = endpoint({ waiting: { polls: 2, checkAfterSeconds: 3, bodies: ['genm'] } });
  const { c, sleeps } = client(url);
  const itavs = await c.generalMessage([new InfoTypeAndValue({ infoType: OID_IT_CA_CERTS })], { kind: 'mac' });
  assert.ok(itavs.some((i) => i.infoType === OID_IT_CA_CERTS));
  assert.equal(c.sent, ['genm', 'pollReq', 'pollReq', 'pollReq']);
  // the first poll at once (no checkAfter yet, but never faster than 1 s), then checkAfter = 3 s twice
  assert.equal(sleeps, [1000, 3000, 3000]);
  assert.equal(records.map((r) => r.outcome), ['waiting', 'polled', 'polled', 'general']);
});

test('rr answered "waiting": the rp arrives after polling; a second rr for the same certificate → certRevoked', async () => {
  const { url: issueUrl } = endpoint();
  const { c: issuer } = client(issueUrl);
  const { key, r } = await request(issuer);
  assert.is(r.kind, 'issued');
  if (r.kind !== 'issued') return;
  const { url, records } = endpoint({ waiting: { polls: 1, checkAfterSeconds: 1, bodies: ['rr'] } });
  const { c } = client(url);
  const protection = { kind: 'signature' as const, signer: ks.signer(key), certDer: r.cert };
  await c.revoke(r.cert, 1, protection);
  assert.equal(c.sent, ['rr', 'pollReq', 'pollReq']);
  assert.is(records.at(-1)!.outcome, 'revoked');
  const again = await c.revoke(r.cert, 1, protection).catch((e: unknown) => e);
  assert.instance(again, CmpRejectedError, String(again));
  assert.equal((again as CmpRejectedError).failInfo, ['certRevoked']);
});

test('certConf answered "waiting": the enrollment turns pending (persisted with the certificate) and the next attempt polls for the pkiConf', async () => {
  const { url, records } = endpoint({ waiting: { polls: 5, checkAfterSeconds: 60, bodies: ['certConf'] } });
  const sleeps: number[] = [];
  const e = new CmpEnrollment({
    url, tlsTrustAnchors: [lab.trustAnchorPem], trustAnchors: [lab.ca.root.der], mac: { reference: 'dev-0001', secret: SECRET, iterations: 1000 }, keystore: ks,
    delayedDelivery: { inlineWaitSeconds: 5, maxPolls: 3 }, sleep: async (ms) => void sleeps.push(ms),
  });
  const key = await ks.createKey('cc-1', 'ecc-p256');
  const { der } = await buildCsr({ subject: 'CN=dev-0001,O=enrolld', signer: ks.signer(key) });
  const first = await e.enroll({ operation: 'enroll', csr: der, key });
  // checkAfter 60 s is beyond the 5 s inline budget: pending, with the lifecycle to wait checkAfter
  assert.ok(first.kind === 'pending' && first.retryAfterSeconds === 60, JSON.stringify(first));
  const saved = Object.values(e.exportPending());
  assert.is(saved.length, 1);
  assert.is(saved[0]!.request, 'certConf');
  assert.is(saved[0]!.certReqId, -1);
  assert.ok(saved[0]!.issued?.cert, 'the certificate travels with the waiting certConf');
  assert.equal(e.client.sent, ['ir', 'certConf', 'pollReq']);
  assert.equal(sleeps, [1000]);
  // four more polls: pollRep ×4, then the pkiConf releases the certificate (persisted record cleared)
  let r: EnrollResult = first;
  for (let i = 0; i < 5 && r.kind === 'pending'; i++) r = await e.enroll({ operation: 'enroll', csr: der, key });
  assert.is(r.kind, 'issued', JSON.stringify(r));
  if (r.kind === 'issued') assert.ok(Buffer.from(new X509Certificate(Buffer.from(r.cert)).publicKey.export({ type: 'spki', format: 'der' })).equals(Buffer.from(key.spki)));
  assert.equal(Object.keys(e.exportPending()), []);
  assert.is(records.at(-1)!.outcome, 'confirmed');
});

test('a server that never finishes: polling is bounded (maxPolls, ≥1 s apart), then CmpWaitingError (503) carrying the transaction; resume() continues it', async () => {
  const { url } = endpoint({ waiting: { polls: 1000, checkAfterSeconds: 0, bodies: ['genm'] } });
  const { c, sleeps } = client(url, { delayedDelivery: { inlineWaitSeconds: 600, maxPolls: 4 } });
  const err = await c.generalMessage([new InfoTypeAndValue({ infoType: OID_IT_CA_CERTS })], { kind: 'mac' }).catch((e: unknown) => e);
  assert.instance(err, CmpWaitingError);
  const w = err as CmpWaitingError;
  assert.is(w.status, 503);
  assert.is(w.transaction.request, 'genm');
  assert.is(w.transaction.certReqId, -1);
  assert.is(c.sent.length, 5, 'genm and four pollReqs, no more');
  assert.ok(sleeps.every((ms) => ms >= 1000), 'no hot loop against checkAfter 0');
  // the persisted transaction resumes with pollReq (JSON round trip, as the state file would hold it)
  const again = await c.resumeGeneralMessage(JSON.parse(JSON.stringify(w.transaction)), { kind: 'mac' }).catch((e: unknown) => e);
  assert.instance(again, CmpWaitingError);
  assert.equal(c.sent.slice(5), ['pollReq', 'pollReq', 'pollReq', 'pollReq']);
});

test('certConf for an Ed25519-signed certificate: certHash SHA-512 named in hashAlg, pvno 3 (cmp2021); ECDSA ones stay pvno 2 without hashAlg', async () => {
  const ed = generateKeyPairSync('ed25519');
  writeFileSync(path.join(dir, 'ed.key'), ed.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  execFileSync('openssl', ['req', '-x509', '-key', 'ed.key', '-out', 'ed.pem', '-subj', '/CN=Lab Ed25519 CA', '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE'], { cwd: dir, stdio: 'ignore' });
  const { url, records } = endpoint({ edIssuer: { cert: pemDecode(readFileSync(path.join(dir, 'ed.pem'), 'utf8'), 'CERTIFICATE'), key: ed.privateKey } });
  const { c } = client(url);
  const { r } = await request(c);
  assert.is(r.kind, 'issued', JSON.stringify(records));
  assert.equal(c.sent, ['ir', 'certConf']);
  const conf = records.find((x) => x.body === 'certConf')!;
  assert.equal([conf.outcome, conf.pvno, conf.hashAlg], ['confirmed', 3, '2.16.840.1.101.3.4.2.3']);
  // the independent decoder (pyasn1 rfc4210 + the RFC 9480 CertStatus) reads the same
  requirePyasn1();
  const sent = wire.filter((w) => w.path === new URL(url).pathname).map((w) => w.request);
  const decoded = pyDecode<{ header: { pvno: number }; body: { type: string; certStatus: Array<{ certHash: string; certReqId: number; hashAlg?: { algorithm: string } }> } }>('decode_cmp.py', sent[1]!);
  assert.equal([decoded.header.pvno, decoded.body.type, decoded.body.certStatus[0]!.hashAlg?.algorithm], [3, 'certConf', '2.16.840.1.101.3.4.2.3']);
  if (r.kind === 'issued') assert.is(decoded.body.certStatus[0]!.certHash, createHash('sha512').update(r.cert).digest('hex'));

  const plain = endpoint();
  const { c: c2 } = client(plain.url);
  await request(c2);
  const conf2 = plain.records.find((x) => x.body === 'certConf')!;
  assert.equal([conf2.outcome, conf2.pvno, conf2.hashAlg], ['confirmed', 2, undefined]);
});

test('certProfile from the options travels in generalInfo; a profile the server does not know → badCertTemplate', async () => {
  const { url, records } = endpoint({ certProfiles: ['device-tls'] });
  const { c } = client(url, { certProfile: 'device-tls' });
  const { r } = await request(c);
  assert.is(r.kind, 'issued');
  assert.equal(records.find((x) => x.outcome === 'issued')!.certProfile, ['device-tls']);
  const { c: bad } = client(url, { certProfile: 'no-such-profile' });
  const err = await request(bad).catch((e: unknown) => e);
  assert.instance(err, CmpRejectedError, String(err));
  assert.equal((err as CmpRejectedError).failInfo, ['badCertTemplate']);
  assert.is((err as CmpRejectedError).status, 400);
});

test('resuming a transaction the server does not know → a typed error at once, no polling loop', async () => {
  const { url } = endpoint({ waiting: { polls: 1, bodies: ['genm'] } });
  const { c } = client(url);
  const tx = { transactionID: Buffer.alloc(16, 7).toString('base64'), recipNonce: Buffer.alloc(16, 1).toString('base64'), certReqId: -1, request: 'genm' as const, checkAfter: 0 };
  const e2 = await c.resumeGeneralMessage(tx, { kind: 'mac' }).catch((e: unknown) => e);
  // the lab answers an error (badRequest) MAC'd over its own nonces: refused as a rejection or a protocol error
  assert.ok(e2 instanceof CmpRejectedError || e2 instanceof CmpProtocolError, String(e2));
  assert.equal(c.sent, ['pollReq']);
});

test.run();
