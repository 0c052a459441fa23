// RFC 5934 §4.1 TAMPStatusQuery ::= SEQUENCE {
//   version [0] TAMPVersion DEFAULT v2, terse [1] TerseOrVerbose DEFAULT verbose, query TAMPMsgRef }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, encodeNode, parseDer, seqChildren } from './der.js';
import { readTerse, readVersion, terseFields, type TerseOrVerbose } from './tamp-fields.js';
import { TAMPMsgRef } from './tamp-msg-ref.js';
import { OID_CT_TAMP_STATUS_QUERY } from './tamp-oids.js';

export class TAMPStatusQuery {
  static readonly CONTENT_TYPE = OID_CT_TAMP_STATUS_QUERY;
  terse: TerseOrVerbose;
  query: TAMPMsgRef;

  constructor(p: { schema: AsnNode } | { terse?: TerseOrVerbose; query: TAMPMsgRef }) {
    if ('schema' in p) {
      const path = 'TAMPStatusQuery';
      const k = seqChildren(p.schema, path);
      const t = readTerse(k, readVersion(k, 0, path), path);
      this.terse = t.terse;
      this.query = new TAMPMsgRef({ schema: k[t.next]!, path: `${path}.query` });
      if (k.length !== t.next + 1) throw new Asn1DecodeError('extra-field', path, 'unexpected elements');
      return;
    }
    this.terse = p.terse ?? 'verbose';
    this.query = p.query;
  }
  static fromDer(der: Bytes): TAMPStatusQuery {
    return new TAMPStatusQuery({ schema: parseDer(der, 'TAMPStatusQuery') });
  }
  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [...terseFields(this.terse), this.query.toSchema()] as asn1js.BaseBlock[] });
  }
  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
