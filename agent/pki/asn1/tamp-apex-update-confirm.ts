// RFC 5934 §4.6 TAMPApexUpdateConfirm ::= SEQUENCE {
//   version [0] TAMPVersion DEFAULT v2, apexReplace TAMPMsgRef, apexConfirm ApexUpdateConfirm }
//   ApexUpdateConfirm ::= CHOICE { terseApexConfirm [0] TerseApexUpdateConfirm (= StatusCode),
//                                  verboseApexConfirm [1] VerboseApexUpdateConfirm }
//   VerboseApexUpdateConfirm ::= SEQUENCE { status StatusCode, taInfo TrustAnchorChoiceList,
//     communities [0] CommunityIdentifierList OPTIONAL, tampSeqNumbers [1] TAMPSequenceNumbers OPTIONAL }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, encodeNode, isContext, parseDer, seqChildren, verifySchema } from './der.js';
import { implicitConstructed, oidNodes, readOidList, readStatusCode, readTaggedStatusCode, readVersion, statusCodeNode, taggedChildren, taggedStatusCode } from './tamp-fields.js';
import { TAMPMsgRef } from './tamp-msg-ref.js';
import { versionSchema } from './tamp-schema.js';
import { OID_CT_TAMP_APEX_UPDATE_CONFIRM, type TampStatusCodeName } from './tamp-oids.js';
import { type TAMPSequenceNumber, type TAMPSequenceNumberFields, asTAMPSequenceNumber, sequenceNumberNodes, sequenceNumbersFromChildren } from './tamp-sequence-number.js';
import { taListFromNode, taListNode } from './tamp-status-response.js';
import type { TrustAnchorChoice } from './trust-anchor-choice.js';

/** `S`: the sequence-number entries (class instances once constructed; their plain fields are accepted). */
export type ApexUpdateConfirm<S extends TAMPSequenceNumberFields = TAMPSequenceNumber> =
  | { kind: 'terse'; status: TampStatusCodeName }
  | { kind: 'verbose'; status: TampStatusCodeName; taInfo: TrustAnchorChoice[]; communities?: string[]; tampSeqNumbers?: S[] };

export class TAMPApexUpdateConfirm {
  static readonly CONTENT_TYPE = OID_CT_TAMP_APEX_UPDATE_CONFIRM;
  apexReplace: TAMPMsgRef;
  apexConfirm: ApexUpdateConfirm;

  constructor(p: { apexReplace: TAMPMsgRef; apexConfirm: ApexUpdateConfirm<TAMPSequenceNumberFields> }) {
    const c = p.apexConfirm;
    this.apexReplace = p.apexReplace;
    this.apexConfirm = c.kind === 'verbose' && c.tampSeqNumbers ? { ...c, tampSeqNumbers: c.tampSeqNumbers.map(asTAMPSequenceNumber) } : (c as ApexUpdateConfirm);
  }
  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [versionSchema(), new asn1js.Sequence({ name: 'apexReplace' }), new asn1js.Any({ name: 'apexConfirm' })] });
  }
  static fromSchema(node: AsnNode, path = 'TAMPApexUpdateConfirm'): TAMPApexUpdateConfirm {
    const k = seqChildren(node, path);
    let i = readVersion(k, 0, path);
    const apexReplace = TAMPMsgRef.fromSchema(k[i++]!, `${path}.apexReplace`);
    const c = k[i++];
    let apexConfirm: ApexUpdateConfirm;
    if (isContext(c, 0, false)) apexConfirm = { kind: 'terse', status: readTaggedStatusCode(c, 0, `${path}.terseApexConfirm`) };
    else if (isContext(c, 1, true)) {
      const p2 = `${path}.verboseApexConfirm`;
      const v = taggedChildren(c, 1, p2);
      const conf: ApexUpdateConfirm = { kind: 'verbose', status: readStatusCode(v[0], `${p2}.status`), taInfo: taListFromNode(v[1], `${p2}.taInfo`) };
      let j = 2;
      if (isContext(v[j], 0, true)) conf.communities = readOidList(taggedChildren(v[j++], 0, `${p2}.communities`), `${p2}.communities`);
      if (isContext(v[j], 1, true)) conf.tampSeqNumbers = sequenceNumbersFromChildren(taggedChildren(v[j++], 1, `${p2}.tampSeqNumbers`), `${p2}.tampSeqNumbers`);
      if (j !== v.length) throw new Asn1DecodeError('extra-field', p2, 'unexpected elements');
      apexConfirm = conf;
    } else throw new Asn1DecodeError(c ? 'bad-tag' : 'missing-field', `${path}.apexConfirm`, 'expected [0] or [1]');
    if (i !== k.length) throw new Asn1DecodeError('extra-field', path, 'unexpected elements');
    verifySchema(node, TAMPApexUpdateConfirm.schema(), path);
    return new TAMPApexUpdateConfirm({ apexReplace, apexConfirm });
  }
  static fromDer(der: Bytes): TAMPApexUpdateConfirm {
    return TAMPApexUpdateConfirm.fromSchema(parseDer(der, 'TAMPApexUpdateConfirm'));
  }
  toSchema(): asn1js.Sequence {
    const c = this.apexConfirm;
    const node =
      c.kind === 'terse'
        ? taggedStatusCode(0, c.status)
        : implicitConstructed(1, [
            statusCodeNode(c.status),
            taListNode(c.taInfo),
            ...(c.communities ? [implicitConstructed(0, oidNodes(c.communities, 'community'))] : []),
            ...(c.tampSeqNumbers ? [implicitConstructed(1, sequenceNumberNodes(c.tampSeqNumbers))] : []),
          ]);
    return new asn1js.Sequence({ value: [this.apexReplace.toSchema(), node] });
  }
  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
