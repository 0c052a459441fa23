// RFC 5934 §4.1 TargetIdentifier (module IMPLICIT TAGS):
//   TargetIdentifier ::= CHOICE {
//     hwModules [1] HardwareModuleIdentifierList,     -- SEQUENCE SIZE (1..MAX) OF HardwareModules
//     communities [2] CommunityIdentifierList,
//     allModules [3] NULL,
//     uri [4] IA5String,
//     otherName [5] AnotherName }
//   HardwareModules ::= SEQUENCE { hwType OBJECT IDENTIFIER, hwSerialEntries SEQUENCE SIZE (1..MAX) OF HardwareSerialEntry }
//   HardwareSerialEntry ::= CHOICE { all NULL, single OCTET STRING, block SEQUENCE { low OCTET STRING, high OCTET STRING } }
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { type AsnNode, type Bytes, Tag, checkOid, encodeNode, hex, isContext, isUniversal, parseDer, readOctets, readOid, seqChildren, verifySchema } from './der.js';
import { implicitConstructed, implicitPrimitive, readOidList, oidNodes, taggedChildren } from './tamp-fields.js';

export type HardwareSerialEntry = { all: true } | { single: Uint8Array } | { block: { low: Uint8Array; high: Uint8Array } };
export interface HardwareModules {
  hwType: string;
  serials: HardwareSerialEntry[];
}

/** The alternative a TargetIdentifier holds, as plain data (constructor parameters). */
export type TargetIdentifierFields =
  | { kind: 'hwModules'; modules: HardwareModules[] }
  | { kind: 'communities'; communities: string[] }
  | { kind: 'allModules' }
  | { kind: 'uri'; uri: string }
  | { kind: 'otherName'; typeId: string; value: Uint8Array };

export type HardwareSerialEntryJson = { all: null } | { single: string } | { block: { low: string; high: string } };
export type TargetIdentifierJson =
  | { hwModules: Array<{ hwType: string; hwSerialEntries: HardwareSerialEntryJson[] }> }
  | { communities: string[] }
  | { allModules: null }
  | { uri: string }
  | { otherName: { typeId: string; value: string } };

/** What a module is, for matching a TargetIdentifier (RFC 5934 §4.1, §6). */
export interface TampModuleIdentity {
  hwType: string;
  hwSerialNum: Uint8Array;
  communities: readonly string[];
  uri?: string;
}

function cmpBytes(a: Uint8Array, b: Uint8Array): number {
  // serial numbers compare as unsigned big-endian numbers of possibly different lengths
  const la = a.byteLength, lb = b.byteLength;
  if (la !== lb) return la - lb;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

const ctx = (tagNumber: number) => ({ tagClass: 3, tagNumber });

export class TargetIdentifier {
  static readonly CLASS_NAME = 'TargetIdentifier';
  readonly value: TargetIdentifierFields;

  constructor(params: TargetIdentifierFields) {
    this.value = params;
  }

  get kind(): TargetIdentifierFields['kind'] {
    return this.value.kind;
  }

  /** The five implicitly tagged alternatives; the lists' elements are checked by fromSchema's readers (named paths). */
  static schema(): asn1js.Choice {
    return new asn1js.Choice({
      value: [
        new asn1js.Constructed({ name: 'hwModules', idBlock: ctx(1) }),
        new asn1js.Constructed({ name: 'communities', idBlock: ctx(2) }),
        new asn1js.Primitive({ name: 'allModules', idBlock: ctx(3) }),
        new asn1js.Primitive({ name: 'uri', idBlock: ctx(4) }),
        new asn1js.Constructed({ name: 'otherName', idBlock: ctx(5), value: [new asn1js.ObjectIdentifier({ name: 'typeId' }), new asn1js.Constructed({ name: 'otherValue', idBlock: ctx(0), value: [new asn1js.Any()] })] }),
      ],
    });
  }

  static fromSchema(node: AsnNode | undefined, path = TargetIdentifier.CLASS_NAME): TargetIdentifier {
    // the alternative's reader runs first so that its errors name the field; then the schema is checked
    const t = new TargetIdentifier(readAlternative(node, path));
    verifySchema(node, TargetIdentifier.schema() as unknown as AsnNode, path);
    return t;
  }

  static fromDER(der: Bytes): TargetIdentifier {
    return TargetIdentifier.fromSchema(parseDer(der, TargetIdentifier.CLASS_NAME));
  }

  toSchema(): AsnNode {
    const t = this.value;
    switch (t.kind) {
      case 'allModules':
        return implicitPrimitive(3, new Uint8Array(0));
      case 'communities':
        return implicitConstructed(2, oidNodes(t.communities, 'community'));
      case 'uri':
        if (/[^\x00-\x7f]/.test(t.uri)) throw new Asn1EncodeError('TargetIdentifier uri must be IA5');
        return implicitPrimitive(4, new Uint8Array(Buffer.from(t.uri, 'latin1')));
      case 'otherName': {
        checkOid('otherName type-id', t.typeId);
        const parsed = asn1js.fromBER(t.value);
        return implicitConstructed(5, [new asn1js.ObjectIdentifier({ value: t.typeId }), parsed.result]);
      }
      case 'hwModules':
        if (t.modules.length === 0) throw new Asn1EncodeError('hwModules needs at least one entry');
        return implicitConstructed(
          1,
          t.modules.map((m) => {
            checkOid('hwType', m.hwType);
            if (m.serials.length === 0) throw new Asn1EncodeError('hwSerialEntries needs at least one entry');
            return new asn1js.Sequence({
              value: [
                new asn1js.ObjectIdentifier({ value: m.hwType }),
                new asn1js.Sequence({
                  value: m.serials.map((s) =>
                    'all' in s
                      ? new asn1js.Null()
                      : 'single' in s
                        ? new asn1js.OctetString({ valueHex: s.single })
                        : new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: s.block.low }), new asn1js.OctetString({ valueHex: s.block.high })] }),
                  ),
                }),
              ],
            });
          }),
        );
    }
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }

  /** Named as in the ASN.1 (bytes as hex), the shape independent decoders print. */
  toJSON(): TargetIdentifierJson {
    const t = this.value;
    switch (t.kind) {
      case 'allModules':
        return { allModules: null };
      case 'communities':
        return { communities: [...t.communities] };
      case 'uri':
        return { uri: t.uri };
      case 'otherName':
        return { otherName: { typeId: t.typeId, value: hex(t.value) } };
      case 'hwModules':
        return {
          hwModules: t.modules.map((m) => ({
            hwType: m.hwType,
            hwSerialEntries: m.serials.map((s): HardwareSerialEntryJson => ('all' in s ? { all: null } : 'single' in s ? { single: hex(s.single) } : { block: { low: hex(s.block.low), high: hex(s.block.high) } })),
          })),
        };
    }
  }

  /** Whether `me` is addressed (§4.1); otherName is not interpreted here. */
  matches(me: TampModuleIdentity): boolean | 'unsupported' {
    const t = this.value;
    switch (t.kind) {
      case 'allModules':
        return true;
      case 'communities':
        return t.communities.some((c) => me.communities.includes(c));
      case 'uri':
        return me.uri !== undefined && me.uri === t.uri;
      case 'otherName':
        return 'unsupported';
      case 'hwModules':
        return t.modules.some(
          (m) =>
            m.hwType === me.hwType &&
            m.serials.some((s) =>
              'all' in s ? true : 'single' in s ? cmpBytes(s.single, me.hwSerialNum) === 0 : cmpBytes(s.block.low, me.hwSerialNum) <= 0 && cmpBytes(me.hwSerialNum, s.block.high) <= 0,
            ),
        );
    }
  }
}

/** A TargetIdentifier from its class or its plain fields. */
export const asTargetIdentifier = (t: TargetIdentifier | TargetIdentifierFields): TargetIdentifier => (t instanceof TargetIdentifier ? t : new TargetIdentifier(t));

export function targetMatches(t: TargetIdentifier | TargetIdentifierFields, me: TampModuleIdentity): boolean | 'unsupported' {
  return asTargetIdentifier(t).matches(me);
}

function readAlternative(node: AsnNode | undefined, path: string): TargetIdentifierFields {
  if (node === undefined) throw new Asn1DecodeError('missing-field', path, 'absent');
  if (isContext(node, 1, true)) {
    const mods = taggedChildren(node, 1, path);
    if (mods.length === 0) throw new Asn1DecodeError('constraint', `${path}.hwModules`, 'at least one HardwareModules');
    return {
      kind: 'hwModules',
      modules: mods.map((m, i) => {
        const p = `${path}.hwModules[${i}]`;
        const k = seqChildren(m, p);
        if (k.length !== 2) throw new Asn1DecodeError('malformed', p, 'HardwareModules has two fields');
        const entries = seqChildren(k[1], `${p}.hwSerialEntries`);
        if (entries.length === 0) throw new Asn1DecodeError('constraint', `${p}.hwSerialEntries`, 'at least one entry');
        return {
          hwType: readOid(k[0], `${p}.hwType`),
          serials: entries.map((e, j): HardwareSerialEntry => {
            const q = `${p}.hwSerialEntries[${j}]`;
            if (isUniversal(e, 5)) return { all: true };
            if (isUniversal(e, Tag.OCTET_STRING)) return { single: readOctets(e, q) };
            const b = seqChildren(e, q);
            if (b.length !== 2) throw new Asn1DecodeError('malformed', q, 'block has low and high');
            return { block: { low: readOctets(b[0], `${q}.low`), high: readOctets(b[1], `${q}.high`) } };
          }),
        };
      }),
    };
  }
  if (isContext(node, 2, true)) return { kind: 'communities', communities: readOidList(taggedChildren(node, 2, path), `${path}.communities`) };
  if (isContext(node, 3, false)) {
    if ((node as asn1js.Primitive).valueBlock.valueHexView.byteLength !== 0) throw new Asn1DecodeError('malformed', path, 'allModules NULL has content');
    return { kind: 'allModules' };
  }
  if (isContext(node, 4, false)) {
    const bytes = Buffer.from((node as asn1js.Primitive).valueBlock.valueHexView);
    if (bytes.some((b) => b > 0x7f)) throw new Asn1DecodeError('bad-value', `${path}.uri`, 'not IA5');
    return { kind: 'uri', uri: bytes.toString('latin1') };
  }
  if (isContext(node, 5, true)) {
    const k = taggedChildren(node, 5, path);
    if (k.length !== 2 || !isContext(k[1], 0, true)) throw new Asn1DecodeError('malformed', `${path}.otherName`, 'AnotherName { type-id, [0] value }');
    return { kind: 'otherName', typeId: readOid(k[0], `${path}.otherName.type-id`), value: new Uint8Array(k[1]!.toBER(false)) };
  }
  throw new Asn1DecodeError('bad-tag', path, 'not a TargetIdentifier alternative');
}
