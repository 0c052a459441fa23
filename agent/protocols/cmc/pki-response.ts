// PKIResponse (RFC 5272 §4.2): the Full PKI Response body, id-cct-PKIResponse, carried in a CMS SignedData whose
// certificates field carries issued certificates.
//   PKIResponse ::= SEQUENCE { controlSequence SEQUENCE OF TaggedAttribute, cmsSequence SEQUENCE OF
//                              TaggedContentInfo, otherMsgSequence SEQUENCE OF OtherMsg }
import * as asn1js from 'asn1js';
import { encodeNode, parseDer, readSequenceOf, sequenceOfNode, sequenceOfSchema, verifySchema, type AsnNode, type Bytes } from '../../pki/asn1/der.js';
import { OtherMsg } from './other-msg.js';
import { TaggedAttribute } from './tagged-attribute.js';
import { TaggedContentInfo } from './tagged-content-info.js';

export interface PKIResponseParams {
  controlSequence?: TaggedAttribute[];
  cmsSequence?: TaggedContentInfo[];
  otherMsgSequence?: OtherMsg[];
}

export class PKIResponse {
  readonly controlSequence: TaggedAttribute[];
  readonly cmsSequence: TaggedContentInfo[];
  readonly otherMsgSequence: OtherMsg[];

  constructor(params: PKIResponseParams = {}) {
    this.controlSequence = params.controlSequence ?? [];
    this.cmsSequence = params.cmsSequence ?? [];
    this.otherMsgSequence = params.otherMsgSequence ?? [];
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [sequenceOfSchema('controlSequence'), sequenceOfSchema('cmsSequence'), sequenceOfSchema('otherMsgSequence')],
    });
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [sequenceOfNode(this.controlSequence), sequenceOfNode(this.cmsSequence), sequenceOfNode(this.otherMsgSequence)],
    });
  }

  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }

  static fromSchema(node: AsnNode, path = 'PKIResponse'): PKIResponse {
    const m = verifySchema(node, PKIResponse.schema(), path);
    return new PKIResponse({
      controlSequence: readSequenceOf(m, 'controlSequence', path, TaggedAttribute.fromSchema),
      cmsSequence: readSequenceOf(m, 'cmsSequence', path, TaggedContentInfo.fromSchema),
      otherMsgSequence: readSequenceOf(m, 'otherMsgSequence', path, OtherMsg.fromSchema),
    });
  }

  static fromDer(der: Bytes): PKIResponse {
    return PKIResponse.fromSchema(parseDer(der, 'PKIResponse'));
  }

  controls(type: string): TaggedAttribute[] {
    return this.controlSequence.filter((a) => a.attrType === type);
  }
}
