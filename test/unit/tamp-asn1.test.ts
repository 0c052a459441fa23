// RFC 5934 TAMP / RFC 5914 trust-anchor ASN.1 types: DER round trips of every message (encode → decode → encode is
// byte-identical, fields survive), the tagging details checked against hand-written bytes (IMPLICIT module: [0]
// version/[1] terse primitives, DEFAULT values omitted, add [1] explicit around a CHOICE, remove [2] implicit SPKI),
// OIDs and media types against the RFC text, and refusal of malformed input with Asn1DecodeError.
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ApexContingencyKey } from '../../agent/pki/asn1/tamp-apex-contingency-key.js';
import { TAMPApexUpdate } from '../../agent/pki/asn1/tamp-apex-update.js';
import { TAMPApexUpdateConfirm } from '../../agent/pki/asn1/tamp-apex-update-confirm.js';
import { TAMPCommunityUpdate } from '../../agent/pki/asn1/tamp-community-update.js';
import { TAMPCommunityUpdateConfirm } from '../../agent/pki/asn1/tamp-community-update-confirm.js';
import { TAMPError } from '../../agent/pki/asn1/tamp-error.js';
import { TAMPMsgRef } from '../../agent/pki/asn1/tamp-msg-ref.js';
import * as O from '../../agent/pki/asn1/tamp-oids.js';
import { SequenceNumberAdjust } from '../../agent/pki/asn1/tamp-sequence-number-adjust.js';
import { SequenceNumberAdjustConfirm } from '../../agent/pki/asn1/tamp-sequence-number-adjust-confirm.js';
import { TAMPStatusQuery } from '../../agent/pki/asn1/tamp-status-query.js';
import { TAMPStatusResponse } from '../../agent/pki/asn1/tamp-status-response.js';
import { targetMatches, type TargetIdentifierFields } from '../../agent/pki/asn1/tamp-target-identifier.js';
import { TAMPUpdate } from '../../agent/pki/asn1/tamp-update.js';
import { TrustAnchorChangeInfoChoice } from '../../agent/pki/asn1/trust-anchor-change-info-choice.js';
import { TAMPUpdateConfirm } from '../../agent/pki/asn1/tamp-update-confirm.js';
import { TrustAnchorChoice } from '../../agent/pki/asn1/trust-anchor-choice.js';
import { TrustAnchorInfo } from '../../agent/pki/asn1/trust-anchor-info.js';
import { certificateFromDer } from '../../agent/pki/cert.js';
import { LabCa } from '../../deploy/lab/ca.js';
import { throwsDecode } from '../harness/asn1-assert.js';

const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));


const ca = await LabCa.create({ name: 'tamp unit' });
const certDer = ca.root.der;
const cert = new TrustAnchorChoice({ kind: 'certificate', der: certDer, certificate: certificateFromDer(certDer) });
const spki = new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }));
const taInfo = new TrustAnchorChoice({
  kind: 'taInfo',
  info: new TrustAnchorInfo({ pubKey: new Uint8Array(ca.root.certificate.subjectPublicKeyInfo.toSchema().toBER(false)), keyId: ca.root.keyId, taTitle: 'lab root', certPath: { taName: new Uint8Array(ca.root.certificate.subject.toSchema().toBER(false)), certificate: certDer } }),
});
const targets: TargetIdentifierFields[] = [
  { kind: 'allModules' },
  { kind: 'communities', communities: ['1.3.6.1.4.1.99999.1', '1.3.6.1.4.1.99999.2'] },
  { kind: 'uri', uri: 'urn:dev:1' },
  { kind: 'hwModules', modules: [{ hwType: '1.3.6.1.4.1.99999.7', serials: [{ single: fromHex('0102') }, { block: { low: fromHex('10'), high: fromHex('20') } }, { all: true }] }] },
];
const ref = (seq: bigint, t: TargetIdentifierFields = { kind: 'allModules' }): TAMPMsgRef => new TAMPMsgRef({ target: t, seqNum: seq });

test('OIDs and media types match RFC 5934 / RFC 8295', () => {
  assert.is(O.OID_CT_TAMP_STATUS_QUERY, '2.16.840.1.101.2.1.2.77.1');
  assert.is(O.OID_CT_TAMP_ERROR, '2.16.840.1.101.2.1.2.77.9');
  assert.is(O.OID_CT_TAMP_SEQ_NUM_ADJUST, '2.16.840.1.101.2.1.2.77.10');
  assert.is(O.OID_CT_TAMP_SEQ_NUM_ADJUST_CONFIRM, '2.16.840.1.101.2.1.2.77.11');
  assert.is(O.TAMP_MEDIA_TYPES[O.OID_CT_TAMP_APEX_UPDATE_CONFIRM], 'application/tamp-apex-update-confirm');
  assert.is(O.TAMP_MEDIA_TYPES[O.OID_CT_TAMP_SEQ_NUM_ADJUST], 'application/tamp-sequence-adjust');
  assert.is(Object.keys(O.TAMP_MEDIA_TYPES).length, 11);
  assert.is(O.TampStatusCode.seqNumFailure, 21);
  assert.is(O.TampStatusCode.incorrectTarget, 23);
  assert.is(O.TampStatusCode.other, 127);
  assert.equal(Object.keys(O.TAMP_PAL_TYPES), ['0028', '0029', '0030', '0031', '0032', '0033', '0034', '0035', '0036', '0037']);
});

test('TAMPMsgRef: every TargetIdentifier alternative round-trips; tags per the IMPLICIT module', () => {
  for (const t of targets) {
    const der = ref(42n, t).toDer();
    const back = TAMPMsgRef.fromDer(der);
    assert.equal(hex(back.toDer()), hex(der));
    assert.is(back.seqNum, 42n);
    assert.is(back.target.kind, t.kind);
  }
  assert.is(hex(ref(1n).toDer()), '30058300020101'); // allModules [3] NULL implicit: 83 00
  assert.is(hex(ref(9223372036854775807n).toDer()), '300c830002087fffffffffffffff');
  throwsDecode(() => TAMPMsgRef.fromDer(fromHex('30058300020181')), 'constraint'); // negative SeqNumber
  throwsDecode(() => TAMPMsgRef.fromDer(fromHex('3005a300020101')), 'bad-tag'); // constructed [3]
  throwsDecode(() => TAMPMsgRef.fromDer(fromHex('300583000201')), 'malformed'); // truncated
});

test('targetMatches: hwModules single/block/all, communities, uri, otherName unsupported', () => {
  const me = { hwType: '1.3.6.1.4.1.99999.7', hwSerialNum: fromHex('15'), communities: ['1.3.6.1.4.1.99999.2'], uri: 'urn:dev:1' };
  assert.is(targetMatches(targets[0]!, me), true);
  assert.is(targetMatches(targets[1]!, me), true);
  assert.is(targetMatches({ kind: 'communities', communities: ['1.2.3'] }, me), false);
  assert.is(targetMatches(targets[2]!, me), true);
  assert.is(targetMatches(targets[3]!, me), true); // block 10..20 holds 15
  assert.is(targetMatches({ kind: 'hwModules', modules: [{ hwType: me.hwType, serials: [{ single: fromHex('16') }] }] }, me), false);
  assert.is(targetMatches({ kind: 'hwModules', modules: [{ hwType: '1.2.3', serials: [{ all: true }] }] }, me), false);
  assert.is(targetMatches({ kind: 'otherName', typeId: '1.2.3', value: fromHex('a0020500') }, me), 'unsupported');
});

test('TrustAnchorChoice: certificate and taInfo round-trip; taInfo [2] EXPLICIT', () => {
  for (const c of [cert, taInfo]) {
    const der = c.toDer();
    const back = TrustAnchorChoice.fromDer(der);
    assert.is(back.kind, c.kind);
    assert.is(hex(back.toDer()), hex(der));
  }
  const d = taInfo.toDer();
  assert.is(d[0], 0xa2);
  const back = TrustAnchorChoice.fromDer(d).value;
  assert.ok(back.kind === 'taInfo' && back.info.taTitle === 'lab root' && hex(back.info.certPath!.certificate!) === hex(certDer));
  throwsDecode(() => TrustAnchorChoice.fromDer(fromHex('a3020500')), 'bad-tag');
});

test('TAMPStatusQuery / TAMPStatusResponse (terse and verbose) round-trip; DEFAULTs omitted', () => {
  const q = new TAMPStatusQuery({ query: ref(5n) });
  assert.is(hex(q.toDer()), '300730058300020105'); // verbose + v2 omitted
  const qt = TAMPStatusQuery.fromDer(new TAMPStatusQuery({ terse: 'terse', query: ref(5n) }).toDer());
  assert.is(qt.terse, 'terse');
  assert.is(hex(new TAMPStatusQuery({ terse: 'terse', query: ref(5n) }).toDer()), '300a810101300583000201 05'.replace(/ /g, ''));
  // an explicit version [0] v2 is accepted, v1 refused
  assert.is(TAMPStatusQuery.fromDer(fromHex('300a800102300583000201 05'.replace(/ /g, ''))).query.seqNum, 5n);
  throwsDecode(() => TAMPStatusQuery.fromDer(fromHex('300a800101300583000201 05'.replace(/ /g, ''))), 'constraint');
  const terse = new TAMPStatusResponse({ query: ref(5n), response: { kind: 'terse', taKeyIds: [ca.root.keyId], communities: ['1.2.3.4'] } });
  const tb = TAMPStatusResponse.fromDer(terse.toDer());
  assert.is(hex(tb.toDer()), hex(terse.toDer()));
  assert.ok(tb.response.kind === 'terse' && hex(tb.response.taKeyIds[0]!) === hex(ca.root.keyId));
  const verbose = new TAMPStatusResponse({
    query: ref(5n),
    usesApex: false,
    response: { kind: 'verbose', taInfo: [cert, taInfo], communities: ['1.2.3.4'], tampSeqNumbers: [{ keyId: ca.root.keyId, seqNumber: 7n }] },
  });
  const vb = TAMPStatusResponse.fromDer(verbose.toDer());
  assert.is(hex(vb.toDer()), hex(verbose.toDer()));
  assert.is(vb.usesApex, false);
  assert.ok(vb.response.kind === 'verbose' && vb.response.taInfo.length === 2 && vb.response.tampSeqNumbers![0]!.seqNumber === 7n);
});

test('TAMPUpdate (add certificate, add taInfo, remove, change) and TAMPUpdateConfirm round-trip', () => {
  const u = new TAMPUpdate({
    msgRef: ref(3n),
    updates: [{ kind: 'add', ta: cert }, { kind: 'add', ta: taInfo }, { kind: 'remove', pubKey: spki }, { kind: 'change', change: TrustAnchorChangeInfoChoice.taTitleChange(spki, 'renamed') }],
    tampSeqNumbers: [{ keyId: fromHex('0102'), seqNumber: 0n }],
  });
  const der = u.toDer();
  const b = TAMPUpdate.fromDer(der);
  assert.is(hex(b.toDer()), hex(der));
  assert.equal(b.updates.map((x) => x.kind), ['add', 'add', 'remove', 'change']);
  assert.ok(b.updates[2]!.value.kind === 'remove' && hex(b.updates[2]!.value.pubKey) === hex(spki));
  assert.ok(b.updates[3]!.value.kind === 'change' && b.updates[3]!.value.change.form === 'taChange' && b.updates[3]!.value.change.taTitle === 'renamed');
  assert.is(b.tampSeqNumbers![0]!.seqNumber, 0n);
  throwsDecode(() => TAMPUpdate.fromDer(new TAMPUpdate({ msgRef: ref(3n), updates: [{ kind: 'add', ta: cert }] }).toDer().subarray(0, 50)), 'malformed');
  for (const conf of [
    new TAMPUpdateConfirm({ update: ref(3n), confirm: { kind: 'terse', status: ['success', 'trustAnchorNotFound'] } }),
    new TAMPUpdateConfirm({ update: ref(3n), confirm: { kind: 'verbose', status: ['success'], taInfo: [cert], tampSeqNumbers: [{ keyId: fromHex('01'), seqNumber: 9n }], usesApex: false } }),
    new TAMPUpdateConfirm({ update: ref(3n), confirm: { kind: 'verbose', status: ['success'], taInfo: [cert], usesApex: true } }),
  ]) {
    const d = conf.toDer();
    const back = TAMPUpdateConfirm.fromDer(d);
    assert.is(hex(back.toDer()), hex(d));
    assert.equal(back.confirm, { ...conf.confirm, ...(back.confirm.kind === 'verbose' ? { taInfo: back.confirm.taInfo } : {}) });
  }
});

test('TAMPApexUpdate / TAMPApexUpdateConfirm round-trip (terse [0] StatusCode primitive, verbose [1])', () => {
  const a = new TAMPApexUpdate({ msgRef: ref(11n), clearTrustAnchors: true, clearCommunities: false, seqNumber: 100n, apexTA: cert });
  const b = TAMPApexUpdate.fromDer(a.toDer());
  assert.is(hex(b.toDer()), hex(a.toDer()));
  assert.equal([b.clearTrustAnchors, b.clearCommunities, b.seqNumber, b.apexTA.kind], [true, false, 100n, 'certificate']);
  const noSeq = TAMPApexUpdate.fromDer(new TAMPApexUpdate({ terse: 'terse', msgRef: ref(12n), clearTrustAnchors: false, clearCommunities: true, apexTA: taInfo }).toDer());
  assert.equal([noSeq.seqNumber, noSeq.terse, noSeq.apexTA.kind], [undefined, 'terse', 'taInfo']);
  const t = new TAMPApexUpdateConfirm({ apexReplace: ref(11n), apexConfirm: { kind: 'terse', status: 'success' } });
  assert.ok(hex(t.toDer()).endsWith('800100'));
  assert.equal(TAMPApexUpdateConfirm.fromDer(t.toDer()).apexConfirm, { kind: 'terse', status: 'success' });
  const v = new TAMPApexUpdateConfirm({ apexReplace: ref(11n), apexConfirm: { kind: 'verbose', status: 'success', taInfo: [cert], communities: ['1.2.3'], tampSeqNumbers: [{ keyId: fromHex('aa'), seqNumber: 100n }] } });
  const vb = TAMPApexUpdateConfirm.fromDer(v.toDer());
  assert.is(hex(vb.toDer()), hex(v.toDer()));
  assert.ok(vb.apexConfirm.kind === 'verbose' && vb.apexConfirm.communities![0] === '1.2.3');
});

test('TAMPCommunityUpdate / Confirm round-trip; empty CommunityUpdates refused', () => {
  const c = new TAMPCommunityUpdate({ msgRef: ref(4n), updates: { remove: ['1.2.3'], add: ['1.2.4', '1.2.5'] } });
  const b = TAMPCommunityUpdate.fromDer(c.toDer());
  assert.is(hex(b.toDer()), hex(c.toDer()));
  assert.equal(b.updates, { remove: ['1.2.3'], add: ['1.2.4', '1.2.5'] });
  throwsDecode(() => TAMPCommunityUpdate.fromDer(fromHex('3009300583000201043000')), 'missing-field');
  for (const conf of [
    new TAMPCommunityUpdateConfirm({ update: ref(4n), commConfirm: { kind: 'terse', status: 'communityUpdateFailed' } }),
    new TAMPCommunityUpdateConfirm({ update: ref(4n), commConfirm: { kind: 'verbose', status: 'success', communities: ['1.2.4'] } }),
  ]) {
    const back = TAMPCommunityUpdateConfirm.fromDer(conf.toDer());
    assert.is(hex(back.toDer()), hex(conf.toDer()));
    assert.equal(back.commConfirm, conf.commConfirm);
  }
});

test('SequenceNumberAdjust / Confirm and TAMPError round-trip', () => {
  const s = new SequenceNumberAdjust({ msgRef: ref(77n) });
  assert.is(SequenceNumberAdjust.fromDer(s.toDer()).msgRef.seqNum, 77n);
  const sc = new SequenceNumberAdjustConfirm({ adjust: ref(77n), status: 'success' });
  assert.is(hex(SequenceNumberAdjustConfirm.fromDer(sc.toDer()).toDer()), hex(sc.toDer()));
  const e = new TAMPError({ msgType: O.OID_CT_TAMP_UPDATE, status: 'seqNumFailure', msgRef: ref(2n) });
  const eb = TAMPError.fromDer(e.toDer());
  assert.equal([eb.msgType, eb.status, eb.msgRef!.seqNum], [O.OID_CT_TAMP_UPDATE, 'seqNumFailure', 2n]);
  const bare = new TAMPError({ msgType: O.OID_CT_TAMP_STATUS_QUERY, status: 'decodeFailure' });
  assert.is(TAMPError.fromDer(bare.toDer()).msgRef, undefined);
  // unknown StatusCode 99 refused
  throwsDecode(() => TAMPError.fromDer(fromHex('300f060a6086480165020102 4d010a0163'.replace(/ /g, ''))), 'constraint');
});

test('ApexContingencyKey: round trip, empty form (RFC 5934 §9), as an extension', () => {
  const k = new ApexContingencyKey({ wrapAlgorithm: '2.16.840.1.101.3.4.1.48', wrappedContinPubKey: fromHex('0102030405060708') });
  const b = ApexContingencyKey.fromDer(k.toDer());
  assert.equal([b.wrapAlgorithm, hex(b.wrappedContinPubKey!), b.empty], ['2.16.840.1.101.3.4.1.48', '0102030405060708', false]);
  assert.is(hex(b.toDer()), hex(k.toDer()));
  assert.is(ApexContingencyKey.fromDer(fromHex('3000')).empty, true);
  assert.is(k.toExtension().extnID, O.OID_PE_WRAPPED_APEX_CONTIN_KEY);
  throwsDecode(() => ApexContingencyKey.fromDer(fromHex('3003020101')), 'malformed');
});

test.run();
