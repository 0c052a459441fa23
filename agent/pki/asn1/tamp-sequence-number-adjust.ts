// RFC 5934 §4.9 SequenceNumberAdjust ::= SEQUENCE { version [0] TAMPVersion DEFAULT v2, msgRef TAMPMsgRef }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, encodeNode, parseDer, seqChildren } from './der.js';
import { readVersion } from './tamp-fields.js';
import { TAMPMsgRef } from './tamp-msg-ref.js';
import { OID_CT_TAMP_SEQ_NUM_ADJUST } from './tamp-oids.js';

export class SequenceNumberAdjust {
  static readonly CONTENT_TYPE = OID_CT_TAMP_SEQ_NUM_ADJUST;
  msgRef: TAMPMsgRef;
  constructor(p: { schema: AsnNode } | { msgRef: TAMPMsgRef }) {
    if ('schema' in p) {
      const path = 'SequenceNumberAdjust';
      const k = seqChildren(p.schema, path);
      const i = readVersion(k, 0, path);
      this.msgRef = TAMPMsgRef.fromSchema(k[i]!, `${path}.msgRef`);
      if (k.length !== i + 1) throw new Asn1DecodeError('extra-field', path, 'unexpected elements');
      return;
    }
    this.msgRef = p.msgRef;
  }
  static fromDer(der: Bytes): SequenceNumberAdjust {
    return new SequenceNumberAdjust({ schema: parseDer(der, 'SequenceNumberAdjust') });
  }
  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [this.msgRef.toSchema()] });
  }
  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
