// RFC 5934 §4.5 TAMPApexUpdate ::= SEQUENCE {
//   version [0] TAMPVersion DEFAULT v2, terse [1] TerseOrVerbose DEFAULT verbose, msgRef TAMPMsgRef,
//   clearTrustAnchors BOOLEAN, clearCommunities BOOLEAN, seqNumber SeqNumber OPTIONAL, apexTA TrustAnchorChoice }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, Tag, encodeNode, isUniversal, parseDer, seqChildren, verifySchema } from './der.js';
import { readBoolean, readSeqNumber, seqNumberNode, terseFields, type TerseOrVerbose } from './tamp-fields.js';
import { TAMPMsgRef } from './tamp-msg-ref.js';
import { readTampHead, tampHeadSchema } from './tamp-schema.js';
import { OID_CT_TAMP_APEX_UPDATE } from './tamp-oids.js';
import { TrustAnchorChoice } from './trust-anchor-choice.js';

export class TAMPApexUpdate {
  static readonly CONTENT_TYPE = OID_CT_TAMP_APEX_UPDATE;
  terse: TerseOrVerbose;
  msgRef: TAMPMsgRef;
  clearTrustAnchors: boolean;
  clearCommunities: boolean;
  seqNumber?: bigint;
  apexTA: TrustAnchorChoice;

  constructor(p: { terse?: TerseOrVerbose; msgRef: TAMPMsgRef; clearTrustAnchors: boolean; clearCommunities: boolean; seqNumber?: bigint; apexTA: TrustAnchorChoice }) {
    this.terse = p.terse ?? 'verbose';
    this.msgRef = p.msgRef;
    this.clearTrustAnchors = p.clearTrustAnchors;
    this.clearCommunities = p.clearCommunities;
    if (p.seqNumber !== undefined) this.seqNumber = p.seqNumber;
    this.apexTA = p.apexTA;
  }
  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        ...tampHeadSchema(),
        new asn1js.Boolean({ name: 'clearTrustAnchors' }),
        new asn1js.Boolean({ name: 'clearCommunities' }),
        new asn1js.Integer({ name: 'seqNumber', optional: true }),
        new asn1js.Any({ name: 'apexTA' }),
      ],
    });
  }
  static fromSchema(node: AsnNode, path = 'TAMPApexUpdate'): TAMPApexUpdate {
    const k = seqChildren(node, path);
    const { terse, msgRef, next } = readTampHead(k, path);
    let i = next;
    const clearTrustAnchors = readBoolean(k[i++], `${path}.clearTrustAnchors`);
    const clearCommunities = readBoolean(k[i++], `${path}.clearCommunities`);
    const seqNumber = isUniversal(k[i], Tag.INTEGER) ? readSeqNumber(k[i++], `${path}.seqNumber`) : undefined;
    const apexTA = TrustAnchorChoice.fromSchema(k[i++], `${path}.apexTA`);
    if (i !== k.length) throw new Asn1DecodeError('extra-field', path, 'unexpected elements');
    verifySchema(node, TAMPApexUpdate.schema(), path);
    return new TAMPApexUpdate({ terse, msgRef, clearTrustAnchors, clearCommunities, ...(seqNumber !== undefined ? { seqNumber } : {}), apexTA });
  }
  static fromDer(der: Bytes): TAMPApexUpdate {
    return TAMPApexUpdate.fromSchema(parseDer(der, 'TAMPApexUpdate'));
  }
  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        ...terseFields(this.terse),
        this.msgRef.toSchema(),
        new asn1js.Boolean({ value: this.clearTrustAnchors }),
        new asn1js.Boolean({ value: this.clearCommunities }),
        ...(this.seqNumber !== undefined ? [seqNumberNode(this.seqNumber)] : []),
        this.apexTA.toSchema(),
      ] as asn1js.BaseBlock[],
    });
  }
  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
