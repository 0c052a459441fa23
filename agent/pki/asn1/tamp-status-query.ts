// RFC 5934 §4.1 TAMPStatusQuery ::= SEQUENCE {
//   version [0] TAMPVersion DEFAULT v2, terse [1] TerseOrVerbose DEFAULT verbose, query TAMPMsgRef }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, encodeNode, parseDer, seqChildren, verifySchema } from './der.js';
import { terseFields, type TerseOrVerbose } from './tamp-fields.js';
import { TAMPMsgRef } from './tamp-msg-ref.js';
import { readTampHead, tampHeadSchema } from './tamp-schema.js';
import { OID_CT_TAMP_STATUS_QUERY } from './tamp-oids.js';

export class TAMPStatusQuery {
  static readonly CONTENT_TYPE = OID_CT_TAMP_STATUS_QUERY;
  terse: TerseOrVerbose;
  query: TAMPMsgRef;

  constructor(p: { terse?: TerseOrVerbose; query: TAMPMsgRef }) {
    this.terse = p.terse ?? 'verbose';
    this.query = p.query;
  }
  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: tampHeadSchema('query') });
  }
  static fromSchema(node: AsnNode, path = 'TAMPStatusQuery'): TAMPStatusQuery {
    const k = seqChildren(node, path);
    const t = readTampHead(k, path, 'query');
    const query = t.msgRef;
    if (k.length !== t.next) throw new Asn1DecodeError('extra-field', path, 'unexpected elements');
    verifySchema(node, TAMPStatusQuery.schema(), path);
    return new TAMPStatusQuery({ terse: t.terse, query });
  }
  static fromDer(der: Bytes): TAMPStatusQuery {
    return TAMPStatusQuery.fromSchema(parseDer(der, 'TAMPStatusQuery'));
  }
  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [...terseFields(this.terse), this.query.toSchema()] as asn1js.BaseBlock[] });
  }
  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
