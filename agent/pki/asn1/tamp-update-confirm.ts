// RFC 5934 §4.4 TAMPUpdateConfirm ::= SEQUENCE { version [0] TAMPVersion DEFAULT v2, update TAMPMsgRef, confirm UpdateConfirm }
//   UpdateConfirm ::= CHOICE { terseConfirm [0] TerseUpdateConfirm (= StatusCodeList), verboseConfirm [1] VerboseUpdateConfirm }
//   VerboseUpdateConfirm ::= SEQUENCE { status StatusCodeList, taInfo TrustAnchorChoiceList,
//     tampSeqNumbers TAMPSequenceNumbers OPTIONAL, usesApex BOOLEAN DEFAULT TRUE }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, Tag, encodeNode, isContext, isUniversal, parseDer, seqChildren, verifySchema } from './der.js';
import { implicitConstructed, readBoolean, readStatusCodeList, readVersion, statusCodeNode, taggedChildren } from './tamp-fields.js';
import { TAMPMsgRef } from './tamp-msg-ref.js';
import { versionSchema } from './tamp-schema.js';
import { OID_CT_TAMP_UPDATE_CONFIRM, type TampStatusCodeName } from './tamp-oids.js';
import { type TAMPSequenceNumber, type TAMPSequenceNumberFields, asTAMPSequenceNumber, sequenceNumberNodes, sequenceNumbersFromChildren } from './tamp-sequence-number.js';
import { taListFromNode, taListNode } from './tamp-status-response.js';
import type { TrustAnchorChoice } from './trust-anchor-choice.js';

/** `S`: the sequence-number entries (class instances once constructed; their plain fields are accepted). */
export type UpdateConfirm<S extends TAMPSequenceNumberFields = TAMPSequenceNumber> =
  | { kind: 'terse'; status: TampStatusCodeName[] }
  | { kind: 'verbose'; status: TampStatusCodeName[]; taInfo: TrustAnchorChoice[]; tampSeqNumbers?: S[]; usesApex: boolean };

export class TAMPUpdateConfirm {
  static readonly CONTENT_TYPE = OID_CT_TAMP_UPDATE_CONFIRM;
  update: TAMPMsgRef;
  confirm: UpdateConfirm;

  constructor(p: { update: TAMPMsgRef; confirm: UpdateConfirm<TAMPSequenceNumberFields> }) {
    const c = p.confirm;
    this.update = p.update;
    this.confirm = c.kind === 'verbose' && c.tampSeqNumbers ? { ...c, tampSeqNumbers: c.tampSeqNumbers.map(asTAMPSequenceNumber) } : (c as UpdateConfirm);
  }
  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [versionSchema(), new asn1js.Sequence({ name: 'update' }), new asn1js.Any({ name: 'confirm' })] });
  }
  static fromSchema(node: AsnNode, path = 'TAMPUpdateConfirm'): TAMPUpdateConfirm {
    const k = seqChildren(node, path);
    let i = readVersion(k, 0, path);
    const update = TAMPMsgRef.fromSchema(k[i++]!, `${path}.update`);
    const c = k[i++];
    let confirm: UpdateConfirm;
    if (isContext(c, 0, true)) confirm = { kind: 'terse', status: readStatusCodeList(taggedChildren(c, 0, `${path}.terseConfirm`), `${path}.terseConfirm`) };
    else if (isContext(c, 1, true)) {
      const p2 = `${path}.verboseConfirm`;
      const v = taggedChildren(c, 1, p2);
      const conf: UpdateConfirm = { kind: 'verbose', status: readStatusCodeList(seqChildren(v[0], `${p2}.status`), `${p2}.status`), taInfo: taListFromNode(v[1], `${p2}.taInfo`), usesApex: true };
      let j = 2;
      if (isUniversal(v[j], Tag.SEQUENCE)) conf.tampSeqNumbers = sequenceNumbersFromChildren(seqChildren(v[j++], `${p2}.tampSeqNumbers`), `${p2}.tampSeqNumbers`);
      if (isUniversal(v[j], 1)) {
        conf.usesApex = readBoolean(v[j++], `${p2}.usesApex`);
        if (conf.usesApex) throw new Asn1DecodeError('not-der', `${p2}.usesApex`, 'DEFAULT TRUE must be omitted in DER');
      }
      if (j !== v.length) throw new Asn1DecodeError('extra-field', p2, 'unexpected elements');
      confirm = conf;
    } else throw new Asn1DecodeError(c ? 'bad-tag' : 'missing-field', `${path}.confirm`, 'expected [0] or [1]');
    if (i !== k.length) throw new Asn1DecodeError('extra-field', path, 'unexpected elements');
    verifySchema(node, TAMPUpdateConfirm.schema(), path);
    return new TAMPUpdateConfirm({ update, confirm });
  }
  static fromDer(der: Bytes): TAMPUpdateConfirm {
    return TAMPUpdateConfirm.fromSchema(parseDer(der, 'TAMPUpdateConfirm'));
  }
  toSchema(): asn1js.Sequence {
    const c = this.confirm;
    const codes = (s: TampStatusCodeName[]) => s.map(statusCodeNode);
    const node =
      c.kind === 'terse'
        ? implicitConstructed(0, codes(c.status))
        : implicitConstructed(1, [
            new asn1js.Sequence({ value: codes(c.status) }),
            taListNode(c.taInfo),
            ...(c.tampSeqNumbers ? [new asn1js.Sequence({ value: sequenceNumberNodes(c.tampSeqNumbers) })] : []),
            ...(c.usesApex ? [] : [new asn1js.Boolean({ value: false })]),
          ]);
    return new asn1js.Sequence({ value: [this.update.toSchema(), node] });
  }
  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
