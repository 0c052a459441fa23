// PKIData (RFC 5272 §3.2.1): the Full PKI Request body, id-cct-PKIData, carried in a CMS SignedData.
//   PKIData ::= SEQUENCE { controlSequence SEQUENCE OF TaggedAttribute, reqSequence SEQUENCE OF TaggedRequest,
//                          cmsSequence SEQUENCE OF TaggedContentInfo, otherMsgSequence SEQUENCE OF OtherMsg }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from '../../pki/asn1/errors.js';
import { encodeNode, parseDer, seqChildren, type Bytes, type AsnNode } from '../../pki/asn1/der.js';
import { OtherMsg } from './other-msg.js';
import { TaggedAttribute } from './tagged-attribute.js';
import { TaggedContentInfo } from './tagged-content-info.js';
import { TaggedCertificationRequest } from './tagged-request.js';

export class PKIData {
  constructor(
    readonly controlSequence: TaggedAttribute[] = [],
    readonly reqSequence: TaggedCertificationRequest[] = [],
    readonly cmsSequence: TaggedContentInfo[] = [],
    readonly otherMsgSequence: OtherMsg[] = [],
  ) {}

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
    const c = seqChildren(node, path);
    if (c.length !== 4) throw new Asn1DecodeError(c.length < 4 ? 'missing-field' : 'extra-field', path, `${c.length} elements, 4 expected`);
    return new PKIData(
      seqChildren(c[0], `${path}.controlSequence`).map((n, i) => TaggedAttribute.fromSchema(n, `${path}.controlSequence[${i}]`)),
      seqChildren(c[1], `${path}.reqSequence`).map((n, i) => TaggedCertificationRequest.fromSchema(n, `${path}.reqSequence[${i}]`)),
      seqChildren(c[2], `${path}.cmsSequence`).map((n, i) => TaggedContentInfo.fromSchema(n, `${path}.cmsSequence[${i}]`)),
      seqChildren(c[3], `${path}.otherMsgSequence`).map((n, i) => OtherMsg.fromSchema(n, `${path}.otherMsgSequence[${i}]`)),
    );
  }

  static fromDer(der: Bytes): PKIData {
    return PKIData.fromSchema(parseDer(der, 'PKIData'));
  }

  controls(type: string): TaggedAttribute[] {
    return this.controlSequence.filter((a) => a.attrType === type);
  }
}
