// TaggedAttribute (RFC 5272 §3.2.1.2.1): a control — bodyPartID, attrType, SET OF values.
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from '../../pki/asn1/errors.js';
import { checkOid, cloneNode, readOid, seqChildren, Tag, type AsnNode } from '../../pki/asn1/der.js';
import { bodyPartIdSchema, readBodyPartId } from './body-part-reference.js';

export class TaggedAttribute {
  constructor(
    readonly bodyPartID: number,
    readonly attrType: string,
    readonly attrValues: AsnNode[],
  ) {
    checkOid('attrType', attrType);
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [bodyPartIdSchema(this.bodyPartID), new asn1js.ObjectIdentifier({ value: this.attrType }), new asn1js.Set({ value: this.attrValues as asn1js.BaseBlock[] })],
    });
  }

  static fromSchema(node: AsnNode, path = 'TaggedAttribute'): TaggedAttribute {
    const c = seqChildren(node, path);
    if (c.length !== 3) throw new Asn1DecodeError(c.length < 3 ? 'missing-field' : 'extra-field', path, `${c.length} elements, 3 expected`);
    const values = seqChildren(c[2], `${path}.attrValues`, Tag.SET).map((v, i) => cloneNode(v, `${path}.attrValues[${i}]`));
    return new TaggedAttribute(readBodyPartId(c[0], `${path}.bodyPartID`), readOid(c[1], `${path}.attrType`), values);
  }

  /** The single value of a single-valued control; typed error otherwise. */
  single(path = 'TaggedAttribute'): AsnNode {
    if (this.attrValues.length !== 1) throw new Asn1DecodeError('constraint', `${path}(${this.attrType})`, `${this.attrValues.length} values, exactly 1 expected`);
    return this.attrValues[0]!;
  }
}
