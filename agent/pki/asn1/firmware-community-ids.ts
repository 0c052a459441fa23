// RFC 4108 §2.2.8 community-identifiers signed attribute (id-aa-communityIdentifiers): when present, the loader MUST
// reject the package unless the module belongs to one of the communities — named by community OID, or by hardware
// type + serial number (single, low..high block, or all serials of the type).
//   CommunityIdentifiers ::= SEQUENCE OF CommunityIdentifier
//   CommunityIdentifier ::= CHOICE {
//     communityOID OBJECT IDENTIFIER,
//     hwModuleList HardwareModules }
//   HardwareModules ::= SEQUENCE {
//     hwType OBJECT IDENTIFIER,
//     hwSerialEntries SEQUENCE OF HardwareSerialEntry }
//   HardwareSerialEntry ::= CHOICE {
//     all NULL,
//     single OCTET STRING,
//     block SEQUENCE { low OCTET STRING, high OCTET STRING } }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, Tag, checkOid, encodeNode, hex, isUniversal, parseDer, readOctets, readOid, seqChildren, verifySchema } from './der.js';
import { OID_AA_COMMUNITY_IDENTIFIERS } from './firmware-oids.js';

export type HardwareSerialEntry = { all: true } | { single: Uint8Array } | { block: { low: Uint8Array; high: Uint8Array } };
export type CommunityIdentifier = { communityOID: string } | { hwModuleList: { hwType: string; hwSerialEntries: HardwareSerialEntry[] } };

/** Serial numbers compare as unsigned big-endian integers (leading zero octets ignored), per the "block" range. */
function compareSerial(a: Uint8Array, b: Uint8Array): number {
  const strip = (x: Uint8Array): Uint8Array => {
    let i = 0;
    while (i < x.length - 1 && x[i] === 0) i++;
    return x.subarray(i);
  };
  const sa = strip(a);
  const sb = strip(b);
  if (sa.length !== sb.length) return sa.length - sb.length;
  return Buffer.compare(Buffer.from(sa), Buffer.from(sb));
}

export class CommunityIdentifiers {
  static readonly CLASS_NAME = 'CommunityIdentifiers';
  static readonly ATTRIBUTE_OID = OID_AA_COMMUNITY_IDENTIFIERS;
  identifiers: CommunityIdentifier[];

  constructor(params: { identifiers: CommunityIdentifier[] }) {
    for (const id of params.identifiers) {
      if ('communityOID' in id) checkOid('communityOID', id.communityOID);
      else checkOid('hwModuleList.hwType', id.hwModuleList.hwType);
    }
    this.identifiers = params.identifiers;
  }

  /** The elements are Any (a CHOICE each): the reader names a bad one `path[i]`. */
  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.Repeated({ name: 'identifiers', optional: true, value: new asn1js.Any() })] });
  }

  static fromSchema(node: AsnNode, path = CommunityIdentifiers.CLASS_NAME): CommunityIdentifiers {
    const identifiers = seqChildren(node, path).map((k, i): CommunityIdentifier => {
      const p = `${path}[${i}]`;
      if (isUniversal(k, Tag.OID)) return { communityOID: readOid(k, `${p}.communityOID`) };
      const hm = seqChildren(k, `${p}.hwModuleList`);
      if (hm.length !== 2) throw new Asn1DecodeError('bad-value', `${p}.hwModuleList`, `expected 2 elements, got ${hm.length}`);
      const hwType = readOid(hm[0], `${p}.hwModuleList.hwType`);
      const hwSerialEntries = seqChildren(hm[1], `${p}.hwModuleList.hwSerialEntries`).map((e, j): HardwareSerialEntry => {
        const q = `${p}.hwModuleList.hwSerialEntries[${j}]`;
        if (isUniversal(e, 5)) {
          if ((e as asn1js.Null).valueBlock.valueBeforeDecodeView.byteLength !== 0) throw new Asn1DecodeError('bad-value', q, 'NULL with content');
          return { all: true };
        }
        if (isUniversal(e, Tag.OCTET_STRING)) return { single: readOctets(e, `${q}.single`) };
        const b = seqChildren(e, `${q}.block`);
        if (b.length !== 2) throw new Asn1DecodeError('bad-value', `${q}.block`, `expected low and high, got ${b.length} elements`);
        return { block: { low: readOctets(b[0], `${q}.block.low`), high: readOctets(b[1], `${q}.block.high`) } };
      });
      return { hwModuleList: { hwType, hwSerialEntries } };
    });
    verifySchema(node, CommunityIdentifiers.schema(), path);
    return new CommunityIdentifiers({ identifiers });
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: this.identifiers.map((id) =>
        'communityOID' in id
          ? new asn1js.ObjectIdentifier({ value: id.communityOID })
          : new asn1js.Sequence({
              value: [
                new asn1js.ObjectIdentifier({ value: id.hwModuleList.hwType }),
                new asn1js.Sequence({
                  value: id.hwModuleList.hwSerialEntries.map((e) =>
                    'all' in e
                      ? new asn1js.Null()
                      : 'single' in e
                        ? new asn1js.OctetString({ valueHex: e.single })
                        : new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: e.block.low }), new asn1js.OctetString({ valueHex: e.block.high })] }),
                  ),
                }),
              ],
            }),
      ),
    });
  }

  /**
   * §2.2.8 membership: the module is a member when one of its community OIDs is listed, or a hwModuleList for its
   * hardware type lists its serial (all / single / low ≤ serial ≤ high). A module without community OIDs or without
   * a serial number behaves as if those lists were empty.
   */
  admits(module: { communities?: readonly string[]; hwTypes?: readonly string[]; hwSerialNum?: Uint8Array }): boolean {
    return this.identifiers.some((id) => {
      if ('communityOID' in id) return (module.communities ?? []).includes(id.communityOID);
      if (!(module.hwTypes ?? []).includes(id.hwModuleList.hwType) || !module.hwSerialNum) return false;
      const sn = module.hwSerialNum;
      return id.hwModuleList.hwSerialEntries.some((e) =>
        'all' in e ? true : 'single' in e ? compareSerial(e.single, sn) === 0 : compareSerial(e.block.low, sn) <= 0 && compareSerial(sn, e.block.high) <= 0,
      );
    });
  }

  toJSON(): unknown[] {
    return this.identifiers.map((id) =>
      'communityOID' in id
        ? { communityOID: id.communityOID }
        : {
            hwModuleList: {
              hwType: id.hwModuleList.hwType,
              hwSerialEntries: id.hwModuleList.hwSerialEntries.map((e) =>
                'all' in e ? { all: null } : 'single' in e ? { single: hex(e.single) } : { block: { low: hex(e.block.low), high: hex(e.block.high) } },
              ),
            },
          },
    );
  }

  /** Same as fromSchema (the name the package verifiers use). */
  static fromNode(node: AsnNode, path?: string): CommunityIdentifiers {
    return CommunityIdentifiers.fromSchema(node, path);
  }

  static fromBER(bytes: Bytes): CommunityIdentifiers {
    return CommunityIdentifiers.fromNode(parseDer(bytes, CommunityIdentifiers.CLASS_NAME));
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
