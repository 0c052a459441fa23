// RFC 5934 §4.1 TAMPMsgRef and TargetIdentifier, plus the pieces every TAMP message shares: the optional
// version [0] and terse [1] fields, StatusCode, community lists and TrustAnchorChoice (RFC 5914; the certificate
// alternative — tbsCert and taInfo are recognized and refused as unsupportedTrustAnchorFormat).
//   TAMPMsgRef ::= SEQUENCE { target TargetIdentifier, seqNum SeqNumber }
//   TargetIdentifier ::= CHOICE { hwModules [1] HardwareModuleIdentifierList, communities [2] CommunityIdentifierList,
//                                 allModules [3] NULL, uri [4] IA5String, otherName [5] AnotherName }
//   HardwareModules ::= SEQUENCE { hwType OBJECT IDENTIFIER, hwSerialEntries SEQUENCE OF HardwareSerialEntry }
//   HardwareSerialEntry ::= CHOICE { all NULL, single OCTET STRING, block SEQUENCE { low, high OCTET STRING } }
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, Tag, isContext, isUniversal, readBigInt, readOctets, readOid, seqChildren } from './der.js';

export const TAMP_V2 = 2;
export const SEQ_NUMBER_MAX = 9223372036854775807n;

export type HardwareSerialEntry = { all: true } | { single: Uint8Array } | { low: Uint8Array; high: Uint8Array };
export type TargetIdentifier =
  | { kind: 'allModules' }
  | { kind: 'communities'; communities: string[] }
  | { kind: 'hwModules'; modules: Array<{ hwType: string; serials: HardwareSerialEntry[] }> }
  | { kind: 'uri'; uri: string };

export interface TampMsgRef {
  target: TargetIdentifier;
  seqNum: bigint;
}

const ctxPrim = (n: number, value: Uint8Array): asn1js.Primitive => new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: n }, valueHex: value });
const ctxCons = (n: number, value: asn1js.AsnType[]): asn1js.Constructed => new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: n }, value });
const children = (node: AsnNode): AsnNode[] => [...(((node as asn1js.Constructed).valueBlock.value ?? []) as AsnNode[])];
const primBytes = (node: AsnNode): Uint8Array => new Uint8Array((node as asn1js.Primitive).valueBlock.valueHexView);

export function communitiesToSchema(oids: readonly string[], tag?: number): asn1js.AsnType {
  const items = oids.map((o) => new asn1js.ObjectIdentifier({ value: o }));
  return tag === undefined ? new asn1js.Sequence({ value: items }) : ctxCons(tag, items);
}

export function readCommunities(node: AsnNode, path: string, implicitTag?: number): string[] {
  const kids = implicitTag === undefined ? seqChildren(node, path) : children(node);
  return kids.map((k, i) => readOid(k, `${path}[${i}]`));
}

export function targetToSchema(t: TargetIdentifier): asn1js.AsnType {
  switch (t.kind) {
    case 'allModules':
      return ctxPrim(3, new Uint8Array());
    case 'communities':
      return communitiesToSchema(t.communities, 2);
    case 'uri':
      return ctxPrim(4, new Uint8Array(Buffer.from(t.uri, 'ascii')));
    case 'hwModules':
      return ctxCons(
        1,
        t.modules.map(
          (m) =>
            new asn1js.Sequence({
              value: [
                new asn1js.ObjectIdentifier({ value: m.hwType }),
                new asn1js.Sequence({
                  value: m.serials.map((s) =>
                    'all' in s ? new asn1js.Null() : 'single' in s ? new asn1js.OctetString({ valueHex: s.single }) : new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: s.low }), new asn1js.OctetString({ valueHex: s.high })] }),
                  ),
                }),
              ],
            }),
        ),
      );
  }
}

export function readTarget(node: AsnNode | undefined, path: string): TargetIdentifier {
  if (isContext(node, 3)) return { kind: 'allModules' };
  if (isContext(node, 2)) return { kind: 'communities', communities: readCommunities(node!, `${path}.communities`, 2) };
  if (isContext(node, 4, false)) return { kind: 'uri', uri: Buffer.from(primBytes(node!)).toString('ascii') };
  if (isContext(node, 1, true)) {
    return {
      kind: 'hwModules',
      modules: children(node!).map((m, i) => {
        const [t, list] = seqChildren(m, `${path}.hwModules[${i}]`);
        return {
          hwType: readOid(t, `${path}.hwModules[${i}].hwType`),
          serials: seqChildren(list, `${path}.hwModules[${i}].hwSerialEntries`).map((e, j): HardwareSerialEntry => {
            if (isUniversal(e, 5)) return { all: true }; // NULL
            if (isUniversal(e, Tag.OCTET_STRING)) return { single: readOctets(e, `${path}.hwSerialEntries[${j}]`) };
            const [lo, hi] = seqChildren(e, `${path}.hwSerialEntries[${j}].block`);
            return { low: readOctets(lo, 'low'), high: readOctets(hi, 'high') };
          }),
        };
      }),
    };
  }
  throw new Asn1DecodeError('bad-tag', path, 'unsupported TargetIdentifier alternative (otherName or unknown)');
}

export function msgRefToSchema(r: TampMsgRef): asn1js.Sequence {
  return new asn1js.Sequence({ value: [targetToSchema(r.target), new asn1js.Integer({ value: Number(r.seqNum) })] });
}

export function readMsgRef(node: AsnNode | undefined, path: string): TampMsgRef {
  const kids = seqChildren(node, path);
  if (kids.length !== 2) throw new Asn1DecodeError('bad-value', path, `expected 2 elements, got ${kids.length}`);
  const seqNum = readBigInt(kids[1], `${path}.seqNum`);
  if (seqNum < 0n || seqNum > SEQ_NUMBER_MAX) throw new Asn1DecodeError('constraint', `${path}.seqNum`, `${seqNum} out of range`);
  return { target: readTarget(kids[0], `${path}.target`), seqNum };
}

/** Leading `version [0] TAMPVersion DEFAULT v2` and (when the type has it) `terse [1] TerseOrVerbose DEFAULT verbose`. */
export function readVersionTerse(kids: AsnNode[], path: string, hasTerse: boolean): { version: number; terse: boolean; rest: AsnNode[] } {
  let i = 0;
  let version = TAMP_V2;
  let terse = false;
  if (isContext(kids[i], 0, false)) {
    const b = primBytes(kids[i++]!);
    version = b.length === 1 ? b[0]! : -1;
    if (version !== 1 && version !== 2) throw new Asn1DecodeError('bad-value', `${path}.version`, `unsupported TAMP version`);
  }
  if (hasTerse && isContext(kids[i], 1, false)) {
    const b = primBytes(kids[i++]!);
    if (b.length !== 1 || (b[0] !== 1 && b[0] !== 2)) throw new Asn1DecodeError('bad-value', `${path}.terse`, 'TerseOrVerbose must be terse(1) or verbose(2)');
    terse = b[0] === 1;
  }
  return { version, terse, rest: kids.slice(i) };
}

/** The version/terse prefix for encoding (both omitted at their defaults, DER). */
export function versionTerseToSchema(terse?: boolean): asn1js.AsnType[] {
  return terse ? [ctxPrim(1, new Uint8Array([1]))] : [];
}

export function statusToSchema(code: number): asn1js.Enumerated {
  return new asn1js.Enumerated({ value: code });
}

export function readStatus(node: AsnNode | undefined, path: string): number {
  if (!(node instanceof asn1js.Enumerated)) throw new Asn1DecodeError('bad-tag', path, 'expected ENUMERATED StatusCode');
  return Number(node.valueBlock.valueDec);
}

/** TrustAnchorChoice: only the certificate alternative is supported (RFC 5914 §2). */
export function readTrustAnchorChoice(node: AsnNode | undefined, path: string): pkijs.Certificate {
  if (isContext(node, 1) || isContext(node, 2)) throw new Asn1DecodeError('bad-value', path, 'tbsCert/taInfo trust anchors are not supported (unsupportedTrustAnchorFormat)');
  try {
    return new pkijs.Certificate({ schema: node });
  } catch (e) {
    throw new Asn1DecodeError('bad-value', path, `TrustAnchorChoice.certificate: ${(e as Error).message}`, { cause: e });
  }
}

export { ctxCons, ctxPrim, children };
