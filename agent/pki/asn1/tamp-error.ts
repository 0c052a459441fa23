// RFC 5934 §4.11 TAMPError ::= SEQUENCE {
//   version [0] TAMPVersion DEFAULT v2, msgType OBJECT IDENTIFIER, status StatusCode, msgRef TAMPMsgRef OPTIONAL }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, checkOid, encodeNode, parseDer, readOid, seqChildren } from './der.js';
import { readStatusCode, readVersion, statusCodeNode } from './tamp-fields.js';
import { TAMPMsgRef } from './tamp-msg-ref.js';
import { OID_CT_TAMP_ERROR, type TampStatusCodeName } from './tamp-oids.js';

export class TAMPError {
  static readonly CONTENT_TYPE = OID_CT_TAMP_ERROR;
  msgType: string;
  status: TampStatusCodeName;
  msgRef?: TAMPMsgRef;
  constructor(p: { schema: AsnNode } | { msgType: string; status: TampStatusCodeName; msgRef?: TAMPMsgRef }) {
    if ('schema' in p) {
      const path = 'TAMPError';
      const k = seqChildren(p.schema, path);
      let i = readVersion(k, 0, path);
      this.msgType = readOid(k[i++], `${path}.msgType`);
      this.status = readStatusCode(k[i++], `${path}.status`);
      if (k[i] !== undefined) this.msgRef = new TAMPMsgRef({ schema: k[i++]!, path: `${path}.msgRef` });
      if (i !== k.length) throw new Asn1DecodeError('extra-field', path, 'unexpected elements');
      return;
    }
    checkOid('msgType', p.msgType);
    this.msgType = p.msgType;
    this.status = p.status;
    if (p.msgRef) this.msgRef = p.msgRef;
  }
  static fromDer(der: Bytes): TAMPError {
    return new TAMPError({ schema: parseDer(der, 'TAMPError') });
  }
  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: this.msgType }), statusCodeNode(this.status), ...(this.msgRef ? [this.msgRef.toSchema()] : [])] });
  }
  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
