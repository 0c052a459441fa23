// Small RFC 5934 Appendix A field types shared by the TAMP messages (the module is DEFINITIONS IMPLICIT TAGS):
//   TAMPVersion ::= INTEGER { v1(1), v2(2) }            -- always `version [0] TAMPVersion DEFAULT v2`
//   TerseOrVerbose ::= ENUMERATED { terse(1), verbose(2) } -- always `terse [1] TerseOrVerbose DEFAULT verbose`
//   SeqNumber ::= INTEGER (0..9223372036854775807)
//   StatusCode ::= ENUMERATED { success(0), … other(127) }  (tamp-oids.ts)
//   CommunityIdentifierList ::= SEQUENCE SIZE (0..MAX) OF Community (OBJECT IDENTIFIER)
//   KeyIdentifier ::= OCTET STRING
// Helpers for implicitly tagged primitives/constructed nodes live here too.
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { type AsnNode, Tag, checkOid, isContext, isUniversal, readOid, seqChildren } from './der.js';
import { statusCodeName, TampStatusCode, type TampStatusCodeName } from './tamp-oids.js';

export const TAMP_V2 = 2;
export const SEQ_NUMBER_MAX = 9223372036854775807n;
export type TerseOrVerbose = 'terse' | 'verbose';

/** The value bytes of a primitive node (any tag). */
function primitiveBytes(node: AsnNode, path: string): Uint8Array {
  const b = node as asn1js.BaseBlock;
  if (b.idBlock.isConstructed) throw new Asn1DecodeError('bad-tag', path, 'expected a primitive element');
  return new Uint8Array((b.valueBlock as unknown as { valueHexView: Uint8Array }).valueHexView);
}

/** Two's-complement big-endian bytes → bigint (DER INTEGER/ENUMERATED contents). */
function intFromBytes(bytes: Uint8Array, path: string): bigint {
  if (bytes.byteLength === 0) throw new Asn1DecodeError('malformed', path, 'empty INTEGER');
  if (bytes.byteLength > 1 && ((bytes[0] === 0 && (bytes[1]! & 0x80) === 0) || (bytes[0] === 0xff && (bytes[1]! & 0x80) !== 0))) {
    throw new Asn1DecodeError('not-der', path, 'INTEGER not minimally encoded');
  }
  let v = 0n;
  for (const x of bytes) v = (v << 8n) | BigInt(x);
  if (bytes[0]! & 0x80) v -= 1n << BigInt(bytes.byteLength * 8);
  return v;
}

/** Minimal two's-complement contents of a non-negative bigint. */
function intToBytes(v: bigint): Uint8Array {
  let hexs = v.toString(16);
  if (hexs.length % 2) hexs = '0' + hexs;
  const b = Buffer.from(hexs, 'hex');
  return new Uint8Array(b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}

export const implicitPrimitive = (tag: number, value: Uint8Array): asn1js.Primitive =>
  new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: tag }, valueHex: value });

export const implicitConstructed = (tag: number, value: AsnNode[]): asn1js.Constructed =>
  new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: tag }, value: value as asn1js.BaseBlock[] });

export const explicit = (tag: number, inner: AsnNode): asn1js.Constructed => implicitConstructed(tag, [inner]);

/** Children of a constructed [tag] node. */
export function taggedChildren(node: AsnNode | undefined, tag: number, path: string): AsnNode[] {
  if (!isContext(node, tag, true)) throw new Asn1DecodeError('bad-tag', path, `expected constructed [${tag}]`);
  return [...(((node as asn1js.Constructed).valueBlock.value ?? []) as AsnNode[])];
}

/** The single element inside an EXPLICIT [tag]. */
export function explicitInner(node: AsnNode | undefined, tag: number, path: string): AsnNode {
  const kids = taggedChildren(node, tag, path);
  if (kids.length !== 1) throw new Asn1DecodeError('malformed', path, `EXPLICIT [${tag}] must hold exactly one element`);
  return kids[0]!;
}

/** An implicitly tagged SEQUENCE re-tagged as a universal SEQUENCE (to hand to a universal decoder). */
export function asSequence(node: AsnNode, tag: number, path: string): asn1js.Sequence {
  return new asn1js.Sequence({ value: taggedChildren(node, tag, path) as asn1js.BaseBlock[] });
}

// ---- version / terse ---------------------------------------------------------------------------------------

/** Reads an optional `version [0] TAMPVersion DEFAULT v2` at kids[i]; returns the next index. Only v2 is accepted. */
export function readVersion(kids: AsnNode[], i: number, path: string): number {
  if (!isContext(kids[i], 0, false)) return i;
  const v = intFromBytes(primitiveBytes(kids[i]!, `${path}.version`), `${path}.version`);
  // RFC 5934 §4: this version of TAMP is v2; a v1 message is answered with versionNumberMismatch by the caller.
  if (v !== 2n) throw new Asn1DecodeError('constraint', `${path}.version`, `TAMPVersion ${v} (only v2 is supported)`);
  return i + 1;
}

export function readTerse(kids: AsnNode[], i: number, path: string): { terse: TerseOrVerbose; next: number } {
  if (!isContext(kids[i], 1, false)) return { terse: 'verbose', next: i };
  const v = intFromBytes(primitiveBytes(kids[i]!, `${path}.terse`), `${path}.terse`);
  if (v !== 1n && v !== 2n) throw new Asn1DecodeError('constraint', `${path}.terse`, `TerseOrVerbose ${v}`);
  return { terse: v === 1n ? 'terse' : 'verbose', next: i + 1 };
}

/** DER omits DEFAULT values: nothing for v2 / verbose. */
export const versionFields = (): AsnNode[] => [];
export const terseFields = (t: TerseOrVerbose): AsnNode[] => (t === 'terse' ? [implicitPrimitive(1, new Uint8Array([1]))] : []);

// ---- SeqNumber -------------------------------------------------------------------------------------------------

export function readSeqNumber(node: AsnNode | undefined, path: string): bigint {
  if (!isUniversal(node, Tag.INTEGER)) throw new Asn1DecodeError(node ? 'bad-tag' : 'missing-field', path, 'expected INTEGER');
  const v = intFromBytes(primitiveBytes(node!, path), path);
  if (v < 0n || v > SEQ_NUMBER_MAX) throw new Asn1DecodeError('constraint', path, `SeqNumber ${v} outside 0..2^63-1`);
  return v;
}

export function seqNumberNode(v: bigint): asn1js.Integer {
  if (v < 0n || v > SEQ_NUMBER_MAX) throw new Asn1EncodeError(`SeqNumber ${v} outside 0..2^63-1`);
  return new asn1js.Integer({ valueHex: intToBytes(v) });
}

// ---- StatusCode -------------------------------------------------------------------------------------------------

function statusFromBytes(bytes: Uint8Array, path: string): TampStatusCodeName {
  const v = intFromBytes(bytes, path);
  const name = v >= 0n && v <= 127n ? statusCodeName(Number(v)) : undefined;
  if (!name) throw new Asn1DecodeError('constraint', path, `unknown StatusCode ${v}`);
  return name;
}

export function readStatusCode(node: AsnNode | undefined, path: string): TampStatusCodeName {
  if (!isUniversal(node, 10)) throw new Asn1DecodeError(node ? 'bad-tag' : 'missing-field', path, 'expected ENUMERATED StatusCode');
  return statusFromBytes(primitiveBytes(node!, path), path);
}

/** `[tag] StatusCode` (implicit). */
export function readTaggedStatusCode(node: AsnNode | undefined, tag: number, path: string): TampStatusCodeName {
  if (!isContext(node, tag, false)) throw new Asn1DecodeError('bad-tag', path, `expected [${tag}] StatusCode`);
  return statusFromBytes(primitiveBytes(node!, path), path);
}

export function statusCodeNode(name: TampStatusCodeName): asn1js.Enumerated {
  const v = TampStatusCode[name];
  if (v === undefined) throw new Asn1EncodeError(`unknown StatusCode ${String(name)}`);
  return new asn1js.Enumerated({ value: v });
}

export const taggedStatusCode = (tag: number, name: TampStatusCodeName): asn1js.Primitive => implicitPrimitive(tag, intToBytes(BigInt(TampStatusCode[name])));

export function readStatusCodeList(kids: AsnNode[], path: string): TampStatusCodeName[] {
  if (kids.length === 0) throw new Asn1DecodeError('constraint', path, 'StatusCodeList needs at least one code');
  return kids.map((k, i) => readStatusCode(k, `${path}[${i}]`));
}

// ---- communities, key identifiers -------------------------------------------------------------------------------

export function readOidList(kids: AsnNode[], path: string): string[] {
  return kids.map((k, i) => readOid(k, `${path}[${i}]`));
}

export function oidNodes(oids: readonly string[], name: string): asn1js.ObjectIdentifier[] {
  return oids.map((o) => {
    checkOid(name, o);
    return new asn1js.ObjectIdentifier({ value: o });
  });
}

export function communityList(node: AsnNode | undefined, path: string): string[] {
  return readOidList(seqChildren(node, path), path);
}

export const communityListNode = (oids: readonly string[]): asn1js.Sequence => new asn1js.Sequence({ value: oidNodes(oids, 'community') });

export function readBoolean(node: AsnNode | undefined, path: string): boolean {
  if (!(node instanceof asn1js.Boolean) || !isUniversal(node, 1)) throw new Asn1DecodeError(node ? 'bad-tag' : 'missing-field', path, 'expected BOOLEAN');
  const b = primitiveBytes(node, path);
  if (b.byteLength !== 1 || (b[0] !== 0 && b[0] !== 0xff)) throw new Asn1DecodeError('not-der', path, 'BOOLEAN must be 0x00 or 0xFF');
  return b[0] === 0xff;
}
