// TaggedAttribute (RFC 5272 §3.2.1.1): a control — bodyPartID, attrType, SET OF values.
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from '../../pki/asn1/errors.js';
import { checkOid, cloneNode, readOid, seqChildren, Tag, verifySchema, type AsnNode } from '../../pki/asn1/der.js';
import { bodyPartIdSchema, readBodyPartId } from './body-part-reference.js';

export interface TaggedAttributeParams {
  bodyPartID: number;
  attrType: string;
  attrValues: AsnNode[];
}

export class TaggedAttribute {
  readonly bodyPartID: number;
  readonly attrType: string;
  readonly attrValues: AsnNode[];

  constructor(params: TaggedAttributeParams) {
    checkOid('attrType', params.attrType);
    this.bodyPartID = params.bodyPartID;
    this.attrType = params.attrType;
    this.attrValues = params.attrValues;
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.Integer({ name: 'bodyPartID' }), new asn1js.ObjectIdentifier({ name: 'attrType' }), new asn1js.Set({ name: 'attrValues' })] });
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [bodyPartIdSchema(this.bodyPartID), new asn1js.ObjectIdentifier({ value: this.attrType }), new asn1js.Set({ value: this.attrValues as asn1js.BaseBlock[] })],
    });
  }

  static fromSchema(node: AsnNode, path = 'TaggedAttribute'): TaggedAttribute {
    const m = verifySchema(node, TaggedAttribute.schema(), path);
    const attrValues = seqChildren(m.attrValues, `${path}.attrValues`, Tag.SET).map((v, i) => cloneNode(v, `${path}.attrValues[${i}]`));
    return new TaggedAttribute({ bodyPartID: readBodyPartId(m.bodyPartID, `${path}.bodyPartID`), attrType: readOid(m.attrType, `${path}.attrType`), attrValues });
  }

  /** The single value of a single-valued control; typed error otherwise. */
  single(path = 'TaggedAttribute'): AsnNode {
    if (this.attrValues.length !== 1) throw new Asn1DecodeError('constraint', `${path}(${this.attrType})`, `${this.attrValues.length} values, exactly 1 expected`);
    return this.attrValues[0]!;
  }
}
