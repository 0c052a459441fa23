// RFC 5934 §4.2 TAMPSequenceNumber and §4.3 TrustAnchorUpdate / TrustAnchorChangeInfoChoice as ASN.1 classes:
// toSchema → DER → fromSchema round trips (byte-identical, fields survive), the decoders refuse what is not the type
// with Asn1DecodeError, and what toSchema produces inside a TAMPUpdate is decoded by pyasn1-modules rfc5934.
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createUnsignedContentInfo } from '../../agent/pki/asn1/cms-signed-data-create.js';
import { TAMPMsgRef } from '../../agent/pki/asn1/tamp-msg-ref.js';
import { OID_CT_TAMP_UPDATE } from '../../agent/pki/asn1/tamp-oids.js';
import { TAMPSequenceNumber } from '../../agent/pki/asn1/tamp-sequence-number.js';
import { TAMPUpdate } from '../../agent/pki/asn1/tamp-update.js';
import { TrustAnchorChangeInfoChoice } from '../../agent/pki/asn1/trust-anchor-change-info-choice.js';
import { TrustAnchorChoice } from '../../agent/pki/asn1/trust-anchor-choice.js';
import { TrustAnchorUpdate } from '../../agent/pki/asn1/trust-anchor-update.js';
import { certificateFromDer } from '../../agent/pki/cert.js';
import { LabCa } from '../../deploy/lab/ca.js';
import { pyDecodeMany, requirePyasn1 } from '../harness/pydecode.js';
import { throwsDecode } from '../harness/asn1-assert.js';

const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));


const ca = await LabCa.create({ name: 'tamp trust anchor update' });
const cert = new TrustAnchorChoice({ kind: 'certificate', der: ca.root.der, certificate: certificateFromDer(ca.root.der) });
const spki = new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }));
const ref = new TAMPMsgRef({ target: { kind: 'allModules' }, seqNum: 12n });

test('TAMPSequenceNumber: schema/fromSchema/toSchema round trip; hand-written DER; refusals', () => {
  const s = new TAMPSequenceNumber({ keyId: fromHex('0a0b'), seqNumber: 300n });
  assert.is(hex(s.toDer()), '30080402' + '0a0b' + '0202012c');
  const back = TAMPSequenceNumber.fromDer(s.toDer());
  assert.instance(back, TAMPSequenceNumber);
  assert.equal([hex(back.keyId), back.seqNumber], ['0a0b', 300n]);
  assert.is(hex(TAMPSequenceNumber.fromSchema(s.toSchema()).toDer()), hex(s.toDer()));
  throwsDecode(() => TAMPSequenceNumber.fromDer(fromHex('3003040100')), 'malformed'); // seqNumber absent
  throwsDecode(() => TAMPSequenceNumber.fromDer(fromHex('300704000201000500')), 'malformed'); // a third element
  throwsDecode(() => TAMPSequenceNumber.fromDer(fromHex('3006020100020101')), 'bad-tag'); // keyId not an OCTET STRING
  throwsDecode(() => TAMPSequenceNumber.fromDer(fromHex('30050400020180')), 'constraint'); // negative SeqNumber
});

test('TrustAnchorUpdate: add / remove / change round trip through the class; tags as RFC 5934 §4.3 says', () => {
  const title = TrustAnchorChangeInfoChoice.taTitleChange(spki, 'renamed');
  const ups = [new TrustAnchorUpdate({ kind: 'add', ta: cert }), new TrustAnchorUpdate({ kind: 'remove', pubKey: spki }), new TrustAnchorUpdate({ kind: 'change', change: title })];
  const tags = ups.map((u) => hex(u.toDer().subarray(0, 1)));
  assert.equal(tags, ['a1', 'a2', 'a3']); // add [1] explicit around the CHOICE, remove [2] implicit SPKI, change [3] explicit
  assert.is(hex(ups[1]!.toDer().subarray(2)), hex(spki.subarray(2))); // remove: the SPKI contents under [2]
  for (const u of ups) {
    const back = TrustAnchorUpdate.fromDer(u.toDer());
    assert.instance(back, TrustAnchorUpdate);
    assert.is(back.kind, u.kind);
    assert.is(hex(back.toDer()), hex(u.toDer()));
  }
  const ch = TrustAnchorUpdate.fromDer(ups[2]!.toDer()).value;
  assert.ok(ch.kind === 'change' && ch.change instanceof TrustAnchorChangeInfoChoice && ch.change.form === 'taChange' && ch.change.taTitle === 'renamed' && hex(ch.change.pubKey) === hex(spki));
  const rm = TrustAnchorUpdate.fromDer(ups[1]!.toDer()).value;
  assert.ok(rm.kind === 'remove' && hex(rm.pubKey) === hex(spki));
  throwsDecode(() => TrustAnchorUpdate.fromDer(fromHex('a403020100')), 'bad-tag'); // [4] is no alternative
  throwsDecode(() => TrustAnchorUpdate.fromDer(fromHex('a2023000')), 'bad-tag'); // remove without a BIT STRING
  throwsDecode(() => TrustAnchorChangeInfoChoice.fromDer(fromHex('a2020500')), 'bad-tag');
});

test('pyasn1-modules rfc5934 decodes a TAMPUpdate built from the classes to the same fields', () => {
  requirePyasn1();
  const u = new TAMPUpdate({
    msgRef: ref,
    updates: [{ kind: 'add', ta: cert }, { kind: 'remove', pubKey: spki }, { kind: 'change', change: TrustAnchorChangeInfoChoice.taTitleChange(spki, 'renamed') }],
    tampSeqNumbers: [new TAMPSequenceNumber({ keyId: ca.root.keyId, seqNumber: 5n }), { keyId: fromHex('0102'), seqNumber: 4294967297n }],
  });
  assert.ok(u.updates.every((x) => x instanceof TrustAnchorUpdate) && u.tampSeqNumbers!.every((x) => x instanceof TAMPSequenceNumber));
  const der = u.toDer();
  const [o] = pyDecodeMany('decode_cms.py', [createUnsignedContentInfo(OID_CT_TAMP_UPDATE, der)]);
  assert.is(o.contentType, OID_CT_TAMP_UPDATE, JSON.stringify(o));
  const v = o.content.value;
  assert.is(v.msgRef.seqNum, 12);
  assert.equal(v.updates.map((x: Record<string, unknown>) => Object.keys(x)[0]), ['add', 'remove', 'change'], JSON.stringify(v.updates));
  assert.equal(v.tampSeqNumbers.map((s: { keyId: string; seqNumber: number | string }) => [s.keyId, String(s.seqNumber)]), [[hex(ca.root.keyId), '5'], ['0102', '4294967297']]);
  assert.is(v.updates[2].change.taChange.taTitle, 'renamed', JSON.stringify(v.updates[2]));
  const back = TAMPUpdate.fromDer(der);
  assert.is(hex(back.toDer()), hex(der));
  assert.equal(back.tampSeqNumbers!.map((s) => s.seqNumber), [5n, 4294967297n]);
});

test.run();
