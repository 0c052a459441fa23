// PKIData (RFC 5272 §3.2.1): the Full PKI Request body, id-cct-PKIData, carried in a CMS SignedData.
//   PKIData ::= SEQUENCE { controlSequence SEQUENCE OF TaggedAttribute, reqSequence SEQUENCE OF TaggedRequest,
//                          cmsSequence SEQUENCE OF TaggedContentInfo, otherMsgSequence SEQUENCE OF OtherMsg }
import * as asn1js from 'asn1js';
import { encodeNode, parseDer, readSequenceOf, sequenceOfNode, sequenceOfSchema, verifySchema, type Bytes, type AsnNode } from '../../pki/asn1/der.js';
import { OtherMsg } from './other-msg.js';
import { TaggedAttribute } from './tagged-attribute.js';
import { TaggedContentInfo } from './tagged-content-info.js';
import { TaggedCertificationRequest } from './tagged-request.js';

export interface PKIDataParams {
  controlSequence?: TaggedAttribute[];
  reqSequence?: TaggedCertificationRequest[];
  cmsSequence?: TaggedContentInfo[];
  otherMsgSequence?: OtherMsg[];
}

export class PKIData {
  readonly controlSequence: TaggedAttribute[];
  readonly reqSequence: TaggedCertificationRequest[];
  readonly cmsSequence: TaggedContentInfo[];
  readonly otherMsgSequence: OtherMsg[];

  constructor(params: PKIDataParams = {}) {
    this.controlSequence = params.controlSequence ?? [];
    this.reqSequence = params.reqSequence ?? [];
    this.cmsSequence = params.cmsSequence ?? [];
    this.otherMsgSequence = params.otherMsgSequence ?? [];
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [sequenceOfSchema('controlSequence'), sequenceOfSchema('reqSequence'), sequenceOfSchema('cmsSequence'), sequenceOfSchema('otherMsgSequence')],
    });
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [sequenceOfNode(this.controlSequence), sequenceOfNode(this.reqSequence), sequenceOfNode(this.cmsSequence), sequenceOfNode(this.otherMsgSequence)],
    });
  }

  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }

  static fromSchema(node: AsnNode, path = 'PKIData'): PKIData {
    const m = verifySchema(node, PKIData.schema(), path);
    return new PKIData({
      controlSequence: readSequenceOf(m, 'controlSequence', path, TaggedAttribute.fromSchema),
      reqSequence: readSequenceOf(m, 'reqSequence', path, TaggedCertificationRequest.fromSchema),
      cmsSequence: readSequenceOf(m, 'cmsSequence', path, TaggedContentInfo.fromSchema),
      otherMsgSequence: readSequenceOf(m, 'otherMsgSequence', path, OtherMsg.fromSchema),
    });
  }

  static fromDer(der: Bytes): PKIData {
    return PKIData.fromSchema(parseDer(der, 'PKIData'));
  }

  controls(type: string): TaggedAttribute[] {
    return this.controlSequence.filter((a) => a.attrType === type);
  }
}
