import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as asn1js from 'asn1js';
import { parseHttpDate, parseRetryAfter, formatHttpDate } from '../../agent/protocols/http/retry-after.js';
import { parseMediaType } from '../../agent/protocols/http/media-type.js';
import type { TransportResponse } from '../../agent/protocols/http/transport.js';
import { checkContentType, pendingFrom, serverText, throwForStatus } from '../../agent/protocols/est/response.js';
import { EstAuthError, EstHttpError, EstProtocolError, EstUsageError } from '../../agent/protocols/est/errors.js';
import { encodeCsrAttrs, parseCsrAttrs } from '../../agent/protocols/est/csrattrs.js';
import { estUrl } from '../../agent/protocols/est/context.js';
import { EST_ERROR_TEXT_MAX } from '../../agent/protocols/est/constants.js';

// uvu's assert.throws takes a predicate, not a class.
const isA = (C: abstract new (...a: never[]) => unknown) => (e: unknown): boolean => e instanceof C;
const NOW = new Date('2026-03-01T12:00:00Z');
const res = (status: number, headers: Record<string, string> = {}, body = ''): TransportResponse => ({
  status,
  headers,
  body: new Uint8Array(Buffer.from(body)),
  peerCertificates: [],
  tlsProtocol: 'TLSv1.3',
});

test('Retry-After delta-seconds', () => {
  assert.is(parseRetryAfter('120', NOW), 120);
  assert.is(parseRetryAfter(' 0 ', NOW), 0);
  assert.is(parseRetryAfter(['30', '60'], NOW), 30);
  assert.is(parseRetryAfter('99999999999999999999999', NOW), Number.MAX_SAFE_INTEGER);
});

test('Retry-After HTTP-date: IMF-fixdate, RFC 850, asctime', () => {
  assert.is(parseRetryAfter('Sun, 01 Mar 2026 12:05:00 GMT', NOW), 300);
  assert.is(parseRetryAfter('Sunday, 01-Mar-26 12:00:30 GMT', NOW), 30);
  assert.is(parseRetryAfter('Sun Mar  1 12:01:00 2026', NOW), 60);
  assert.is(parseRetryAfter(formatHttpDate(new Date(NOW.getTime() + 90_000)), NOW), 90);
});

test('Retry-After in the past → 0; malformed → undefined', () => {
  assert.is(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', NOW), 0);
  for (const v of ['', '-5', '1.5', 'soon', '2026-03-01T12:05:00Z', 'Sun, 30 Feb 2026 12:00:00 GMT', 'Sun, 01 Mar 2026 25:00:00 GMT']) {
    assert.is(parseRetryAfter(v, NOW), undefined, v);
  }
  assert.is(parseRetryAfter(undefined, NOW), undefined);
  assert.is(parseHttpDate('Sun, 01 Foo 2026 12:00:00 GMT'), undefined);
});

test('202 → pending with retryAt; missing/invalid Retry-After is a protocol error', () => {
  const p = pendingFrom(res(202, { 'retry-after': '45' }), 'simpleenroll', NOW);
  assert.equal(p, { kind: 'pending', retryAfterSeconds: 45, retryAt: new Date(NOW.getTime() + 45_000) });
  const d = pendingFrom(res(202, { 'retry-after': 'Sun, 01 Mar 2026 13:00:00 GMT' }), 'simpleenroll', NOW);
  assert.is(d.retryAfterSeconds, 3600);
  assert.throws(() => pendingFrom(res(202), 'simpleenroll', NOW), (e: unknown) => e instanceof EstProtocolError && e.code === 'est.protocol.retry_after');
  assert.throws(() => pendingFrom(res(202, { 'retry-after': 'later' }), 'simpleenroll', NOW), isA(EstProtocolError));
});

test('error statuses become typed errors with truncated, sanitized server text', () => {
  try {
    throwForStatus(res(401, { 'www-authenticate': 'Basic realm="x"' }, 'bad password'), 'simpleenroll', NOW);
  } catch (e) {
    assert.ok(e instanceof EstAuthError);
    assert.is((e as EstAuthError).status, 401);
    assert.is((e as EstAuthError).code, 'est.unauthorized');
    assert.is((e as EstAuthError).challenge, 'Basic realm="x"');
    assert.match((e as Error).message, 'bad password');
  }
  const long = 'x'.repeat(5000) + '\u0007\r\n';
  try {
    throwForStatus(res(400, {}, long), 'simpleenroll', NOW);
    assert.unreachable();
  } catch (e) {
    assert.ok(e instanceof EstHttpError && !(e instanceof EstAuthError));
    assert.is((e as EstHttpError).code, 'est.client_error');
    assert.is((e as EstHttpError).retryable, false);
    assert.ok((e as EstHttpError).serverText.length <= EST_ERROR_TEXT_MAX + 1);
  }
  try {
    throwForStatus(res(503, { 'retry-after': '30' }, 'maintenance'), 'cacerts', NOW);
  } catch (e) {
    assert.is((e as EstHttpError).code, 'est.server_error');
    assert.is((e as EstHttpError).retryAfterSeconds, 30);
    assert.ok((e as EstHttpError).retryable);
  }
  assert.is(serverText(new Uint8Array(Buffer.from('a\nb\r\n\tc\0'))), 'a b c');
});

test('content-type checks (case, parameters, smime-type)', () => {
  checkContentType(res(200, { 'content-type': 'Application/PKCS7-MIME; smime-type=certs-only' }), 'application/pkcs7-mime', 'cacerts');
  checkContentType(res(200, { 'content-type': 'application/pkcs7-mime' }), 'application/pkcs7-mime', 'cacerts');
  checkContentType(res(200, { 'content-type': 'application/pkcs7-mime; smime-type="CERTS-ONLY"' }), 'application/pkcs7-mime', 'cacerts');
  for (const ct of ['text/html', 'application/pkcs7-mime; smime-type=signed-data', '']) {
    assert.throws(() => checkContentType(res(200, ct ? { 'content-type': ct } : {}), 'application/pkcs7-mime', 'cacerts'), isA(EstProtocolError));
  }
  assert.equal(parseMediaType('a/b; X="1;2"'), { essence: 'a/b', params: { x: '1;2' } });
});

test('csrattrs DER round trip (OIDs and attributes)', () => {
  const der = encodeCsrAttrs({
    oids: ['1.2.840.10045.4.3.2', '1.2.840.113549.1.9.7'],
    attributes: [{ type: '1.2.840.10045.2.1', values: [new asn1js.ObjectIdentifier({ value: '1.3.132.0.34' })] }],
  });
  const parsed = parseCsrAttrs(der);
  assert.equal(parsed.oids, ['1.2.840.10045.4.3.2', '1.2.840.113549.1.9.7']);
  assert.is(parsed.attributes[0]!.type, '1.2.840.10045.2.1');
  assert.is((parsed.attributes[0]!.values[0] as asn1js.ObjectIdentifier).valueBlock.toString(), '1.3.132.0.34');
  assert.equal(parseCsrAttrs(encodeCsrAttrs({})), { oids: [], attributes: [] });
  assert.throws(() => parseCsrAttrs(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05])), isA(EstProtocolError));
  assert.throws(() => parseCsrAttrs(new Uint8Array([0x30, 0x05, 0x02])));
});

test('EST URLs with and without label (§3.2.2)', () => {
  assert.is(estUrl({ baseUrl: 'https://ca.example:8443' }, 'cacerts').href, 'https://ca.example:8443/.well-known/est/cacerts');
  assert.is(estUrl({ baseUrl: 'https://ca.example/.well-known/est/', label: 'iot' }, 'simpleenroll').href, 'https://ca.example/.well-known/est/iot/simpleenroll');
  for (const label of ['a/b', '', 'cacerts', 'x'.repeat(65), 'sp ace']) {
    assert.throws(() => estUrl({ baseUrl: 'https://ca.example', label }, 'cacerts'), isA(EstUsageError), label);
  }
  assert.throws(() => estUrl({ baseUrl: 'http://ca.example' }, 'cacerts'), isA(EstUsageError));
});

test.run();
