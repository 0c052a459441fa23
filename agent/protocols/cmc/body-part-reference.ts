// BodyPartID, BodyPartReference and BodyPartPath (RFC 5272 §3.2.2, §6.1.1; RFC 6402 §2.x): which body part a
// status or control refers to. BodyPartID ::= INTEGER(0..4294967295).
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from '../../pki/asn1/errors.js';
import { checkRange, readSmallInt, seqChildren, isUniversal, Tag, type AsnNode } from '../../pki/asn1/der.js';

export const BODY_PART_ID_MAX = 0xffffffff;

export function bodyPartIdSchema(id: number): asn1js.Integer {
  checkRange('bodyPartID', id, 0, BODY_PART_ID_MAX);
  return new asn1js.Integer({ value: id });
}

export function readBodyPartId(node: AsnNode | undefined, path: string): number {
  return readSmallInt(node, path, 0, BODY_PART_ID_MAX);
}

/** BodyPartReference ::= CHOICE { bodyPartID BodyPartID, bodyPartPath BodyPartPath } — a number or a path. */
export type BodyPartReference = number | number[];

export function bodyPartReferenceSchema(ref: BodyPartReference): asn1js.AsnType {
  if (typeof ref === 'number') return bodyPartIdSchema(ref);
  if (ref.length === 0) throw new Asn1EncodeError('BodyPartPath must not be empty (SIZE(1..MAX))');
  return new asn1js.Sequence({ value: ref.map(bodyPartIdSchema) });
}

export function readBodyPartReference(node: AsnNode | undefined, path: string): BodyPartReference {
  if (node !== undefined && isUniversal(node, Tag.SEQUENCE)) {
    const ids = seqChildren(node, path).map((n, i) => readBodyPartId(n, `${path}.bodyPartPath[${i}]`));
    if (ids.length === 0) throw new Asn1DecodeError('constraint', path, 'empty BodyPartPath');
    return ids;
  }
  return readBodyPartId(node, path);
}
