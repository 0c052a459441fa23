// PKIResponse (RFC 5272 §4.2): the Full PKI Response body, id-cct-PKIResponse, carried in a CMS SignedData whose
// certificates field carries issued certificates.
//   PKIResponse ::= SEQUENCE { controlSequence SEQUENCE OF TaggedAttribute, cmsSequence SEQUENCE OF
//                              TaggedContentInfo, otherMsgSequence SEQUENCE OF OtherMsg }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from '../../pki/asn1/errors.js';
import { encodeNode, parseDer, seqChildren, type AsnNode, type Bytes } from '../../pki/asn1/der.js';
import { OtherMsg } from './other-msg.js';
import { TaggedAttribute } from './tagged-attribute.js';
import { TaggedContentInfo } from './tagged-content-info.js';

export class PKIResponse {
  constructor(
    readonly controlSequence: TaggedAttribute[] = [],
    readonly cmsSequence: TaggedContentInfo[] = [],
    readonly otherMsgSequence: OtherMsg[] = [],
  ) {}

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
    const c = seqChildren(node, path);
    if (c.length !== 3) throw new Asn1DecodeError(c.length < 3 ? 'missing-field' : 'extra-field', path, `${c.length} elements, 3 expected`);
    return new PKIResponse(
      seqChildren(c[0], `${path}.controlSequence`).map((n, i) => TaggedAttribute.fromSchema(n, `${path}.controlSequence[${i}]`)),
      seqChildren(c[1], `${path}.cmsSequence`).map((n, i) => TaggedContentInfo.fromSchema(n, `${path}.cmsSequence[${i}]`)),
      seqChildren(c[2], `${path}.otherMsgSequence`).map((n, i) => OtherMsg.fromSchema(n, `${path}.otherMsgSequence[${i}]`)),
    );
  }

  static fromDer(der: Bytes): PKIResponse {
    return PKIResponse.fromSchema(parseDer(der, 'PKIResponse'));
  }

  controls(type: string): TaggedAttribute[] {
    return this.controlSequence.filter((a) => a.attrType === type);
  }
}
