// The PAL cycle against the lab server over real TLS on 127.0.0.1: PalPoller fetches the device's PAL (JSON and
// XML), follows 0001 pages, dispatches in RFC 8295 §2.3 order to the package handlers (cacerts / crls / eecerts /
// enrollment), updates the TA and CRL stores and answers { renew: true } for a re-enrollment notice. Failure paths:
// garbage, a 0001 loop and an oversized body give typed errors with the stores untouched; a CRL signed by an
// untrusted key and a /cacerts response with an unrelated new root are refused. All servers are closed at the end.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as pkijs from 'pkijs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SoftwareSigner } from '../../agent/keystore/software.js';
import { ManualClock } from '../../agent/lifecycle/clock.js';
import type { AgentState } from '../../agent/lifecycle/state.js';
import { PalChainError, PalFormatError } from '../../agent/pal/errors.js';
import type { PalEntry } from '../../agent/pal/model.js';
import { certificateFingerprint, certificateFromDer, certificateToDer, certificateToPem, describeName } from '../../agent/pki/cert.js';
import { createCertsOnly } from '../../agent/pki/certs-only.js';
import { buildCsr } from '../../agent/pki/csr.js';
import { encodeBase64Body } from '../../agent/protocols/est/base64-body.js';
import { EstClient } from '../../agent/protocols/est/client.js';
import { MEDIA_TYPES } from '../../agent/protocols/est/constants.js';
import type { EstIssued } from '../../agent/protocols/est/enroll-response.js';
import { ResponseTooLargeError } from '../../agent/protocols/http/errors.js';
import { createHttpsTransport } from '../../agent/protocols/http/transport.js';
import { serialOf } from '../../agent/packages/common.js';
import type { EnrollmentRetrieval } from '../../agent/packages/context.js';
import { MemoryPeerCertificateStore } from '../../agent/packages/eecerts.js';
import { PalPoller, type PalPollerOptions } from '../../agent/packages/pal-poller.js';
import { CrlStore } from '../../agent/store/crl-store.js';
import { TrustAnchorStore } from '../../agent/store/ta-store.js';
import { memoryLogger } from '../../agent/util/log.js';
import { LabCa, signCertificate } from '../../deploy/lab/ca.js';
import { issueLabCrl, labPal } from '../../deploy/lab/pal.js';
import { createLabServer } from '../../deploy/lab/server.js';

const USERS = { device: 's3cret' };
const lab = await createLabServer({ users: USERS });
const pal = labPal(lab.router);
const est = lab.estUrl();
const dirs: string[] = [];

// --- the device's credential (enrolled with Basic), as the lifecycle would persist it --------------------------
const basicTransport = createHttpsTransport({ trustAnchors: [lab.trustAnchorPem], basicAuth: { username: 'device', password: USERS.device } });
const estClient = new EstClient({ baseUrl: lab.url, transport: basicTransport });
const signer = SoftwareSigner.generate();
const { der: csrDer } = await buildCsr({ subject: { CN: 'device', O: 'Acme' }, signer });
const enrolled = (await estClient.simpleEnroll(csrDer)) as EstIssued;
assert.is(enrolled.kind, 'issued');

function agentState(opts: { pendingSpki?: Uint8Array } = {}): AgentState {
  const key = { id: 'k1', algorithm: 'ecc-p256' as const, spki: Buffer.from(signer.spki).toString('base64'), location: {} };
  const c = enrolled.certificate;
  return {
    schema: 1,
    phase: 'enrolled',
    credential: {
      key,
      certPem: enrolled.certificatePem,
      chainPem: enrolled.chainDer.map((d) => certificateToPem(d)),
      subject: describeName(c.subject),
      serial: serialOf(c).toString(16),
      notBefore: c.notBefore.value.toISOString(),
      notAfter: c.notAfter.value.toISOString(),
      renewAt: c.notAfter.value.toISOString(),
    },
    ...(opts.pendingSpki
      ? { pending: { operation: 'reenroll' as const, key: { ...key, spki: Buffer.from(opts.pendingSpki).toString('base64') }, csr: '', createdAt: new Date().toISOString(), attempts: 1 } }
      : {}),
    history: [],
  };
}

// --- a root rollover the lab's root vouches for (RFC 7030 §4.1.3 NewWithOld), served under the label "rollover" -
const g2 = await LabCa.create({ name: 'enrolld lab G2' });
const day = 86_400_000;
const newWithOld = await signCertificate({
  issuer: lab.ca.root.certificate.subject,
  subject: g2.root.certificate.subject,
  spki: g2.root.certificate.subjectPublicKeyInfo,
  notBefore: new Date(Date.now() - day),
  notAfter: new Date(Date.now() + 365 * day),
  extensions: [new pkijs.Extension({ extnID: '2.5.29.19', critical: true, extnValue: new pkijs.BasicConstraints({ cA: true }).toSchema().toBER(false) })],
  signingKey: lab.ca.root.privateKey,
});
const certsOnlyRoute = (certs: Uint8Array[]) => () => ({
  status: 200,
  headers: { 'content-type': MEDIA_TYPES.certsOnly },
  body: encodeBase64Body(createCertsOnly(certs)),
});
lab.router.register('GET', '/.well-known/est/rollover/cacerts', certsOnlyRoute([...lab.ca.caCertificatesDer, g2.root.der, certificateToDer(newWithOld)]));
const unrelated = await LabCa.create({ name: 'unrelated' });
lab.router.register('GET', '/.well-known/est/unrelated/cacerts', certsOnlyRoute([...lab.ca.caCertificatesDer, unrelated.root.der]));

// --- per-test device-side setup ----------------------------------------------------------------------------------
interface Device {
  poller: PalPoller;
  ta: TrustAnchorStore;
  crls: CrlStore;
  peers: MemoryPeerCertificateStore;
  retrievals: EnrollmentRetrieval[];
  log: ReturnType<typeof memoryLogger>;
}

async function device(opts: Partial<PalPollerOptions> = {}): Promise<Device> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-pal-'));
  dirs.push(dir);
  const clock = new ManualClock(new Date());
  const ta = await TrustAnchorStore.open(path.join(dir, 'ta.json'), { now: () => clock.now() });
  await ta.add({ name: 'lab-root', source: 'config', uses: ['est-server', 'cacerts', 'crl'], certificate: lab.trustAnchorPem });
  const crls = await CrlStore.open(path.join(dir, 'crls.json'), { taStore: ta, now: () => clock.now() });
  const peers = new MemoryPeerCertificateStore();
  const retrievals: EnrollmentRetrieval[] = [];
  const log = memoryLogger('debug');
  const transport = createHttpsTransport({ trustAnchors: ta.certificatesFor('est-server'), basicAuth: { username: 'device', password: USERS.device } });
  const poller = new PalPoller({
    est: new EstClient({ baseUrl: lab.url, transport }),
    taStore: ta,
    crlStore: crls,
    log,
    clock,
    peers,
    onEnrollmentRetrieval: (r) => void retrievals.push(r),
    ...opts,
  });
  return { poller, ta, crls, peers, retrievals, log };
}

const uri = (u: string): PalEntry['info'] => ({ kind: 'uri', uri: u });
const entry = (type: string, info: PalEntry['info'], size = 0): PalEntry => ({ type, size, info });

async function rejects<T>(p: Promise<unknown>, check: (e: unknown) => boolean, what: string): Promise<T> {
  return p.then(
    () => assert.unreachable(`${what}: expected an error`) as never,
    (e) => {
      assert.ok(check(e), `${what}: unexpected error ${(e as Error)?.stack ?? String(e)}`);
      return e as T;
    },
  );
}

test('PAL with cacerts + crls + eecerts + reenroll, JSON and XML: §2.3 order, stores updated, renew: true', async () => {
  const peer1 = await pal.issuePeerCertificate('peer-1');
  const peer2 = await pal.issuePeerCertificate('peer-2');
  pal.setEeCerts('device', [peer1, peer2, lab.ca.issuing.der]);
  pal.setCrls(undefined);
  const cert = enrolled.certificate;
  // Server order deliberately not the processing order.
  pal.setPal('device', [
    entry('0003', uri(`${est}/eecerts/peers-1234`), 2048),
    entry('0010', { kind: 'iasn', issuer: 'CN=enrolld lab Issuing CA,O=enrolld lab', serial: serialOf(cert) }),
    entry('0005', uri(`${est}/crls`), 512),
    entry('0002', uri(`${lab.estUrl('rollover')}/cacerts`), 1024),
  ]);

  for (const accept of ['json', 'xml'] as const) {
    const d = await device({ accept });
    const digest0 = d.ta.digest();
    const before = pal.requests.length;
    const out = await d.poller.poll(agentState());
    assert.equal(out, { renew: true }, accept);
    const seen = pal.requests.slice(before);
    assert.is(seen.length, 1);
    assert.is(seen[0]!.format, accept, 'the lab answered in the requested encoding');
    assert.is(seen[0]!.deviceId, 'device');

    const rec = d.poller.last!;
    assert.is(rec.outcome, 'ok');
    assert.equal(rec.results.map((r) => r.type), ['0002', '0005', '0010', '0003'], 'dispatched in §2.3 precedence order');
    assert.equal(rec.results.map((r) => r.status), ['ok', 'ok', 'ok', 'ok'], JSON.stringify(rec.results));
    assert.equal(rec.counts, { ok: 4, failed: 0, skipped: 0, notRun: 0 });
    assert.equal(rec.codes, []);
    assert.equal(rec.renewals.map((r) => r.reason).sort(), ['ca-change', 'reenroll']);

    // TA store: the vouched-for G2 root joined with the old root's uses; the digest moved and is reported.
    assert.is(d.ta.size, 2);
    const added = d.ta.find(g2.root.der)!;
    assert.ok(added, 'G2 root added');
    assert.is(added.source, 'cacerts-rollover');
    assert.equal([...added.uses], ['cacerts', 'crl', 'est-server']);
    assert.is.not(d.ta.digest(), digest0);
    assert.is(rec.taDigest, d.ta.digest());

    // CRL store: the lab issuing CA's CRL, validated through the issuing CA certificate from /cacerts.
    const stored = await d.crls.list();
    assert.is(stored.length, 1);
    assert.is(stored[0]!.issuer, describeName(lab.ca.issuing.certificate.subject));

    // Peers: the two EE certificates, not the CA certificate.
    assert.equal(d.peers.list().map((p) => p.fingerprint).sort(), [certificateFingerprint(peer1), certificateFingerprint(peer2)].sort());

    // A second poll changes nothing in the stores (CRL unchanged, root already present) and still asks to renew.
    const digest1 = d.ta.digest();
    assert.equal(await d.poller.poll(agentState()), { renew: true });
    assert.is(d.ta.digest(), digest1);
    assert.match(d.poller.last!.results[1]!.detail ?? '', '1 unchanged');
  }
});

test('a paged PAL (3 pages, 0001 pointers with absolute https URIs on the lab) is followed', async () => {
  pal.pageSize = 3;
  try {
    const fw = (n: number): PalEntry => entry('0026', uri(`${est}/firmware/${n}`), 1000 + n);
    pal.setPal('device', [fw(1), fw(2), entry('0005', uri(`${est}/crls`)), fw(3), fw(4), fw(5), fw(6)]);
    const d = await device();
    const before = pal.requests.length;
    assert.equal(await d.poller.poll(agentState()), {});
    const paths = pal.requests.slice(before).map((r) => r.path);
    assert.equal(paths, ['/.well-known/est/pal', '/.well-known/est/pal/1', '/.well-known/est/pal/2']);
    const rec = d.poller.last!;
    assert.is(rec.pages, 3);
    assert.is(rec.entries, 7);
    assert.equal(rec.counts, { ok: 1, failed: 0, skipped: 6, notRun: 0 });
    assert.equal(rec.codes, ['pal.package.unhandled']);
    assert.is(rec.results.find((r) => r.type === '0005')!.status, 'ok');
    assert.is(d.crls.size, 1);
  } finally {
    pal.pageSize = 100;
  }
});

test('malformed PALs → typed errors from the poller, stores unchanged', async () => {
  const d = await device({ maxBytes: 64 * 1024 });
  const digest = d.ta.digest();
  const unchanged = (): void => {
    assert.is(d.ta.digest(), digest);
    assert.is(d.crls.size, 0);
    assert.is(d.peers.list().length, 0);
    assert.is(d.poller.last!.outcome, 'error');
  };
  // garbage
  pal.setRawPage('device', 0, { status: 200, contentType: 'application/json', body: '[{"type": "0005", garbage' });
  const e1 = await rejects<PalFormatError>(d.poller.poll(agentState()), (e) => e instanceof PalFormatError, 'garbage');
  assert.match(e1.code, /^pal\.format\./);
  assert.is(d.poller.last!.error!.code, e1.code);
  unchanged();
  // wrong media type
  pal.setRawPage('device', 0, { status: 200, contentType: 'text/html', body: '<html></html>' });
  const e2 = await rejects<PalChainError>(d.poller.poll(agentState()), (e) => e instanceof PalChainError && e.code === 'pal.chain.fetch', 'text/html');
  assert.is((e2.cause as { code?: string }).code, 'est.protocol.content_type');
  unchanged();
  // oversized (the cap is enforced while streaming)
  pal.setRawPage('device', 0, { status: 200, contentType: 'application/json', body: '[' + ' '.repeat(256 * 1024) + ']' });
  const e3 = await rejects<PalChainError>(d.poller.poll(agentState()), (e) => e instanceof PalChainError && e.code === 'pal.chain.fetch', 'oversized');
  assert.ok(e3.cause instanceof ResponseTooLargeError);
  unchanged();
  pal.setRawPage('device', 0, undefined);
  // a 0001 loop: page 1 points back to the first page; nothing is dispatched although both pages list /crls
  pal.setPages('device', [
    [entry('0005', uri(`${est}/crls`)), entry('0001', uri(`${est}/pal/1`))],
    [entry('0002', uri(`${est}/cacerts`)), entry('0001', uri(`${est}/pal`))],
  ]);
  const e4 = await rejects<PalChainError>(d.poller.poll(agentState()), (e) => e instanceof PalChainError && e.code === 'pal.chain.loop', 'loop');
  assert.is(e4.reason, 'loop');
  unchanged();
  // a 0001 pointer to another origin is refused before anything is sent there
  pal.setPages('device', [[entry('0005', uri(`${est}/crls`)), entry('0001', uri('https://evil.example/.well-known/est/pal/1'))]]);
  const e5 = await rejects<PalChainError>(d.poller.poll(agentState()), (e) => e instanceof PalChainError && e.code === 'pal.chain.fetch', 'foreign origin');
  assert.is((e5.cause as { code?: string }).code, 'est.protocol.package_uri');
  unchanged();
  pal.setPal('device', []);
  assert.equal(await d.poller.poll(agentState()), {});
  assert.is(d.poller.last!.outcome, 'ok');
  assert.is(d.poller.last!.entries, 0);
});

test('a CRL signed by an untrusted key (same issuer name) is rejected; the real one is then stored', async () => {
  const impostor = await LabCa.create(); // same default names as the lab CA, different keys
  pal.setCrls([await issueLabCrl(impostor.issuing, { thisUpdate: new Date(Date.now() - 60_000), crlNumber: 99n })]);
  pal.setPal('device', [entry('0002', uri(`${est}/cacerts`)), entry('0005', uri(`${est}/crls`))]);
  const d = await device();
  assert.equal(await d.poller.poll(agentState()), {});
  const rec = d.poller.last!;
  assert.equal(rec.results.map((r) => [r.type, r.status]), [['0002', 'ok'], ['0005', 'failed']]);
  assert.equal(rec.codes, ['crl.rejected.signature']);
  assert.is(d.crls.size, 0);
  pal.setCrls(undefined);
  await d.poller.poll(agentState());
  assert.equal(d.poller.last!.codes, []);
  assert.is(d.crls.size, 1);
});

test('a /cacerts response with a new unrelated root: not added to the TA store (unless the config trusts it)', async () => {
  pal.setPal('device', [entry('0002', uri(`${lab.estUrl('unrelated')}/cacerts`))]);
  const d = await device();
  const digest = d.ta.digest();
  assert.equal(await d.poller.poll(agentState()), {});
  assert.equal(d.poller.last!.codes, ['cacerts.untrusted_root']);
  assert.is(d.ta.digest(), digest);
  assert.not.ok(d.ta.find(unrelated.root.der));
  assert.ok(d.log.lines.some((l) => l.includes('cacerts.root.untrusted')));

  const trusting = await device({ policy: { trustedRootFingerprints: [certificateFingerprint(unrelated.root.der)] } });
  await trusting.poller.poll(agentState());
  assert.equal(trusting.poller.last!.codes, []);
  assert.equal([...trusting.ta.find(unrelated.root.der)!.uses], ['cacerts', 'est-server']);
  assert.is(trusting.ta.find(unrelated.root.der)!.source, 'config');
});

test('eecerts: a revoked peer and a peer from an unrelated CA are rejected; the good one is stored', async () => {
  const good = await pal.issuePeerCertificate('peer-good');
  const bad = await pal.issuePeerCertificate('peer-revoked');
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const foreign = certificateToDer(
    await unrelated.issue({ subject: { CN: 'peer-foreign' }, spki: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })), notBefore: new Date(Date.now() - day), notAfter: new Date(Date.now() + day), profile: 'client' }),
  );
  pal.setCrls(undefined);
  await pal.revoke(certificateFromDer(bad));
  pal.setEeCerts('device', [good, bad, foreign]);
  pal.setPal('device', [entry('0003', uri(`${est}/eecerts`)), entry('0005', uri(`${est}/crls`)), entry('0002', uri(`${est}/cacerts`))]);
  const d = await device();
  await d.poller.poll(agentState());
  const rec = d.poller.last!;
  assert.equal(rec.results.map((r) => r.type), ['0002', '0005', '0003']);
  assert.equal(rec.codes, ['eecerts.untrusted']);
  assert.equal(d.peers.list().map((p) => p.fingerprint), [certificateFingerprint(good)]);
  assert.match(rec.results[2]!.message ?? '', 'revoked');
});

test('§9 retrieval: 0011 success delivers the issued certificate for the pending key; 0012 failure reports the rejection', async () => {
  const next = SoftwareSigner.generate();
  const { der } = await buildCsr({ subject: { CN: 'device', O: 'Acme' }, signer: next });
  const issued = (await estClient.simpleEnroll(der)) as EstIssued;
  pal.setRetrieval('device', 'simplereenroll', { kind: 'issued', certificatesDer: [issued.certificateDer, lab.ca.issuing.der] });
  pal.setPal('device', [entry('0011', uri(`${est}/simplereenroll`))]);
  const d = await device();
  assert.equal(await d.poller.poll(agentState({ pendingSpki: next.spki })), {});
  assert.equal(d.poller.last!.codes, []);
  assert.is(d.retrievals.length, 1);
  const r = d.retrievals[0]!;
  assert.is(r.kind, 'issued');
  assert.is(r.kind === 'issued' && certificateFingerprint(r.issued.certificateDer), certificateFingerprint(issued.certificateDer));
  // Without a pending request a certificate is not accepted.
  await d.poller.poll(agentState());
  assert.equal(d.poller.last!.codes, ['enroll.no_pending']);

  pal.setRetrieval('device', 'simplereenroll', { kind: 'rejected', status: 403, text: 'key too weak' });
  pal.setPal('device', [entry('0012', uri(`${est}/simplereenroll`))]);
  await d.poller.poll(agentState({ pendingSpki: next.spki }));
  assert.equal(d.poller.last!.codes, ['enroll.rejected']);
  const last = d.retrievals.at(-1)!;
  assert.is(last.kind, 'rejected');
  assert.is(last.kind === 'rejected' && last.text, 'key too weak');

  // Without the lifecycle hook, a retrieved certificate makes the poller ask for renewal instead.
  pal.setRetrieval('device', 'simplereenroll', { kind: 'issued', certificatesDer: [issued.certificateDer] });
  pal.setPal('device', [entry('0011', uri(`${est}/simplereenroll`))]);
  const noHook = await device({ onEnrollmentRetrieval: undefined });
  assert.equal(await noHook.poller.poll(agentState({ pendingSpki: next.spki })), { renew: true });
});

test('a notice naming another certificate is refused; a start-enrollment with CSR attributes asks for enrollment', async () => {
  pal.setPal('device', [
    entry('0010', { kind: 'dn', dn: 'CN=someone-else,O=Acme' }),
    entry('0006', uri(`${est}/csrattrs`)),
  ]);
  const d = await device();
  assert.equal(await d.poller.poll(agentState()), { renew: true });
  const rec = d.poller.last!;
  assert.equal(rec.codes, ['enroll.not_our_certificate']);
  assert.equal(rec.renewals.map((r) => [r.type, r.reason, r.csrAttrs?.oids]), [['0006', 'enroll', ['1.2.840.10045.4.3.2']]]);
});

test.after(async () => {
  await lab.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

test.run();
