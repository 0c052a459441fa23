import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { decodeBase64Body, decodeEstBody, encodeBase64Body, looksLikeBinaryDer } from '../../agent/protocols/est/base64-body.js';
import { EstProtocolError } from '../../agent/protocols/est/errors.js';

const der = new Uint8Array(randomBytes(301));
der[0] = 0x30;
const b64 = Buffer.from(der).toString('base64');

const eq = (a: Uint8Array, b: Uint8Array): void => assert.ok(Buffer.from(a).equals(Buffer.from(b)), 'bytes differ');

test('encode wraps at 64 with CRLF and final newline by default', () => {
  const s = encodeBase64Body(der);
  const lines = s.split('\r\n');
  assert.is(lines.at(-1), '');
  assert.ok(lines.slice(0, -2).every((l) => l.length === 64));
  eq(decodeBase64Body(s), der);
});

test('encode options: single line, LF, no final newline', () => {
  assert.is(encodeBase64Body(der, { lineLength: 0, finalNewline: false }), b64);
  const s = encodeBase64Body(der, { lineLength: 76, eol: '\n' });
  assert.ok(s.split('\n')[0]!.length === 76 && s.endsWith('\n') && !s.includes('\r'));
});

const variants: Record<string, string> = {
  'single line': b64,
  'LF wrapped 64': b64.match(/.{1,64}/g)!.join('\n') + '\n',
  'CRLF wrapped 76': b64.match(/.{1,76}/g)!.join('\r\n') + '\r\n',
  'no final newline': b64.match(/.{1,64}/g)!.join('\n'),
  'trailing NUL': b64.match(/.{1,64}/g)!.join('\r\n') + '\r\n\0',
  'several trailing NULs': b64 + '\0\0',
  'leading/trailing blanks and tabs': '  \t' + b64 + ' \n',
  'PEM armor': `-----BEGIN PKCS7-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END PKCS7-----\n`,
};
for (const [name, body] of Object.entries(variants)) {
  test(`decode tolerates: ${name}`, () => {
    eq(decodeBase64Body(body), der);
    eq(decodeBase64Body(Buffer.from(body, 'latin1')), der);
  });
}

test('decode tolerates missing padding (but not a 1-char tail)', () => {
  const unpadded = Buffer.from([1, 2, 3, 4]).toString('base64').replace(/=+$/, '');
  eq(decodeBase64Body(unpadded), new Uint8Array([1, 2, 3, 4]));
  assert.throws(() => decodeBase64Body('QUJDR'), (e: unknown) => e instanceof EstProtocolError && e.code === 'est.protocol.base64');
});

const bad: Record<string, string> = {
  empty: '',
  'only whitespace and NUL': ' \r\n\0',
  'invalid character': b64.slice(0, 20) + '!' + b64.slice(20),
  'NUL in the middle': b64.slice(0, 20) + '\0' + b64.slice(20),
  'padding in the middle': 'QUI=QUJD',
  'wrong padded length': 'QUJDRA=',
  'html error page': '<html><body>502 Bad Gateway</body></html>',
};
for (const [name, body] of Object.entries(bad)) {
  test(`decode rejects: ${name}`, () => {
    assert.throws(() => decodeBase64Body(body), (e: unknown) => e instanceof EstProtocolError && e.code === 'est.protocol.base64');
  });
}

test('decodeEstBody accepts raw binary DER and base64 text', () => {
  assert.ok(looksLikeBinaryDer(der));
  eq(decodeEstBody(der), der);
  eq(decodeEstBody(Buffer.from(encodeBase64Body(der))), der);
  assert.not.ok(looksLikeBinaryDer(Buffer.from('MIIB' + 'A'.repeat(40))));
});

test.run();
