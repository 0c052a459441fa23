// InfoTypeAndValue, RFC 4210 §5.3.19: SEQUENCE { infoType OBJECT IDENTIFIER, infoValue ANY DEFINED BY infoType OPTIONAL }
// GenMsgContent / GenRepContent ::= SEQUENCE OF InfoTypeAndValue.
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from '../../../pki/asn1/errors.js';
import { type AsnNode, readOid, seqChildren } from '../../../pki/asn1/der.js';

export class InfoTypeAndValue {
  constructor(public infoType: string, public infoValue?: AsnNode) {}

  toSchema(): asn1js.Sequence {
    const value: AsnNode[] = [new asn1js.ObjectIdentifier({ value: this.infoType })];
    if (this.infoValue) value.push(this.infoValue);
    return new asn1js.Sequence({ value });
  }

  static fromSchema(node: AsnNode, path = 'InfoTypeAndValue'): InfoTypeAndValue {
    const kids = seqChildren(node, path);
    if (kids.length > 2) throw new Asn1DecodeError('extra-field', `${path}[2]`, 'unexpected element');
    return new InfoTypeAndValue(readOid(kids[0], `${path}.infoType`), kids[1]);
  }
}

/** GenMsgContent/GenRepContent. */
export function genContent(itavs: InfoTypeAndValue[]): asn1js.Sequence {
  return new asn1js.Sequence({ value: itavs.map((i) => i.toSchema()) });
}

export function readGenContent(node: AsnNode, path: string): InfoTypeAndValue[] {
  return seqChildren(node, path).map((k, i) => InfoTypeAndValue.fromSchema(k, `${path}[${i}]`));
}
