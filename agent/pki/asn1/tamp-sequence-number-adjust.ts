// RFC 5934 §4.9 SequenceNumberAdjust ::= SEQUENCE { version [0] TAMPVersion DEFAULT v2, msgRef TAMPMsgRef }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, encodeNode, parseDer, seqChildren, verifySchema } from './der.js';
import { readVersion } from './tamp-fields.js';
import { TAMPMsgRef } from './tamp-msg-ref.js';
import { versionSchema } from './tamp-schema.js';
import { OID_CT_TAMP_SEQ_NUM_ADJUST } from './tamp-oids.js';

export class SequenceNumberAdjust {
  static readonly CONTENT_TYPE = OID_CT_TAMP_SEQ_NUM_ADJUST;
  msgRef: TAMPMsgRef;
  constructor(p: { msgRef: TAMPMsgRef }) {
    this.msgRef = p.msgRef;
  }
  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [versionSchema(), new asn1js.Sequence({ name: 'msgRef' })] });
  }
  static fromSchema(node: AsnNode, path = 'SequenceNumberAdjust'): SequenceNumberAdjust {
    const k = seqChildren(node, path);
    const i = readVersion(k, 0, path);
    const msgRef = TAMPMsgRef.fromSchema(k[i]!, `${path}.msgRef`);
    if (k.length !== i + 1) throw new Asn1DecodeError('extra-field', path, 'unexpected elements');
    verifySchema(node, SequenceNumberAdjust.schema(), path);
    return new SequenceNumberAdjust({ msgRef });
  }
  static fromDer(der: Bytes): SequenceNumberAdjust {
    return SequenceNumberAdjust.fromSchema(parseDer(der, 'SequenceNumberAdjust'));
  }
  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [this.msgRef.toSchema()] });
  }
  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
