// RFC 5934 §4.2 TAMPSequenceNumber ::= SEQUENCE { keyId KeyIdentifier, seqNumber SeqNumber }
//               TAMPSequenceNumbers ::= SEQUENCE SIZE (1..MAX) OF TAMPSequenceNumber
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { type AsnNode, type Bytes, encodeNode, parseDer, readOctets, seqChildren, verifySchema } from './der.js';
import { readSeqNumber, seqNumberNode } from './tamp-fields.js';

/** The fields of a TAMPSequenceNumber, as plain data (constructor parameters). */
export interface TAMPSequenceNumberFields {
  keyId: Uint8Array;
  seqNumber: bigint;
}

export class TAMPSequenceNumber implements TAMPSequenceNumberFields {
  static readonly CLASS_NAME = 'TAMPSequenceNumber';
  keyId: Uint8Array;
  seqNumber: bigint;

  constructor(p: TAMPSequenceNumberFields) {
    this.keyId = p.keyId;
    this.seqNumber = p.seqNumber;
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.OctetString({ name: 'keyId' }), new asn1js.Integer({ name: 'seqNumber' })] });
  }

  static fromSchema(node: AsnNode | undefined, path = TAMPSequenceNumber.CLASS_NAME): TAMPSequenceNumber {
    const k = seqChildren(node, path);
    if (k.length !== 2) throw new Asn1DecodeError('malformed', path, 'TAMPSequenceNumber has two fields');
    // the field readers run first so that their errors name the field
    const keyId = readOctets(k[0], `${path}.keyId`);
    const seqNumber = readSeqNumber(k[1], `${path}.seqNumber`);
    verifySchema(node, TAMPSequenceNumber.schema(), path);
    return new TAMPSequenceNumber({ keyId, seqNumber });
  }

  static fromDer(der: Bytes): TAMPSequenceNumber {
    return TAMPSequenceNumber.fromSchema(parseDer(der, TAMPSequenceNumber.CLASS_NAME));
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: this.keyId }), seqNumberNode(this.seqNumber)] });
  }

  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}

export const asTAMPSequenceNumber = (s: TAMPSequenceNumberFields): TAMPSequenceNumber => (s instanceof TAMPSequenceNumber ? s : new TAMPSequenceNumber(s));

/** The entries of a TAMPSequenceNumbers (SIZE (1..MAX)), from the children of its (possibly re-tagged) SEQUENCE. */
export function sequenceNumbersFromChildren(kids: AsnNode[], path: string): TAMPSequenceNumber[] {
  if (kids.length === 0) throw new Asn1DecodeError('constraint', path, 'TAMPSequenceNumbers needs at least one entry');
  return kids.map((n, i) => TAMPSequenceNumber.fromSchema(n, `${path}[${i}]`));
}

/** The children of a TAMPSequenceNumbers (the caller wraps them in a SEQUENCE or an implicit tag). */
export function sequenceNumberNodes(list: readonly TAMPSequenceNumberFields[]): asn1js.Sequence[] {
  if (list.length === 0) throw new Asn1EncodeError('TAMPSequenceNumbers needs at least one entry');
  return list.map((s) => asTAMPSequenceNumber(s).toSchema());
}
