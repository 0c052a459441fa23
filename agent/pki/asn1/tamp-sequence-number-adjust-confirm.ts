// RFC 5934 §4.10 SequenceNumberAdjustConfirm ::= SEQUENCE {
//   version [0] TAMPVersion DEFAULT v2, adjust TAMPMsgRef, status StatusCode }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, encodeNode, parseDer, seqChildren, verifySchema } from './der.js';
import { readStatusCode, readVersion, statusCodeNode } from './tamp-fields.js';
import { TAMPMsgRef } from './tamp-msg-ref.js';
import { versionSchema } from './tamp-schema.js';
import { OID_CT_TAMP_SEQ_NUM_ADJUST_CONFIRM, type TampStatusCodeName } from './tamp-oids.js';

export class SequenceNumberAdjustConfirm {
  static readonly CONTENT_TYPE = OID_CT_TAMP_SEQ_NUM_ADJUST_CONFIRM;
  adjust: TAMPMsgRef;
  status: TampStatusCodeName;
  constructor(p: { adjust: TAMPMsgRef; status: TampStatusCodeName }) {
    this.adjust = p.adjust;
    this.status = p.status;
  }
  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [versionSchema(), new asn1js.Sequence({ name: 'adjust' }), new asn1js.Enumerated({ name: 'status' })] });
  }
  static fromSchema(node: AsnNode, path = 'SequenceNumberAdjustConfirm'): SequenceNumberAdjustConfirm {
    const k = seqChildren(node, path);
    const i = readVersion(k, 0, path);
    const adjust = TAMPMsgRef.fromSchema(k[i]!, `${path}.adjust`);
    const status = readStatusCode(k[i + 1], `${path}.status`);
    if (k.length !== i + 2) throw new Asn1DecodeError('extra-field', path, 'unexpected elements');
    verifySchema(node, SequenceNumberAdjustConfirm.schema(), path);
    return new SequenceNumberAdjustConfirm({ adjust, status });
  }
  static fromDer(der: Bytes): SequenceNumberAdjustConfirm {
    return SequenceNumberAdjustConfirm.fromSchema(parseDer(der, 'SequenceNumberAdjustConfirm'));
  }
  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [this.adjust.toSchema(), statusCodeNode(this.status)] });
  }
  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
