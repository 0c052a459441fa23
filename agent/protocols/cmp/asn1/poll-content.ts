// PollReqContent / PollRepContent, RFC 4210 §5.3.22:
//   PollReqContent ::= SEQUENCE OF SEQUENCE { certReqId INTEGER }
//   PollRepContent ::= SEQUENCE OF SEQUENCE { certReqId INTEGER, checkAfter INTEGER, reason PKIFreeText OPTIONAL }
import * as asn1js from 'asn1js';
import { type AsnNode, readSmallInt, seqChildren } from '../../../pki/asn1/der.js';
import { freeText, readFreeText } from './tags.js';

export class PollReqContent {
  constructor(public certReqIds: number[]) {}
  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: this.certReqIds.map((id) => new asn1js.Sequence({ value: [new asn1js.Integer({ value: id })] })) });
  }
  static fromSchema(node: AsnNode, path = 'PollReqContent'): PollReqContent {
    return new PollReqContent(seqChildren(node, path).map((k, i) => readSmallInt(seqChildren(k, `${path}[${i}]`)[0], `${path}[${i}].certReqId`, -1, 2 ** 31 - 1)));
  }
}

export interface PollRep {
  certReqId: number;
  /** Seconds. */
  checkAfter: number;
  reason?: string[];
}

export class PollRepContent {
  constructor(public entries: PollRep[]) {}
  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: this.entries.map((e) => {
        const v: AsnNode[] = [new asn1js.Integer({ value: e.certReqId }), new asn1js.Integer({ value: e.checkAfter })];
        if (e.reason?.length) v.push(freeText(e.reason));
        return new asn1js.Sequence({ value: v });
      }),
    });
  }
  static fromSchema(node: AsnNode, path = 'PollRepContent'): PollRepContent {
    return new PollRepContent(seqChildren(node, path).map((k, i) => {
      const f = seqChildren(k, `${path}[${i}]`);
      const e: PollRep = { certReqId: readSmallInt(f[0], `${path}[${i}].certReqId`, -1, 2 ** 31 - 1), checkAfter: readSmallInt(f[1], `${path}[${i}].checkAfter`, 0, 2 ** 31 - 1) };
      if (f[2]) e.reason = readFreeText(f[2], `${path}[${i}].reason`);
      return e;
    }));
  }
}
