// RFC 5934 message round trips (each type, terse and verbose forms, every TargetIdentifier alternative) and the
// decoder's refusals (wrong tags, out-of-range sequence numbers, unsupported TA formats) as typed errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from '../../agent/pki/asn1/errors.js';
import type { TargetIdentifier } from '../../agent/pki/asn1/tamp-msg-ref.js';
import { TampStatusQuery } from '../../agent/pki/asn1/tamp-status-query.js';
import { TampStatusResponse } from '../../agent/pki/asn1/tamp-status-response.js';
import { TampUpdate } from '../../agent/pki/asn1/tamp-update.js';
import { TampUpdateConfirm } from '../../agent/pki/asn1/tamp-update-confirm.js';
import { TampApexUpdate } from '../../agent/pki/asn1/tamp-apex-update.js';
import { TampApexUpdateConfirm } from '../../agent/pki/asn1/tamp-apex-update-confirm.js';
import { TampCommunityUpdate } from '../../agent/pki/asn1/tamp-community-update.js';
import { TampCommunityUpdateConfirm } from '../../agent/pki/asn1/tamp-community-update-confirm.js';
import { SequenceNumberAdjust, SequenceNumberAdjustConfirm } from '../../agent/pki/asn1/tamp-sequence-number-adjust.js';
import { TampError } from '../../agent/pki/asn1/tamp-error.js';
import { TampStatus } from '../../agent/pki/asn1/tamp-oids.js';
import { certificateSpki, certificateToDer } from '../../agent/pki/cert.js';
import { LabCa } from '../../deploy/lab/ca.js';

const ca = await LabCa.create({ now: new Date() });
const cert = ca.root.certificate;
const targets: TargetIdentifier[] = [
  { kind: 'allModules' },
  { kind: 'communities', communities: ['1.2.3.4', '1.2.3.5'] },
  { kind: 'hwModules', modules: [{ hwType: '1.3.6.1.4.1.32473.8.1', serials: [{ single: new Uint8Array([1, 2]) }, { all: true }, { low: new Uint8Array([0]), high: new Uint8Array([9]) }] }] },
  { kind: 'uri', uri: 'urn:dev:1' },
];

test('TAMPStatusQuery with every target form, terse and verbose', () => {
  for (const target of targets) {
    for (const terse of [false, true]) {
      const q = TampStatusQuery.fromDer(new TampStatusQuery({ target, seqNum: 42n }, terse).toDer());
      assert.equal(q.query.target, target);
      assert.is(q.query.seqNum, 42n);
      assert.is(q.terse, terse);
    }
  }
});

test('responses and confirms round-trip', () => {
  const ref = { target: { kind: 'allModules' as const }, seqNum: 7n };
  const v = TampStatusResponse.fromDer(new TampStatusResponse(ref, { terse: false, trustAnchors: [cert], communities: ['1.2.3'], seqNumbers: [{ keyId: new Uint8Array([1]), seqNumber: 9n }] }).toDer());
  assert.ok(!v.status.terse && Buffer.from(certificateToDer(v.status.trustAnchors[0]!)).equals(Buffer.from(ca.root.der)));
  assert.equal(!v.status.terse && v.status.seqNumbers, [{ keyId: new Uint8Array([1]), seqNumber: 9n }]);
  const t = TampStatusResponse.fromDer(new TampStatusResponse(ref, { terse: true, taKeyIds: [new Uint8Array([5, 6])] }).toDer());
  assert.equal(t.status.terse && t.status.taKeyIds, [new Uint8Array([5, 6])]);
  assert.equal(TampUpdateConfirm.fromDer(new TampUpdateConfirm(ref, [0, 25]).toDer()).statuses, [0, 25]);
  assert.is(TampUpdateConfirm.fromDer(new TampUpdateConfirm(ref, [0], [cert]).toDer()).trustAnchors?.length, 1);
  assert.is(TampApexUpdateConfirm.fromDer(new TampApexUpdateConfirm(ref, 19).toDer()).status, 19);
  assert.is(TampApexUpdateConfirm.fromDer(new TampApexUpdateConfirm(ref, 0, [cert]).toDer()).trustAnchors?.length, 1);
  assert.equal(TampCommunityUpdateConfirm.fromDer(new TampCommunityUpdateConfirm(ref, 0, ['1.2']).toDer()).communities, ['1.2']);
  assert.is(TampCommunityUpdateConfirm.fromDer(new TampCommunityUpdateConfirm(ref, 24).toDer()).status, 24);
  assert.is(SequenceNumberAdjustConfirm.fromDer(new SequenceNumberAdjustConfirm(ref, 0).toDer()).status, 0);
  const e = TampError.fromDer(new TampError('1.2.840.113549.1.9.16.1.33', TampStatus.seqNumFailure, ref).toDer());
  assert.is(e.status, 21);
  assert.is(e.msgRef?.seqNum, 7n);
});

test('updates round-trip: add (explicit [1]), remove (implicit SPKI [2]); apex, community, sequence adjust', () => {
  const ref = { target: { kind: 'allModules' as const }, seqNum: 3n };
  const spki = certificateSpki(cert);
  const u = TampUpdate.fromDer(new TampUpdate(ref, [{ add: cert }, { remove: spki }]).toDer());
  assert.ok('add' in u.updates[0]!);
  assert.equal('remove' in u.updates[1]! && u.updates[1].remove, spki);
  const a = TampApexUpdate.fromDer(new TampApexUpdate(ref, cert, true, false, 100n).toDer());
  assert.is(a.clearTrustAnchors, true);
  assert.is(a.seqNumber, 100n);
  const c = TampCommunityUpdate.fromDer(new TampCommunityUpdate(ref, ['1.1'], ['2.2']).toDer());
  assert.equal([c.remove, c.add], [['1.1'], ['2.2']]);
  assert.is(SequenceNumberAdjust.fromDer(new SequenceNumberAdjust(ref).toDer()).msgRef.seqNum, 3n);
});

test('refusals are Asn1DecodeErrors: empty updates, negative seqNum, taInfo trust anchors, garbage', () => {
  const empty = new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 3 } }), new asn1js.Integer({ value: 1 })] }), new asn1js.Sequence({ value: [] })] });
  assert.throws(() => TampUpdate.fromDer(new Uint8Array(empty.toBER(false))), (e: unknown) => e instanceof Asn1DecodeError && /SIZE/.test(String((e as Error).message)));
  const neg = new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 3 } }), new asn1js.Integer({ value: -1 })] })] });
  assert.throws(() => TampStatusQuery.fromDer(new Uint8Array(neg.toBER(false))), (e: unknown) => e instanceof Asn1DecodeError);
  const taInfo = new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 3 } }), new asn1js.Integer({ value: 1 })] }), new asn1js.Sequence({ value: [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 1 }, value: [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 2 }, value: [new asn1js.Sequence()] })] })] })] });
  assert.throws(() => TampUpdate.fromDer(new Uint8Array(taInfo.toBER(false))), (e: unknown) => e instanceof Asn1DecodeError && /unsupportedTrustAnchorFormat/.test(String((e as Error).message)));
  assert.throws(() => TampError.fromDer(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])), (e: unknown) => e instanceof Asn1DecodeError);
});

test.run();
