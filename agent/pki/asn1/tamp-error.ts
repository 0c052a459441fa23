// RFC 5934 §4.11 TAMPError ::= SEQUENCE { version [0] DEFAULT v2, msgType OBJECT IDENTIFIER, status StatusCode,
//   msgRef TAMPMsgRef OPTIONAL }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type Bytes, encodeNode, parseDer, readOid, seqChildren } from './der.js';
import { OID_CT_TAMP_ERROR } from './tamp-oids.js';
import { msgRefToSchema, readMsgRef, readStatus, readVersionTerse, statusToSchema, type TampMsgRef } from './tamp-msg-ref.js';

export class TampError {
  static readonly CONTENT_TYPE = OID_CT_TAMP_ERROR;
  constructor(readonly msgType: string, readonly status: number, readonly msgRef?: TampMsgRef) {}
  toDer(): Uint8Array {
    return encodeNode(new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: this.msgType }), statusToSchema(this.status), ...(this.msgRef ? [msgRefToSchema(this.msgRef)] : [])] }));
  }
  static fromDer(der: Bytes): TampError {
    const p = 'TAMPError';
    const { rest } = readVersionTerse(seqChildren(parseDer(der, p), p), p, false);
    if (rest.length < 2 || rest.length > 3) throw new Asn1DecodeError('bad-value', p, `expected 2 or 3 elements, got ${rest.length}`);
    return new TampError(readOid(rest[0], `${p}.msgType`), readStatus(rest[1], `${p}.status`), rest[2] ? readMsgRef(rest[2], `${p}.msgRef`) : undefined);
  }
}
