import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { buildName } from '../../agent/pki/name.js';
import '../../agent/pki/name-equality.js';

const atv = (value: asn1js.AsnType, type = '2.5.4.3'): pkijs.AttributeTypeAndValue => new pkijs.AttributeTypeAndValue({ type, value: value as pkijs.AttributeValueType });

test('printable ASCII values: equal after pkijs stringPrep (case, outer and repeated spaces), else different', () => {
  assert.ok(atv(new asn1js.Utf8String({ value: 'Lab  Issuing CA ' })).isEqual(atv(new asn1js.PrintableString({ value: 'lab issuing ca' }))));
  assert.not.ok(atv(new asn1js.Utf8String({ value: 'lab-ca' })).isEqual(atv(new asn1js.Utf8String({ value: 'labca' }))));
  assert.not.ok(atv(new asn1js.Utf8String({ value: 'device-1' })).isEqual(atv(new asn1js.Utf8String({ value: 'device-2' }))));
  // another attribute type is never equal
  assert.not.ok(atv(new asn1js.Utf8String({ value: 'x' })).isEqual(atv(new asn1js.Utf8String({ value: 'x' }), '2.5.4.10')));
});

test('non-ASCII and non-string values still go through pkijs', () => {
  // canonically equivalent (NFC é vs e + combining acute): equal under collation, as pkijs has it
  assert.ok(atv(new asn1js.Utf8String({ value: 'caf\u00e9' })).isEqual(atv(new asn1js.Utf8String({ value: 'cafe\u0301' }))));
  assert.not.ok(atv(new asn1js.Utf8String({ value: 'caf\u00e9' })).isEqual(atv(new asn1js.Utf8String({ value: 'cafe' }))));
  assert.ok(atv(new asn1js.OctetString({ valueHex: new Uint8Array([1, 2]).buffer })).isEqual(atv(new asn1js.OctetString({ valueHex: new Uint8Array([1, 2]).buffer }))));
  assert.not.ok(atv(new asn1js.Utf8String({ value: 'x' })).isEqual(atv(new asn1js.OctetString({ valueHex: new Uint8Array([0x78]).buffer }))));
});

test('whole names compare attribute by attribute', () => {
  assert.ok(buildName('CN=dev-1,O=Acme').isEqual(buildName('CN=DEV-1,O=acme')));
  assert.not.ok(buildName('CN=dev-1,O=Acme').isEqual(buildName('CN=dev-2,O=Acme')));
});

test.run();
