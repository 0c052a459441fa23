// PKIResponse (RFC 5272 §4.2): the Full PKI Response body, id-cct-PKIResponse, carried in a CMS SignedData whose
// certificates field carries issued certificates.
//   PKIResponse ::= SEQUENCE { controlSequence SEQUENCE OF TaggedAttribute, cmsSequence SEQUENCE OF
//                              TaggedContentInfo, otherMsgSequence SEQUENCE OF OtherMsg }
import * as asn1js from 'asn1js';
import { encodeNode, parseDer, verifySchema, type AsnNode, type Bytes } from '../../pki/asn1/der.js';
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
      value: [
        new asn1js.Sequence({ name: 'controlSequence', value: [new asn1js.Repeated({ name: 'controlSequenceItems', value: new asn1js.Any() })] }),
        new asn1js.Sequence({ name: 'cmsSequence', value: [new asn1js.Repeated({ name: 'cmsSequenceItems', value: new asn1js.Any() })] }),
        new asn1js.Sequence({ name: 'otherMsgSequence', value: [new asn1js.Repeated({ name: 'otherMsgSequenceItems', value: new asn1js.Any() })] }),
      ],
    });
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.Sequence({ value: this.controlSequence.map((a) => a.toSchema()) }),
        new asn1js.Sequence({ value: this.cmsSequence.map((c) => c.toSchema()) }),
        new asn1js.Sequence({ value: this.otherMsgSequence.map((o) => o.toSchema()) }),
      ],
    });
  }

  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }

  static fromSchema(node: AsnNode, path = 'PKIResponse'): PKIResponse {
    const m = verifySchema(node, PKIResponse.schema(), path);
    const items = (name: string): AsnNode[] => (m[`${name}Items`] ?? []) as AsnNode[];
    return new PKIResponse({
      controlSequence: items('controlSequence').map((n, i) => TaggedAttribute.fromSchema(n, `${path}.controlSequence[${i}]`)),
      cmsSequence: items('cmsSequence').map((n, i) => TaggedContentInfo.fromSchema(n, `${path}.cmsSequence[${i}]`)),
      otherMsgSequence: items('otherMsgSequence').map((n, i) => OtherMsg.fromSchema(n, `${path}.otherMsgSequence[${i}]`)),
    });
  }

  static fromDer(der: Bytes): PKIResponse {
    return PKIResponse.fromSchema(parseDer(der, 'PKIResponse'));
  }

  controls(type: string): TaggedAttribute[] {
    return this.controlSequence.filter((a) => a.attrType === type);
  }
}
