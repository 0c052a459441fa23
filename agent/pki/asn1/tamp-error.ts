// RFC 5934 §4.11 TAMPError ::= SEQUENCE {
//   version [0] TAMPVersion DEFAULT v2, msgType OBJECT IDENTIFIER, status StatusCode, msgRef TAMPMsgRef OPTIONAL }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, checkOid, encodeNode, parseDer, readOid, seqChildren, verifySchema } from './der.js';
import { readStatusCode, readVersion, statusCodeNode } from './tamp-fields.js';
import { TAMPMsgRef } from './tamp-msg-ref.js';
import { versionSchema } from './tamp-schema.js';
import { OID_CT_TAMP_ERROR, type TampStatusCodeName } from './tamp-oids.js';

export class TAMPError {
  static readonly CONTENT_TYPE = OID_CT_TAMP_ERROR;
  msgType: string;
  status: TampStatusCodeName;
  msgRef?: TAMPMsgRef;
  constructor(p: { msgType: string; status: TampStatusCodeName; msgRef?: TAMPMsgRef }) {
    checkOid('msgType', p.msgType);
    this.msgType = p.msgType;
    this.status = p.status;
    if (p.msgRef) this.msgRef = p.msgRef;
  }
  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [versionSchema(), new asn1js.ObjectIdentifier({ name: 'msgType' }), new asn1js.Enumerated({ name: 'status' }), new asn1js.Sequence({ name: 'msgRef', optional: true })],
    });
  }
  static fromSchema(node: AsnNode, path = 'TAMPError'): TAMPError {
    const k = seqChildren(node, path);
    let i = readVersion(k, 0, path);
    const msgType = readOid(k[i++], `${path}.msgType`);
    const status = readStatusCode(k[i++], `${path}.status`);
    const msgRef = k[i] !== undefined ? TAMPMsgRef.fromSchema(k[i++]!, `${path}.msgRef`) : undefined;
    if (i !== k.length) throw new Asn1DecodeError('extra-field', path, 'unexpected elements');
    verifySchema(node, TAMPError.schema(), path);
    return new TAMPError({ msgType, status, ...(msgRef ? { msgRef } : {}) });
  }
  static fromDer(der: Bytes): TAMPError {
    return TAMPError.fromSchema(parseDer(der, 'TAMPError'));
  }
  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: this.msgType }), statusCodeNode(this.status), ...(this.msgRef ? [this.msgRef.toSchema()] : [])] });
  }
  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
