// PKIData (RFC 5272 §3.2.1): the Full PKI Request body, id-cct-PKIData, carried in a CMS SignedData.
//   PKIData ::= SEQUENCE { controlSequence SEQUENCE OF TaggedAttribute, reqSequence SEQUENCE OF TaggedRequest,
//                          cmsSequence SEQUENCE OF TaggedContentInfo, otherMsgSequence SEQUENCE OF OtherMsg }
import * as asn1js from 'asn1js';
import { encodeNode, parseDer, verifySchema, type Bytes, type AsnNode } from '../../pki/asn1/der.js';
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
      value: [
        new asn1js.Sequence({ name: 'controlSequence', value: [new asn1js.Repeated({ name: 'controlSequenceItems', value: new asn1js.Any() })] }),
        new asn1js.Sequence({ name: 'reqSequence', value: [new asn1js.Repeated({ name: 'reqSequenceItems', value: new asn1js.Any() })] }),
        new asn1js.Sequence({ name: 'cmsSequence', value: [new asn1js.Repeated({ name: 'cmsSequenceItems', value: new asn1js.Any() })] }),
        new asn1js.Sequence({ name: 'otherMsgSequence', value: [new asn1js.Repeated({ name: 'otherMsgSequenceItems', value: new asn1js.Any() })] }),
      ],
    });
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.Sequence({ value: this.controlSequence.map((a) => a.toSchema()) }),
        new asn1js.Sequence({ value: this.reqSequence.map((r) => r.toSchema()) }),
        new asn1js.Sequence({ value: this.cmsSequence.map((c) => c.toSchema()) }),
        new asn1js.Sequence({ value: this.otherMsgSequence.map((o) => o.toSchema()) }),
      ],
    });
  }

  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }

  static fromSchema(node: AsnNode, path = 'PKIData'): PKIData {
    const m = verifySchema(node, PKIData.schema(), path);
    const items = (name: string): AsnNode[] => (m[`${name}Items`] ?? []) as AsnNode[];
    return new PKIData({
      controlSequence: items('controlSequence').map((n, i) => TaggedAttribute.fromSchema(n, `${path}.controlSequence[${i}]`)),
      reqSequence: items('reqSequence').map((n, i) => TaggedCertificationRequest.fromSchema(n, `${path}.reqSequence[${i}]`)),
      cmsSequence: items('cmsSequence').map((n, i) => TaggedContentInfo.fromSchema(n, `${path}.cmsSequence[${i}]`)),
      otherMsgSequence: items('otherMsgSequence').map((n, i) => OtherMsg.fromSchema(n, `${path}.otherMsgSequence[${i}]`)),
    });
  }

  static fromDer(der: Bytes): PKIData {
    return PKIData.fromSchema(parseDer(der, 'PKIData'));
  }

  controls(type: string): TaggedAttribute[] {
    return this.controlSequence.filter((a) => a.attrType === type);
  }
}
