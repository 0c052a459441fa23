// RFC 5934 §4.1 TAMPStatusQuery ::= SEQUENCE { version [0] DEFAULT v2, terse [1] DEFAULT verbose, query TAMPMsgRef }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type Bytes, encodeNode, parseDer, seqChildren } from './der.js';
import { OID_CT_TAMP_STATUS_QUERY } from './tamp-oids.js';
import { msgRefToSchema, readMsgRef, readVersionTerse, versionTerseToSchema, type TampMsgRef } from './tamp-msg-ref.js';

export class TampStatusQuery {
  static readonly CONTENT_TYPE = OID_CT_TAMP_STATUS_QUERY;
  constructor(readonly query: TampMsgRef, readonly terse = false) {}
  toDer(): Uint8Array {
    return encodeNode(new asn1js.Sequence({ value: [...versionTerseToSchema(this.terse), msgRefToSchema(this.query)] }));
  }
  static fromDer(der: Bytes): TampStatusQuery {
    const p = 'TAMPStatusQuery';
    const { terse, rest } = readVersionTerse(seqChildren(parseDer(der, p), p), p, true);
    if (rest.length !== 1) throw new Asn1DecodeError('bad-value', p, `expected query, got ${rest.length} elements`);
    return new TampStatusQuery(readMsgRef(rest[0], `${p}.query`), terse);
  }
}
