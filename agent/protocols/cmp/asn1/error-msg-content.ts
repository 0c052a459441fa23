// ErrorMsgContent, RFC 4210 §5.3.21: SEQUENCE { pKIStatusInfo PKIStatusInfo, errorCode INTEGER OPTIONAL, errorDetails PKIFreeText OPTIONAL }
import * as asn1js from 'asn1js';
import { type AsnNode, readBigInt, verifySchema } from '../../../pki/asn1/der.js';
import { PKIStatusInfo } from './pki-status-info.js';
import { freeText, readFreeText } from './tags.js';

export interface ErrorMsgContentParams {
  status: PKIStatusInfo;
  errorCode?: number;
  errorDetails?: string[];
}

export class ErrorMsgContent {
  status: PKIStatusInfo;
  errorCode?: number;
  errorDetails?: string[];

  constructor(params: ErrorMsgContentParams) {
    this.status = params.status;
    if (params.errorCode !== undefined) this.errorCode = params.errorCode;
    if (params.errorDetails) this.errorDetails = params.errorDetails;
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.Sequence({ name: 'pKIStatusInfo' }),
        new asn1js.Integer({ name: 'errorCode', optional: true }),
        new asn1js.Sequence({ name: 'errorDetails', optional: true }),
      ],
    });
  }

  toSchema(): asn1js.Sequence {
    const v: AsnNode[] = [this.status.toSchema()];
    if (this.errorCode !== undefined) v.push(new asn1js.Integer({ value: this.errorCode }));
    if (this.errorDetails?.length) v.push(freeText(this.errorDetails));
    return new asn1js.Sequence({ value: v });
  }

  static fromSchema(node: AsnNode, path = 'ErrorMsgContent'): ErrorMsgContent {
    const m = verifySchema(node, ErrorMsgContent.schema(), path);
    const e = new ErrorMsgContent({ status: PKIStatusInfo.fromSchema(m.pKIStatusInfo, `${path}.pKIStatusInfo`) });
    if (m.errorCode) e.errorCode = Number(readBigInt(m.errorCode, `${path}.errorCode`));
    if (m.errorDetails) e.errorDetails = readFreeText(m.errorDetails, `${path}.errorDetails`);
    return e;
  }
}
