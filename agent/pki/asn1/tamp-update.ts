// RFC 5934 §4.3 TAMPUpdate ::= SEQUENCE {
//   version [0] TAMPVersion DEFAULT v2, terse [1] TerseOrVerbose DEFAULT verbose, msgRef TAMPMsgRef,
//   updates SEQUENCE SIZE (1..MAX) OF TrustAnchorUpdate, tampSeqNumbers [2] TAMPSequenceNumbers OPTIONAL }
// TrustAnchorUpdate: trust-anchor-update.ts; TAMPSequenceNumber: tamp-sequence-number.ts.
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { type AsnNode, type Bytes, encodeNode, isContext, parseDer, seqChildren, verifySchema } from './der.js';
import { implicitConstructed, taggedChildren, terseFields, type TerseOrVerbose } from './tamp-fields.js';
import { TAMPMsgRef } from './tamp-msg-ref.js';
import { readTampHead, tampHeadSchema } from './tamp-schema.js';
import { OID_CT_TAMP_UPDATE } from './tamp-oids.js';
import { type TAMPSequenceNumber, type TAMPSequenceNumberFields, asTAMPSequenceNumber, sequenceNumberNodes, sequenceNumbersFromChildren } from './tamp-sequence-number.js';
import { type TrustAnchorUpdateFields, TrustAnchorUpdate, asTrustAnchorUpdate } from './trust-anchor-update.js';

export class TAMPUpdate {
  static readonly CONTENT_TYPE = OID_CT_TAMP_UPDATE;
  terse: TerseOrVerbose;
  msgRef: TAMPMsgRef;
  updates: TrustAnchorUpdate[];
  tampSeqNumbers?: TAMPSequenceNumber[];

  constructor(p: { terse?: TerseOrVerbose; msgRef: TAMPMsgRef; updates: Array<TrustAnchorUpdate | TrustAnchorUpdateFields>; tampSeqNumbers?: TAMPSequenceNumberFields[] }) {
    if (p.updates.length === 0) throw new Asn1EncodeError('TAMPUpdate needs at least one update');
    this.terse = p.terse ?? 'verbose';
    this.msgRef = p.msgRef;
    this.updates = p.updates.map(asTrustAnchorUpdate);
    if (p.tampSeqNumbers) this.tampSeqNumbers = p.tampSeqNumbers.map(asTAMPSequenceNumber);
  }
  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        ...tampHeadSchema(),
        new asn1js.Sequence({ name: 'updates' }),
        new asn1js.Constructed({ name: 'tampSeqNumbers', optional: true, idBlock: { tagClass: 3, tagNumber: 2 } }),
      ],
    });
  }
  static fromSchema(node: AsnNode, path = 'TAMPUpdate'): TAMPUpdate {
    const k = seqChildren(node, path);
    const t = readTampHead(k, path);
    let i = t.next;
    const msgRef = t.msgRef;
    const ups = seqChildren(k[i++], `${path}.updates`);
    if (ups.length === 0) throw new Asn1DecodeError('constraint', `${path}.updates`, 'at least one TrustAnchorUpdate');
    const updates = ups.map((u, j) => TrustAnchorUpdate.fromSchema(u, `${path}.updates[${j}]`));
    const tampSeqNumbers = isContext(k[i], 2, true) ? sequenceNumbersFromChildren(taggedChildren(k[i++], 2, `${path}.tampSeqNumbers`), `${path}.tampSeqNumbers`) : undefined;
    if (i !== k.length) throw new Asn1DecodeError('extra-field', path, 'unexpected elements');
    verifySchema(node, TAMPUpdate.schema(), path);
    return new TAMPUpdate({ terse: t.terse, msgRef, updates, ...(tampSeqNumbers ? { tampSeqNumbers } : {}) });
  }
  static fromDer(der: Bytes): TAMPUpdate {
    return TAMPUpdate.fromSchema(parseDer(der, 'TAMPUpdate'));
  }
  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        ...terseFields(this.terse),
        this.msgRef.toSchema(),
        new asn1js.Sequence({ value: this.updates.map((u) => u.toSchema()) as asn1js.BaseBlock[] }),
        ...(this.tampSeqNumbers ? [implicitConstructed(2, sequenceNumberNodes(this.tampSeqNumbers))] : []),
      ] as asn1js.BaseBlock[],
    });
  }
  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
