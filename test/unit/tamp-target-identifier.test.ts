// RFC 5934 §4.1 TargetIdentifier as a PKI.js-style class: every alternative round-trips byte for byte through
// toSchema/fromSchema and toJSON; what toSchema produces is decoded by pyasn1-modules rfc5934 (inside a
// TAMPStatusQuery's TAMPMsgRef, a bare ContentInfo) to the same fields; malformed input is an Asn1DecodeError.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Asn1EncodeError } from '../../agent/pki/asn1/errors.js';
import { createUnsignedContentInfo } from '../../agent/pki/asn1/cms-signed-data-create.js';
import { encodeNode } from '../../agent/pki/asn1/der.js';
import { TAMPMsgRef } from '../../agent/pki/asn1/tamp-msg-ref.js';
import { OID_CT_TAMP_STATUS_QUERY } from '../../agent/pki/asn1/tamp-oids.js';
import { TAMPStatusQuery } from '../../agent/pki/asn1/tamp-status-query.js';
import { TargetIdentifier, targetMatches, type TargetIdentifierFields } from '../../agent/pki/asn1/tamp-target-identifier.js';
import { pyDecodeMany, requirePyasn1 } from '../harness/pydecode.js';
import { throwsDecode } from '../harness/asn1-assert.js';

const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

const all: TargetIdentifierFields[] = [
  { kind: 'allModules' },
  { kind: 'communities', communities: ['1.3.6.1.4.1.99999.1', '1.3.6.1.4.1.99999.2'] },
  { kind: 'communities', communities: [] },
  { kind: 'uri', uri: 'urn:dev:1' },
  { kind: 'hwModules', modules: [{ hwType: '1.3.6.1.4.1.99999.7', serials: [{ single: fromHex('0102') }, { block: { low: fromHex('10'), high: fromHex('20') } }, { all: true }] }, { hwType: '1.2.3', serials: [{ all: true }] }] },
  { kind: 'otherName', typeId: '1.3.6.1.4.1.99999.9', value: fromHex('a0030c0161') },
];


test('every alternative: toSchema → fromSchema → toSchema is byte-identical; fields and toJSON survive', () => {
  for (const f of all) {
    const t = new TargetIdentifier(f);
    const der = t.toDER();
    const back = TargetIdentifier.fromDER(der);
    assert.instance(back, TargetIdentifier);
    assert.is(back.kind, f.kind);
    assert.is(hex(back.toDER()), hex(der), f.kind);
    assert.equal(back.toJSON(), t.toJSON(), f.kind);
    assert.is(hex(encodeNode(TargetIdentifier.fromSchema(t.toSchema()).toSchema())), hex(der));
  }
  // IMPLICIT tags per the module: [3] NULL primitive, [4] IA5String primitive, [1]/[2]/[5] constructed
  assert.is(hex(new TargetIdentifier({ kind: 'allModules' }).toDER()), '8300');
  assert.is(hex(new TargetIdentifier({ kind: 'uri', uri: 'ab' }).toDER()), '84026162');
  assert.is(hex(new TargetIdentifier({ kind: 'communities', communities: ['1.2.3'] }).toDER()), 'a20406022a03');
  assert.equal(new TargetIdentifier(all[4]!).toJSON(), {
    hwModules: [
      { hwType: '1.3.6.1.4.1.99999.7', hwSerialEntries: [{ single: '0102' }, { block: { low: '10', high: '20' } }, { all: null }] },
      { hwType: '1.2.3', hwSerialEntries: [{ all: null }] },
    ],
  });
});

test('fromSchema refuses what the module does not allow, naming the field', () => {
  throwsDecode(() => TargetIdentifier.fromDER(fromHex('a300')), 'bad-tag'); // constructed [3]
  throwsDecode(() => TargetIdentifier.fromDER(fromHex('830100')), 'malformed'); // NULL with content
  throwsDecode(() => TargetIdentifier.fromDER(fromHex('a100')), 'constraint'); // hwModules SIZE (1..MAX)
  throwsDecode(() => TargetIdentifier.fromDER(fromHex('8401ff')), 'bad-value'); // not IA5
  throwsDecode(() => TargetIdentifier.fromDER(fromHex('8600')), 'bad-tag'); // no [6] alternative
  throwsDecode(() => TargetIdentifier.fromDER(fromHex('a106300406022a03')), 'malformed'); // HardwareModules without entries
  assert.throws(() => new TargetIdentifier({ kind: 'hwModules', modules: [] }).toDER(), (e: unknown) => e instanceof Asn1EncodeError);
  assert.throws(() => new TargetIdentifier({ kind: 'uri', uri: 'ü' }).toDER(), (e: unknown) => e instanceof Asn1EncodeError);
});

test('TAMPMsgRef holds a TargetIdentifier (from the class or its fields); matching is unchanged', () => {
  const me = { hwType: '1.3.6.1.4.1.99999.7', hwSerialNum: fromHex('15'), communities: ['1.3.6.1.4.1.99999.2'], uri: 'urn:dev:1' };
  const a = new TAMPMsgRef({ target: all[4]!, seqNum: 3n });
  const b = new TAMPMsgRef({ target: new TargetIdentifier(all[4]!), seqNum: 3n });
  assert.instance(a.target, TargetIdentifier);
  assert.is(hex(a.toDer()), hex(b.toDer()));
  assert.instance(TAMPMsgRef.fromDer(a.toDer()).target, TargetIdentifier);
  assert.is(a.target.matches(me), true); // block 10..20 holds 15
  assert.is(targetMatches(all[4]!, me), true);
  assert.is(targetMatches({ kind: 'hwModules', modules: [{ hwType: me.hwType, serials: [{ single: fromHex('16') }] }] }, me), false);
  assert.is(new TargetIdentifier(all[5]!).matches(me), 'unsupported');
});

test('pyasn1-modules rfc5934 decodes what toSchema produces to the same fields', () => {
  requirePyasn1();
  const ders = all.map((f) => createUnsignedContentInfo(OID_CT_TAMP_STATUS_QUERY, new TAMPStatusQuery({ query: new TAMPMsgRef({ target: f, seqNum: 7n }) }).toDer()));
  const out = pyDecodeMany('decode_cms.py', ders);
  all.forEach((f, i) => {
    const o = out[i];
    assert.is(o.contentType, OID_CT_TAMP_STATUS_QUERY, JSON.stringify(o));
    const target = o.content.value.query.target;
    assert.is(o.content.value.query.seqNum, 7);
    const mine = new TargetIdentifier(f).toJSON() as Record<string, unknown>;
    if (f.kind === 'otherName') {
      assert.is(target.otherName['type-id'], f.typeId);
      assert.is(target.otherName.value, '0c0161'); // the [0] EXPLICIT value's content
      return;
    }
    // pyasn1 prints NULL as "NULL" where toJSON has null
    assert.equal(target, JSON.parse(JSON.stringify(mine).replace(/null/g, '"NULL"')), f.kind);
  });
});

test.run();
