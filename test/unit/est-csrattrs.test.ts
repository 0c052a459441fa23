// /csrattrs answers in both forms, built by an encoder that is not the agent's (openssl asn1parse -genconf, or the
// literal example of RFC 7030 §4.5.2), planned into a CSR that openssl verifies.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeEstBody } from '../../agent/protocols/est/base64-body.js';
import { applyCsrPlan, fetchCsrPlan, parseCsrAttrs, planCsr } from '../../agent/protocols/est/csrattrs.js';
import { EstProtocolError } from '../../agent/protocols/est/errors.js';
import { ResponseTooLargeError } from '../../agent/protocols/http/errors.js';
import { buildCsr } from '../../agent/pki/csr.js';
import { SoftwareSigner } from '../../agent/keystore/software.js';

const dir = mkdtempSync(path.join(tmpdir(), 'est-csrattrs-'));
const fixtures = path.resolve(process.cwd(), 'test/fixtures/est');

/** DER from an openssl ASN1_generate_nconf description. */
function genconf(conf: string): Uint8Array {
  const f = path.join(dir, `g${Math.random().toString(36).slice(2)}.cnf`);
  writeFileSync(f, conf);
  const out = `${f}.der`;
  execFileSync('openssl', ['asn1parse', '-genconf', f, '-out', out, '-noout']);
  return new Uint8Array(readFileSync(out));
}

function opensslReq(der: Uint8Array, ...args: string[]): string {
  const f = path.join(dir, `r${Math.random().toString(36).slice(2)}.der`);
  writeFileSync(f, der);
  return execFileSync('openssl', ['req', '-inform', 'DER', '-in', f, '-noout', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// RFC 7030 §4.5.2, the example response: challengePassword, ecPublicKey{secp384r1}, extensionRequest{macAddress},
// ecdsa-with-SHA384.
const RFC7030_EXAMPLE = 'MEEGCSqGSIb3DQEJBzASBgcqhkjOPQIBMQcGBSuBBAAiMBYGCSqGSIb3DQEJDjEJBgcrBgEBAQEWBggqhkjOPQQDAw==';

test('RFC 7030 §4.5.2 example → P-384 key, SHA-384, linking and macAddress reported as unsatisfied', () => {
  const plan = planCsr(parseCsrAttrs(decodeEstBody(new Uint8Array(Buffer.from(RFC7030_EXAMPLE)))), 'ecc-p256');
  assert.is(plan.form, 'oids');
  assert.is(plan.keyAlgorithm, 'ecc-p384');
  assert.is(plan.hash, 'sha384');
  assert.ok(plan.linking);
  assert.ok(plan.unsatisfied.some((u) => u.includes('1.3.6.1.1.1.1.22')), plan.unsatisfied.join('; '));
  assert.ok(plan.unsatisfied.some((u) => u.includes('challengePassword')));
});

test('a trailing NUL after the base64 body (libest) is tolerated', () => {
  const body = new Uint8Array(Buffer.concat([Buffer.from(RFC7030_EXAMPLE + '\n'), Buffer.from([0])]));
  assert.is(planCsr(parseCsrAttrs(decodeEstBody(body)), 'ecc-p256').keyAlgorithm, 'ecc-p384');
});

test('OID form: rsaEncryption{3072} + sha384WithRSAEncryption → RSA-3072 / SHA-384; SAN asked as a type', () => {
  const der = genconf(`asn1=SEQUENCE:a
[a]
r=SEQUENCE:rsa
s=OID:1.2.840.113549.1.1.12
san=OID:2.5.29.17
[rsa]
t=OID:1.2.840.113549.1.1.1
v=SET:size
[size]
n=INTEGER:3072
`);
  const plan = planCsr(parseCsrAttrs(der), 'ecc-p256');
  assert.is(plan.keyAlgorithm, 'rsa-3072');
  assert.is(plan.hash, 'sha384');
  assert.equal(plan.extensions, [{ extnID: '2.5.29.17', critical: false }]);
  assert.equal(plan.unsatisfied, []);
});

test('unsupported key (P-521, RSA-4096) and unknown OIDs: reported, configured key kept, no throw', () => {
  const p521 = planCsr(parseCsrAttrs(genconf(`asn1=SEQUENCE:a
[a]
e=SEQUENCE:ec
u=OID:1.2.3.4.5.6.7
[ec]
t=OID:1.2.840.10045.2.1
v=SET:c
[c]
c=OID:1.3.132.0.35
`)), 'ecc-p256');
  assert.is(p521.keyAlgorithm, undefined);
  assert.ok(p521.unsatisfied.some((u) => u.includes('P-521')));
  assert.ok(p521.ignored.some((u) => u.includes('1.2.3.4.5.6.7')));
  const rsa4k = planCsr(parseCsrAttrs(genconf(`asn1=SEQUENCE:a
[a]
r=SEQUENCE:rsa
[rsa]
t=OID:1.2.840.113549.1.1.1
v=SET:size
[size]
n=INTEGER:4096
`)), 'ecc-p256');
  assert.is(rsa4k.keyAlgorithm, undefined);
  assert.ok(rsa4k.unsatisfied.some((u) => u.includes('RSA-4096')));
});

test('RFC 9908 template: subject, P-384 key, extension templates → CSR that openssl verifies with SHA-384', async () => {
  const der = genconf(readFileSync(path.join(fixtures, 'csrattrs-template.cnf'), 'utf8'));
  const plan = planCsr(parseCsrAttrs(der), 'ecc-p256');
  assert.is(plan.form, 'template');
  assert.is(plan.keyAlgorithm, 'ecc-p384');
  assert.is(plan.hash, 'sha384');
  assert.is(plan.subject?.length, 2);
  const ku = plan.extensions.find((e) => e.extnID === '2.5.29.15');
  assert.ok(ku?.critical && Buffer.from(ku.value!).toString('hex') === '03020780');
  const signer = SoftwareSigner.generate('ecc-p384');
  const { options, unsatisfied } = applyCsrPlan(plan, { subject: 'CN=dev-1,O=Other', signer, san: { dns: ['dev-1.example'] } }, 'enroll');
  assert.equal(unsatisfied, []);
  const csr = await buildCsr(options);
  assert.match(opensslReq(csr.der, '-verify'), /verify OK|^$/);
  const text = opensslReq(csr.der, '-text');
  assert.match(text, /Signature Algorithm: ecdsa-with-SHA384/);
  assert.match(text, /Subject: O ?= ?Example Corp, CN ?= ?dev-1/);
  assert.match(text, /NIST CURVE: P-384/);
  assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature/);
  assert.match(text, /DNS:dev-1\.example/);
});

test('template on renewal: subject kept (RFC 7030 §4.2.2), valued extensions still added', async () => {
  const plan = planCsr(parseCsrAttrs(genconf(readFileSync(path.join(fixtures, 'csrattrs-template.cnf'), 'utf8'))), 'ecc-p256');
  const signer = SoftwareSigner.generate('ecc-p384');
  const { options } = applyCsrPlan(plan, { subject: 'CN=dev-1,O=Issued', signer, san: { dns: ['a.example'] } }, 'reenroll');
  const text = opensslReq((await buildCsr(options)).der, '-text');
  assert.match(text, /Subject: O ?= ?Issued, CN ?= ?dev-1/);
  assert.match(text, /Key Usage: critical/);
});

test('bad template (version 1, trailing field): ignored with a reason, rest of the answer still used', () => {
  const der = genconf(`asn1=SEQUENCE:a
[a]
s=OID:1.2.840.10045.4.3.3
t=SEQUENCE:tmpl
[tmpl]
type=OID:1.2.840.113549.1.9.16.2.61
vals=SET:v
[v]
cri=SEQUENCE:cri
[cri]
version=INTEGER:1
attrs=IMPLICIT:1,SET:none
[none]
`);
  const plan = planCsr(parseCsrAttrs(der), 'ecc-p256');
  assert.is(plan.form, 'oids');
  assert.is(plan.hash, 'sha384');
  assert.ok(plan.ignored.some((i) => i.includes('CertificationRequestInfoTemplate') && i.includes('version')), plan.ignored.join('; '));
});

test('RSA-3072 software CSR with SHA-384 verifies in openssl (sha384WithRSAEncryption)', async () => {
  const signer = SoftwareSigner.generate('rsa-3072');
  const csr = await buildCsr({ subject: 'CN=rsa3072', signer, hash: 'sha384' });
  const text = opensslReq(csr.der, '-verify', '-text');
  assert.match(text, /sha384WithRSAEncryption/);
  assert.match(text, /Public-Key: \(3072 bit\)/);
});

test('fetchCsrPlan: malformed or oversized answers become a warning plan; transport errors are thrown', async () => {
  const warnings: string[] = [];
  const log = { warn: (m: string) => warnings.push(m), info: () => undefined } as never;
  const bad = await fetchCsrPlan({ csrattrs: async () => parseCsrAttrs(decodeEstBody(new Uint8Array(Buffer.from('MAMGAQ==')))) }, 'ecc-p256', log);
  assert.ok(bad.error, 'malformed DER gives an error plan');
  assert.is(bad.keyAlgorithm, undefined);
  const big = await fetchCsrPlan({ csrattrs: async () => { throw new ResponseTooLargeError(65536); } }, 'ecc-p256', log);
  assert.ok(big.error?.code.length);
  const notB64 = await fetchCsrPlan({ csrattrs: async () => { throw new EstProtocolError('base64', 'not base64'); } }, 'ecc-p256', log);
  assert.is(notB64.error?.code, 'est.protocol.base64');
  assert.ok(warnings.filter((w) => w === 'csrattrs.unusable').length === 3);
  let thrown: unknown;
  await fetchCsrPlan({ csrattrs: async () => { throw Object.assign(new Error('ECONNRESET'), { code: 'ECONNRESET' }); } }, 'ecc-p256', log).catch((e) => (thrown = e));
  assert.ok(thrown instanceof Error);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
