// Lab nonce service: single use, expiry, bounded state, and the EST /nonce server side (freshness-08 §6.1, §9).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NonceService, NonceServiceError } from '../../deploy/lab/nonce-service.js';
import { decodeBase64urlStrict, parseNonceResponse } from '../../agent/attest/nonce.js';
import { MEDIA_TYPE_NONCE_JSON, OID_TCG_ATTEST_TPM_CERTIFY } from '../../agent/attest/constants.js';

const t0 = new Date('2026-08-01T12:00:00Z');
const at = (s: number): Date => new Date(t0.getTime() + s * 1000);

/** Deterministic, never-repeating "randomness" for tests. */
function counter(): (n: number) => Uint8Array {
  let i = 0;
  return (n) => {
    const b = new Uint8Array(n);
    new DataView(b.buffer).setUint32(0, ++i);
    return b;
  };
}

test('issue → consume once: ok, then replayed; unknown nonces', () => {
  const svc = new NonceService({ ttlSeconds: 60 });
  const a = svc.issue({ len: 32, type: OID_TCG_ATTEST_TPM_CERTIFY }, t0);
  assert.is(a.nonce.length, 32);
  assert.is(a.expiresAt.toISOString(), at(60).toISOString());
  assert.is(svc.consume(a.nonce, at(1)), 'ok');
  assert.is(svc.consume(a.nonce, at(2)), 'replayed');
  assert.is(svc.consume(new Uint8Array(32), at(2)), 'unknown');
  const b = svc.issue({}, t0);
  assert.is(b.nonce.length, 32); // default len
  assert.not.equal([...a.nonce], [...b.nonce]);
});

test('expiry: expired past TTL, then forgotten; replay tombstones expire too', () => {
  const svc = new NonceService({ ttlSeconds: 60, random: counter() });
  const a = svc.issue({ len: 8 }, t0);
  const b = svc.issue({ len: 8 }, t0);
  assert.is(svc.consume(a.nonce, at(59.999)), 'ok');
  assert.is(svc.consume(b.nonce, at(60)), 'expired');
  assert.is(svc.consume(b.nonce, at(61)), 'unknown');
  assert.is(svc.consume(a.nonce, at(59.9995)), 'replayed');
  assert.is(svc.sweep(at(61)), 1);
  assert.is(svc.size, 0);
  assert.is(svc.consume(a.nonce, at(61)), 'unknown');
});

test('type binding: wrong-type does not consume', () => {
  const svc = new NonceService({ types: { '1.2.3': {}, '1.2.4': {} } });
  const a = svc.issue({ type: '1.2.3' }, t0);
  assert.is(svc.consume(a.nonce, t0, '1.2.4'), 'wrong-type');
  assert.is(svc.consume(a.nonce, t0, '1.2.3'), 'ok');
});

test('bounded: cap on outstanding nonces, expired ones evicted to make room', () => {
  const svc = new NonceService({ ttlSeconds: 10, maxOutstanding: 3, random: counter() });
  for (let i = 0; i < 3; i++) svc.issue({ len: 8 }, at(i));
  assert.throws(() => svc.issue({ len: 8 }, at(3)), (e: unknown) => e instanceof NonceServiceError && e.code === 'nonce-service.full');
  assert.is(svc.size, 3);
  svc.issue({ len: 8 }, at(10)); // the first has expired: evicted, room made
  assert.is(svc.size, 3);
  svc.issue({ len: 8 }, at(11)); // the second (issued at 1) too
  assert.is(svc.size, 3);
  // a clock moved backwards leaves the order unsorted: the full sweep still finds the expired entry
  const svc2 = new NonceService({ ttlSeconds: 10, maxOutstanding: 2, random: counter() });
  svc2.issue({ len: 8 }, at(100));
  svc2.issue({ len: 8 }, at(0));
  svc2.issue({ len: 8 }, at(20)); // the at(0) one expired at 10, behind a live one
  assert.is(svc2.size, 2);
  // many issues stay within the cap
  const svc3 = new NonceService({ ttlSeconds: 5, maxOutstanding: 50 });
  for (let i = 0; i < 5000; i++) svc3.issue({ len: 16 }, at(i * 0.5));
  assert.ok(svc3.size <= 50);
});

test('issue refuses bad len and unknown types; constructor checks options', () => {
  const svc = new NonceService();
  for (const len of [7, 65, 8.5]) assert.throws(() => svc.issue({ len }, t0), (e: unknown) => e instanceof NonceServiceError && e.code === 'nonce-service.bad-len');
  assert.throws(() => svc.issue({ type: '1.2.3' }, t0), (e: unknown) => e instanceof NonceServiceError && e.code === 'nonce-service.unknown-type');
  assert.throws(() => svc.issue({ type: 'constructor' }, t0), (e: unknown) => e instanceof NonceServiceError);
  assert.throws(() => new NonceService({ ttlSeconds: 0 }), RangeError);
  assert.throws(() => new NonceService({ maxOutstanding: 0 }), RangeError);
  assert.throws(() => new NonceService({ defaultLen: 4 }), RangeError);
});

test('handleRequest: 200 responses the client codec accepts', () => {
  const svc = new NonceService({ ttlSeconds: 120, types: { [OID_TCG_ATTEST_TPM_CERTIFY]: {}, '1.2.3.4.5': { responseType: '1.2.3.4.6', acceptReqInfo: (x) => Array.isArray(x), respInfo: () => ({ 'certificate-name': 'aik-1' }) } } });
  const get = svc.handleRequest(undefined, t0);
  assert.is(get.status, 200);
  assert.is(get.contentType, MEDIA_TYPE_NONCE_JSON);
  const g = parseNonceResponse(get.body, {}, t0);
  assert.is(g.nonce.length, 32);
  assert.is(g.expirySeconds, 120);
  assert.is(svc.consume(g.nonce, at(1)), 'ok');

  const req = { len: 48, type: OID_TCG_ATTEST_TPM_CERTIFY };
  const post = svc.handleRequest(JSON.stringify({ len: 48, reqTypeInfo: { type: OID_TCG_ATTEST_TPM_CERTIFY } }), t0);
  assert.is(post.status, 200);
  const p = parseNonceResponse(post.body, req, t0);
  assert.is(p.nonce.length, 48);
  assert.is(p.type, undefined); // no respTypeInfo defined for tpm-certify
  assert.is(svc.consume(p.nonce, at(1), OID_TCG_ATTEST_TPM_CERTIFY), 'ok');

  const typed = svc.handleRequest('{"reqTypeInfo":{"type":"1.2.3.4.5","reqInfo":["aik-1","aik-2"]}}', t0);
  assert.is(typed.status, 200);
  const tr = parseNonceResponse(typed.body, { type: '1.2.3.4.5' }, t0, { expectedRespType: '1.2.3.4.6' });
  assert.equal(tr.respInfo, { 'certificate-name': 'aik-1' });
  assert.ok(decodeBase64urlStrict(JSON.parse(typed.body).nonce));

  const relaxed = new NonceService({ freshnessRequired: false });
  const r = relaxed.handleRequest('{"len":16}', t0);
  assert.is(r.status, 200);
  assert.not.ok(parseNonceResponse(r.body, { len: 16 }, t0).freshnessRequired);
  assert.is(relaxed.size, 0);
});

test('handleRequest: 400 with a reason for bad requests, 503 when full', () => {
  const svc = new NonceService({ maxOutstanding: 1, types: { [OID_TCG_ATTEST_TPM_CERTIFY]: {} } });
  const cases: Array<[string, string]> = [
    ['{', 'nonce.malformed-json'],
    ['[{"len":8,"type":"2.23.133.20.1","hint":"v"}]', 'nonce.not-object'],
    ['{"len":4}', 'nonce.bad-len'],
    ['{"len":65}', 'nonce.bad-len'],
    ['{"len":"x"}', 'nonce.bad-len'],
    ['{"hint":"verifier.example"}', 'nonce.unknown-field'],
    ['{"reqTypeInfo":{"type":"1.2.3"}}', 'nonce-service.unknown-type'],
    ['{"reqTypeInfo":{"type":"2.23.133.20.1","reqInfo":{}}}', 'nonce-service.bad-req-info'],
    ['{"reqTypeInfo":{"type":"toString"}}', 'nonce.bad-field'],
  ];
  for (const [body, reason] of cases) {
    const r = svc.handleRequest(body, t0);
    assert.is(r.status, 400, body);
    assert.is(r.reason, reason, body);
    assert.ok(r.body.startsWith(reason), r.body);
    assert.not.match(r.body, /"nonce"/);
  }
  assert.is(svc.size, 0);
  assert.is(svc.handleRequest(undefined, t0).status, 200);
  const full = svc.handleRequest('{"len":8}', t0);
  assert.is(full.status, 503);
  assert.is(full.reason, 'nonce-service.full');
});

test.run();
