// CMP over CoAP (RFC 9482) on 127.0.0.1: the agent's CoAP transport (agent/protocols/cmp/coap-transport.ts, the
// `coap` package) against the lab's CoAP endpoint (deploy/lab/cmp-coap.ts), which hands each PKIMessage to the lab's
// CMP handlers. A full enrollment through the shared Enroller (ir with MAC, then kur signed by the TPM key), both
// directions block-wise (RFC 7959), and the bad input: another Content-Format, 4.xx/5.xx codes, an oversize answer,
// a silent server and one that never ACKs — each a typed error, the lifecycle backs off and stores nothing.
// A 5.03 with Max-Age is a persisted wait of Max-Age seconds (RFC 7252 §5.9.3.4), without it the backoff.
// Last, the `openssl cmp` mock server behind the lab's CoAP-to-HTTP proxy (RFC 9482 §4).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import dgram from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import { buildCsr } from '../../agent/pki/csr.js';
import { pemDecode, pemEncode } from '../../agent/pki/pem.js';
import { CmpClient } from '../../agent/protocols/cmp/client.js';
import { CmpEnrollment } from '../../agent/protocols/cmp/enrollment.js';
import { CmpProtectionError, CmpRejectedError, CmpUsageError } from '../../agent/protocols/cmp/errors.js';
import { CoapContentFormatError, CoapResponseError, createCoapTransport } from '../../agent/protocols/cmp/coap-transport.js';
import { ConnectionError, ResponseTooLargeError, TimeoutError, TransportConfigError } from '../../agent/protocols/http/errors.js';
import { CMP_MEDIA_TYPE } from '../../agent/protocols/cmp/constants.js';
import { Enroller } from '../../agent/lifecycle/enroller.js';
import { ManualClock } from '../../agent/lifecycle/clock.js';
import type { AgentState } from '../../agent/lifecycle/state.js';
import { validateChain } from '../../agent/pki/chain.js';
import { memoryLogger } from '../../agent/util/log.js';
import { TrustAnchorStore } from '../../agent/store/ta-store.js';
import { createLabServer, type LabServer } from '../../deploy/lab/server.js';
import { registerCmpHandlers, type LabCmpRecord } from '../../deploy/lab/cmp.js';
import { startCmpCoapServer, CMP_COAP_PATH, type LabCmpCoapServer } from '../../deploy/lab/cmp-coap.js';
import { startSwtpm, type Swtpm } from '../harness/swtpm.js';
import { freePorts } from '../harness/ports.js';
import { startProcess, waitForPort, type Started } from '../harness/proc.js';
import { parseConfig, type CmpSettings } from '../../agent/config.js';
import { compose as composeCmp } from '../../agent/features/cmp/index.js';
import type { FeatureContext } from '../../agent/features/feature.js';
import { generate, parse } from 'coap-packet';

const SECRET = new TextEncoder().encode('lab-cmp-secret');
let tpm: Swtpm;
let ks: TpmKeyStore;
let lab: LabServer;
let coapLab: LabCmpCoapServer;
let records: LabCmpRecord[];
let dir: string;
const running: Started[] = [];

test.before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-cmp-coap-'));
  lab = await createLabServer({});
  records = registerCmpHandlers(lab.router, { ca: lab.ca, reference: 'dev-0001', secret: SECRET });
  coapLab = await startCmpCoapServer({ router: lab.router });
  tpm = await startSwtpm();
  ks = await TpmKeyStore.open({ tcti: tpm.tcti });
});

test.after(async () => {
  for (const p of running) await p.stop();
  await coapLab?.close();
  await ks?.close();
  await tpm?.stop();
  await lab?.close();
  rmSync(dir, { recursive: true, force: true });
});

function options(extra: Partial<ConstructorParameters<typeof CmpEnrollment>[0]> = {}): ConstructorParameters<typeof CmpEnrollment>[0] {
  return {
    url: `${coapLab.url}${CMP_COAP_PATH}`,
    trustAnchors: [lab.ca.root.der],
    mac: { reference: 'dev-0001', secret: SECRET, iterations: 1000 },
    keystore: ks,
    ...extra,
  };
}

function enroller(protocol: CmpEnrollment, doc: { s?: AgentState }, clock = new ManualClock(new Date())): Enroller {
  return new Enroller({
    clock,
    log: memoryLogger('error'),
    keystore: ks,
    protocol,
    state: { load: async () => (doc.s ? structuredClone(doc.s) : undefined), save: async (d) => void (doc.s = structuredClone(d)) },
    buildCsr: async (_key, signer) => (await buildCsr({ subject: 'CN=dev-0001,O=enrolld', signer })).der,
    verifyIssued: async (cert, chain, at) => {
      await validateChain({ leaf: cert, intermediates: chain, trustAnchors: [lab.ca.root.der], at });
    },
    policy: { keyAlgorithm: 'ecc-p256', renewFraction: 2 / 3, backoffMinSeconds: 60, backoffMaxSeconds: 3600 },
    random: () => 0.5,
  });
}

test('the Enroller over CoAP: ir (MAC) then kur (signed by the TPM key), certConf each, block-wise both ways', async () => {
  const doc: { s?: AgentState } = {};
  // 256-byte blocks: the kur (current certificate and chain in extraCerts) and every answer go in several blocks
  const protocol = new CmpEnrollment(options({ coap: { blockSize: 256 } }));
  const e = enroller(protocol, doc);
  const before = coapLab.records.length;
  const first = await e.step();
  assert.is(first.action, 'issued', `${first.error?.message} ${JSON.stringify(records.slice(-2))}`);
  const second = await e.step({ force: true });
  assert.is(second.action, 'issued', `${second.error?.message} ${JSON.stringify(records.slice(-2))}`);
  assert.equal(protocol.client.sent, ['ir', 'certConf', 'kur', 'certConf']);
  assert.equal(records.slice(-4).map((r) => `${r.body}:${r.outcome}`), ['ir:issued', 'certConf:confirmed', 'kur:issued', 'certConf:confirmed']);
  const seen = coapLab.records.slice(before);
  assert.equal(seen.map((r) => r.code), ['2.04', '2.04', '2.04', '2.04']);
  assert.ok(seen[2]!.block1 && seen[2]!.bytesIn > 256, `kur went block-wise (${seen[2]!.bytesIn} bytes)`);
  assert.ok(seen[0]!.bytesOut > 256, `ip came block-wise (${seen[0]!.bytesOut} bytes)`);
  const cert = new X509Certificate(second.state.credential!.certPem);
  assert.ok(Buffer.from(cert.publicKey.export({ type: 'spki', format: 'der' })).equals(Buffer.from(second.state.credential!.key.spki, 'base64')));
});

test('from config.json: cmp.url coap://… and cmp.coap.blockSize reach the CoAP transport through the CMP feature', async () => {
  writeFileSync(path.join(dir, 'cmp-ta.pem'), lab.trustAnchorPem);
  writeFileSync(path.join(dir, 'cmp-secret'), 'lab-cmp-secret\n', { mode: 0o600 });
  const config = parseConfig({
    deviceId: 'dev-0001', stateDir: path.join(dir, 'state'), protocol: 'cmp',
    est: { url: 'https://est.example:8443/', trustAnchorsFile: 'cmp-ta.pem' },
    cmp: { url: `${coapLab.url}${CMP_COAP_PATH}`, trustAnchorsFile: 'cmp-ta.pem', mac: { reference: 'dev-0001', secretFile: 'cmp-secret' }, coap: { blockSize: 128 } },
  }, dir);
  mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
  const ta = await TrustAnchorStore.open(path.join(config.stateDir, 'trust-anchors.json'));
  const ctx = { section: config.cmp as CmpSettings, config, keystore: ks, clock: new ManualClock(new Date()), stores: { ta }, log: memoryLogger() } as unknown as FeatureContext<CmpSettings>;
  const { protocol } = (await composeCmp(ctx)).protocol!;
  const key = await ks.createKey('coap-config', 'ecc-p256');
  const { der } = await buildCsr({ subject: 'CN=dev-0001,O=enrolld', signer: ks.signer(key) });
  const before = coapLab.records.length;
  const r = await protocol.enroll({ operation: 'enroll', csr: der, key });
  assert.is(r.kind, 'issued', JSON.stringify(records.slice(-2)));
  const ir = coapLab.records[before]!;
  assert.ok(ir.block1 && ir.bytesIn > 128, `ir in 128-byte blocks (${ir.bytesIn} bytes)`);
});

test('genm id-it-caCerts over CoAP with the default 1024-byte blocks', async () => {
  const c = new CmpClient(options());
  assert.equal(await c.caCerts({ kind: 'mac' }), [lab.ca.issuing.der, lab.ca.root.der]);
  assert.is(coapLab.records.at(-1)!.code, '2.04');
});

test('a CMP error message in the answer: CmpRejectedError, or CmpProtectionError when its MAC does not verify', async () => {
  const c = new CmpClient(options({ mac: { reference: 'dev-0001', secret: new TextEncoder().encode('wrong'), iterations: 1000 } }));
  // the lab answers with an error message MAC'd with ITS secret: protection fails first, typed either way
  const err = await c.caCerts({ kind: 'mac' }).catch((x: unknown) => x);
  assert.instance(err, CmpProtectionError);
  const ok = new CmpClient(options());
  const rej = await ok.revoke(lab.ca.issuing.der, 0, { kind: 'mac' }).catch((x: unknown) => x);
  assert.instance(rej, CmpRejectedError);
});

test('wrong Content-Format in a 2.04 → CoapContentFormatError', async () => {
  coapLab.fault = { kind: 'content-format', contentFormat: 0 };
  try {
    const err = await new CmpClient(options()).caCerts({ kind: 'mac' }).catch((x: unknown) => x);
    assert.instance(err, CoapContentFormatError);
    assert.is((err as CoapContentFormatError).contentFormat, 0);
  } finally {
    coapLab.fault = undefined;
  }
});

test('the lab refuses another Content-Format with 4.15, an unknown path with 4.04', async () => {
  const t = createCoapTransport({ totalTimeoutMs: 10_000 });
  const e415 = await t.request({ method: 'POST', url: `${coapLab.url}${CMP_COAP_PATH}`, headers: { 'content-type': 'text/plain', accept: CMP_MEDIA_TYPE }, body: 'hello' }).catch((x: unknown) => x);
  assert.instance(e415, CoapResponseError);
  assert.is((e415 as CoapResponseError).coapCode, '4.15');
  assert.is((e415 as CoapResponseError).status, 415);
  assert.match((e415 as CoapResponseError).diagnostic ?? '', /Content-Format 0/);
  const e404 = await new CmpClient(options({ url: `${coapLab.url}/nope` })).caCerts({ kind: 'mac' }).catch((x: unknown) => x);
  assert.instance(e404, CoapResponseError);
  assert.is((e404 as CoapResponseError).coapCode, '4.04');
});

test('4.xx and 5.xx without a PKIMessage → CoapResponseError with the code, the status the lifecycle reads, Max-Age', async () => {
  try {
    coapLab.fault = { kind: 'code', code: '4.03', diagnostic: 'go away\u0000\u001b[31m' };
    const e4 = await new CmpClient(options()).caCerts({ kind: 'mac' }).catch((x: unknown) => x);
    assert.instance(e4, CoapResponseError);
    assert.is((e4 as CoapResponseError).status, 403);
    assert.is((e4 as CoapResponseError).diagnostic, 'go away [31m');
    coapLab.fault = { kind: 'code', code: '5.03', maxAge: 30 };
    const e5 = await new CmpClient(options()).caCerts({ kind: 'mac' }).catch((x: unknown) => x);
    assert.instance(e5, CoapResponseError);
    assert.is((e5 as CoapResponseError).status, 503);
    assert.is((e5 as CoapResponseError).retryAfterSeconds, 30);
  } finally {
    coapLab.fault = undefined;
  }
});

test('an answer past maxResponseBytes → ResponseTooLargeError while it arrives (Block2)', async () => {
  coapLab.fault = { kind: 'oversize', bytes: 20_000 };
  try {
    const err = await new CmpClient(options({ coap: { maxResponseBytes: 4096 } })).caCerts({ kind: 'mac' }).catch((x: unknown) => x);
    assert.instance(err, ResponseTooLargeError);
    assert.is((err as ResponseTooLargeError).limit, 4096);
  } finally {
    coapLab.fault = undefined;
  }
});

test('a server that ACKs but never answers, and one that never ACKs → TimeoutError', async () => {
  coapLab.fault = { kind: 'silent' };
  try {
    const t0 = Date.now();
    const err = await new CmpClient(options({ coap: { totalTimeoutMs: 1500 } })).caCerts({ kind: 'mac' }).catch((x: unknown) => x);
    assert.instance(err, TimeoutError);
    assert.ok(Date.now() - t0 < 10_000);
  } finally {
    coapLab.fault = undefined;
  }
  const mute = dgram.createSocket('udp4');
  await new Promise<void>((r) => mute.bind(0, '127.0.0.1', () => r()));
  try {
    const err = await new CmpClient(options({ url: `coap://127.0.0.1:${mute.address().port}${CMP_COAP_PATH}`, coap: { totalTimeoutMs: 1500 } })).caCerts({ kind: 'mac' }).catch((x: unknown) => x);
    assert.instance(err, TimeoutError);
  } finally {
    mute.close();
  }
});

test('the lifecycle over a failing CoAP server: typed error, persisted backoff, no credential; permanent 4.xx drops the key', async () => {
  const doc: { s?: AgentState } = {};
  coapLab.fault = { kind: 'silent' };
  try {
    const e = enroller(new CmpEnrollment(options({ coap: { totalTimeoutMs: 1000 } })), doc);
    const r = await e.step();
    assert.is(r.action, 'failed');
    assert.instance(r.error, TimeoutError);
    assert.ok(r.state.retry && Date.parse(r.state.retry.until) > Date.now() + 30_000, JSON.stringify(r.state.retry));
    assert.is(doc.s!.credential, undefined);
    assert.ok(doc.s!.pending, 'the request is kept for the retry');
    // not due yet: no new exchange (no hot loop)
    const n = coapLab.records.length;
    assert.is((await e.step()).action, 'none');
    assert.is(coapLab.records.length, n);
    coapLab.fault = { kind: 'code', code: '4.00' };
    const p = await e.step({ force: true });
    assert.is(p.action, 'abandoned');
    assert.instance(p.error, CoapResponseError);
    assert.is(doc.s!.credential, undefined);
    assert.is(doc.s!.pending, undefined);
  } finally {
    coapLab.fault = undefined;
  }
});

test('5.03 with Max-Age (RFC 7252 §5.9.3.4) → the lifecycle waits Max-Age (persisted), then resends the same CSR; without Max-Age the backoff', async () => {
  const doc: { s?: AgentState } = {};
  const clock = new ManualClock(new Date());
  const e = enroller(new CmpEnrollment(options()), doc, clock);
  try {
    coapLab.fault = { kind: 'code', code: '5.03', diagnostic: 'CA busy', maxAge: 300 };
    const n0 = coapLab.records.length;
    const r = await e.step();
    assert.is(r.action, 'pending', r.error?.message);
    assert.is(coapLab.records.length - n0, 1, 'one exchange');
    assert.is(doc.s!.retry?.kind, 'waiting');
    assert.is(Date.parse(doc.s!.retry!.until) - clock.now().getTime(), 300_000, 'Max-Age 300 is the persisted wait');
    assert.is(r.nextDue!.getTime() - clock.now().getTime(), 300_000);
    const csr = doc.s!.pending!.csr;
    // not due: nothing is sent before Max-Age has passed
    await clock.advanceTo(new Date(clock.now().getTime() + 299_000));
    assert.is((await e.step()).action, 'none');
    assert.is(coapLab.records.length - n0, 1, 'no exchange before Max-Age');
    // Max-Age 0 would be a hot loop: the lifecycle's lower bound (10 s) holds
    await clock.advanceTo(new Date(clock.now().getTime() + 1_000));
    coapLab.fault = { kind: 'code', code: '5.03', maxAge: 0 };
    const z = await e.step();
    assert.is(z.action, 'pending');
    assert.is(z.nextDue!.getTime() - clock.now().getTime(), 10_000, 'Max-Age 0 → 10 s');
    assert.is(doc.s!.pending!.csr, csr, 'the same request is kept');
    // without Max-Age: a CoapResponseError and the exponential backoff (backoffMinSeconds 60)
    await clock.advanceTo(new Date(clock.now().getTime() + 10_000));
    coapLab.fault = { kind: 'code', code: '5.03' };
    const f = await e.step();
    assert.is(f.action, 'failed');
    assert.instance(f.error, CoapResponseError);
    assert.is(doc.s!.retry?.kind, 'failed');
    assert.ok(f.nextDue!.getTime() - clock.now().getTime() >= 30_000, `backoff ${f.nextDue!.getTime() - clock.now().getTime()} ms`);
    // the server is back: the same CSR is issued
    await clock.advanceTo(f.nextDue!);
    coapLab.fault = undefined;
    const ok = await e.step();
    assert.is(ok.action, 'issued', ok.error?.message);
    assert.is(doc.s!.pending, undefined);
    assert.ok(doc.s!.credential);
  } finally {
    coapLab.fault = undefined;
  }
});

/** A CoAP peer written with coap-packet alone, answering every request with what `answer` makes of it. */
async function hostile(answer: (req: ReturnType<typeof parse>) => Buffer | undefined): Promise<{ url: string; close(): void }> {
  const s = dgram.createSocket('udp4');
  s.on('message', (m, r) => {
    let req;
    try {
      req = parse(m);
    } catch {
      return;
    }
    if (req.code === '0.00') return;
    const out = answer(req);
    if (out) s.send(out, r.port, r.address);
  });
  await new Promise<void>((ok) => s.bind(0, '127.0.0.1', () => ok()));
  return { url: `coap://127.0.0.1:${s.address().port}${CMP_COAP_PATH}`, close: () => s.close() };
}

test('a hostile CoAP server: wrong Block1 acknowledgements, a broken Block2 option, datagrams that are not CoAP → typed errors, no crash', async () => {
  const post = (url: string, bytes: number, blockSize = 256) =>
    createCoapTransport({ blockSize, totalTimeoutMs: 3000 }).request({ method: 'POST', url, headers: { 'content-type': CMP_MEDIA_TYPE, accept: CMP_MEDIA_TYPE }, body: new Uint8Array(bytes) }).catch((x: unknown) => x);
  // every block acknowledged as block 99: the stack gives up after its re-transfers
  const wrongAck = await hostile((q) => generate({ messageId: q.messageId, token: q.token, ack: true, code: '2.31', options: [{ name: 'Block1', value: Buffer.of(0x06, 0x3d) }] }));
  try {
    const e = await post(wrongAck.url, 2000);
    assert.instance(e, ConnectionError);
    assert.match((e as Error).message, /re-transfers/);
  } finally {
    wrongAck.close();
  }
  // a Block2 option of five bytes (RFC 7959 §2.2 allows at most three)
  const badBlock2 = await hostile((q) => generate({ messageId: q.messageId, token: q.token, ack: true, code: '2.04', options: [{ name: 'Content-Format', value: Buffer.of(0x01, 0x03) }, { name: 'Block2', value: Buffer.of(1, 2, 3, 4, 5) }], payload: Buffer.alloc(16) }));
  try {
    const e = await post(badBlock2.url, 10);
    assert.instance(e, ConnectionError);
    assert.match((e as Error).message, /block2/);
  } finally {
    badBlock2.close();
  }
  // not CoAP at all: ignored, then the timeout
  const noise = await hostile(() => Buffer.from('HTTP/1.1 200 OK\r\n\r\n'));
  try {
    assert.instance(await post(noise.url, 10), TimeoutError);
  } finally {
    noise.close();
  }
  // and the process still serves a good exchange
  assert.equal(await new CmpClient(options()).caCerts({ kind: 'mac' }), [lab.ca.issuing.der, lab.ca.root.der]);
});

test('coaps:// is refused (no DTLS); a bad block size is a TransportConfigError', async () => {
  const err = await createCoapTransport().request({ method: 'POST', url: 'coaps://127.0.0.1/.well-known/cmp', body: new Uint8Array(1) }).catch((x: unknown) => x);
  assert.instance(err, TransportConfigError);
  assert.throws(() => new CmpClient(options({ url: 'coaps://127.0.0.1/.well-known/cmp' })), (e: unknown) => e instanceof CmpUsageError);
  assert.throws(() => createCoapTransport({ blockSize: 1000 }), (e: unknown) => e instanceof TransportConfigError);
});

test('openssl cmp mock server behind the lab CoAP-to-HTTP proxy (RFC 9482 §4): ir with MAC over CoAP', async () => {
  const ossl = (args: string[]): string => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=CMP Test CA', '-days', '10',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash']);
  const key = await ks.createKey('coap-ossl', 'ecc-p256');
  const { der } = await buildCsr({ subject: 'CN=dev-1,O=enrolld', signer: ks.signer(key) });
  writeFileSync(path.join(dir, 'dev.csr'), pemEncode('CERTIFICATE REQUEST', der));
  writeFileSync(path.join(dir, 'ext.cnf'), 'subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n');
  ossl(['x509', '-req', '-in', 'dev.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '5', '-extfile', 'ext.cnf', '-out', 'dev.pem']);
  const port = await freePorts(1);
  const p = await startProcess('openssl', ['cmp', '-port', String(port), '-rsp_cert', 'dev.pem', '-rsp_extracerts', 'ca.pem', '-rsp_capubs', 'ca.pem', '-srv_trusted', 'ca.pem',
    '-srv_ref', 'dev-ref', '-srv_secret', 'pass:cmp-shared-secret', '-max_msgs', '10'], { cwd: dir });
  running.push(p);
  await waitForPort(port, { proc: p, what: 'openssl cmp mock' });
  const proxy = await startCmpCoapServer({ httpUpstream: `http://127.0.0.1:${port}/pkix/` });
  try {
    const c = new CmpClient({
      url: `${proxy.url}${CMP_COAP_PATH}`,
      mac: { reference: 'dev-ref', secret: new TextEncoder().encode('cmp-shared-secret'), iterations: 1000 },
      trustAnchors: [pemDecode(readFileSync(path.join(dir, 'ca.pem'), 'utf8'), 'CERTIFICATE')],
      coap: { blockSize: 512 },
    });
    const r = await c.requestCertificate('ir', { newKey: ks.signer(key), subject: 'CN=dev-1,O=enrolld', protection: { kind: 'mac' } });
    assert.is(r.kind, 'issued');
    if (r.kind === 'issued') assert.ok(Buffer.from(new X509Certificate(Buffer.from(r.cert)).publicKey.export({ type: 'spki', format: 'der' })).equals(Buffer.from(key.spki)));
    assert.equal(c.sent, ['ir', 'certConf']);
    assert.equal(proxy.records.map((x) => x.code), ['2.04', '2.04']);
  } finally {
    await proxy.close();
  }
});

test.run();
