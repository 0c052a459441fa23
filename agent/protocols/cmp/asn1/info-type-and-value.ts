// InfoTypeAndValue, RFC 4210 §5.3.19: SEQUENCE { infoType OBJECT IDENTIFIER, infoValue ANY DEFINED BY infoType OPTIONAL }
// GenMsgContent / GenRepContent ::= SEQUENCE OF InfoTypeAndValue.
import * as asn1js from 'asn1js';
import { type AsnNode, readOid, seqChildren, verifySchema } from '../../../pki/asn1/der.js';

export interface InfoTypeAndValueParams {
  infoType: string;
  infoValue?: AsnNode;
}

export class InfoTypeAndValue {
  infoType: string;
  infoValue?: AsnNode;

  constructor(params: InfoTypeAndValueParams) {
    this.infoType = params.infoType;
    if (params.infoValue) this.infoValue = params.infoValue;
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ name: 'infoType' }), new asn1js.Any({ name: 'infoValue', optional: true })] });
  }

  toSchema(): asn1js.Sequence {
    const value: AsnNode[] = [new asn1js.ObjectIdentifier({ value: this.infoType })];
    if (this.infoValue) value.push(this.infoValue);
    return new asn1js.Sequence({ value });
  }

  static fromSchema(node: AsnNode, path = 'InfoTypeAndValue'): InfoTypeAndValue {
    const m = verifySchema(node, InfoTypeAndValue.schema(), path);
    return new InfoTypeAndValue({ infoType: readOid(m.infoType, `${path}.infoType`), infoValue: m.infoValue });
  }
}

/** GenMsgContent/GenRepContent. */
export function genContent(itavs: InfoTypeAndValue[]): asn1js.Sequence {
  return new asn1js.Sequence({ value: itavs.map((i) => i.toSchema()) });
}

export function readGenContent(node: AsnNode, path: string): InfoTypeAndValue[] {
  return seqChildren(node, path).map((k, i) => InfoTypeAndValue.fromSchema(k, `${path}[${i}]`));
}
