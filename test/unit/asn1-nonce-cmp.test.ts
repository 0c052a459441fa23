// CMP/CMC NonceRequest / NonceResponse (draft-ietf-lamps-attestation-freshness-08 §3.1, Appendix B).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NonceRequest } from '../../agent/pki/asn1/nonce-request.js';
import { NonceResponse } from '../../agent/pki/asn1/nonce-response.js';
import { NonceRequestTypeInfo } from '../../agent/pki/asn1/nonce-request-type-info.js';
import { NonceResponseTypeInfo } from '../../agent/pki/asn1/nonce-response-type-info.js';
import { Asn1DecodeError, Asn1EncodeError } from '../../agent/pki/asn1/errors.js';
import { parseDer } from '../../agent/pki/asn1/der.js';
import { OID_ID_IT_NONCE_REQUEST, OID_ID_IT_NONCE_RESPONSE } from '../../agent/attest/constants.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** DER TLV with a computed (short or 0x81) length. */
const tlv = (tag: string, ...body: string[]): string => {
  const b = body.join('');
  const n = b.length / 2;
  return tag + (n < 128 ? n.toString(16).padStart(2, '0') : '81' + n.toString(16).padStart(2, '0')) + b;
};
const seq = (...body: string[]): string => tlv('30', ...body);
const isEncodeError = (e: unknown): boolean => e instanceof Asn1EncodeError;

function expectDecodeError(fn: () => unknown, reason: string, pathPart?: string): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, Asn1DecodeError, `expected Asn1DecodeError, got ${String(e)}`);
    assert.is((e as Asn1DecodeError).code, `asn1.${reason}`, (e as Error).message);
    if (pathPart) assert.ok((e as Asn1DecodeError).path.includes(pathPart), `path ${(e as Asn1DecodeError).path} lacks ${pathPart}`);
    return;
  }
  assert.unreachable(`expected asn1.${reason}`);
}

test('NonceRequest: every optional combination round-trips to the expected DER', () => {
  const cases: Array<[NonceRequest, string]> = [
    [new NonceRequest(), '3000'],
    [new NonceRequest({ len: 32 }), '3003020120'],
    [new NonceRequest({ reqTypeInfo: new NonceRequestTypeInfo({ type: '2.23.133.20.1' }) }), '3009' + '3007' + '060567810514' + '01'],
    [new NonceRequest({ len: 8, reqTypeInfo: new NonceRequestTypeInfo({ type: '1.2.3', reqInfo: hex('0c026869') }) }), '300d' + '020108' + '3008' + '06022a03' + '0c026869'],
  ];
  for (const [req, der] of cases) {
    assert.is(toHex(req.toDER()), der);
    const back = NonceRequest.fromBER(hex(der));
    assert.is(toHex(back.toDER()), der);
    assert.equal(back.toJSON(), req.toJSON());
  }
  const r = NonceRequest.fromBER(hex(cases[3]![1]));
  assert.is(r.len, 8);
  assert.is(r.reqTypeInfo!.type, '1.2.3');
  assert.is(toHex(new Uint8Array(r.reqTypeInfo!.reqInfo!.toBER(false))), '0c026869');
});

test('NonceRequest strict decoding', () => {
  expectDecodeError(() => NonceRequest.fromBER(hex(seq('020107'))), 'constraint', 'len'); // 7 < 8
  expectDecodeError(() => NonceRequest.fromBER(hex(seq('020141'))), 'constraint', 'len'); // 65 > 64
  expectDecodeError(() => NonceRequest.fromBER(hex(seq('0201ff'))), 'constraint', 'len'); // negative
  expectDecodeError(() => NonceRequest.fromBER(hex(seq('020120', '020120'))), 'bad-tag'); // two INTEGERs
  expectDecodeError(() => NonceRequest.fromBER(hex(seq('06022a03'))), 'bad-tag'); // bare OID (the draft-06 shape)
  expectDecodeError(() => NonceRequest.fromBER(hex(seq(seq('06022a03'), seq('0500')))), 'extra-field');
  expectDecodeError(() => NonceRequest.fromBER(hex(seq(seq()))), 'missing-field', 'reqTypeInfo.type');
  expectDecodeError(() => NonceRequest.fromBER(hex(seq(seq('06022a03', '0500', '0500')))), 'extra-field', 'reqTypeInfo');
  expectDecodeError(() => NonceRequest.fromBER(hex(seq(seq('0500')))), 'bad-tag', 'reqTypeInfo.type');
  expectDecodeError(() => NonceRequest.fromBER(hex(tlv('31'))), 'bad-tag');
  expectDecodeError(() => NonceRequest.fromBER(hex('30')), 'malformed');
  assert.throws(() => new NonceRequest({ len: 65 }), isEncodeError);
  assert.throws(() => new NonceRequestTypeInfo({ type: 'x' }), isEncodeError);
});

test('NonceResponse: round trips, zero-length nonce, expiry, respTypeInfo', () => {
  const n32 = new Uint8Array(32).fill(7);
  const full = new NonceResponse({ nonce: n32, expiry: 600, respTypeInfo: new NonceResponseTypeInfo({ type: '1.2.3.4.6', respInfo: hex('3000') }) });
  const back = NonceResponse.fromBER(full.toDER());
  assert.is(toHex(back.nonce), toHex(n32));
  assert.is(back.expiry, 600);
  assert.is(back.respTypeInfo!.type, '1.2.3.4.6');
  assert.is(toHex(back.toDER()), toHex(full.toDER()));
  assert.ok(back.freshnessRequired);
  const none = new NonceResponse({ nonce: new Uint8Array() });
  assert.is(toHex(none.toDER()), '30020400');
  assert.not.ok(NonceResponse.fromBER(hex('30020400')).freshnessRequired);
  const noExpiry = NonceResponse.fromBER(new NonceResponse({ nonce: new Uint8Array(8) }).toDER());
  assert.is(noExpiry.expiry, undefined);
  assert.equal(new NonceResponse({ nonce: hex('0102030405060708'), expiry: 0 }).toJSON(), { nonce: '0102030405060708', expiry: 0 });
});

test('NonceResponse strict decoding', () => {
  const n8 = tlv('04', '00'.repeat(8));
  expectDecodeError(() => NonceResponse.fromBER(hex(seq())), 'missing-field', 'nonce');
  expectDecodeError(() => NonceResponse.fromBER(hex(seq(tlv('04', '00'.repeat(7))))), 'constraint', 'nonce'); // 7 bytes
  expectDecodeError(() => NonceResponse.fromBER(hex(seq(tlv('04', '00'.repeat(65))))), 'constraint', 'nonce'); // 65 bytes
  expectDecodeError(() => NonceResponse.fromBER(hex(seq(n8, '0201ff'))), 'constraint', 'expiry'); // -1
  expectDecodeError(() => NonceResponse.fromBER(hex(seq(n8, '02050100000000'))), 'constraint', 'expiry'); // 2^32
  expectDecodeError(() => NonceResponse.fromBER(hex(seq('020101', n8))), 'bad-tag', 'nonce');
  expectDecodeError(() => NonceResponse.fromBER(hex(seq(n8, '0c0161'))), 'bad-tag'); // a string where expiry/respTypeInfo belongs
  expectDecodeError(() => NonceResponse.fromBER(hex(seq(n8, '020101', '020101'))), 'bad-tag');
  expectDecodeError(() => NonceResponse.fromBER(hex(seq(n8, seq('06022a03'), seq('06022a03')))), 'extra-field');
  expectDecodeError(() => NonceResponse.fromBER(hex(seq(n8, '020101', seq('06022a03'), '0500'))), 'extra-field');
  assert.throws(() => new NonceResponse({ nonce: new Uint8Array(7) }), isEncodeError);
  assert.throws(() => new NonceResponse({ nonce: new Uint8Array(8), expiry: -1 }), isEncodeError);
});

test('InfoTypeAndValue wrappers for CMP genm/genp', () => {
  const req = new NonceRequest({ len: 32 });
  const itav = req.toInfoTypeAndValue();
  assert.is(NonceRequest.fromInfoTypeAndValue(parseDer(itav.toBER(false), 'itav')).len, 32);
  const resp = new NonceResponse({ nonce: new Uint8Array(16).fill(1), expiry: 60 });
  const ritav = parseDer(resp.toInfoTypeAndValue().toBER(false), 'itav');
  assert.is(NonceResponse.fromInfoTypeAndValue(ritav).expiry, 60);
  expectDecodeError(() => NonceRequest.fromInfoTypeAndValue(ritav), 'bad-value', 'infoType');
  expectDecodeError(() => NonceResponse.fromInfoTypeAndValue(parseDer(itav.toBER(false), 'x')), 'bad-value', 'infoType');
  assert.is(OID_ID_IT_NONCE_REQUEST, '1.3.6.1.5.5.7.4.99');
  assert.is(OID_ID_IT_NONCE_RESPONSE, '1.3.6.1.5.5.7.4.100');
  // an independent decoder agrees
  const dir = mkdtempSync(join(tmpdir(), 'enrolld-cmp-'));
  try {
    const f = join(dir, 'itav.der');
    writeFileSync(f, new Uint8Array(resp.toInfoTypeAndValue().toBER(false)));
    const out = execFileSync('openssl', ['asn1parse', '-inform', 'DER', '-i', '-in', f], { encoding: 'utf8' });
    assert.match(out, /OBJECT\s+:1\.3\.6\.1\.5\.5\.7\.4\.100/);
    assert.match(out, /INTEGER\s+:3C/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
