import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { SoftwareSigner } from '../../agent/keystore/software.js';
import type { Signer } from '../../agent/pki/signer.js';
import { buildCsr, csrExtensions, csrSpki, OID_SUBJECT_ALT_NAME, verifyCsr } from '../../agent/pki/csr.js';
import { buildName } from '../../agent/pki/name.js';
import { describeName } from '../../agent/pki/cert.js';
import { PkiDecodeError, PkiSignError } from '../../agent/pki/errors.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'enrolld-pki-csr-'));
const isA = (C: abstract new (...a: never[]) => unknown) => (e: unknown): boolean => e instanceof C;

function opensslVerify(pem: string, name: string): string {
  const f = path.join(tmp, `${name}.pem`);
  writeFileSync(f, pem);
  // Throws (non-zero exit) if OpenSSL rejects the self-signature; -text lets us check what it parsed.
  return execFileSync('openssl', ['req', '-verify', '-in', f, '-noout', '-text'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

for (const alg of ['ecc-p256', 'rsa-2048'] as const) {
  test(`${alg}: CSR signed through Signer.sign verifies with pkijs and openssl req -verify`, async () => {
    const signer = SoftwareSigner.generate(alg);
    for (let i = 0; i < 5; i++) {
      // several rounds: ECDSA r/s with leading zero bits must still be minimal DER INTEGERs
      const { der, pem, csr } = await buildCsr({
        subject: 'CN=device-0001,OU=Sensors,O=Acme GmbH,C=DE',
        signer,
        san: { dns: ['device-0001.acme.example'], uri: ['urn:uuid:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0'], ip: ['192.0.2.7'] },
      });
      await verifyCsr(der);
      assert.ok(Buffer.from(csrSpki(csr)).equals(Buffer.from(signer.spki)));
      const out = opensslVerify(pem, `${alg}-${i}`);
      assert.match(out, /Subject: C\s*=\s*DE, O\s*=\s*Acme GmbH, OU\s*=\s*Sensors, CN\s*=\s*device-0001/);
      assert.match(out, 'DNS:device-0001.acme.example');
      assert.match(out, 'IP Address:192.0.2.7');
      assert.match(out, alg === 'ecc-p256' ? 'ecdsa-with-SHA256' : 'sha256WithRSAEncryption');
    }
  });
}

test('otherName SAN, challengePassword, extra extensions and the attributes hook', async () => {
  const signer = SoftwareSigner.generate();
  const evidence = new pkijs.Attribute({ type: '1.3.6.1.4.1.99999.1', values: [new asn1js.OctetString({ valueHex: new Uint8Array([1, 2, 3]).buffer })] });
  const bc = new pkijs.Extension({ extnID: '2.5.29.19', critical: true, extnValue: new pkijs.BasicConstraints({ cA: false }).toSchema().toBER(false) });
  const { der, pem, csr } = await buildCsr({
    subject: { CN: 'dev', O: 'Acme' },
    signer,
    san: { otherName: [{ typeId: '1.3.6.1.5.5.7.8.4', value: new asn1js.Utf8String({ value: 'hw-serial' }) }] },
    extensions: [bc],
    attributes: [evidence],
    challengePassword: 'otp-123',
  });
  await verifyCsr(der);
  const types = csr.attributes!.map((a) => a.type);
  assert.equal(types, ['1.2.840.113549.1.9.7', '1.2.840.113549.1.9.14', '1.3.6.1.4.1.99999.1']);
  const exts = csrExtensions(csr);
  assert.equal(exts.map((e) => e.extnID), [OID_SUBJECT_ALT_NAME, '2.5.29.19']);
  const out = opensslVerify(pem, 'attrs');
  assert.match(out, 'othername');
  assert.match(out, 'otp-123');
});

test('subject input forms produce the same encoded Name', () => {
  const a = buildName('CN=dev\\,1,O=Acme,C=DE');
  const b = buildName('/C=DE/O=Acme/CN=dev,1');
  const c = buildName({ CN: 'dev,1', C: 'DE', O: 'Acme' });
  const d = buildName([['C', 'DE'], ['O', 'Acme'], ['CN', 'dev,1']]);
  for (const n of [b, c, d]) assert.ok(a.isEqual(n));
  assert.is(describeName(a), 'C=DE, O=Acme, CN=dev,1');
  const multi = buildName('CN=x+serialNumber=42,O=Acme');
  assert.is(multi.typesAndValues.length, 3);
  assert.throws(() => buildName('CN=x,C=DEU'), isA(PkiDecodeError));
  assert.throws(() => buildName('XX=1'), isA(PkiDecodeError));
  assert.throws(() => buildName('CN'), isA(PkiDecodeError));
});

test('a signer returning a padded/garbage ECDSA signature is caught before the CSR leaves', async () => {
  const good = SoftwareSigner.generate();
  const padded: Signer = {
    algorithm: 'ecc-p256',
    spki: good.spki,
    async sign(d) {
      const sig = await good.sign(d);
      // Re-encode r with a superfluous leading 0x00 (what naive TPM r/s → DER code produces).
      const seq = asn1js.fromBER(sig).result as asn1js.Sequence;
      const [r, s] = seq.valueBlock.value as asn1js.Integer[];
      const rPadded = new Uint8Array([0, ...r!.valueBlock.valueHexView]);
      const raw = new asn1js.Sequence({ value: [new asn1js.Integer({ valueHex: rPadded.buffer }), new asn1js.Integer({ valueHex: s!.valueBlock.valueHexView.slice().buffer })] });
      return new Uint8Array(raw.toBER(false));
    },
  };
  await buildCsr({ subject: 'CN=x', signer: padded }).then(
    () => assert.unreachable('should have thrown'),
    (e) => assert.ok(e instanceof PkiSignError, String(e)),
  );
  const raw: Signer = { algorithm: 'ecc-p256', spki: good.spki, sign: async () => new Uint8Array(64) };
  await buildCsr({ subject: 'CN=x', signer: raw }).then(() => assert.unreachable(), (e) => assert.ok(e instanceof PkiSignError));
  const failing: Signer = { algorithm: 'ecc-p256', spki: good.spki, sign: async () => { throw new Error('TPM_RC_AUTH_FAIL'); } };
  await buildCsr({ subject: 'CN=x', signer: failing }).then(() => assert.unreachable(), (e) => assert.match(String(e), 'TPM_RC_AUTH_FAIL'));
});

test('verifyCsr rejects a tampered CSR and non-CSR input with typed errors', async () => {
  const { der } = await buildCsr({ subject: 'CN=victim', signer: SoftwareSigner.generate() });
  const tampered = new Uint8Array(der);
  const i = Buffer.from(tampered).indexOf(Buffer.from('victim'));
  tampered[i] = 'V'.charCodeAt(0);
  await verifyCsr(tampered).then(() => assert.unreachable(), (e) => assert.ok(e instanceof PkiDecodeError && e.code === 'pki.csr.signature', String(e)));
  await verifyCsr(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])).then(() => assert.unreachable(), (e) => assert.ok(e instanceof PkiDecodeError));
  await verifyCsr(new Uint8Array([...der, 0])).then(() => assert.unreachable(), (e) => assert.ok(e instanceof PkiDecodeError));
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
