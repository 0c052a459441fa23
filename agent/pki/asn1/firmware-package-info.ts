// RFC 4108 §2.2.9 firmware-package-info signed attribute (id-aa-firmwarePackageInfo):
//   FirmwarePackageInfo ::= SEQUENCE {
//     fwPkgType INTEGER OPTIONAL,
//     dependencies SEQUENCE OF PreferredOrLegacyPackageIdentifier OPTIONAL }
// fwPkgType's meaning is module specific; a preferred dependency names the minimum acceptable version.
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, Tag, encodeNode, isUniversal, parseDer, readBigInt, seqChildren, verifySchema } from './der.js';
import { OID_AA_FIRMWARE_PACKAGE_INFO } from './firmware-oids.js';
import { PreferredOrLegacyPackageIdentifier, type FirmwarePackageNameJson } from './firmware-package-name.js';

export interface FirmwarePackageInfoParams {
  fwPkgType?: bigint | number;
  dependencies?: PreferredOrLegacyPackageIdentifier[];
}

export class FirmwarePackageInfo {
  static readonly CLASS_NAME = 'FirmwarePackageInfo';
  static readonly ATTRIBUTE_OID = OID_AA_FIRMWARE_PACKAGE_INFO;
  fwPkgType?: bigint;
  dependencies?: PreferredOrLegacyPackageIdentifier[];

  constructor(params: FirmwarePackageInfoParams = {}) {
    if (params.fwPkgType !== undefined) this.fwPkgType = BigInt(params.fwPkgType);
    if (params.dependencies !== undefined) this.dependencies = [...params.dependencies];
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.Integer({ name: 'fwPkgType', optional: true }),
        new asn1js.Sequence({ name: 'dependencies', optional: true, value: [new asn1js.Repeated({ optional: true, value: new asn1js.Any() })] }),
      ],
    });
  }

  static fromSchema(node: AsnNode, path = FirmwarePackageInfo.CLASS_NAME): FirmwarePackageInfo {
    const kids = seqChildren(node, path);
    // Element by element first, so a misplaced one is named as before (`path.dependencies`, `path[i]`).
    let i = 0;
    if (isUniversal(kids[i], Tag.INTEGER)) i++;
    if (kids[i] !== undefined) seqChildren(kids[i++], `${path}.dependencies`);
    if (i < kids.length) throw new Asn1DecodeError('extra-field', `${path}[${i}]`, 'unexpected element');
    const m = verifySchema(node, FirmwarePackageInfo.schema(), path);
    const params: FirmwarePackageInfoParams = {};
    if (m.fwPkgType !== undefined) params.fwPkgType = readBigInt(m.fwPkgType, `${path}.fwPkgType`);
    if (m.dependencies !== undefined) {
      params.dependencies = seqChildren(m.dependencies, `${path}.dependencies`).map((d, j) => PreferredOrLegacyPackageIdentifier.fromNode(d, `${path}.dependencies[${j}]`));
    }
    return new FirmwarePackageInfo(params);
  }

  toSchema(): asn1js.Sequence {
    const value: AsnNode[] = [];
    if (this.fwPkgType !== undefined) value.push(asn1js.Integer.fromBigInt(this.fwPkgType));
    if (this.dependencies !== undefined) value.push(new asn1js.Sequence({ value: this.dependencies.map((d) => d.toSchema()) }));
    return new asn1js.Sequence({ value });
  }

  toJSON(): { fwPkgType?: string; dependencies?: FirmwarePackageNameJson[] } {
    const j: { fwPkgType?: string; dependencies?: FirmwarePackageNameJson[] } = {};
    if (this.fwPkgType !== undefined) j.fwPkgType = this.fwPkgType.toString();
    if (this.dependencies !== undefined) j.dependencies = this.dependencies.map((d) => d.toJSON());
    return j;
  }

  /** Same as fromSchema (the name the package verifiers use). */
  static fromNode(node: AsnNode, path?: string): FirmwarePackageInfo {
    return FirmwarePackageInfo.fromSchema(node, path);
  }

  static fromBER(bytes: Bytes): FirmwarePackageInfo {
    return FirmwarePackageInfo.fromSchema(parseDer(bytes, FirmwarePackageInfo.CLASS_NAME));
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
