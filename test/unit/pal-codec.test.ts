// PAL model + XML/JSON codecs (RFC 8295 §2.1, §2.1.1, §2.1.2, §2.1.3): fixture tables, round trips, hardening.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import {
  PACKAGE_TYPES,
  PAL_NAMESPACE,
  PackageType,
  PalFormatError,
  PalLimitError,
  formatPalDate,
  packageTypeInfo,
  palFormatOf,
  parsePal,
  parsePalDate,
  parsePalJson,
  parsePalXml,
  serializePal,
  serializePalJson,
  serializePalXml,
  type PalEntry,
} from '../../agent/pal/index.js';
import { EnrolldError } from '../../agent/util/errors.js';

const fixtures = new URL('../../../test/fixtures/pal/', import.meta.url);
const cases = JSON.parse(readFileSync(new URL('cases.json', fixtures), 'utf8')) as {
  valid: Record<string, number>;
  invalid: Record<string, [string, string]>;
};
const load = (name: string): Buffer => readFileSync(new URL(name, fixtures));
const parseFile = (name: string, opts?: { maxBytes?: number; maxEntries?: number }): PalEntry[] =>
  name.endsWith('.xml') ? parsePalXml(load(name), opts) : parsePalJson(load(name), opts);

function expectError(fn: () => unknown, code: string, path?: string): EnrolldError {
  try {
    fn();
  } catch (err) {
    assert.instance(err, EnrolldError);
    const e = err as EnrolldError & { path?: string };
    assert.is(e.code, code, `code for: ${e.message}`);
    if (path !== undefined) assert.is(e.path, path, `path for: ${e.message}`);
    if (path !== undefined) assert.ok(e.message.startsWith(`${path}: `), e.message);
    return e;
  }
  assert.unreachable(`expected ${code}`);
  throw new Error('unreachable');
}

// ---------------------------------------------------------------------------------------------------------------

test('model: Table 1 has every type 0000–0037 with its RFC name', () => {
  const codes = Object.keys(PACKAGE_TYPES);
  assert.equal(codes, Array.from({ length: 38 }, (_, i) => String(i).padStart(4, '0')));
  assert.is(PACKAGE_TYPES['0001'].name, 'Additional PAL value present');
  assert.is(PACKAGE_TYPES['0006'].name, 'Start DS certificate enrollment with CSR attribute');
  assert.is(PACKAGE_TYPES['0022'].name, 'Asymmetric Key Package (PKCS #12)');
  assert.is(PACKAGE_TYPES['0037'].name, 'Sequence Number Adjust Confirm or Error');
  assert.is(PackageType.Firmware, '0026');
  assert.is(packageTypeInfo('0038'), undefined);
  assert.is(packageTypeInfo('toString'), undefined);
  for (const [code, info] of Object.entries(PACKAGE_TYPES)) assert.is(info.code, code);
});

test('model: dates are the 20-character canonical dateTime with Z, ≥ 2013-05-23', () => {
  const d = parsePalDate('2024-02-29T23:59:59Z', 'x');
  assert.is(d.toISOString(), '2024-02-29T23:59:59.000Z');
  assert.is(formatPalDate(d, 'x'), '2024-02-29T23:59:59Z');
  assert.is(formatPalDate(new Date('2020-01-01T00:00:00.999Z'), 'x'), '2020-01-01T00:00:00Z');
  parsePalDate('2013-05-23T00:00:00Z', 'x');
  for (const bad of ['2013-05-22T23:59:59Z', '2023-02-29T00:00:00Z', '2023-04-31T00:00:00Z', '2023-01-01T24:00:00Z', '2023-01-01T00:60:00Z', '2023-1-01T00:00:00Z', ' 2023-01-01T00:00:00Z', '2023-01-01T00:00:00.5Z', '2023-01-01t00:00:00z']) {
    expectError(() => parsePalDate(bad, 'pal.entry[0].date'), 'pal.format.date', 'pal.entry[0].date');
  }
  expectError(() => formatPalDate(new Date('2001-01-01T00:00:00Z'), 'p'), 'pal.format.date', 'p');
});

for (const [name, count] of Object.entries(cases.valid)) {
  test(`valid fixture ${name}`, () => {
    const entries = parseFile(name);
    assert.is(entries.length, count);
  });
}

for (const [name, [code, path]] of Object.entries(cases.invalid)) {
  test(`invalid fixture ${name} → ${code} at ${path}`, () => {
    expectError(() => parseFile(name), code, path);
  });
}

test('every fixture file is in cases.json', () => {
  const listed = new Set([...Object.keys(cases.valid), ...Object.keys(cases.invalid)]);
  for (const f of readdirSync(fixtures)) {
    if (f.endsWith('.xml') || (f.endsWith('.json') && f !== 'cases.json')) assert.ok(listed.has(f), `${f} not in cases.json`);
  }
});

test('XML and JSON fixtures with the same content parse to the same model', () => {
  const x = parseFile('valid-all-info.xml');
  const j = parseFile('valid-all-info.json');
  assert.equal(x, j);
  assert.equal(x[0], {
    type: '0002',
    date: new Date('2017-10-20T12:00:00Z'),
    size: 1524,
    info: { kind: 'uri', uri: 'https://est.example.com/.well-known/est/cacerts' },
  });
  assert.equal(x[1]!.info, { kind: 'dn', dn: 'CN=device-1\\, rack 2,O=Example & Co,C=DE' });
  assert.not.ok('date' in x[1]!);
  assert.equal(x[2]!.info, { kind: 'ski', ski: '0a1b2c3d4e5f60718293a4b5c6d7e8f901234567' });
  // 2^160 - 1: beyond a double, kept exact in both encodings.
  assert.equal(x[3]!.info, { kind: 'iasn', issuer: 'CN=Example Issuing CA,O=Example,C=DE', serial: 2n ** 160n - 1n });
});

test('XML: prefixed namespace, xsi hints, CDATA, +size and the 0001 tail', () => {
  const e = parseFile('valid-prefixed.xml');
  assert.is(e[0]!.size, 42);
  assert.equal(e[1]!.info, { kind: 'uri', uri: 'https://est.example.com/.well-known/est/firmware/return?id=7&x=1' });
  assert.is(e[2]!.type, PackageType.AdditionalPal);
});

test('JSON: the RFC §2.1.3 example (serial 0) is accepted; XML requires a positive serial', () => {
  const e = parseFile('rfc8295-example.json');
  assert.equal(e[1]!.info, { kind: 'iasn', issuer: 'CN=Sean Turner,O=sn3rd,C=US', serial: 0n });
  assert.ok(serializePalJson(e).includes('"serial": 0'));
  expectError(() => serializePalXml(e), 'pal.format.serial', 'pal.entry[1].info.iasn.serial');
});

const sample: PalEntry[] = [
  { type: '0002', date: new Date('2018-01-02T03:04:05Z'), size: 900, info: { kind: 'uri', uri: 'https://est.example.com/.well-known/est/cacerts' } },
  { type: '0005', size: 300, info: { kind: 'uri', uri: 'https://est.example.com/.well-known/est/crls?x=<1>&y="2"' } },
  { type: '0010', size: 0, info: { kind: 'dn', dn: 'CN=Grüße \\<x\\>,O=A\\+B,C=DE' } },
  { type: '0017', size: 0, info: { kind: 'ski', ski: '00ff10ab' } },
  { type: '0011', size: 1, info: { kind: 'iasn', issuer: '2.5.4.3=#0c0143,O=Ex', serial: 123456789012345678901234567890n } },
  { type: '0099', size: 7, info: { kind: 'uri', uri: 'urn:example:unknown' } },
  { type: '0001', size: 0, info: { kind: 'uri', uri: 'https://est.example.com/.well-known/est/pal?p=2' } },
];

test('round trip: serialize → parse equals, both encodings, pretty and compact', () => {
  assert.equal(parsePalXml(serializePalXml(sample)), sample);
  assert.equal(parsePalXml(serializePalXml(sample, { pretty: false, declaration: false })), sample);
  assert.equal(parsePalJson(serializePalJson(sample)), sample);
  assert.equal(parsePalJson(serializePalJson(sample, { space: 0 })), sample);
  assert.equal(parsePalXml(serializePalXml([])), []);
  assert.equal(parsePalJson(serializePalJson([])), []);
  const xml = serializePalXml(sample);
  assert.ok(xml.includes(`<pal xmlns="${PAL_NAMESPACE}">`));
  assert.ok(xml.includes('<ski>00FF10AB</ski>'));
  for (const fmt of ['xml', 'json'] as const) {
    const { body, contentType } = serializePal(sample, fmt);
    assert.equal(parsePal(Buffer.from(body), contentType), sample);
  }
});

test('serializers validate the model (the lab server cannot publish an invalid PAL)', () => {
  const bad = (e: Partial<PalEntry>): PalEntry[] => [{ ...sample[0]!, ...e } as PalEntry];
  expectError(() => serializePalXml(bad({ type: '12' })), 'pal.format.type', 'pal.entry[0].type');
  expectError(() => serializePalJson(bad({ size: -1 })), 'pal.format.size', 'pal.entry[0].size');
  expectError(() => serializePalJson(bad({ size: 1.5 })), 'pal.format.size', 'pal.entry[0].size');
  expectError(() => serializePalXml(bad({ date: new Date('2010-01-01T00:00:00Z') })), 'pal.format.date', 'pal.entry[0].date');
  expectError(() => serializePalJson(bad({ info: { kind: 'ski', ski: 'abc' } })), 'pal.format.ski', 'pal.entry[0].info.ski');
  expectError(() => serializePalJson(bad({ info: {} as never })), 'pal.format.info', 'pal.entry[0].info');
  expectError(() => serializePalJson([sample[6]!]), 'pal.format.chain_alone', 'pal.entry[0]');
  expectError(() => serializePalXml([sample[6]!, sample[0]!]), 'pal.format.chain_not_last', 'pal.entry[0]');
});

test('parsePal picks the codec from Content-Type (or sniffs without one)', () => {
  const xml = load('valid-all-info.xml');
  const json = load('valid-all-info.json');
  assert.is(parsePal(xml, 'application/xml; charset=utf-8').length, 4);
  assert.is(parsePal(xml, 'text/xml').length, 4);
  assert.is(parsePal(json, 'Application/JSON').length, 4);
  assert.is(parsePal(json, undefined).length, 4);
  assert.is(parsePal(xml, undefined).length, 4);
  assert.is(palFormatOf('application/pal+json'), 'json');
  expectError(() => parsePal(json, 'text/plain'), 'pal.format.media_type', 'pal');
});

test('bounded: an oversized body is refused before parsing (bytes and strings)', () => {
  const big = Buffer.alloc(1024 * 1024 + 1, 0x20);
  expectError(() => parsePalXml(big), 'pal.limit.bytes', 'pal');
  expectError(() => parsePalJson(big), 'pal.limit.bytes', 'pal');
  expectError(() => parsePalJson(' '.repeat(2000) + '[]', { maxBytes: 1000 }), 'pal.limit.bytes', 'pal');
  // Multi-byte characters count as bytes, not UTF-16 units.
  expectError(() => parsePalJson('["' + 'é'.repeat(600) + '"]', { maxBytes: 1000 }), 'pal.limit.bytes', 'pal');
  expectError(() => parsePalJson(Buffer.from([0x5b, 0xff, 0x5d])), 'pal.format.encoding', 'pal');
});

function bigPal(n: number, fmt: 'xml' | 'json'): string {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    parts.push(
      fmt === 'xml'
        ? `<message><type>0002</type><size>${i}</size><info><uri>https://est.example.com/c/${i}</uri></info></message>`
        : `{"type":"0002","size":${i},"info":{"uri":"https://est.example.com/c/${i}"}}`,
    );
  }
  return fmt === 'xml' ? `<pal xmlns="${PAL_NAMESPACE}">${parts.join('')}</pal>` : `[${parts.join(',')}]`;
}

test('bounded: a 100000-entry PAL is refused by the entry cap, early', () => {
  for (const fmt of ['xml', 'json'] as const) {
    const body = bigPal(100000, fmt);
    assert.ok(body.length > 5_000_000);
    // Default byte cap refuses it first …
    expectError(() => (fmt === 'xml' ? parsePalXml(body) : parsePalJson(body)), 'pal.limit.bytes', 'pal');
    // … and with the byte cap lifted, the entry cap (default 1000) stops it while scanning.
    const started = performance.now();
    const e = expectError(() => (fmt === 'xml' ? parsePalXml(body, { maxBytes: 64 << 20 }) : parsePalJson(body, { maxBytes: 64 << 20 })), 'pal.limit.entries', 'pal');
    assert.instance(e, PalLimitError);
    assert.is((e as PalLimitError).max, 1000);
    assert.ok(performance.now() - started < 5000);
  }
  // Exactly at the cap is fine.
  assert.is(parsePalJson(bigPal(1000, 'json')).length, 1000);
  assert.is(parsePalXml(bigPal(1000, 'xml')).length, 1000);
  expectError(() => parsePalXml(bigPal(11, 'xml'), { maxEntries: 10 }), 'pal.limit.entries', 'pal');
  expectError(() => parsePalJson(bigPal(11, 'json'), { maxEntries: 10 }), 'pal.limit.entries', 'pal');
});

test('bounded: deep nesting is refused without recursing into it', () => {
  const deepXml = `<pal xmlns="${PAL_NAMESPACE}">${'<message>'.repeat(50000)}`;
  expectError(() => parsePalXml(deepXml), 'pal.limit.depth', 'pal');
  const deepJson = '['.repeat(200000);
  expectError(() => parsePalJson(deepJson), 'pal.limit.depth', 'pal');
  const deepObj = '[' + '{"a":'.repeat(100000);
  expectError(() => parsePalJson(deepObj), 'pal.limit.depth', 'pal');
});

test('XML hardening: DTDs, entity references, control characters', () => {
  const ok = `<pal xmlns="${PAL_NAMESPACE}"><message><type>0010</type><size>0</size><info><dn>CN=a&#x26;b &amp; &#99;</dn></info></message></pal>`;
  assert.equal(parsePalXml(ok)[0]!.info, { kind: 'dn', dn: 'CN=a&b & c' });
  const e = expectError(() => parseFile('invalid-entity-expansion.xml'), 'pal.format.doctype', 'pal');
  assert.instance(e, PalFormatError);
  expectError(() => parsePalXml(`<!DOCTYPE x><pal xmlns="${PAL_NAMESPACE}"/>`), 'pal.format.doctype', 'pal');
  expectError(() => parsePalXml(`<pal xmlns="${PAL_NAMESPACE}"><!ENTITY x "y"></pal>`), 'pal.format.doctype', 'pal');
  expectError(() => parsePalXml(`<pal xmlns="${PAL_NAMESPACE}" a="&x;"/>`), 'pal.format.entity', 'pal');
  expectError(() => parsePalXml(`<pal xmlns="${PAL_NAMESPACE}">&#0;</pal>`), 'pal.format.entity', 'pal');
  expectError(() => parsePalXml(`<pal xmlns="${PAL_NAMESPACE}">\u0001</pal>`), 'pal.format.xml', 'pal');
  expectError(() => parsePalXml(`<pal xmlns="${PAL_NAMESPACE}"/><pal xmlns="${PAL_NAMESPACE}"/>`), 'pal.format.xml', 'pal');
  expectError(() => parsePalXml(`<pal xmlns="${PAL_NAMESPACE}">text</pal>`), 'pal.format.text', 'pal');
  expectError(() => parsePalXml(`<pal xmlns="${PAL_NAMESPACE}"><entry/></pal>`), 'pal.format.element', 'pal.entry[0]');
  expectError(() => parsePalXml(`<x:pal xmlns="${PAL_NAMESPACE}"/>`), 'pal.format.namespace', 'pal');
});

test('type is xsd:string (no whitespace collapse); integer fields collapse whitespace', () => {
  const doc = (type: string, size: string): string =>
    `<pal xmlns="${PAL_NAMESPACE}"><message><type>${type}</type><size>${size}</size><info><uri>https://e.example/x</uri></info></message></pal>`;
  assert.is(parsePalXml(doc('0002', '\n  12\n'))[0]!.size, 12);
  expectError(() => parsePalXml(doc(' 0002', '1')), 'pal.format.type', 'pal.entry[0].type');
  expectError(() => parsePalXml(doc('0002', '1 2')), 'pal.format.size', 'pal.entry[0].size');
  expectError(() => parsePalXml(doc('٠٠٠٢', '1')), 'pal.format.type', 'pal.entry[0].type');
});

test.run();
