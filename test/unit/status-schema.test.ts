// Status payloads: short-key CBOR maps, byte strings, epoch seconds, bounded errors/events, sizes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decode as cborxDecode } from 'cbor-x';
import {
  MAX_ERRORS,
  MAX_EVENT_FIELDS,
  MAX_EVENT_STRING,
  STATUS_SCHEMA_VERSION,
  decodeCbor,
  encodeCbor,
  epochSeconds,
  eventPayload,
  hexBytes,
  pushError,
  sanitizeEventFields,
  statePayload,
  statusPayload,
  type DeviceStatus,
} from '../../agent/status/schema.js';

const NOW = new Date('2026-03-01T12:00:00Z');

export const TYPICAL: DeviceStatus = {
  phase: 'enrolled',
  enroll: {
    serial: '5F3A9C0B1D2E4F60718293A4B5C6D7E8F9012345',
    notAfter: '2026-05-30T12:00:00.000Z',
    renewAt: '2026-04-30T12:00:00.000Z',
    subject: 'CN=dev-0001,O=Example',
  },
  pal: { lastPoll: '2026-03-01T11:45:07.000Z', result: 'ok' },
  fw: { running: '1.4.2' },
  ta: { digest: 'a3'.repeat(32), tampSeq: 7 },
  tpm: { ok: true },
  errors: [
    { code: 'est.http-503', at: '2026-02-28T03:00:00Z' },
    { code: 'pal.timeout', at: '2026-02-28T03:15:00Z' },
  ],
};

test('state payload is a tiny CBOR map {st, bd, ts}', () => {
  const p = statePayload('enrolled', 42, NOW);
  assert.equal(p, { st: 'enrolled', bd: 42, ts: 1772366400 });
  const bytes = encodeCbor(p);
  assert.is(bytes[0], 0xa3, 'definite-length map of 3 (no cbor-x record extension, minimal header)');
  assert.equal(cborxDecode(bytes), p);
  const lost = encodeCbor(statePayload('lost', 42, NOW));
  const retry = statePayload('renewing', 43, NOW, { retry: 'waiting', until: '2026-03-01T12:05:00Z' });
  assert.equal(retry, { st: 'renewing', bd: 43, ts: 1772366400, sub: 'waiting', until: 1772366700 });
  console.log(`  sizes: state ${bytes.length} B, will {st:lost} ${lost.length} B, state+retry ${encodeCbor(retry).length} B`);
  assert.ok(bytes.length <= 32);
});

test('status snapshot: short keys, byte-string serial and digest, epoch seconds', () => {
  const p = statusPayload(TYPICAL, NOW, 17);
  assert.equal(Object.keys(p), ['v', 'ts', 'seq', 'st', 'tpm', 'errors', 'enroll', 'pal', 'fw', 'ta']);
  assert.is(p.v, STATUS_SCHEMA_VERSION);
  assert.is(p.seq, 17);
  assert.is(p.st, 'enrolled');
  assert.is(Buffer.from(p.enroll!.serial).toString('hex'), '5f3a9c0b1d2e4f60718293a4b5c6d7e8f9012345');
  assert.is(p.enroll!.notAfter, epochSeconds('2026-05-30T12:00:00Z'));
  assert.is(p.ta!.digest.length, 32);
  const bytes = encodeCbor(p);
  const back = decodeCbor(bytes) as Record<string, unknown>;
  assert.is((back.enroll as { subject: string }).subject, 'CN=dev-0001,O=Example');
  // A byte string (major type 2), not a tagged typed array: the serial appears as 0x54 (bytes, len 20) + value.
  assert.ok(bytes.includes(Buffer.concat([Buffer.from([0x54]), Buffer.from('5f3a9c0b1d2e4f60718293a4b5c6d7e8f9012345', 'hex')])));
  assert.not.ok(bytes.includes(Buffer.from([0xd8, 0x40])), 'no tag 64');
  const json = Buffer.byteLength(JSON.stringify(TYPICAL));
  const minimal = encodeCbor(statusPayload({ phase: 'bootstrapped', tpm: { ok: true } }, NOW, 0));
  console.log(`  sizes: typical status snapshot ${bytes.length} B CBOR (input as JSON ${json} B); minimal snapshot ${minimal.length} B`);
  assert.ok(bytes.length < 320, `typical snapshot ${bytes.length} B`);
});

test('status keeps only the last MAX_ERRORS errors and reports drops as dr', () => {
  let errors: Array<{ code: string; at: Date | string }> = [];
  for (let i = 0; i < 12; i++) errors = pushError(errors, `e.${i}`, new Date(NOW.getTime() + i * 1000));
  assert.is(errors.length, MAX_ERRORS);
  const p = statusPayload({ phase: 'failed' as never, tpm: { ok: false, rc: 0x902 }, errors: [...errors, ...errors] }, NOW, 1, 9);
  assert.is(p.errors.length, MAX_ERRORS);
  assert.is(p.errors.at(-1)!.code, 'e.11');
  assert.equal(p.tpm, { ok: false, rc: 0x902 });
  assert.is(p.dr, 9);
  assert.is(statusPayload(TYPICAL, NOW, 1, 0).dr, undefined, 'dr absent when nothing was dropped');
});

test('the CMC decryption key part dk: serial as bytes, times as epoch seconds, the last attempt; absent when not given', () => {
  const p = statusPayload({ ...TYPICAL, dk: { serial: '0A1B2C', notAfter: '2026-05-30T12:00:00Z', renewAt: '2026-04-30T12:00:00Z', result: 'failed', at: NOW, code: 'cmc.pop-failed', until: '2026-03-01T12:10:00Z' } }, NOW, 2);
  assert.equal(Object.keys(p).slice(-1), ['dk']);
  assert.equal({ ...p.dk, serial: Buffer.from(p.dk!.serial!).toString('hex') }, {
    serial: '0a1b2c', notAfter: epochSeconds('2026-05-30T12:00:00Z'), renewAt: epochSeconds('2026-04-30T12:00:00Z'),
    result: 'failed', at: epochSeconds(NOW), code: 'cmc.pop-failed', until: epochSeconds('2026-03-01T12:10:00Z'),
  });
  const back = decodeCbor(encodeCbor(p)) as { dk: { serial: Uint8Array; code: string } };
  assert.is(Buffer.from(back.dk.serial).toString('hex'), '0a1b2c');
  assert.equal(statusPayload({ phase: 'enrolled', tpm: { ok: true }, dk: { result: 'pending', at: NOW } }, NOW, 3).dk, { result: 'pending', at: epochSeconds(NOW) });
  assert.is(statusPayload(TYPICAL, NOW, 1).dk, undefined);
});

test('odd-length and colon hex, unparsable times never throw', () => {
  assert.equal([...hexBytes('a:bc')], [0x0a, 0xbc]);
  assert.equal([...hexBytes('zz')], [0x7a, 0x7a]);
  assert.is(epochSeconds('not a date'), 0);
});

test('event payload: ts, seq, ev, then sanitized fields', () => {
  const fields = sanitizeEventFields({
    serial: '0a1b',
    attempt: 3,
    ok: true,
    at: NOW,
    err: Object.assign(new Error('boom'), { code: 'est.http-503' }),
    raw: new Error('plain'),
    nested: { a: 1 },
    nan: Number.NaN,
    nonce: 'c2VjcmV0',
    password: 'x',
    keyId: 'ldevid-1',
    ts: 5,
    long: 'x'.repeat(1000),
    bytes: new Uint8Array(500),
  });
  assert.equal(Object.keys(fields), ['serial', 'attempt', 'ok', 'at', 'err', 'raw', 'keyId', 'long', 'bytes']);
  assert.is(fields.err, 'est.http-503');
  assert.is(fields.raw, 'internal');
  assert.is(fields.at, 1772366400);
  assert.is((fields.long as string).length, MAX_EVENT_STRING);
  assert.is((fields.bytes as Uint8Array).length, 64);
  const many: Record<string, number> = {};
  for (let i = 0; i < 50; i++) many[`f${i}`] = i;
  assert.is(Object.keys(sanitizeEventFields(many)).length, MAX_EVENT_FIELDS);
  const ev = eventPayload('enroll.issued', sanitizeEventFields({ serial: '0a1b', attempt: 1 }), NOW, 5);
  assert.equal(Object.keys(ev), ['ts', 'seq', 'ev', 'serial', 'attempt']);
  const bytes = encodeCbor(ev);
  assert.equal(cborxDecode(bytes), ev);
  console.log(`  sizes: event {ev:'enroll.issued', serial, attempt} ${bytes.length} B`);
});

test.run();
