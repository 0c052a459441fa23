// EST freshness-nonce JSON codec (draft-ietf-lamps-attestation-freshness-08 §4, §6.1).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  NonceCache,
  NonceProtocolError,
  buildNonceRequest,
  buildNonceResponse,
  decodeBase64urlStrict,
  effectiveExpiry,
  encodeBase64url,
  isUsable,
  nonceHttpRequest,
  parseNonceRequest,
  parseNonceResponse,
  type NonceRequestParams,
  type ReceivedNonce,
} from '../../agent/attest/nonce.js';
import { MEDIA_TYPE_NONCE_JSON, OID_TCG_ATTEST_TPM_CERTIFY } from '../../agent/attest/constants.js';

const now = new Date('2026-08-01T12:00:00Z');
const b64 = (n: number, fill = 0x41): string => encodeBase64url(new Uint8Array(n).fill(fill));

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.instance(e, NonceProtocolError, String(e));
    return (e as NonceProtocolError).code;
  }
  return 'no error';
}

test('draft example response decodes (freshness-08 §6.1)', () => {
  const body = '{\n  "nonce": "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",\n  "expiry": 600\n}';
  const r = parseNonceResponse(body, { len: 32 }, now);
  assert.is(Buffer.from(r.nonce).toString('latin1'), '12345678901234567890123456789012');
  assert.is(r.expirySeconds, 600);
  assert.is(r.expiry!.toISOString(), '2026-08-01T12:10:00.000Z');
  assert.ok(r.freshnessRequired);
  assert.is(r.type, undefined);
});

test('buildNonceRequest / nonceHttpRequest', () => {
  assert.is(buildNonceRequest(), '{}');
  assert.is(buildNonceRequest({ len: 32 }), '{"len":32}');
  assert.is(buildNonceRequest({ len: 8, type: OID_TCG_ATTEST_TPM_CERTIFY }), '{"len":8,"reqTypeInfo":{"type":"2.23.133.20.1"}}');
  assert.is(buildNonceRequest({ type: '1.2.3.4.5', reqInfo: { 'certificate-name': ['aik-1'] } }), '{"reqTypeInfo":{"type":"1.2.3.4.5","reqInfo":{"certificate-name":["aik-1"]}}}');
  assert.equal(nonceHttpRequest({}), { method: 'GET' });
  assert.equal(nonceHttpRequest({ len: 32 }), { method: 'POST', contentType: MEDIA_TYPE_NONCE_JSON, body: '{"len":32}' });
  assert.is(code(() => buildNonceRequest({ len: 7 })), 'nonce.bad-len');
  assert.is(code(() => buildNonceRequest({ len: 65 })), 'nonce.bad-len');
  assert.is(code(() => buildNonceRequest({ len: 16.5 })), 'nonce.bad-len');
  assert.is(code(() => buildNonceRequest({ type: 'tpm' })), 'nonce.bad-field');
  assert.is(code(() => buildNonceRequest({ reqInfo: 1 })), 'nonce.missing-field');
  // round trip through the server-side parser
  for (const req of [{}, { len: 64 }, { type: '1.2.3' }, { len: 9, type: '1.2.3', reqInfo: [1, 2] }] as NonceRequestParams[]) {
    assert.equal(parseNonceRequest(buildNonceRequest(req)), req);
  }
});

test('parseNonceRequest (server side) accepts and refuses', () => {
  assert.equal(parseNonceRequest(undefined), {});
  assert.equal(parseNonceRequest(''), {});
  assert.equal(parseNonceRequest('  \n'), {});
  const bad: Array<[string, string]> = [
    ['{', 'nonce.malformed-json'],
    ['[{"len":8,"type":"1.2.3","hint":"v"}]', 'nonce.not-object'], // the draft-06 form
    ['"x"', 'nonce.not-object'],
    ['null', 'nonce.not-object'],
    ['{"len":7}', 'nonce.bad-len'],
    ['{"len":65}', 'nonce.bad-len'],
    ['{"len":"32"}', 'nonce.bad-len'],
    ['{"len":8.5}', 'nonce.bad-len'],
    ['{"type":"1.2.3"}', 'nonce.unknown-field'], // the draft-07 flat form
    ['{"hint":"v.example"}', 'nonce.unknown-field'],
    ['{"reqTypeInfo":"1.2.3"}', 'nonce.bad-field'],
    ['{"reqTypeInfo":{}}', 'nonce.missing-field'],
    ['{"reqTypeInfo":{"type":"tpm"}}', 'nonce.bad-field'],
    ['{"reqTypeInfo":{"type":"1.2.3","respInfo":1}}', 'nonce.unknown-field'],
  ];
  for (const [body, want] of bad) assert.is(code(() => parseNonceRequest(body)), want, body);
});

test('parseNonceResponse: valid table', () => {
  const ok: Array<[string, NonceRequestParams, Partial<ReceivedNonce>]> = [
    [`{"nonce":"${b64(8)}"}`, {}, { expirySeconds: null, expiry: null, freshnessRequired: true }],
    [`{"nonce":"${b64(64)}","expiry":1}`, { len: 64 }, { expirySeconds: 1 }],
    [`{"nonce":"${b64(40)}"}`, { len: 32 }, {}], // longer than asked is fine (SHOULD, not MUST)
    ['{"nonce":""}', { len: 32 }, { freshnessRequired: false }], // no freshness proof needed
    ['{"nonce":"","expiry":0}', {}, { freshnessRequired: false }],
    [`{"nonce":"${b64(32)}","respTypeInfo":{"type":"1.2.3.4.6","respInfo":{"certificate-name":"aik-1"}}}`, { type: '1.2.3.4.5' }, { type: '1.2.3.4.6', respInfo: { 'certificate-name': 'aik-1' } }],
    [`{"nonce":"${b64(32)}","future":true}`, {}, {}], // unknown members ignored
  ];
  for (const [body, req, want] of ok) {
    const r = parseNonceResponse(body, req, now);
    for (const [k, v] of Object.entries(want)) assert.equal((r as unknown as Record<string, unknown>)[k], v, `${body} ${k}`);
  }
  assert.is(parseNonceResponse(`{"nonce":"${b64(32)}","respTypeInfo":{"type":"1.2.9"}}`, { type: '1.2.3' }, now, { expectedRespType: '1.2.9' }).type, '1.2.9');
});

test('parseNonceResponse: every invalid case has its own code', () => {
  const bad: Array<[string, NonceRequestParams, string]> = [
    ['{"nonce":', {}, 'nonce.malformed-json'],
    ['', {}, 'nonce.malformed-json'],
    [`[{"nonce":"${b64(8)}="}]`, {}, 'nonce.not-object'], // draft-06 array
    ['42', {}, 'nonce.not-object'],
    ['{"expiry":600}', {}, 'nonce.missing-field'],
    ['{"nonce":null}', {}, 'nonce.bad-field'],
    ['{"nonce":123}', {}, 'nonce.bad-field'],
    ['{"nonce":"MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI="}', {}, 'nonce.bad-encoding'], // padding
    ['{"nonce":"ab+/cdefghijk"}', {}, 'nonce.bad-encoding'], // standard alphabet
    ['{"nonce":"AAAAAAAAAAB"}', {}, 'nonce.bad-encoding'], // non-canonical trailing bits
    ['{"nonce":"AAAAAAAAAAAAA"}', {}, 'nonce.bad-encoding'], // impossible length (13 % 4 == 1)
    ['{"nonce":"AAAAAAAAAA"}', {}, 'nonce.bad-length'], // 7 bytes
    [`{"nonce":"${b64(65)}"}`, {}, 'nonce.bad-length'],
    [`{"nonce":"${b64(16)}"}`, { len: 32 }, 'nonce.too-short'],
    [`{"nonce":"${b64(32)}","expiry":0}`, {}, 'nonce.expired'],
    [`{"nonce":"${b64(32)}","expiry":"2031-10-12T07:20:50.52Z"}`, {}, 'nonce.bad-field'], // draft-06 timestamp
    [`{"nonce":"${b64(32)}","expiry":-5}`, {}, 'nonce.bad-field'],
    [`{"nonce":"${b64(32)}","expiry":1.5}`, {}, 'nonce.bad-field'],
    [`{"nonce":"${b64(32)}","respTypeInfo":{"type":"1.2.3"}}`, {}, 'nonce.type-mismatch'], // unsolicited
    [`{"nonce":"${b64(32)}","respTypeInfo":{}}`, { type: '1.2.3' }, 'nonce.missing-field'],
    [`{"nonce":"${b64(32)}","respTypeInfo":{"type":7}}`, { type: '1.2.3' }, 'nonce.bad-field'],
    [`{"nonce":"${b64(32)}","respTypeInfo":[]}`, { type: '1.2.3' }, 'nonce.bad-field'],
  ];
  for (const [body, req, want] of bad) assert.is(code(() => parseNonceResponse(body, req, now)), want, body);
  const typed = `{"nonce":"${b64(32)}","respTypeInfo":{"type":"1.2.8"}}`;
  assert.is(code(() => parseNonceResponse(typed, { type: '1.2.3' }, now, { expectedRespType: '1.2.9' })), 'nonce.type-mismatch');
  assert.is(code(() => parseNonceResponse(`{"nonce":"${b64(32)}"}`, { type: '1.2.3' }, now, { expectedRespType: '1.2.9' })), 'nonce.type-mismatch');
  const e = (() => { try { parseNonceResponse(`{"nonce":"${b64(16)}"}`, { len: 32 }, now); } catch (x) { return x as NonceProtocolError; } return undefined; })()!;
  assert.is(e.field, 'nonce');
  assert.is(e.name, 'NonceProtocolError');
});

test('buildNonceResponse round-trips through parseNonceResponse', () => {
  const nonce = new Uint8Array(32).map((_, i) => i * 7);
  const body = buildNonceResponse({ nonce, expirySeconds: 120, type: '1.2.3', respInfo: { a: 1 } });
  const r = parseNonceResponse(body, { type: '1.2.3', len: 32 }, now);
  assert.equal([...r.nonce], [...nonce]);
  assert.is(r.expirySeconds, 120);
  assert.equal(r.respInfo, { a: 1 });
  assert.is(buildNonceResponse({ nonce: new Uint8Array() }), '{"nonce":""}');
  assert.is(code(() => buildNonceResponse({ nonce: new Uint8Array(7) })), 'nonce.bad-length');
  assert.is(code(() => buildNonceResponse({ nonce: new Uint8Array(8), respInfo: 1 })), 'nonce.missing-field');
  assert.is(code(() => buildNonceResponse({ nonce: new Uint8Array(8), expirySeconds: -1 })), 'nonce.bad-field');
});

test('base64url helpers are strict', () => {
  assert.is(encodeBase64url(new Uint8Array([0xfb, 0xff])), '-_8');
  assert.equal([...decodeBase64urlStrict('-_8')!], [0xfb, 0xff]);
  for (const s of ['-_8=', '+/8', '-_9', 'A', 'a b']) assert.is(decodeBase64urlStrict(s), undefined, s);
  assert.equal([...decodeBase64urlStrict('')!], []);
});

test('isUsable and NonceCache', () => {
  const r = parseNonceResponse(`{"nonce":"${b64(32)}","expiry":60}`, {}, now);
  const at = (s: number): Date => new Date(now.getTime() + s * 1000);
  assert.ok(isUsable(r, at(0)));
  assert.ok(isUsable(r, at(49), 10_000));
  assert.not.ok(isUsable(r, at(50), 10_000)); // not enough margin left
  assert.not.ok(isUsable(r, at(60)));
  assert.not.ok(isUsable(r, at(-3600))); // clock jumped far back
  const noExpiry = parseNonceResponse(`{"nonce":"${b64(32)}"}`, {}, now);
  assert.ok(isUsable(noExpiry, at(299)));
  assert.not.ok(isUsable(noExpiry, at(300)));
  assert.ok(isUsable(noExpiry, at(599), 0, 600_000));
  assert.is(effectiveExpiry(noExpiry).toISOString(), at(300).toISOString());
  assert.is(effectiveExpiry(r).toISOString(), at(60).toISOString());

  const cache = new NonceCache();
  cache.put(OID_TCG_ATTEST_TPM_CERTIFY, r);
  assert.is(cache.peek(OID_TCG_ATTEST_TPM_CERTIFY, at(1)), r);
  assert.is(cache.take(OID_TCG_ATTEST_TPM_CERTIFY, at(1), 5000), r);
  assert.is(cache.take(OID_TCG_ATTEST_TPM_CERTIFY, at(1)), undefined); // single use
  cache.put('a', r);
  cache.put('b', noExpiry);
  assert.is(cache.take('a', at(59), 5000), undefined); // too close to expiry: dropped
  assert.is(cache.size, 1);
  assert.is(cache.prune(at(301)), 0);
});

test.run();
