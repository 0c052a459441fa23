// RFC 5934 §4.1 TAMPMsgRef ::= SEQUENCE { target TargetIdentifier, seqNum SeqNumber }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, encodeNode, parseDer, seqChildren } from './der.js';
import { readSeqNumber, seqNumberNode } from './tamp-fields.js';
import { type TargetIdentifier, targetIdentifierFromNode, targetIdentifierToSchema } from './tamp-target-identifier.js';

export class TAMPMsgRef {
  target: TargetIdentifier;
  seqNum: bigint;

  constructor(p: { schema: AsnNode; path?: string } | { target: TargetIdentifier; seqNum: bigint }) {
    if ('schema' in p) {
      const path = p.path ?? 'TAMPMsgRef';
      const k = seqChildren(p.schema, path);
      if (k.length !== 2) throw new Asn1DecodeError(k.length < 2 ? 'missing-field' : 'extra-field', path, 'TAMPMsgRef has two fields');
      this.target = targetIdentifierFromNode(k[0], `${path}.target`);
      this.seqNum = readSeqNumber(k[1], `${path}.seqNum`);
      return;
    }
    this.target = p.target;
    this.seqNum = p.seqNum;
  }

  static fromDer(der: Bytes): TAMPMsgRef {
    return new TAMPMsgRef({ schema: parseDer(der, 'TAMPMsgRef') });
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [targetIdentifierToSchema(this.target) as asn1js.BaseBlock, seqNumberNode(this.seqNum)] });
  }

  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
