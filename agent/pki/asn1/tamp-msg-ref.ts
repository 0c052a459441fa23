// RFC 5934 §4.1 TAMPMsgRef ::= SEQUENCE { target TargetIdentifier, seqNum SeqNumber }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, encodeNode, parseDer, seqChildren, verifySchema } from './der.js';
import { readSeqNumber, seqNumberNode } from './tamp-fields.js';
import { TargetIdentifier, asTargetIdentifier, type TargetIdentifierFields } from './tamp-target-identifier.js';

export class TAMPMsgRef {
  target: TargetIdentifier;
  seqNum: bigint;

  constructor(p: { target: TargetIdentifier | TargetIdentifierFields; seqNum: bigint }) {
    this.target = asTargetIdentifier(p.target);
    this.seqNum = p.seqNum;
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.Any({ name: 'target' }), new asn1js.Integer({ name: 'seqNum' })] });
  }

  static fromSchema(node: AsnNode, path = 'TAMPMsgRef'): TAMPMsgRef {
    const k = seqChildren(node, path);
    if (k.length !== 2) throw new Asn1DecodeError(k.length < 2 ? 'missing-field' : 'extra-field', path, 'TAMPMsgRef has two fields');
    // the field readers run first so that their errors name the field
    const target = TargetIdentifier.fromSchema(k[0], `${path}.target`);
    const seqNum = readSeqNumber(k[1], `${path}.seqNum`);
    verifySchema(node, TAMPMsgRef.schema(), path);
    return new TAMPMsgRef({ target, seqNum });
  }

  static fromDer(der: Bytes): TAMPMsgRef {
    return TAMPMsgRef.fromSchema(parseDer(der, 'TAMPMsgRef'));
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [this.target.toSchema() as asn1js.BaseBlock, seqNumberNode(this.seqNum)] });
  }

  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
