// Reading received ASN.1 (X.690) by position: the lab's decoders walk the RFC modules' structures with these and
// refuse anything else with a DerError naming the path.
import * as asn1js from 'asn1js';
import { DerError, toAb } from '../pki/der.js';

export type Node = asn1js.AsnType;

const UNIVERSAL = 1;
const CONTEXT = 3;

/** The children of a constructed value (SEQUENCE, SET, or a constructed [n]). */
export function kids(n: Node | undefined, path: string): Node[] {
  const b = n as asn1js.BaseBlock | undefined;
  if (!b?.idBlock?.isConstructed) throw new DerError(`${path}: expected a constructed value`);
  return (b.valueBlock as unknown as { value: Node[] }).value ?? [];
}

/** The children of a SEQUENCE. */
export function seq(n: Node | undefined, path: string): Node[] {
  if (!isUniversal(n, 16)) throw new DerError(`${path}: expected SEQUENCE`);
  return kids(n, path);
}

export function isUniversal(n: Node | undefined, tag: number): boolean {
  const id = (n as asn1js.BaseBlock | undefined)?.idBlock;
  return id?.tagClass === UNIVERSAL && id.tagNumber === tag;
}

/** The tag number of a context-specific value, else undefined. */
export function ctx(n: Node | undefined): number | undefined {
  const id = (n as asn1js.BaseBlock | undefined)?.idBlock;
  return id?.tagClass === CONTEXT ? id.tagNumber : undefined;
}

/** The single value inside an EXPLICIT [n]. */
export function unwrap(n: Node | undefined, path: string): Node {
  const k = kids(n, path);
  if (k.length !== 1) throw new DerError(`${path}: an explicit tag holds ${k.length} values, 1 expected`);
  return k[0]!;
}

/** DER of a received value exactly as it came (asn1js keeps the decoded bytes). */
export function raw(n: Node): Uint8Array {
  const v = (n as asn1js.BaseBlock).valueBeforeDecodeView;
  if (v && v.byteLength) return new Uint8Array(v);
  return new Uint8Array((n as asn1js.BaseBlock).toBER(false));
}

export function int(n: Node | undefined, path: string, min = 0, max = 2 ** 31 - 1): number {
  if (!(n instanceof asn1js.Integer) && !(n instanceof asn1js.Enumerated)) throw new DerError(`${path}: expected INTEGER`);
  const v = Number(n.toBigInt());
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new DerError(`${path}: ${v} outside ${min}..${max}`);
  return v;
}

export function bigint(n: Node | undefined, path: string): bigint {
  if (!(n instanceof asn1js.Integer)) throw new DerError(`${path}: expected INTEGER`);
  return n.toBigInt();
}

export function octetString(n: Node | undefined, path: string): Uint8Array {
  if (!(n instanceof asn1js.OctetString) || n.idBlock.isConstructed) throw new DerError(`${path}: expected OCTET STRING`);
  return new Uint8Array(n.valueBlock.valueHexView);
}

export function oidOf(n: Node | undefined, path: string): string {
  if (!(n instanceof asn1js.ObjectIdentifier)) throw new DerError(`${path}: expected OBJECT IDENTIFIER`);
  return n.valueBlock.toString();
}

export function bitString(n: Node | undefined, path: string): Uint8Array {
  if (!(n instanceof asn1js.BitString)) throw new DerError(`${path}: expected BIT STRING`);
  return new Uint8Array(n.valueBlock.valueHexView);
}

/** AlgorithmIdentifier (RFC 5280 §4.1.1.2): the OID and the parameters, if any. */
export function algorithm(n: Node | undefined, path: string): { id: string; params?: Node } {
  const k = seq(n, path);
  if (k.length < 1 || k.length > 2) throw new DerError(`${path}: AlgorithmIdentifier has ${k.length} elements`);
  return { id: oidOf(k[0], `${path}.algorithm`), ...(k[1] ? { params: k[1] } : {}) };
}

/** SEQUENCE { algorithm OID [, parameters] }. */
export function algorithmId(id: string, params?: asn1js.BaseBlock): asn1js.Sequence {
  return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: id }), ...(params ? [params] : [])] });
}

/** A SEQUENCE around DER values taken byte for byte (for what a signature or MAC covers). */
export function sequenceOf(...parts: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(parts.map((p) => Buffer.from(p)));
  return new Uint8Array(Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]));
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** An asn1js value from DER (for embedding already-encoded values). */
export function node(der: Uint8Array): asn1js.BaseBlock {
  const r = asn1js.fromBER(toAb(der));
  if (r.offset === -1) throw new DerError('embedded value does not decode');
  return r.result as asn1js.BaseBlock;
}

/** Implicit [n] constructed around the children of a SEQUENCE value. */
export function implicitConstructed(n: number, value: asn1js.BaseBlock[]): asn1js.Constructed {
  return new asn1js.Constructed({ idBlock: { tagClass: CONTEXT, tagNumber: n }, value });
}
