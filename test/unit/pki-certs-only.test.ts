import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { createCertsOnly, parseCertsOnly, OID_SIGNED_DATA } from '../../agent/pki/certs-only.js';
import { certificateFingerprint, certificateToDer, describeName } from '../../agent/pki/cert.js';
import { PkiDecodeError } from '../../agent/pki/errors.js';
import { pemDecode, pemEncode, pemDecodeAll } from '../../agent/pki/pem.js';
import { decodeBase64Body } from '../../agent/protocols/est/base64-body.js';
import { LabCa } from '../../deploy/lab/ca.js';
import * as pkijs from 'pkijs';

const fixtures = new URL('../../../test/fixtures/est/', import.meta.url);
const isDecodeError = (code?: string) => (e: unknown): boolean => e instanceof PkiDecodeError && (code === undefined || e.code === code);

test('round trip: create → parse keeps certificates and order, DER exact', async () => {
  const ca = await LabCa.create();
  const der = createCertsOnly([ca.issuing.der, ca.root.certificate]);
  const parsed = parseCertsOnly(der);
  assert.is(parsed.certificates.length, 2);
  assert.ok(Buffer.from(parsed.certificatesDer[0]!).equals(Buffer.from(ca.issuing.der)));
  assert.ok(Buffer.from(parsed.certificatesDer[1]!).equals(Buffer.from(ca.root.der)));
  assert.ok(Buffer.from(certificateToDer(parsed.certificates[1]!)).equals(Buffer.from(ca.root.der)));
  // Structure: ContentInfo(signedData) with no signers, no content.
  const ci = pkijs.ContentInfo.fromBER(der);
  assert.is(ci.contentType, OID_SIGNED_DATA);
  const sd = new pkijs.SignedData({ schema: ci.content });
  assert.is(sd.signerInfos.length, 0);
  assert.is(sd.encapContentInfo.eContent, undefined);
});

test('parses an OpenSSL-produced certs-only body (crl2pkcs7, CRLF, 76 cols, trailing NUL)', () => {
  const body = readFileSync(new URL('cacerts-openssl-crlf-76.b64', fixtures));
  const parsed = parseCertsOnly(decodeBase64Body(body));
  assert.is(parsed.certificates.length, 1);
  assert.is(describeName(parsed.certificates[0]!.subject), 'O=Fixture, CN=OpenSSL Fixture Root');
  assert.is(certificateFingerprint(parsed.certificates[0]!), readFileSync(new URL('cacerts-openssl.sha256', fixtures), 'utf8').trim());
});

test('malformed input → typed errors, never a crash', async () => {
  const ca = await LabCa.create();
  const good = createCertsOnly([ca.root.der]);
  assert.throws(() => parseCertsOnly(new Uint8Array()), isDecodeError());
  assert.throws(() => parseCertsOnly(good.slice(0, good.length - 10)), isDecodeError());
  assert.throws(() => parseCertsOnly(new Uint8Array([...good, 0, 0])), isDecodeError());
  assert.throws(() => parseCertsOnly(ca.root.der), isDecodeError()); // a certificate, not a ContentInfo
  const random = new Uint8Array(200).map((_, i) => (i * 37) & 0xff);
  assert.throws(() => parseCertsOnly(random), isDecodeError());
  assert.throws(() => parseCertsOnly(createCertsOnly([])), isDecodeError('pki.cms.no_certificates'));
  assert.equal(parseCertsOnly(createCertsOnly([]), { allowEmpty: true }).certificates, []);
  // id-data ContentInfo instead of signedData
  const data = new pkijs.ContentInfo({ contentType: '1.2.840.113549.1.7.1', content: new (await import('asn1js')).OctetString({ valueHex: new ArrayBuffer(2) }) });
  assert.throws(() => parseCertsOnly(new Uint8Array(data.toSchema().toBER(false))), isDecodeError('pki.cms.content_type'));
});

test('PEM helpers', async () => {
  const ca = await LabCa.create();
  const pem = pemEncode('CERTIFICATE', ca.root.der) + pemEncode('X', new Uint8Array([1])) + pemEncode('CERTIFICATE', ca.issuing.der);
  assert.is(pemDecodeAll(pem, 'CERTIFICATE').length, 2);
  assert.is(pemDecodeAll(pem).length, 3);
  assert.ok(Buffer.from(pemDecode(pem, 'X')).equals(Buffer.from([1])));
  assert.throws(() => pemDecode(pem, 'CERTIFICATE'), isDecodeError());
  assert.throws(() => pemDecodeAll('-----BEGIN X-----\n!!!!\n-----END X-----\n'), isDecodeError());
});

test.run();
