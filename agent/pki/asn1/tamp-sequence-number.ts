// RFC 5934 §4.2 TAMPSequenceNumber ::= SEQUENCE { keyId KeyIdentifier, seqNumber SeqNumber }
//               TAMPSequenceNumbers ::= SEQUENCE SIZE (1..MAX) OF TAMPSequenceNumber
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { type AsnNode, readOctets, seqChildren } from './der.js';
import { readSeqNumber, seqNumberNode } from './tamp-fields.js';

export interface TAMPSequenceNumber {
  keyId: Uint8Array;
  seqNumber: bigint;
}

export function sequenceNumbersFromChildren(kids: AsnNode[], path: string): TAMPSequenceNumber[] {
  if (kids.length === 0) throw new Asn1DecodeError('constraint', path, 'TAMPSequenceNumbers needs at least one entry');
  return kids.map((n, i) => {
    const k = seqChildren(n, `${path}[${i}]`);
    if (k.length !== 2) throw new Asn1DecodeError('malformed', `${path}[${i}]`, 'TAMPSequenceNumber has two fields');
    return { keyId: readOctets(k[0], `${path}[${i}].keyId`), seqNumber: readSeqNumber(k[1], `${path}[${i}].seqNumber`) };
  });
}

export function sequenceNumberNodes(list: readonly TAMPSequenceNumber[]): asn1js.Sequence[] {
  if (list.length === 0) throw new Asn1EncodeError('TAMPSequenceNumbers needs at least one entry');
  return list.map((s) => new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: s.keyId }), seqNumberNode(s.seqNumber)] }));
}
