// OtherMsg (RFC 5272 §3.2.1.5): SEQUENCE { bodyPartID, otherMsgType OBJECT IDENTIFIER, otherMsgValue ANY }.
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from '../../pki/asn1/errors.js';
import { checkOid, cloneNode, readOid, seqChildren, type AsnNode } from '../../pki/asn1/der.js';
import { bodyPartIdSchema, readBodyPartId } from './body-part-reference.js';

export class OtherMsg {
  constructor(
    readonly bodyPartID: number,
    readonly otherMsgType: string,
    readonly otherMsgValue: AsnNode,
  ) {
    checkOid('otherMsgType', otherMsgType);
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [bodyPartIdSchema(this.bodyPartID), new asn1js.ObjectIdentifier({ value: this.otherMsgType }), this.otherMsgValue as asn1js.BaseBlock],
    });
  }

  static fromSchema(node: AsnNode, path = 'OtherMsg'): OtherMsg {
    const c = seqChildren(node, path);
    if (c.length !== 3) throw new Asn1DecodeError(c.length < 3 ? 'missing-field' : 'extra-field', path, `${c.length} elements, 3 expected`);
    return new OtherMsg(readBodyPartId(c[0], `${path}.bodyPartID`), readOid(c[1], `${path}.otherMsgType`), cloneNode(c[2]!, `${path}.otherMsgValue`));
  }
}
