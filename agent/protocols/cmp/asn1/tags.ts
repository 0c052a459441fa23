// Tagging helpers for the CMP (EXPLICIT TAGS) and CRMF (IMPLICIT TAGS) modules.
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from '../../../pki/asn1/errors.js';
import type { AsnNode } from '../../../pki/asn1/der.js';

/** [n] EXPLICIT wrapper. */
export function explicit(n: number, inner: AsnNode): asn1js.Constructed {
  return new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: n }, value: [inner] });
}

/** Content of an [n] EXPLICIT node. */
export function unwrapExplicit(node: AsnNode, path: string): AsnNode {
  const kids = ((node as asn1js.Constructed).valueBlock?.value ?? []) as AsnNode[];
  if (!(node as asn1js.BaseBlock).idBlock.isConstructed || kids.length !== 1) throw new Asn1DecodeError('bad-tag', path, 'expected one element inside an EXPLICIT tag');
  return kids[0]!;
}

/** Context tag number of a node, or undefined for other classes. */
export function contextTag(node: AsnNode | undefined): number | undefined {
  const id = (node as asn1js.BaseBlock | undefined)?.idBlock;
  return id && id.tagClass === 3 ? id.tagNumber : undefined;
}

/** Re-tags a universal SEQUENCE node as [n] IMPLICIT (constructed). */
export function implicitSeq(n: number, seq: asn1js.Sequence): asn1js.Constructed {
  return new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: n }, value: seq.valueBlock.value });
}

/** PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String. */
export function freeText(texts: string[]): asn1js.Sequence {
  return new asn1js.Sequence({ value: texts.map((t) => new asn1js.Utf8String({ value: t })) });
}

export function readFreeText(node: AsnNode, path: string): string[] {
  const kids = ((node as asn1js.Sequence).valueBlock?.value ?? []) as AsnNode[];
  return kids.map((k, i) => {
    if (!(k instanceof asn1js.Utf8String)) throw new Asn1DecodeError('bad-tag', `${path}[${i}]`, 'expected UTF8String');
    return k.valueBlock.value;
  });
}
