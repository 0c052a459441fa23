// ErrorMsgContent, RFC 4210 §5.3.21: SEQUENCE { pKIStatusInfo PKIStatusInfo, errorCode INTEGER OPTIONAL, errorDetails PKIFreeText OPTIONAL }
import * as asn1js from 'asn1js';
import { type AsnNode, Tag, isUniversal, readBigInt, seqChildren } from '../../../pki/asn1/der.js';
import { PKIStatusInfo } from './pki-status-info.js';
import { freeText, readFreeText } from './tags.js';

export class ErrorMsgContent {
  constructor(public status: PKIStatusInfo, public errorCode?: number, public errorDetails?: string[]) {}
  toSchema(): asn1js.Sequence {
    const v: AsnNode[] = [this.status.toSchema()];
    if (this.errorCode !== undefined) v.push(new asn1js.Integer({ value: this.errorCode }));
    if (this.errorDetails?.length) v.push(freeText(this.errorDetails));
    return new asn1js.Sequence({ value: v });
  }
  static fromSchema(node: AsnNode, path = 'ErrorMsgContent'): ErrorMsgContent {
    const f = seqChildren(node, path);
    const e = new ErrorMsgContent(PKIStatusInfo.fromSchema(f[0]!, `${path}.pKIStatusInfo`));
    let i = 1;
    if (isUniversal(f[i], Tag.INTEGER)) e.errorCode = Number(readBigInt(f[i++], `${path}.errorCode`));
    if (f[i]) e.errorDetails = readFreeText(f[i], `${path}.errorDetails`);
    return e;
  }
}
