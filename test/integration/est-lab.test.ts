// EST client ↔ lab server over real TLS on 127.0.0.1: enroll (Basic), re-enroll (TLS client auth with the issued
// certificate and the software key), 202 → retry → issued, bootstrap, wrong TA, auth failures, oversized and
// malformed responses. All servers are closed at the end.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SoftwareSigner } from '../../agent/keystore/software.js';
import { certificateFingerprint, certificateHasKey, certificateToPem, describeName } from '../../agent/pki/cert.js';
import { createCertsOnly } from '../../agent/pki/certs-only.js';
import { buildCsr } from '../../agent/pki/csr.js';
import { validateChain } from '../../agent/pki/chain.js';
import { ResponseTooLargeError, TlsError } from '../../agent/protocols/http/errors.js';
import { createHttpsTransport } from '../../agent/protocols/http/transport.js';
import { EstClient } from '../../agent/protocols/est/client.js';
import { encodeBase64Body } from '../../agent/protocols/est/base64-body.js';
import { EstAuthError, EstBootstrapError, EstHttpError, EstProtocolError, EstUsageError } from '../../agent/protocols/est/errors.js';
import type { EstEnrollResult, EstIssued } from '../../agent/protocols/est/enroll-response.js';
import { LabCa } from '../../deploy/lab/ca.js';
import { createLabServer, type LabServer } from '../../deploy/lab/server.js';
import { text } from '../../deploy/lab/router.js';

const USERS = { device: 's3cret' };
const servers: LabServer[] = [];
async function lab(opts: Parameters<typeof createLabServer>[0] = {}): Promise<LabServer> {
  const s = await createLabServer({ users: USERS, ...opts });
  servers.push(s);
  return s;
}
const main = await lab();
const otherCa = await LabCa.create({ name: 'unrelated' });

const basicClient = (s: LabServer, label?: string): EstClient =>
  new EstClient({
    baseUrl: s.url,
    transport: createHttpsTransport({ trustAnchors: [s.trustAnchorPem], basicAuth: { username: 'device', password: USERS.device } }),
    ...(label ? { label } : {}),
  });

function issued(r: EstEnrollResult): EstIssued {
  assert.is(r.kind, 'issued');
  return r as EstIssued;
}

async function rejectsWith<T>(p: Promise<unknown>, check: (e: unknown) => boolean, what: string): Promise<T> {
  return p.then(
    () => assert.unreachable(`${what}: expected an error`) as never,
    (e) => {
      assert.ok(check(e), `${what}: unexpected error ${(e as Error)?.stack ?? String(e)}`);
      return e as T;
    },
  );
}

test('cacerts with the explicit TA (with and without label); csrattrs', async () => {
  for (const label of [undefined, 'iot-fleet']) {
    const r = await basicClient(main, label).cacerts();
    assert.is(r.certificates.length, 2);
    assert.is(r.roots.length, 1);
    assert.is(r.intermediates.length, 1);
    assert.equal(r.rejected, []);
    assert.is(certificateFingerprint(r.roots[0]!), certificateFingerprint(main.ca.root.der));
  }
  const attrs = await basicClient(main).csrattrs();
  assert.equal(attrs.oids, ['1.2.840.10045.4.3.2']);
  assert.is(attrs.attributes[0]!.type, '1.2.840.10045.2.1');
});

let enrolled: { signer: SoftwareSigner; result: EstIssued } | undefined;

test('simpleenroll with HTTP Basic: issued cert certifies the CSR key and chains to the TA', async () => {
  const signer = SoftwareSigner.generate();
  const { der } = await buildCsr({ subject: { CN: 'device-0001', O: 'Acme' }, signer, san: { dns: ['device-0001.local'] } });
  const result = issued(await basicClient(main).simpleEnroll(der, { validate: { trustAnchors: [main.ca.root.der] } }));
  assert.ok(certificateHasKey(result.certificate, signer.spki));
  assert.is(describeName(result.certificate.subject), 'O=Acme, CN=device-0001');
  assert.is(result.chain.length, 1); // issuing CA included by the lab
  const { path } = await validateChain({ leaf: result.certificate, intermediates: result.chainDer, trustAnchors: [main.ca.root.der] });
  assert.is(path.length, 3);
  assert.match(result.certificatePem, '-----BEGIN CERTIFICATE-----');
  assert.is(main.issued.at(-1)!.authenticatedAs, 'basic:device');
  enrolled = { signer, result };
});

test('simplereenroll with TLS client auth (issued cert + software key), new key, same subject/SAN', async () => {
  assert.ok(enrolled, 'depends on the enroll test');
  const { signer, result } = enrolled!;
  const mtls = createHttpsTransport({
    trustAnchors: [main.trustAnchorPem],
    clientAuth: { key: signer.tlsKeyOptions(), certChain: [result.certificateDer, ...result.chainDer] },
  });
  const client = new EstClient({ baseUrl: main.url, transport: mtls });
  const newKey = SoftwareSigner.generate();
  const { der } = await buildCsr({ subject: { CN: 'device-0001', O: 'Acme' }, signer: newKey, san: { dns: ['device-0001.local'] } });
  const renewed = issued(await client.simpleReenroll(der, { currentCertificate: result.certificate, validate: { trustAnchors: [main.ca.root.der] } }));
  assert.ok(certificateHasKey(renewed.certificate, newKey.spki));
  assert.ok(renewed.certificate.subject.isEqual(result.certificate.subject));
  assert.is(main.issued.at(-1)!.operation, 'simplereenroll');
  assert.is(main.issued.at(-1)!.authenticatedAs, 'cert:lab:O=Acme, CN=device-0001');

  // §4.2.2 subject rule: caught client-side with currentCertificate, server-side (400 + reason) without.
  const other = await buildCsr({ subject: { CN: 'someone-else' }, signer: newKey, san: { dns: ['device-0001.local'] } });
  await rejectsWith(client.simpleReenroll(other.der, { currentCertificate: result.certificate }), (e) => e instanceof EstUsageError, 'precheck');
  const e = await rejectsWith<EstHttpError>(client.simpleReenroll(other.der), (e) => e instanceof EstHttpError && e.status === 400, 'server check');
  assert.match(e.serverText, 'differs from the certificate being renewed');
  // Re-enroll with only Basic credentials (no client cert) → 401.
  await rejectsWith(basicClient(main).simpleReenroll(der), (e) => e instanceof EstAuthError && e.status === 401, 'no client cert');
});

test('202 + Retry-After (delta-seconds) → pending → repeat → issued after N polls', async () => {
  const s = await lab({ manualApproval: { retryAfterSeconds: 7, approveAfterPolls: 2 } });
  const client = basicClient(s);
  const { der } = await buildCsr({ subject: 'CN=slow-device', signer: SoftwareSigner.generate() });
  const r1 = await client.simpleEnroll(der);
  assert.equal({ kind: r1.kind, s: (r1 as { retryAfterSeconds: number }).retryAfterSeconds }, { kind: 'pending', s: 7 });
  assert.is(s.pendingRequests().length, 1);
  const r2 = await client.simpleEnroll(der);
  assert.is(r2.kind, 'pending');
  issued(await client.simpleEnroll(der));
  assert.is(s.pendingRequests().length, 0);
});

test('202 + Retry-After (HTTP-date) → approve() via the lab API → issued', async () => {
  const s = await lab({ manualApproval: { retryAfterSeconds: 120, retryAfterFormat: 'http-date' } });
  const client = basicClient(s);
  const { der } = await buildCsr({ subject: 'CN=manual-device', signer: SoftwareSigner.generate() });
  const r1 = await client.simpleEnroll(der);
  assert.is(r1.kind, 'pending');
  const secs = (r1 as { retryAfterSeconds: number }).retryAfterSeconds;
  assert.ok(secs >= 118 && secs <= 121, `retryAfterSeconds=${secs}`);
  assert.is((await client.simpleEnroll(der)).kind, 'pending');
  assert.is(s.approve(s.pendingRequests()[0]!.id.slice(0, 12)), 1);
  issued(await client.simpleEnroll(der));
});

test('wrong TA: client configured with another CA → TlsError, nothing issued', async () => {
  const before = main.issued.length;
  const client = new EstClient({
    baseUrl: main.url,
    transport: createHttpsTransport({ trustAnchors: [otherCa.root.pem], basicAuth: { username: 'device', password: USERS.device } }),
  });
  const { der } = await buildCsr({ subject: 'CN=x', signer: SoftwareSigner.generate() });
  await rejectsWith(client.simpleEnroll(der), (e) => e instanceof TlsError, 'enroll');
  await rejectsWith(client.cacerts(), (e) => e instanceof TlsError, 'cacerts');
  assert.is(main.issued.length, before);
});

test('HTTP auth failures → EstAuthError with the server text', async () => {
  const { der } = await buildCsr({ subject: 'CN=x', signer: SoftwareSigner.generate() });
  const wrong = new EstClient({
    baseUrl: main.url,
    transport: createHttpsTransport({ trustAnchors: [main.trustAnchorPem], basicAuth: { username: 'device', password: 'nope' } }),
  });
  const e = await rejectsWith<EstAuthError>(wrong.simpleEnroll(der), (e) => e instanceof EstAuthError, 'bad password');
  assert.is(e.status, 401);
  assert.is(e.code, 'est.unauthorized');
  assert.match(e.serverText, 'invalid username or password');
  assert.match(e.challenge ?? '', 'Basic');
  const none = new EstClient({ baseUrl: main.url, transport: createHttpsTransport({ trustAnchors: [main.trustAnchorPem] }) });
  await rejectsWith(none.simpleEnroll(der), (e) => e instanceof EstAuthError && e.status === 401, 'anonymous');
});

test('IDevID client certificate authenticates simpleenroll but not simplereenroll', async () => {
  const manufacturer = await LabCa.create({ name: 'manufacturer' });
  const s = await lab({ idevidCaPems: [manufacturer.root.pem] });
  const idevidKey = SoftwareSigner.generate();
  const idevid = await manufacturer.issue({ subject: 'CN=idevid-42', spki: idevidKey.spki, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000), profile: 'client' });
  const client = new EstClient({
    baseUrl: s.url,
    transport: createHttpsTransport({ trustAnchors: [s.trustAnchorPem], clientAuth: { key: idevidKey.tlsKeyOptions(), certChain: [certificateToPem(idevid), manufacturer.issuing.pem] } }),
  });
  const ldevidKey = SoftwareSigner.generate();
  const { der } = await buildCsr({ subject: 'CN=idevid-42', signer: ldevidKey });
  issued(await client.simpleEnroll(der));
  assert.match(s.issued.at(-1)!.authenticatedAs, 'cert:idevid:');
  await rejectsWith(client.simpleReenroll(der), (e) => e instanceof EstAuthError && e.status === 403, 'reenroll with IDevID');
});

test('bootstrap (§4.1.1): fingerprint accepted → CA certs; rejected → typed error; server chain must match', async () => {
  const fp = certificateFingerprint(main.ca.root.der);
  const seen: string[] = [];
  const r = await EstClient.bootstrap({
    baseUrl: main.url,
    verify: (cands) => {
      seen.push(...cands.map((c) => c.subject));
      return cands.every((c) => c.sha256 === fp);
    },
  });
  assert.equal(seen, ['O=enrolld lab, CN=enrolld lab Root CA']);
  assert.is(r.roots.length, 1);
  await rejectsWith(EstClient.bootstrap({ baseUrl: main.url, verify: () => false }), (e) => e instanceof EstBootstrapError && e.code === 'est.bootstrap.rejected', 'reject');
  await rejectsWith(EstClient.bootstrap({ baseUrl: main.url, verify: () => { throw new Error('operator said no'); } }), (e) => e instanceof EstBootstrapError, 'throwing verifier');
  // A server whose /cacerts advertises a CA that did not issue its TLS certificate.
  main.router.register('GET', '/.well-known/est/evil/cacerts', () => ({
    status: 200,
    headers: { 'content-type': 'application/pkcs7-mime' },
    body: encodeBase64Body(createCertsOnly([otherCa.root.der])),
  }));
  await rejectsWith(
    EstClient.bootstrap({ baseUrl: main.url, label: 'evil', verify: () => true }),
    (e) => e instanceof EstBootstrapError && e.code === 'est.bootstrap.server_chain',
    'server chain',
  );
});

test('oversized, malformed and mislabelled responses → typed errors, no crash', async () => {
  const good = createCertsOnly(main.ca.caCertificatesDer);
  const routes: Record<string, { ct: string; body: string | Uint8Array }> = {
    huge: { ct: 'application/pkcs7-mime', body: 'A'.repeat(1024 * 1024 + 10) },
    badb64: { ct: 'application/pkcs7-mime', body: '<html>oops</html>' },
    badder: { ct: 'application/pkcs7-mime', body: encodeBase64Body(new Uint8Array([0x30, 0x82, 0x01, 0x00, 1, 2, 3])) },
    notcms: { ct: 'application/pkcs7-mime', body: encodeBase64Body(main.ca.root.der) },
    html: { ct: 'text/html', body: encodeBase64Body(good) },
    nul: { ct: 'application/pkcs7-mime; smime-type=certs-only', body: encodeBase64Body(good, { lineLength: 76, eol: '\r\n' }) + '\0' },
    binary: { ct: 'application/pkcs7-mime', body: good },
  };
  for (const [label, r] of Object.entries(routes)) {
    main.router.register('GET', `/.well-known/est/${label}/cacerts`, () => ({ status: 200, headers: { 'content-type': r.ct }, body: r.body }));
  }
  const c = (label: string): EstClient => basicClient(main, label);
  await rejectsWith(c('huge').cacerts(), (e) => e instanceof ResponseTooLargeError, 'huge');
  await rejectsWith(c('badb64').cacerts(), (e) => e instanceof EstProtocolError && e.code === 'est.protocol.base64', 'badb64');
  await rejectsWith(c('badder').cacerts(), (e) => e instanceof EstProtocolError && e.code === 'est.protocol.certs_only', 'badder');
  await rejectsWith(c('notcms').cacerts(), (e) => e instanceof EstProtocolError && e.code === 'est.protocol.certs_only', 'notcms');
  await rejectsWith(c('html').cacerts(), (e) => e instanceof EstProtocolError && e.code === 'est.protocol.content_type', 'html');
  assert.is((await c('nul').cacerts()).certificates.length, 2);
  assert.is((await c('binary').cacerts()).certificates.length, 2);

  // Enrollment answered with certificates that do not certify the CSR key.
  main.router.register('POST', '/.well-known/est/wrongkey/simpleenroll', () => ({
    status: 200,
    headers: { 'content-type': 'application/pkcs7-mime; smime-type=certs-only' },
    body: encodeBase64Body(good),
  }));
  main.router.register('POST', '/.well-known/est/down/simpleenroll', () => text(503, 'CA offline for maintenance', { 'retry-after': '600' }));
  main.router.register('POST', '/.well-known/est/noretry/simpleenroll', () => text(202, 'accepted'));
  const { der } = await buildCsr({ subject: 'CN=x', signer: SoftwareSigner.generate() });
  await rejectsWith(c('wrongkey').simpleEnroll(der), (e) => e instanceof EstProtocolError && e.code === 'est.protocol.key_mismatch', 'wrongkey');
  const down = await rejectsWith<EstHttpError>(c('down').simpleEnroll(der), (e) => e instanceof EstHttpError, 'down');
  assert.equal([down.status, down.retryAfterSeconds, down.retryable, down.serverText], [503, 600, true, 'CA offline for maintenance']);
  await rejectsWith(c('noretry').simpleEnroll(der), (e) => e instanceof EstProtocolError && e.code === 'est.protocol.retry_after', 'noretry');
  await rejectsWith(basicClient(main).simpleEnroll(new Uint8Array([1, 2, 3])), (e) => e instanceof EstUsageError, 'bad csr input');
});

test('server base64 styles (76 columns, LF, no final newline) and csrattrs 204', async () => {
  const s = await lab({ base64: { lineLength: 76, eol: '\n', finalNewline: false }, csrAttrs: null, includeChainInEnroll: false });
  const client = basicClient(s);
  assert.is((await client.cacerts()).certificates.length, 2);
  assert.equal(await client.csrattrs(), { oids: [], attributes: [] });
  const signer = SoftwareSigner.generate('rsa-2048');
  const { der } = await buildCsr({ subject: 'CN=rsa-device', signer });
  const r = issued(await client.simpleEnroll(der, { validate: { trustAnchors: [s.ca.root.der], intermediates: [s.ca.issuing.der] } }));
  assert.is(r.chain.length, 0);
  assert.ok(certificateHasKey(r.certificate, signer.spki));
});

test.after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
test.run();
