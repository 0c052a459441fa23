// RFC 5934 §4.9 SequenceNumberAdjust ::= SEQUENCE { version [0] DEFAULT v2, msgRef TAMPMsgRef }
// and §4.10 SequenceNumberAdjustConfirm ::= SEQUENCE { version [0] DEFAULT v2, adjust TAMPMsgRef, status StatusCode }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type Bytes, encodeNode, parseDer, seqChildren } from './der.js';
import { OID_CT_TAMP_SEQ_NUM_ADJUST, OID_CT_TAMP_SEQ_NUM_ADJUST_CONFIRM } from './tamp-oids.js';
import { msgRefToSchema, readMsgRef, readStatus, readVersionTerse, statusToSchema, type TampMsgRef } from './tamp-msg-ref.js';

export class SequenceNumberAdjust {
  static readonly CONTENT_TYPE = OID_CT_TAMP_SEQ_NUM_ADJUST;
  constructor(readonly msgRef: TampMsgRef) {}
  toDer(): Uint8Array {
    return encodeNode(new asn1js.Sequence({ value: [msgRefToSchema(this.msgRef)] }));
  }
  static fromDer(der: Bytes): SequenceNumberAdjust {
    const p = 'SequenceNumberAdjust';
    const { rest } = readVersionTerse(seqChildren(parseDer(der, p), p), p, false);
    if (rest.length !== 1) throw new Asn1DecodeError('bad-value', p, 'msgRef required');
    return new SequenceNumberAdjust(readMsgRef(rest[0], `${p}.msgRef`));
  }
}

export class SequenceNumberAdjustConfirm {
  static readonly CONTENT_TYPE = OID_CT_TAMP_SEQ_NUM_ADJUST_CONFIRM;
  constructor(readonly adjust: TampMsgRef, readonly status: number) {}
  toDer(): Uint8Array {
    return encodeNode(new asn1js.Sequence({ value: [msgRefToSchema(this.adjust), statusToSchema(this.status)] }));
  }
  static fromDer(der: Bytes): SequenceNumberAdjustConfirm {
    const p = 'SequenceNumberAdjustConfirm';
    const { rest } = readVersionTerse(seqChildren(parseDer(der, p), p), p, false);
    if (rest.length !== 2) throw new Asn1DecodeError('bad-value', p, 'adjust and status required');
    return new SequenceNumberAdjustConfirm(readMsgRef(rest[0], `${p}.adjust`), readStatus(rest[1], `${p}.status`));
  }
}
