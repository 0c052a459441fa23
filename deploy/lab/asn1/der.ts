// A small DER toolkit over asn1js for the lab's ASN.1 (X.690): builders for the universal and context-tagged types
// the RFC modules use, and a reader that walks a SEQUENCE field by field (OPTIONAL/DEFAULT fields by their tags)
// and names the path of what is wrong. The lab's RFC modules (tamp.ts, firmware.ts, key-packages.ts) are written
// with it.
import * as asn1js from 'asn1js';
import { der as strictDer, encode, explicit as pkiExplicit, octets as pkiOctets, oid as pkiOid } from '../pki/der.js';

export type Node = asn1js.BaseBlock;

export const UNIVERSAL = { BOOLEAN: 1, INTEGER: 2, BIT_STRING: 3, OCTET_STRING: 4, NULL: 5, OID: 6, ENUMERATED: 10, UTF8String: 12, SEQUENCE: 16, SET: 17, IA5String: 22 } as const;

export class DerError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

// ---- building ----------------------------------------------------------------------------------------------------

export const seq = (...value: Node[]): asn1js.Sequence => new asn1js.Sequence({ value });
export const oid = pkiOid;
export const octets = pkiOctets;
export const int = (v: bigint | number): asn1js.Integer => asn1js.Integer.fromBigInt(BigInt(v));
export const enumerated = (v: number): asn1js.Enumerated => new asn1js.Enumerated({ value: v });
export const bool = (value: boolean): asn1js.Boolean => new asn1js.Boolean({ value });
export const utf8 = (value: string): asn1js.Utf8String => new asn1js.Utf8String({ value });
export const nul = (): asn1js.Null => new asn1js.Null();
/** [tag] IMPLICIT of a constructed type (SEQUENCE, SET, a CHOICE's SEQUENCE alternative): its children re-tagged. */
export const implicitConstructed = (tag: number, value: Node[]): asn1js.Constructed => new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: tag }, value });
/** [tag] IMPLICIT of a primitive type: its content octets re-tagged. */
export const implicitPrimitive = (tag: number, value: Uint8Array): asn1js.Primitive => new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: tag }, valueHex: value });
/** [tag] EXPLICIT (also every tagged CHOICE, X.680 §31.2.7). */
export const explicit = pkiExplicit;
/** The content octets of a primitive node (to re-tag it implicitly). */
export const contentOf = (n: Node): Uint8Array => new Uint8Array((n.valueBlock as unknown as { valueHexView: Uint8Array }).valueHexView);

/** DER of a node or of a pkijs object. */
export const der = encode;

/** Exactly one BER element, nothing after it (deploy/lab/pki/der.ts). */
export const parse = (bytes: Uint8Array, path: string): Node => strictDer(bytes, path) as Node;

/** X.690 §8.1.3: a definite length header (what the lab writes around streamed contents). */
export function header(tag: number, length: number): Uint8Array {
  if (length < 0x80) return new Uint8Array([tag, length]);
  const bytes: number[] = [];
  for (let v = length; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return new Uint8Array([tag, 0x80 | bytes.length, ...bytes]);
}

// ---- reading -----------------------------------------------------------------------------------------------------

export const isUniversal = (n: Node | undefined, tag: number): n is Node => n !== undefined && n.idBlock.tagClass === 1 && n.idBlock.tagNumber === tag;
export const isContext = (n: Node | undefined, tag: number, constructed?: boolean): n is Node =>
  n !== undefined && n.idBlock.tagClass === 3 && n.idBlock.tagNumber === tag && (constructed === undefined || n.idBlock.isConstructed === constructed);

function childrenOf(n: Node): Node[] {
  return [...((n.valueBlock as unknown as { value?: Node[] }).value ?? [])];
}

/** Walks the components of a SEQUENCE (or of an implicitly tagged SEQUENCE / SEQUENCE OF) in order. */
export class Fields {
  private i = 0;
  private constructor(
    private readonly kids: Node[],
    readonly path: string,
  ) {}

  static of(n: Node | undefined, path: string, tag: { universal: number } | { context: number } = { universal: UNIVERSAL.SEQUENCE }): Fields {
    const ok = 'universal' in tag ? isUniversal(n, tag.universal) : isContext(n, tag.context, true);
    if (!ok || !n!.idBlock.isConstructed) throw new DerError(path, `expected ${'universal' in tag ? (tag.universal === UNIVERSAL.SET ? 'SET' : 'SEQUENCE') : `[${tag.context}] (constructed)`}`);
    return new Fields(childrenOf(n!), path);
  }

  /** The children of a constructed node (to re-tag them: IMPLICIT [n] of a SEQUENCE, or back to a SEQUENCE). */
  static rawChildren(n: Node): Node[] {
    return childrenOf(n);
  }

  get remaining(): number {
    return this.kids.length - this.i;
  }
  peek(): Node | undefined {
    return this.kids[this.i];
  }
  /** The next component (required). */
  next(name: string): [Node, string] {
    const n = this.kids[this.i++];
    if (n === undefined) throw new DerError(`${this.path}.${name}`, 'missing');
    return [n, `${this.path}.${name}`];
  }
  /** The next component when `present` says it is there (OPTIONAL / DEFAULT fields). */
  optional(name: string, present: (n: Node | undefined) => boolean): [Node, string] | undefined {
    return present(this.kids[this.i]) ? this.next(name) : undefined;
  }
  /** All remaining components (a SEQUENCE OF). */
  rest(name: string): Array<[Node, string]> {
    const out: Array<[Node, string]> = [];
    while (this.i < this.kids.length) {
      out.push([this.kids[this.i]!, `${this.path}.${name}[${out.length}]`]);
      this.i++;
    }
    return out;
  }
  end(): void {
    if (this.i < this.kids.length) throw new DerError(this.path, `${this.kids.length - this.i} unexpected component(s)`);
  }
}

export function readOid(n: Node, path: string): string {
  if (!isUniversal(n, UNIVERSAL.OID)) throw new DerError(path, 'expected OBJECT IDENTIFIER');
  return (n as asn1js.ObjectIdentifier).valueBlock.toString();
}

/** OCTET STRING, universal or implicitly tagged (primitive). */
export function readOctets(n: Node, path: string, implicitTag?: number): Uint8Array {
  const ok = implicitTag === undefined ? isUniversal(n, UNIVERSAL.OCTET_STRING) : isContext(n, implicitTag);
  if (!ok) throw new DerError(path, implicitTag === undefined ? 'expected OCTET STRING' : `expected [${implicitTag}] OCTET STRING`);
  if (n.idBlock.isConstructed) throw new DerError(path, 'constructed OCTET STRING (not DER)');
  return contentOf(n);
}

function intContent(bytes: Uint8Array, path: string): bigint {
  if (bytes.byteLength === 0) throw new DerError(path, 'empty INTEGER');
  if (bytes.byteLength > 1 && ((bytes[0] === 0 && !(bytes[1]! & 0x80)) || (bytes[0] === 0xff && bytes[1]! & 0x80))) throw new DerError(path, 'INTEGER not minimal (not DER)');
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return bytes[0]! & 0x80 ? v - (1n << BigInt(8 * bytes.byteLength)) : v;
}

/** INTEGER (or ENUMERATED with `tag`), universal or implicitly tagged. */
export function readInt(n: Node, path: string, o: { universal?: number; implicitTag?: number } = {}): bigint {
  const ok = o.implicitTag !== undefined ? isContext(n, o.implicitTag, false) : isUniversal(n, o.universal ?? UNIVERSAL.INTEGER);
  if (!ok) throw new DerError(path, o.implicitTag !== undefined ? `expected [${o.implicitTag}]` : o.universal === UNIVERSAL.ENUMERATED ? 'expected ENUMERATED' : 'expected INTEGER');
  return intContent(contentOf(n), path);
}

export function readBool(n: Node, path: string): boolean {
  if (!isUniversal(n, UNIVERSAL.BOOLEAN)) throw new DerError(path, 'expected BOOLEAN');
  const c = contentOf(n);
  if (c.byteLength !== 1 || (c[0] !== 0 && c[0] !== 0xff)) throw new DerError(path, 'BOOLEAN is not 00 or FF (not DER)');
  return c[0] === 0xff;
}

export function readUtf8(n: Node, path: string): string {
  if (!isUniversal(n, UNIVERSAL.UTF8String)) throw new DerError(path, 'expected UTF8String');
  return Buffer.from(contentOf(n)).toString('utf8');
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
