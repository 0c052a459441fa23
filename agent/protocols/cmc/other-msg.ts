// OtherMsg (RFC 5272 §3.2.1.4): SEQUENCE { bodyPartID, otherMsgType OBJECT IDENTIFIER, otherMsgValue ANY }.
import * as asn1js from 'asn1js';
import { checkOid, cloneNode, readOid, verifySchema, type AsnNode } from '../../pki/asn1/der.js';
import { bodyPartIdSchema, readBodyPartId } from './body-part-reference.js';

export interface OtherMsgParams {
  bodyPartID: number;
  otherMsgType: string;
  otherMsgValue: AsnNode;
}

export class OtherMsg {
  readonly bodyPartID: number;
  readonly otherMsgType: string;
  readonly otherMsgValue: AsnNode;

  constructor(params: OtherMsgParams) {
    checkOid('otherMsgType', params.otherMsgType);
    this.bodyPartID = params.bodyPartID;
    this.otherMsgType = params.otherMsgType;
    this.otherMsgValue = params.otherMsgValue;
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.Integer({ name: 'bodyPartID' }), new asn1js.ObjectIdentifier({ name: 'otherMsgType' }), new asn1js.Any({ name: 'otherMsgValue' })] });
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [bodyPartIdSchema(this.bodyPartID), new asn1js.ObjectIdentifier({ value: this.otherMsgType }), this.otherMsgValue as asn1js.BaseBlock],
    });
  }

  static fromSchema(node: AsnNode, path = 'OtherMsg'): OtherMsg {
    const m = verifySchema(node, OtherMsg.schema(), path);
    return new OtherMsg({
      bodyPartID: readBodyPartId(m.bodyPartID, `${path}.bodyPartID`),
      otherMsgType: readOid(m.otherMsgType, `${path}.otherMsgType`),
      otherMsgValue: cloneNode(m.otherMsgValue, `${path}.otherMsgValue`),
    });
  }
}
