// multipart/mixed (RFC 2046 §5.1.1) as /serverkeygen answers it (RFC 7030 §4.4.2): round trip with the lab's
// builder, a hand-written body with preamble, LF line ends and a binary part, and strict refusals.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EstProtocolError } from '../../agent/protocols/est/errors.js';
import { buildMultipartMixed, multipartBoundary, parseMultipartMixed } from '../../agent/protocols/est/multipart-mixed.js';

const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const refuses = (body: string, ct: string | undefined, what: string): void => {
  try {
    parseMultipartMixed(enc(body), ct);
  } catch (e) {
    assert.instance(e, EstProtocolError, what);
    return;
  }
  assert.unreachable(what);
};

test('round trip: two base64 parts', () => {
  const a = new Uint8Array(300).map((_, i) => i & 0xff);
  const b = new Uint8Array([0x30, 0x00]);
  const body = buildMultipartMixed('est-b1', [{ contentType: 'application/pkcs8', body: a }, { contentType: 'application/pkcs7-mime; smime-type=certs-only', body: b }]);
  const parts = parseMultipartMixed(enc(body), 'multipart/mixed; boundary=est-b1');
  assert.equal(parts.map((p) => p.contentType), ['application/pkcs8', 'application/pkcs7-mime; smime-type=certs-only']);
  assert.equal([...parts[0]!.body], [...a]);
  assert.equal([...parts[1]!.body], [...b]);
});

test('preamble, quoted boundary, LF line ends, binary part, epilogue', () => {
  const body = 'preamble\n--x y\nContent-Type: application/pkcs8\nContent-Transfer-Encoding: binary\n\n\u0001\u0002\r\n\n--x y\ncontent-type: text/plain\n\nhi\n--x y--\nepilogue';
  const parts = parseMultipartMixed(enc(body), 'multipart/mixed; boundary="x y"');
  assert.equal([...parts[0]!.body], [1, 2, 13, 10]);
  assert.is(Buffer.from(parts[1]!.body).toString(), 'hi');
});

test('refusals: wrong type, bad boundary, no close delimiter, bad base64, unknown CTE, repeated header, too many parts', () => {
  const ok = buildMultipartMixed('b', [{ contentType: 'application/pkcs8', body: new Uint8Array([1]) }]);
  refuses(ok, 'application/pkcs8', 'not multipart');
  refuses(ok, 'multipart/mixed', 'no boundary');
  assert.throws(() => multipartBoundary(`multipart/mixed; boundary=${'a'.repeat(71)}`));
  refuses(ok.replace('--b--\r\n', ''), 'multipart/mixed; boundary=b', 'truncated');
  refuses('--b\r\nContent-Transfer-Encoding: base64\r\n\r\n@@@@\r\n--b--\r\n', 'multipart/mixed; boundary=b', 'bad base64');
  refuses('--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nx\r\n--b--\r\n', 'multipart/mixed; boundary=b', 'qp');
  refuses('--b\r\nContent-Type: a/b\r\nContent-Type: c/d\r\n\r\nx\r\n--b--\r\n', 'multipart/mixed; boundary=b', 'repeated header');
  refuses('--b\r\nbroken header\r\n\r\nx\r\n--b--\r\n', 'multipart/mixed; boundary=b', 'malformed header');
  const many = buildMultipartMixed('b', Array.from({ length: 5 }, () => ({ contentType: 'a/b', body: new Uint8Array([1]) })));
  refuses(many, 'multipart/mixed; boundary=b', 'too many parts');
  refuses('', 'multipart/mixed; boundary=b', 'empty');
});

test.run();
