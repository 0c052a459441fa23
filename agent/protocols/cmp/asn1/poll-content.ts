// PollReqContent / PollRepContent, RFC 4210 §5.3.22:
//   PollReqContent ::= SEQUENCE OF SEQUENCE { certReqId INTEGER }
//   PollRepContent ::= SEQUENCE OF SEQUENCE { certReqId INTEGER, checkAfter INTEGER, reason PKIFreeText OPTIONAL }
import * as asn1js from 'asn1js';
import { type AsnNode, readSmallInt, verifySchema } from '../../../pki/asn1/der.js';
import { freeText, readFreeText } from './tags.js';

export class PollReqContent {
  certReqIds: number[];

  constructor(params: { certReqIds: number[] }) {
    this.certReqIds = params.certReqIds;
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.Repeated({ name: 'entries', value: new asn1js.Sequence() })] });
  }

  /** One element: SEQUENCE { certReqId INTEGER }. */
  static entrySchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.Integer({ name: 'certReqId' })] });
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: this.certReqIds.map((id) => new asn1js.Sequence({ value: [new asn1js.Integer({ value: id })] })) });
  }

  static fromSchema(node: AsnNode, path = 'PollReqContent'): PollReqContent {
    const entries = (verifySchema(node, PollReqContent.schema(), path).entries ?? []) as AsnNode[];
    return new PollReqContent({
      certReqIds: entries.map((k, i) => readSmallInt(verifySchema(k, PollReqContent.entrySchema(), `${path}[${i}]`).certReqId, `${path}[${i}].certReqId`, -1, 2 ** 31 - 1)),
    });
  }
}

export interface PollRep {
  certReqId: number;
  /** Seconds. */
  checkAfter: number;
  reason?: string[];
}

export class PollRepContent {
  entries: PollRep[];

  constructor(params: { entries: PollRep[] }) {
    this.entries = params.entries;
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.Repeated({ name: 'entries', value: new asn1js.Sequence() })] });
  }

  /** One element: SEQUENCE { certReqId INTEGER, checkAfter INTEGER, reason PKIFreeText OPTIONAL }. */
  static entrySchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [new asn1js.Integer({ name: 'certReqId' }), new asn1js.Integer({ name: 'checkAfter' }), new asn1js.Sequence({ name: 'reason', optional: true })],
    });
  }

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
    const entries = (verifySchema(node, PollRepContent.schema(), path).entries ?? []) as AsnNode[];
    return new PollRepContent({
      entries: entries.map((k, i) => {
        const p = `${path}[${i}]`;
        const m = verifySchema(k, PollRepContent.entrySchema(), p);
        const e: PollRep = { certReqId: readSmallInt(m.certReqId, `${p}.certReqId`, -1, 2 ** 31 - 1), checkAfter: readSmallInt(m.checkAfter, `${p}.checkAfter`, 0, 2 ** 31 - 1) };
        if (m.reason) e.reason = readFreeText(m.reason, `${p}.reason`);
        return e;
      }),
    });
  }
}
