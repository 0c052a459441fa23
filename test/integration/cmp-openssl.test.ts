// The CMP client against `openssl cmp` (OpenSSL 3.0) as mock server: ir with MAC, p10cr, polling, certConf and
// implicit confirm, kur with signature protection by the TPM key, rr, genm; the issued certificate's key is the TPM
// key (the mock returns a fixed -rsp_cert, so the test has the CA issue it for the TPM key first).
// Note: OpenSSL 3.0's mock accepts only a port (it binds the wildcard address); the test talks to it on 127.0.0.1
// only, and -max_msgs bounds its life.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import type { KeyRecord } from '../../agent/keystore/keystore.js';
import { buildCsr } from '../../agent/pki/csr.js';
import { pemDecode, pemEncode } from '../../agent/pki/pem.js';
import { CmpClient, type CmpOptions } from '../../agent/protocols/cmp/client.js';
import { InfoTypeAndValue } from '../../agent/protocols/cmp/asn1/info-type-and-value.js';
import { OID_IT_CA_CERTS } from '../../agent/protocols/cmp/constants.js';
import { CmpProtectionError, CmpProtocolError, CmpRejectedError, CmpUsageError } from '../../agent/protocols/cmp/errors.js';
import { CmpEnrollment, type CmpEnrollmentOptions } from '../../agent/protocols/cmp/enrollment.js';
import { MemoryPendingTransactions } from '../../agent/protocols/pending.js';
import { Enroller, type StateAccess } from '../../agent/lifecycle/enroller.js';
import { ManualClock } from '../../agent/lifecycle/clock.js';
import type { AgentState } from '../../agent/lifecycle/state.js';
import { validateChain } from '../../agent/pki/chain.js';
import { memoryLogger } from '../../agent/util/log.js';
import { startSwtpm, type Swtpm } from '../harness/swtpm.js';
import { freePorts } from '../harness/ports.js';
import { startProcess, waitForPort, type Started } from '../harness/proc.js';
import { startFaultProxy } from '../harness/fault-proxy.js';
import { formatHttpDate } from '../../agent/protocols/http/retry-after.js';

const SECRET = 'cmp-shared-secret';
let tpm: Swtpm;
let ks: TpmKeyStore;
let dir: string;
let key: KeyRecord;
let leafPem: string;
const running: Started[] = [];

function ossl(args: string[]): string {
  return execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** The lab CA issues a certificate for `k` (the TPM key) from a CSR the TPM signed; returns the PEM path. */
async function issueFor(k: KeyRecord, name: string): Promise<string> {
  const { der } = await buildCsr({ subject: `CN=${name},O=enrolld`, signer: ks.signer(k) });
  writeFileSync(path.join(dir, `${name}.csr`), pemEncode('CERTIFICATE REQUEST', der));
  writeFileSync(path.join(dir, 'ext.cnf'), 'subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n');
  ossl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '5', '-extfile', 'ext.cnf', '-out', `${name}.pem`]);
  return path.join(dir, `${name}.pem`);
}

async function mock(extra: string[], rspCert: string, atPort?: number): Promise<string> {
  const port = atPort ?? (await freePorts(1));
  const p = await startProcess('openssl', ['cmp', '-port', String(port), '-rsp_cert', rspCert, '-rsp_extracerts', 'ca.pem', '-rsp_capubs', 'ca.pem', '-srv_trusted', 'ca.pem', '-max_msgs', '20', ...extra], { cwd: dir });
  running.push(p);
  await waitForPort(port, { proc: p, what: 'openssl cmp mock' });
  return `http://127.0.0.1:${port}/pkix/`;
}
const macMock = (rsp: string, extra: string[] = [], port?: number): Promise<string> => mock(['-srv_ref', 'dev-ref', '-srv_secret', `pass:${SECRET}`, ...extra], rsp, port);
const sigMock = (rsp: string, extra: string[] = []): Promise<string> => mock(['-srv_cert', 'srv.pem', '-srv_key', 'srv.key', ...extra], rsp);

function client(url: string, extra: Partial<CmpOptions> = {}): CmpClient {
  return new CmpClient({
    url,
    allowLoopbackHttp: true,
    mac: { reference: 'dev-ref', secret: new TextEncoder().encode(SECRET), iterations: 1000 },
    trustAnchors: [pemDecode(readFileSync(path.join(dir, 'ca.pem'), 'utf8'), 'CERTIFICATE')],
    ...extra,
  });
}

function memoryState(): StateAccess {
  let doc: AgentState | undefined;
  return {
    async load() {
      return doc ? structuredClone(doc) : undefined;
    },
    async save(d) {
      doc = structuredClone(d);
    },
  };
}

const spkiOf = (der: Uint8Array): Buffer => Buffer.from(new X509Certificate(Buffer.from(der)).publicKey.export({ type: 'spki', format: 'der' }));

test.before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-cmp-'));
  ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=CMP Test CA', '-days', '10',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash']);
  ossl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'srv.key', '-subj', '/CN=CMP Mock Server', '-out', 'srv.csr']);
  writeFileSync(path.join(dir, 'srv.cnf'), 'subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n');
  ossl(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '5', '-extfile', 'srv.cnf', '-out', 'srv.pem']);
  tpm = await startSwtpm();
  ks = await TpmKeyStore.open({ tcti: tpm.tcti });
  key = await ks.createKey('cmp-1', 'ecc-p256');
  leafPem = await issueFor(key, 'dev-1');
});

test.after(async () => {
  for (const p of running) await p.stop();
  await ks?.close();
  await tpm?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('ir with MAC protection: POP signed by the TPM key, certConf/pkiConf, issued cert carries the TPM key', async () => {
  const c = client(await macMock(leafPem));
  const r = await c.requestCertificate('ir', { newKey: ks.signer(key), subject: 'CN=dev-1,O=enrolld', protection: { kind: 'mac' } });
  assert.is(r.kind, 'issued');
  if (r.kind !== 'issued') return;
  assert.ok(spkiOf(r.cert).equals(Buffer.from(key.spki)), 'issued certificate holds the TPM key');
  assert.equal(c.sent, ['ir', 'certConf']);
  assert.is(r.implicitlyConfirmed, false);
  assert.is(r.caPubs.length, 1);
});

test('implicit confirm granted: no certConf', async () => {
  const c = client(await macMock(leafPem, ['-grant_implicitconf']), { implicitConfirm: true });
  const r = await c.requestCertificate('cr', { newKey: ks.signer(key), subject: 'CN=dev-1', protection: { kind: 'mac' } });
  assert.is(r.kind, 'issued');
  assert.equal(c.sent, ['cr']);
  assert.ok(r.kind === 'issued' && r.implicitlyConfirmed);
});

test('p10cr carrying the TPM-signed PKCS#10', async () => {
  const c = client(await macMock(leafPem));
  const { der } = await buildCsr({ subject: 'CN=dev-1,O=enrolld', signer: ks.signer(key) });
  const r = await c.requestP10(der, { kind: 'mac' });
  assert.is(r.kind, 'issued');
  assert.ok(r.kind === 'issued' && spkiOf(r.cert).equals(Buffer.from(key.spki)));
});

test('waiting → pending with checkAfter, resumed by pollReq with the persisted transaction', async () => {
  const c = client(await macMock(leafPem, ['-poll_count', '2', '-check_after', '7']));
  const first = await c.requestCertificate('ir', { newKey: ks.signer(key), subject: 'CN=dev-1', protection: { kind: 'mac' } });
  assert.is(first.kind, 'pending');
  if (first.kind !== 'pending') return;
  const saved = JSON.parse(JSON.stringify(first.transaction));
  const c2 = client(c.opts.url); // a "restarted" agent: only the persisted transaction survives
  const second = await c2.poll(saved, { kind: 'mac' });
  assert.is(second.kind, 'pending');
  assert.is(second.kind === 'pending' && second.transaction.checkAfter, 7);
  const third = await c2.poll(second.kind === 'pending' ? second.transaction : saved, { kind: 'mac' });
  assert.is(third.kind, 'issued');
  assert.equal(c2.sent, ['pollReq', 'pollReq', 'certConf']);
});

test('kur signed by the current TPM key (cert in extraCerts), signature-protected answer validated to the CA', async () => {
  // OpenSSL 3.0's mock insists that the kur's oldCertID names its -rsp_cert, so the "update" returns the same
  // certificate (same TPM key); the lifecycle test renews onto a new key with p10cr instead.
  const c = client(await sigMock(leafPem));
  const newKey = key;
  const r = await c.requestCertificate('kur', {
    newKey: ks.signer(newKey),
    subject: 'CN=dev-1,O=enrolld',
    protection: { kind: 'signature', signer: ks.signer(key), certDer: pemDecode(readFileSync(leafPem, 'utf8'), 'CERTIFICATE') },
  });
  assert.is(r.kind, 'issued');
  assert.ok(r.kind === 'issued' && spkiOf(r.cert).equals(Buffer.from(newKey.spki)));
  assert.equal(c.sent, ['kur', 'certConf']);
});

test('signature-protected answer not chaining to the configured trust anchor → CmpProtectionError', async () => {
  const other = path.join(dir, 'other.pem');
  ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'other.key', '-out', other, '-subj', '/CN=Other CA', '-days', '2']);
  const c = client(await sigMock(leafPem), { trustAnchors: [pemDecode(readFileSync(other, 'utf8'), 'CERTIFICATE')] });
  const err = await c.requestCertificate('kur', {
    newKey: ks.signer(key), subject: 'CN=dev-1',
    protection: { kind: 'signature', signer: ks.signer(key), certDer: pemDecode(readFileSync(leafPem, 'utf8'), 'CERTIFICATE') },
  }).catch((e: unknown) => e);
  assert.instance(err, CmpProtectionError);
});

test('wrong shared secret: the mock refuses, the client reports a typed error', async () => {
  const c = client(await macMock(leafPem), { mac: { reference: 'dev-ref', secret: new TextEncoder().encode('wrong'), iterations: 1000 } });
  const err = await c.requestCertificate('ir', { newKey: ks.signer(key), subject: 'CN=dev-1', protection: { kind: 'mac' } }).catch((e: unknown) => e);
  // The mock answers with an error message MAC'd with ITS secret: our MAC check fails first.
  assert.instance(err, CmpProtectionError, String(err));
});

test('rejection with failInfo → CmpRejectedError naming the bits', async () => {
  const c = client(await macMock(leafPem, ['-pkistatus', '2', '-failure', '9', '-statusstring', 'no POP']));
  const err = await c.requestCertificate('ir', { newKey: ks.signer(key), subject: 'CN=dev-1', protection: { kind: 'mac' } }).catch((e: unknown) => e);
  assert.instance(err, CmpRejectedError, String(err));
  assert.equal((err as CmpRejectedError).failInfo, ['badPOP']);
  assert.is((err as CmpRejectedError).status, 400);
});

test('rr for the issued certificate, signature-protected by its TPM key', async () => {
  const c = client(await sigMock(leafPem));
  const certDer = pemDecode(readFileSync(leafPem, 'utf8'), 'CERTIFICATE');
  await c.revoke(certDer, 1, { kind: 'signature', signer: ks.signer(key), certDer });
  assert.equal(c.sent, ['rr']);
});

test('genm id-it-caCerts → genp', async () => {
  const c = client(await macMock(leafPem));
  const itavs = await c.generalMessage([new InfoTypeAndValue({ infoType: OID_IT_CA_CERTS })], { kind: 'mac' });
  // OpenSSL 3.0's mock echoes the requested infoTypes (it has no caCerts support before 3.2).
  assert.ok(itavs.some((i) => i.infoType === OID_IT_CA_CERTS));
  void asn1js;
});

test('the shared Enroller with CmpEnrollment: enroll (ir, MAC, one pending round) then renew (p10cr signed by the current TPM key)', async () => {
  // The mock returns a fixed -rsp_cert: the CSR hook (which sees the new TPM key before anything is sent) has the CA
  // issue the certificate for that key and (re)starts the mock with it.
  const anchors = [pemDecode(readFileSync(path.join(dir, 'ca.pem'), 'utf8'), 'CERTIFICATE')];
  let url = '';
  let n = 0;
  const state = memoryState();
  let protocol!: CmpEnrollment;
  const opts = (): CmpEnrollmentOptions => ({
    url, allowLoopbackHttp: true, keystore: ks, trustAnchors: anchors,
    mac: { reference: 'dev-ref', secret: new TextEncoder().encode(SECRET), iterations: 1000 },
    request: n > 1 ? 'p10cr' : 'crmf',
    pending: protocol?.pending ?? new MemoryPendingTransactions(),
  });
  const enroller = new Enroller({
    clock: new ManualClock(new Date(Date.now() + 300_000)), // after the notBefore of certificates issued during the test
    log: memoryLogger('warn'),
    keystore: ks,
    get protocol() {
      return protocol;
    },
    state,
    buildCsr: async (k, signer) => {
      n++;
      const pem = await issueFor(k, `lc-${n}`);
      // first enrollment: through one "waiting" round; renewal: signature-protected mock
      url = n === 1 ? await macMock(pem, ['-poll_count', '1', '-check_after', '0']) : await sigMock(pem);
      protocol = new CmpEnrollment(opts());
      return (await buildCsr({ subject: 'CN=dev-lc,O=enrolld', signer })).der;
    },
    verifyIssued: async (cert, chain, at) => {
      await validateChain({ leaf: cert, intermediates: chain, trustAnchors: anchors, at });
    },
    policy: { keyAlgorithm: 'ecc-p256', renewFraction: 2 / 3, backoffMinSeconds: 60, backoffMaxSeconds: 3600 },
    random: () => 0.5,
  } as ConstructorParameters<typeof Enroller>[0]);
  const first = await enroller.step();
  assert.is(first.action, 'pending', first.error?.message);
  assert.equal(Object.values(protocol.exportPending()).map((t) => t.request), ['ir']);
  const second = await enroller.step({ force: true });
  assert.is(second.action, 'issued', second.error?.message);
  assert.equal(protocol.client.sent, ['ir', 'pollReq', 'certConf']);
  const cred1 = second.state.credential!;
  assert.ok(spkiOf(pemDecode(cred1.certPem, 'CERTIFICATE')).equals(Buffer.from(cred1.key.spki, 'base64')));

  const renewed = await enroller.step({ force: true });
  assert.is(renewed.action, 'issued', renewed.error?.message);
  assert.equal(protocol.client.sent, ['p10cr', 'certConf']);
  const cred2 = renewed.state.credential!;
  assert.is.not(cred2.key.id, cred1.key.id, 'renewal rotated the TPM key');
  assert.ok(spkiOf(pemDecode(cred2.certPem, 'CERTIFICATE')).equals(Buffer.from(cred2.key.spki, 'base64')));
});

test('p10cr answered "waiting" (-poll_count): the certReqId the mock names is polled, then confirmed (RFC 9483 §4.1.4/§4.4)', async () => {
  const c = client(await macMock(leafPem, ['-poll_count', '1', '-check_after', '0']));
  const { der } = await buildCsr({ subject: 'CN=dev-1,O=enrolld', signer: ks.signer(key) });
  const first = await c.requestP10(der, { kind: 'mac' });
  assert.is(first.kind, 'pending');
  if (first.kind !== 'pending') return;
  const second = await c.poll(JSON.parse(JSON.stringify(first.transaction)), { kind: 'mac' });
  assert.is(second.kind, 'issued');
  assert.equal(c.sent, ['p10cr', 'pollReq', 'certConf']);
});

test('ir with certProfile in generalInfo (RFC 9483 §3.1): the mock accepts the header item', async () => {
  const c = client(await macMock(leafPem), { certProfile: 'device-tls' });
  const r = await c.requestCertificate('ir', { newKey: ks.signer(key), subject: 'CN=dev-1', protection: { kind: 'mac' } });
  assert.is(r.kind, 'issued');
  assert.equal(c.sent, ['ir', 'certConf']);
});

test('certConf of an Ed25519-signed certificate carries hashAlg with pvno 3: OpenSSL 3.0 (cmp2000 only) refuses it, a typed error', async () => {
  // what a server on RFC 4210 without the RFC 9480 updates sees: a CertStatus with hashAlg [0] its ASN.1 module lacks,
  // under pvno 3 (§2.20); OpenSSL 3.0's mock cannot decode it and answers HTTP 400 without a PKIMessage
  ossl(['genpkey', '-algorithm', 'ed25519', '-out', 'ed.key']);
  ossl(['req', '-x509', '-key', 'ed.key', '-out', 'ed.pem', '-subj', '/CN=Ed25519 CA', '-days', '5', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  const { der } = await buildCsr({ subject: 'CN=dev-ed,O=enrolld', signer: ks.signer(key) });
  writeFileSync(path.join(dir, 'dev-ed.csr'), pemEncode('CERTIFICATE REQUEST', der));
  ossl(['x509', '-req', '-in', 'dev-ed.csr', '-CA', 'ed.pem', '-CAkey', 'ed.key', '-CAcreateserial', '-days', '5', '-extfile', 'ext.cnf', '-out', 'dev-ed.pem']);
  const c = client(await macMock(path.join(dir, 'dev-ed.pem')));
  const err = await c.requestCertificate('ir', { newKey: ks.signer(key), subject: 'CN=dev-ed', protection: { kind: 'mac' } }).catch((e: unknown) => e);
  assert.equal(c.sent, ['ir', 'certConf']);
  assert.instance(err, CmpProtocolError, String(err));
  assert.is((err as CmpProtocolError).status, 400);
});

test('HTTP 503 Retry-After 7200 and 429 with an HTTP-date in front of the mock: the persisted backoff is exactly that wait; then ir + certConf', async () => {
  // RFC 9811 §3 / RFC 9110 §10.2.3: the fault proxy answers for the mock (which never sees the request) until it passes through
  const port = await freePorts(1);
  const proxy = await startFaultProxy({ host: '127.0.0.1', port });
  const anchors = [pemDecode(readFileSync(path.join(dir, 'ca.pem'), 'utf8'), 'CERTIFICATE')];
  const clock = new ManualClock(new Date(Math.ceil((Date.now() + 300_000) / 1000) * 1000)); // whole seconds: HTTP-dates have no fraction
  const state = memoryState();
  const protocol = new CmpEnrollment({
    url: `http://127.0.0.1:${proxy.port}/pkix/`, allowLoopbackHttp: true, keystore: ks, trustAnchors: anchors, now: () => clock.now(),
    mac: { reference: 'dev-ref', secret: new TextEncoder().encode(SECRET), iterations: 1000 },
  });
  const enroller = new Enroller({
    clock, log: memoryLogger('error'), keystore: ks, protocol, state,
    buildCsr: async (k, signer) => {
      await macMock(await issueFor(k, 'ra-1'), [], port); // the mock answers with the certificate for this TPM key
      return (await buildCsr({ subject: 'CN=dev-ra,O=enrolld', signer })).der;
    },
    verifyIssued: async (cert, chain, at) => {
      await validateChain({ leaf: cert, intermediates: chain, trustAnchors: anchors, at });
    },
    policy: { keyAlgorithm: 'ecc-p256', renewFraction: 2 / 3, backoffMinSeconds: 60, backoffMaxSeconds: 3600 },
    random: () => 0.5,
  } as ConstructorParameters<typeof Enroller>[0]);
  try {
    proxy.fault = { kind: 'answer', status: 503, headers: { 'retry-after': '7200', 'content-type': 'text/plain' }, body: 'CA maintenance' };
    const t0 = clock.now().getTime();
    const r1 = await enroller.step();
    assert.is(r1.action, 'failed', r1.error?.message);
    assert.instance(r1.error, CmpProtocolError);
    assert.is((r1.error as CmpProtocolError).status, 503);
    assert.is(Date.parse((await state.load())!.retry!.until), t0 + 7200_000, 'the persisted wait is the 2 h Retry-After, not the 60 s backoff');
    assert.is((await enroller.step()).action, 'none', 'nothing is sent before it');
    assert.is(proxy.connections, 1);

    await clock.advanceTo(r1.nextDue!);
    const t1 = clock.now().getTime();
    proxy.fault = { kind: 'answer', status: 429, headers: { 'retry-after': formatHttpDate(new Date(t1 + 3 * 3600_000)), 'content-type': 'text/plain' }, body: 'slow down' };
    const r2 = await enroller.step();
    assert.is(r2.action, 'failed', r2.error?.message);
    assert.is((r2.error as CmpProtocolError).status, 429);
    assert.is(Date.parse((await state.load())!.retry!.until), t1 + 3 * 3600_000, 'the HTTP-date is the persisted wait');
    assert.ok((await state.load())!.pending, 'a 429 keeps the request (not permanent)');

    proxy.fault = { kind: 'pass' };
    await clock.advanceTo(r2.nextDue!);
    const r3 = await enroller.step();
    assert.is(r3.action, 'issued', r3.error?.message);
    assert.equal(protocol.client.sent, ['ir', 'ir', 'ir', 'certConf']);
    assert.ok(spkiOf(pemDecode(r3.state.credential!.certPem, 'CERTIFICATE')).equals(Buffer.from(r3.state.credential!.key.spki, 'base64')));
    assert.is(proxy.connections, 4);
  } finally {
    await proxy.stop();
  }
});

test('http:// to a non-loopback host is refused', () => {
  assert.throws(() => client('http://192.0.2.1/pkix/'), (e: unknown) => e instanceof CmpUsageError);
  assert.throws(() => client('http://127.0.0.1/pkix/', { allowLoopbackHttp: false }), (e: unknown) => e instanceof CmpUsageError);
});

test.run();
