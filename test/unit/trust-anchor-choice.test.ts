// RFC 5914 §2 TrustAnchorChoice as a PKI.js-style class: each alternative (certificate, tbsCert [1], taInfo [2])
// round-trips byte for byte through toSchema/fromSchema, pyasn1-modules rfc5914 decodes what toDer produces to
// the same fields, and what is not a TrustAnchorChoice is an Asn1DecodeError.
import * as asn1js from 'asn1js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TrustAnchorChoice } from '../../agent/pki/asn1/trust-anchor-choice.js';
import { TrustAnchorInfo } from '../../agent/pki/asn1/trust-anchor-info.js';
import { LabCa } from '../../deploy/lab/ca.js';
import { pyDecodeMany, requirePyasn1 } from '../harness/pydecode.js';
import { throwsDecode } from '../harness/asn1-assert.js';

const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

const ca = await LabCa.create({ name: 'trust anchor choice' });
const spki = new Uint8Array(ca.root.certificate.subjectPublicKeyInfo.toSchema().toBER(false));
const tbs = new Uint8Array((ca.root.certificate.encodeTBS() as asn1js.Sequence).toBER(false));
const subject = new Uint8Array(ca.root.certificate.subject.toSchema().toBER(false));
const choices = [
  TrustAnchorChoice.fromCertificate(ca.root.der),
  new TrustAnchorChoice({ kind: 'tbsCert', der: tbs }),
  new TrustAnchorChoice({ kind: 'taInfo', info: new TrustAnchorInfo({ pubKey: spki, keyId: ca.root.keyId, taTitle: 'lab root', certPath: { taName: subject, certificate: ca.root.der } }) }),
];

test('every alternative: toDer → fromDer → toDer is byte-identical; the tag is the one RFC 5914 §2 gives', () => {
  assert.equal(choices.map((c) => hex(c.toDer().subarray(0, 1))), ['30', 'a1', 'a2']);
  for (const c of choices) {
    const back = TrustAnchorChoice.fromDer(c.toDer());
    assert.instance(back, TrustAnchorChoice);
    assert.is(back.kind, c.kind);
    assert.is(hex(back.toDer()), hex(c.toDer()), c.kind);
    assert.is(hex(TrustAnchorChoice.fromSchema(c.toSchema()).toDer()), hex(c.toDer()));
  }
  assert.is(hex(choices[0]!.certificateDer()!), hex(ca.root.der));
  assert.is(hex(choices[2]!.certificateDer()!), hex(ca.root.der));
  assert.is(choices[1]!.certificateDer(), undefined);
  assert.equal([hex(choices[0]!.spki()!), hex(choices[2]!.spki()!)], [hex(spki), hex(spki)]);
  const t = TrustAnchorChoice.fromDer(choices[1]!.toDer()).value;
  assert.ok(t.kind === 'tbsCert' && hex(t.der) === hex(tbs));
});

test('pyasn1-modules rfc5914 decodes each alternative to the same fields', () => {
  requirePyasn1();
  const [c, t, i] = pyDecodeMany('decode_trust_anchor.py', choices.map((x) => x.toDer()));
  assert.is(c.alternative, 'certificate', JSON.stringify(c));
  assert.is(c.der, hex(ca.root.der));
  assert.is(t.alternative, 'tbsCert', JSON.stringify(t));
  assert.is(t.der, hex(tbs));
  assert.is(t.subject, c.subject);
  assert.is(i.alternative, 'taInfo', JSON.stringify(i));
  assert.equal([i.version, i.pubKey, i.keyId, i.taTitle, i.taName, i.certificate], [1, hex(spki), hex(ca.root.keyId), 'lab root', c.subject, hex(ca.root.der)]);
});

test('refusals: no alternative, a SEQUENCE that is no Certificate, an empty or doubled explicit tag', () => {
  throwsDecode(() => TrustAnchorChoice.fromDer(fromHex('a3020500')), 'bad-tag'); // [3] is no alternative
  throwsDecode(() => TrustAnchorChoice.fromDer(fromHex('0400')), 'bad-tag'); // OCTET STRING
  throwsDecode(() => TrustAnchorChoice.fromDer(fromHex('3003020101')), 'bad-value'); // SEQUENCE, not a Certificate
  throwsDecode(() => TrustAnchorChoice.fromDer(fromHex('a100')), 'malformed'); // [1] holding nothing
  throwsDecode(() => TrustAnchorChoice.fromDer(fromHex('a10430003000')), 'malformed'); // [1] holding two elements
  throwsDecode(() => TrustAnchorChoice.fromDer(fromHex('a1020500')), 'bad-tag'); // [1] holding no TBSCertificate
});

test.run();
