// Lab server behaviour seen from a raw HTTPS client (status codes and reasons), CA persistence, router extension.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SoftwareSigner } from '../../agent/keystore/software.js';
import { buildCsr } from '../../agent/pki/csr.js';
import { certificateFingerprint } from '../../agent/pki/cert.js';
import { createHttpsTransport, type Transport } from '../../agent/protocols/http/transport.js';
import { encodeBase64Body } from '../../agent/protocols/est/base64-body.js';
import { EstClient } from '../../agent/protocols/est/client.js';
import type { EstIssued } from '../../agent/protocols/est/enroll-response.js';
import { createLabServer, type LabServer } from '../../deploy/lab/server.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'enrolld-lab-'));
const servers: LabServer[] = [];
const lab = await createLabServer({ users: { dev: 'pw' }, labels: ['iot'], certValiditySeconds: 3600 });
servers.push(lab);
const t: Transport = createHttpsTransport({ trustAnchors: [lab.trustAnchorPem], basicAuth: { username: 'dev', password: 'pw' } });
const body = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const est = (p: string): string => `${lab.estUrl()}${p}`;

test('routing: 404 unknown path / unknown label, 405 with Allow, label accepted', async () => {
  let r = await t.request({ method: 'GET', url: `${lab.url}/nope` });
  assert.is(r.status, 404);
  r = await t.request({ method: 'GET', url: est('/other/cacerts') });
  assert.is(r.status, 404);
  assert.match(body(r.body), 'unknown EST label "other"');
  r = await t.request({ method: 'GET', url: est('/iot/cacerts') });
  assert.is(r.status, 200);
  assert.match(String(r.headers['content-type']), 'application/pkcs7-mime');
  r = await t.request({ method: 'POST', url: est('/cacerts'), body: 'x' });
  assert.is(r.status, 405);
  assert.is(r.headers.allow, 'GET');
});

test('simpleenroll refusals: 415 wrong content type, 400 bad base64, 400 bad CSR signature, 413 too large', async () => {
  const { der } = await buildCsr({ subject: 'CN=victim', signer: SoftwareSigner.generate() });
  let r = await t.request({ method: 'POST', url: est('/simpleenroll'), headers: { 'content-type': 'text/plain' }, body: encodeBase64Body(der) });
  assert.is(r.status, 415);
  r = await t.request({ method: 'POST', url: est('/simpleenroll'), headers: { 'content-type': 'application/pkcs10' }, body: '%%%' });
  assert.is(r.status, 400);
  assert.match(body(r.body), 'malformed base64');
  const tampered = new Uint8Array(der);
  tampered[Buffer.from(tampered).indexOf(Buffer.from('victim'))] = 0x56;
  r = await t.request({ method: 'POST', url: est('/simpleenroll'), headers: { 'content-type': 'application/pkcs10' }, body: encodeBase64Body(tampered) });
  assert.is(r.status, 400);
  assert.match(body(r.body), 'invalid CSR');
  r = await t.request({ method: 'POST', url: est('/simpleenroll'), headers: { 'content-type': 'application/pkcs10' }, body: 'A'.repeat(70 * 1024) });
  assert.is(r.status, 413);
  assert.is(lab.issued.length, 0);
});

test('issued certificate validity follows certValiditySeconds; reenroll without a client cert → 401', async () => {
  const { der } = await buildCsr({ subject: 'CN=short-lived', signer: SoftwareSigner.generate() });
  const client = new EstClient({ baseUrl: lab.url, transport: t });
  const r = (await client.simpleEnroll(der)) as EstIssued;
  const span = r.certificate.notAfter.value.getTime() - r.certificate.notBefore.value.getTime();
  assert.is(span, (3600 + 60) * 1000);
  const re = await t.request({ method: 'POST', url: est('/simplereenroll'), headers: { 'content-type': 'application/pkcs10' }, body: encodeBase64Body(der) });
  assert.is(re.status, 401);
  assert.match(String(re.headers['www-authenticate']), 'Basic');
});

test('CA persisted to a directory is reloaded by the next server (same TA); keys are 0600', async () => {
  const dir = path.join(tmp, 'ca');
  const a = await createLabServer({ caDir: dir });
  servers.push(a);
  const b = await createLabServer({ caDir: dir });
  servers.push(b);
  assert.is(certificateFingerprint(a.ca.root.der), certificateFingerprint(b.ca.root.der));
  assert.is(certificateFingerprint(a.ca.issuing.der), certificateFingerprint(b.ca.issuing.der));
  assert.is(statSync(path.join(dir, 'root.key.pem')).mode & 0o777, 0o600);
  // b's TLS certificate chains to the persisted root.
  const cacerts = await new EstClient({ baseUrl: b.url, transport: createHttpsTransport({ trustAnchors: [a.trustAnchorPem] }) }).cacerts();
  assert.is(cacerts.roots.length, 1);
});

test('router extension: later features register endpoints; handler exceptions → 500, server keeps serving', async () => {
  lab.router.register('POST', '/.well-known/est/:label?/nonce', (req) => ({
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ label: req.params.label ?? null, len: req.body.length }),
  }));
  lab.router.register('GET', '/lab/boom', () => {
    throw new Error('boom');
  });
  let r = await t.request({ method: 'POST', url: est('/iot/nonce'), body: '[]' });
  assert.equal(JSON.parse(body(r.body)), { label: 'iot', len: 2 });
  r = await t.request({ method: 'POST', url: est('/nonce'), body: '[{}]' });
  assert.equal(JSON.parse(body(r.body)), { label: null, len: 4 });
  r = await t.request({ method: 'GET', url: `${lab.url}/lab/boom` });
  assert.is(r.status, 500);
  r = await t.request({ method: 'GET', url: est('/cacerts') });
  assert.is(r.status, 200);
});

test.after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(tmp, { recursive: true, force: true });
});
test.run();
