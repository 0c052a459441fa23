// Strict DER reading helpers shared by the types in this folder. asn1js accepts BER and reports problems in
// result.error strings; these helpers turn every problem into an Asn1DecodeError with a path.
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';

export type AsnNode = asn1js.AsnType;
/** Bytes accepted by the decoders (Bytes without the DOM lib). */
export type Bytes = ArrayBuffer | ArrayBufferView;

const UNIVERSAL = 1;
const CONTEXT = 3;

/** Universal tag numbers used here. */
export const Tag = {
  INTEGER: 2,
  OCTET_STRING: 4,
  OID: 6,
  UTF8String: 12,
  SEQUENCE: 16,
  SET: 17,
  IA5String: 22,
} as const;

function toUint8(bytes: Bytes): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return new Uint8Array(bytes);
}

/** Copies a byte view into a fresh ArrayBuffer (asn1js keeps views into the buffer it is given). */
export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(out).set(bytes);
  return out;
}

/** Rejects BER-only encodings anywhere in the tree: indefinite lengths and constructed string types. */
function assertDer(node: AsnNode, path: string): void {
  const b = node as asn1js.BaseBlock;
  if (b.lenBlock?.isIndefiniteForm) throw new Asn1DecodeError('not-der', path, 'indefinite length is not DER');
  const constructed = b.idBlock?.isConstructed;
  if (constructed && b.idBlock.tagClass === UNIVERSAL && b.idBlock.tagNumber !== Tag.SEQUENCE && b.idBlock.tagNumber !== Tag.SET) {
    throw new Asn1DecodeError('not-der', path, `constructed encoding of universal tag ${b.idBlock.tagNumber} is not DER`);
  }
  if (constructed) {
    const kids = (b.valueBlock as unknown as { value?: AsnNode[] }).value ?? [];
    kids.forEach((k, i) => assertDer(k, `${path}[${i}]`));
  }
}

/**
 * Parses exactly one DER element from `bytes`. Malformed input, trailing bytes and BER-only forms are refused
 * with an Asn1DecodeError naming `what`. `inPlace` parses without copying the input (the nodes alias it).
 */
export function parseDer(bytes: Bytes, what: string, opts: { inPlace?: boolean } = {}): AsnNode {
  const view = toUint8(bytes);
  if (view.byteLength === 0) throw new Asn1DecodeError('malformed', what, 'empty input');
  let parsed: ReturnType<typeof asn1js.fromBER>;
  try {
    // inPlace: the tree views `bytes` itself (no copy) — for secrets the caller wipes (key packages)
    parsed = opts.inPlace ? asn1js.fromBER(view, { copyInput: false } as never) : asn1js.fromBER(toArrayBuffer(view));
  } catch (cause) {
    throw new Asn1DecodeError('malformed', what, 'not BER', { cause });
  }
  if (parsed.offset === -1 || parsed.result.error) {
    throw new Asn1DecodeError('malformed', what, `not BER (${parsed.result.error || 'decoder error'})`);
  }
  if (parsed.offset !== view.byteLength) {
    throw new Asn1DecodeError('malformed', what, `${view.byteLength - parsed.offset} trailing byte(s)`);
  }
  assertDer(parsed.result, what);
  return parsed.result;
}

function tagName(node: AsnNode): string {
  const id = (node as asn1js.BaseBlock).idBlock;
  if (!id) return 'unknown';
  if (id.tagClass === UNIVERSAL) return `universal ${id.tagNumber}${id.isConstructed ? ' (constructed)' : ''}`;
  if (id.tagClass === CONTEXT) return `[${id.tagNumber}]`;
  return `class ${id.tagClass} tag ${id.tagNumber}`;
}

export function isUniversal(node: AsnNode | undefined, tagNumber: number): boolean {
  const id = (node as asn1js.BaseBlock | undefined)?.idBlock;
  return !!id && id.tagClass === UNIVERSAL && id.tagNumber === tagNumber;
}

export function isContext(node: AsnNode | undefined, tagNumber: number, constructed?: boolean): boolean {
  const id = (node as asn1js.BaseBlock | undefined)?.idBlock;
  return !!id && id.tagClass === CONTEXT && id.tagNumber === tagNumber && (constructed === undefined || id.isConstructed === constructed);
}

/** The children of a SEQUENCE (or SET) node, after checking its tag. */
export function seqChildren(node: AsnNode | undefined, path: string, tag: number = Tag.SEQUENCE): AsnNode[] {
  if (node === undefined) throw new Asn1DecodeError('missing-field', path, 'absent');
  if (!isUniversal(node, tag) || !(node as asn1js.BaseBlock).idBlock.isConstructed) {
    throw new Asn1DecodeError('bad-tag', path, `expected ${tag === Tag.SET ? 'SET' : 'SEQUENCE'}, got ${tagName(node)}`);
  }
  return [...((node as asn1js.Sequence).valueBlock.value as AsnNode[])];
}

/** Children of a constructed context-specific node ([n] IMPLICIT SEQUENCE ...). */
export function contextChildren(node: AsnNode, path: string): AsnNode[] {
  return [...(((node as asn1js.Constructed).valueBlock.value ?? []) as AsnNode[])];
}

export function readOid(node: AsnNode | undefined, path: string): string {
  if (node === undefined) throw new Asn1DecodeError('missing-field', path, 'absent');
  if (!(node instanceof asn1js.ObjectIdentifier) || !isUniversal(node, Tag.OID)) {
    throw new Asn1DecodeError('bad-tag', path, `expected OBJECT IDENTIFIER, got ${tagName(node)}`);
  }
  const s = node.valueBlock.toString();
  if (!/^\d+(\.\d+)+$/.test(s)) throw new Asn1DecodeError('bad-value', path, `unusable OID ${JSON.stringify(s)}`);
  return s;
}

export function readOctets(node: AsnNode | undefined, path: string): Uint8Array {
  if (node === undefined) throw new Asn1DecodeError('missing-field', path, 'absent');
  if (!(node instanceof asn1js.OctetString) || !isUniversal(node, Tag.OCTET_STRING)) {
    throw new Asn1DecodeError('bad-tag', path, `expected OCTET STRING, got ${tagName(node)}`);
  }
  return new Uint8Array(node.valueBlock.valueHexView);
}

/** Reads an INTEGER as a bigint (no range check). */
export function readBigInt(node: AsnNode | undefined, path: string): bigint {
  if (node === undefined) throw new Asn1DecodeError('missing-field', path, 'absent');
  if (!(node instanceof asn1js.Integer) || !isUniversal(node, Tag.INTEGER)) {
    throw new Asn1DecodeError('bad-tag', path, `expected INTEGER, got ${tagName(node)}`);
  }
  if (node.valueBlock.valueHexView.byteLength === 0) throw new Asn1DecodeError('malformed', path, 'empty INTEGER');
  return node.toBigInt();
}

/** Reads an INTEGER that must lie within [min, max] (both safe integers). */
export function readSmallInt(node: AsnNode | undefined, path: string, min: number, max: number): number {
  const v = readBigInt(node, path);
  if (v < BigInt(min) || v > BigInt(max)) throw new Asn1DecodeError('constraint', path, `${v} outside ${min}..${max}`);
  return Number(v);
}

export function readIa5OrUtf8(node: AsnNode | undefined, path: string): string {
  if (node === undefined) throw new Asn1DecodeError('missing-field', path, 'absent');
  if (node instanceof asn1js.Utf8String && isUniversal(node, Tag.UTF8String)) return node.valueBlock.value;
  if (node instanceof asn1js.IA5String && isUniversal(node, Tag.IA5String)) return node.valueBlock.value;
  throw new Asn1DecodeError('bad-tag', path, `expected IA5String or UTF8String, got ${tagName(node)}`);
}

/** Re-parses a node into an independent copy (so a decoded object does not alias the input tree). */
export function cloneNode(node: AsnNode, path: string): AsnNode {
  return parseDer(node.toBER(false), path);
}

/** DER bytes of a node. */
export function encodeNode(node: AsnNode): Uint8Array {
  return new Uint8Array(node.toBER(false));
}

/** Throws unless `n` is an integer within [min, max]. */
export function checkRange(name: string, n: number, min: number, max: number): void {
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new Asn1EncodeError(`${name} must be an integer in ${min}..${max}, got ${n}`);
}

export { checkOid } from './dotted-oid.js';

/** Hex string of bytes, for toJSON(). */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Named elements a schema match returns (PKI.js convention: the names given in `static schema()`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type SchemaMatch = Record<string, any>;

/**
 * The parse step of the PKI.js convention: checks `node` against a type's `schema()` with asn1js.compareSchema and
 * returns the named elements. Too few or too many elements, or a mismatch, is an Asn1DecodeError at `path`
 * (asn1js's own error names no path); field readers then check values under `path.field`.
 */
export function verifySchema(node: AsnNode | undefined, schema: AsnNode, path: string): SchemaMatch {
  if (node === undefined) throw new Asn1DecodeError('missing-field', path, 'absent');
  const listed = ((schema as asn1js.Sequence).valueBlock?.value ?? []) as AsnNode[];
  const counted = (schema instanceof asn1js.Sequence || schema instanceof asn1js.Constructed) && listed.length > 0 && !(listed[0] instanceof asn1js.Repeated);
  const kids = ((node as asn1js.Sequence).valueBlock?.value ?? []) as AsnNode[];
  if (counted && Array.isArray(kids) && (node as asn1js.BaseBlock).idBlock?.isConstructed) {
    const required = listed.filter((s) => !(s as { optional?: boolean }).optional).length;
    if (kids.length < required) throw new Asn1DecodeError('missing-field', path, `${kids.length} elements, at least ${required} expected`);
    if (kids.length > listed.length) throw new Asn1DecodeError('extra-field', `${path}[${listed.length}]`, `${kids.length} elements, at most ${listed.length} expected`);
  }
  const root: SchemaMatch = {};
  const r = asn1js.compareSchema(root as AsnNode, node, schema);
  if (!r.verified) {
    const detail = typeof root.error === 'string' && root.error ? ` (${root.error})` : '';
    throw new Asn1DecodeError('bad-tag', path, `does not match its ASN.1 definition${detail}`);
  }
  return root;
}

/** Schema of an [n] EXPLICIT element holding anything (the field's own reader checks the content). */
export function explicitSchema(n: number, name: string, optional = true): asn1js.Constructed {
  return new asn1js.Constructed({ name, optional, idBlock: { tagClass: CONTEXT, tagNumber: n }, value: [new asn1js.Any()] });
}

/** Schema of a `name SEQUENCE OF <anything>` field; verifySchema puts its elements under `${name}Items`. */
export function sequenceOfSchema(name: string): asn1js.Sequence {
  return new asn1js.Sequence({ name, value: [new asn1js.Repeated({ name: `${name}Items`, value: new asn1js.Any() })] });
}

/** The elements of a sequenceOfSchema field, each decoded by `from` at `path.name[i]`. */
export function readSequenceOf<T>(match: SchemaMatch, name: string, path: string, from: (node: AsnNode, path: string) => T): T[] {
  return ((match[`${name}Items`] ?? []) as AsnNode[]).map((n, i) => from(n, `${path}.${name}[${i}]`));
}

/** A SEQUENCE OF the items' encodings. */
export function sequenceOfNode(items: readonly { toSchema(): AsnNode }[]): asn1js.Sequence {
  return new asn1js.Sequence({ value: items.map((x) => x.toSchema()) as asn1js.BaseBlock[] });
}
