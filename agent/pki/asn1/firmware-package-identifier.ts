// RFC 4108 §2.2.3 firmware-package-identifier signed attribute (id-aa-firmwarePackageID, firmware-oids.ts):
//   FirmwarePackageIdentifier ::= SEQUENCE {
//     name PreferredOrLegacyPackageIdentifier,
//     stale PreferredOrLegacyStalePackageIdentifier OPTIONAL }
//   PreferredOrLegacyStalePackageIdentifier ::= CHOICE {
//     preferredStaleVerNum INTEGER (0..MAX),
//     legacyStaleVersion OCTET STRING }
// The stale form must match the name form (a preferred name carries a stale version number, a legacy name a stale
// legacy name, §2.2.3); a mismatch is refused on decode and encode.
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { type AsnNode, type Bytes, Tag, encodeNode, hex, isUniversal, parseDer, readOctets, seqChildren, verifySchema } from './der.js';
import { OID_AA_FIRMWARE_PACKAGE_ID } from './firmware-oids.js';
import { PreferredOrLegacyPackageIdentifier, type FirmwarePackageNameFields, type FirmwarePackageNameJson, checkNonNegative, readNonNegative } from './firmware-package-name.js';

export type FirmwareStaleFields = { preferredStaleVerNum: bigint | number } | { legacyStaleVersion: Uint8Array };

export interface FirmwarePackageIdentifierParams {
  name: PreferredOrLegacyPackageIdentifier | FirmwarePackageNameFields;
  stale?: FirmwareStaleFields;
}

export class FirmwarePackageIdentifier {
  static readonly CLASS_NAME = 'FirmwarePackageIdentifier';
  static readonly ATTRIBUTE_OID = OID_AA_FIRMWARE_PACKAGE_ID;
  name: PreferredOrLegacyPackageIdentifier;
  stale?: { preferredStaleVerNum: bigint } | { legacyStaleVersion: Uint8Array };

  constructor(params: FirmwarePackageIdentifierParams) {
    this.name = params.name instanceof PreferredOrLegacyPackageIdentifier ? params.name : new PreferredOrLegacyPackageIdentifier(params.name);
    if (params.stale !== undefined) {
      if ('preferredStaleVerNum' in params.stale) {
        if (!this.name.preferred) throw new Asn1EncodeError('a legacy package name takes a legacyStaleVersion, not preferredStaleVerNum');
        this.stale = { preferredStaleVerNum: checkNonNegative('preferredStaleVerNum', params.stale.preferredStaleVerNum) };
      } else {
        if (!this.name.legacy) throw new Asn1EncodeError('a preferred package name takes a preferredStaleVerNum, not legacyStaleVersion');
        this.stale = { legacyStaleVersion: new Uint8Array(params.stale.legacyStaleVersion) };
      }
    }
  }

  /** Both elements are Any here: their readers check them so a bad one is named `path.name` / `path.stale`. */
  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.Any({ name: 'name' }), new asn1js.Any({ name: 'stale', optional: true })] });
  }

  static fromSchema(node: AsnNode, path = FirmwarePackageIdentifier.CLASS_NAME): FirmwarePackageIdentifier {
    const kids = seqChildren(node, path);
    if (kids.length === 0) throw new Asn1DecodeError('missing-field', `${path}.name`, 'absent');
    if (kids.length > 2) throw new Asn1DecodeError('extra-field', `${path}[2]`, `expected at most 2 elements, got ${kids.length}`);
    const m = verifySchema(node, FirmwarePackageIdentifier.schema(), path);
    const name = PreferredOrLegacyPackageIdentifier.fromNode(m.name, `${path}.name`);
    const s = m.stale as AsnNode | undefined;
    if (s === undefined) return new FirmwarePackageIdentifier({ name });
    if (isUniversal(s, Tag.INTEGER)) {
      if (!name.preferred) throw new Asn1DecodeError('bad-value', `${path}.stale`, 'preferredStaleVerNum with a legacy package name');
      return new FirmwarePackageIdentifier({ name, stale: { preferredStaleVerNum: readNonNegative(s, `${path}.stale.preferredStaleVerNum`) } });
    }
    if (isUniversal(s, Tag.OCTET_STRING)) {
      if (!name.legacy) throw new Asn1DecodeError('bad-value', `${path}.stale`, 'legacyStaleVersion with a preferred package name');
      return new FirmwarePackageIdentifier({ name, stale: { legacyStaleVersion: readOctets(s, `${path}.stale.legacyStaleVersion`) } });
    }
    throw new Asn1DecodeError('bad-tag', `${path}.stale`, 'expected INTEGER or OCTET STRING');
  }

  toSchema(): asn1js.Sequence {
    const value: AsnNode[] = [this.name.toSchema()];
    if (this.stale) {
      value.push('preferredStaleVerNum' in this.stale ? asn1js.Integer.fromBigInt(this.stale.preferredStaleVerNum) : new asn1js.OctetString({ valueHex: this.stale.legacyStaleVersion }));
    }
    return new asn1js.Sequence({ value });
  }

  toJSON(): { name: FirmwarePackageNameJson; stale?: { preferredStaleVerNum: string } | { legacyStaleVersion: string } } {
    const j: ReturnType<FirmwarePackageIdentifier['toJSON']> = { name: this.name.toJSON() };
    if (this.stale) {
      j.stale = 'preferredStaleVerNum' in this.stale ? { preferredStaleVerNum: this.stale.preferredStaleVerNum.toString() } : { legacyStaleVersion: hex(this.stale.legacyStaleVersion) };
    }
    return j;
  }

  /** Same as fromSchema (the name the package verifiers use). */
  static fromNode(node: AsnNode, path?: string): FirmwarePackageIdentifier {
    return FirmwarePackageIdentifier.fromSchema(node, path);
  }

  static fromBER(bytes: Bytes): FirmwarePackageIdentifier {
    return FirmwarePackageIdentifier.fromSchema(parseDer(bytes, FirmwarePackageIdentifier.CLASS_NAME));
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
