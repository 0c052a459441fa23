// TaggedContentInfo (RFC 5272 §3.2.1.4): SEQUENCE { bodyPartID, contentInfo ContentInfo }.
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from '../../pki/asn1/errors.js';
import { encodeNode, parseDer, readOid, seqChildren, type AsnNode } from '../../pki/asn1/der.js';
import { bodyPartIdSchema, readBodyPartId } from './body-part-reference.js';

export class TaggedContentInfo {
  constructor(
    readonly bodyPartID: number,
    /** DER ContentInfo. */
    readonly contentInfo: Uint8Array,
  ) {}

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [bodyPartIdSchema(this.bodyPartID), parseDer(this.contentInfo, 'contentInfo') as asn1js.BaseBlock] });
  }

  static fromSchema(node: AsnNode, path = 'TaggedContentInfo'): TaggedContentInfo {
    const c = seqChildren(node, path);
    if (c.length !== 2) throw new Asn1DecodeError(c.length < 2 ? 'missing-field' : 'extra-field', path, `${c.length} elements, 2 expected`);
    readOid(seqChildren(c[1], `${path}.contentInfo`)[0], `${path}.contentInfo.contentType`);
    return new TaggedContentInfo(readBodyPartId(c[0], `${path}.bodyPartID`), encodeNode(c[1]!));
  }
}
