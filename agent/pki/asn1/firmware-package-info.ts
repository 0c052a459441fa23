// RFC 4108 §2.2.9 firmware-package-info signed attribute (id-aa-firmwarePackageInfo):
//   FirmwarePackageInfo ::= SEQUENCE {
//     fwPkgType INTEGER OPTIONAL,
//     dependencies SEQUENCE OF PreferredOrLegacyPackageIdentifier OPTIONAL }
// fwPkgType's meaning is module specific; a preferred dependency names the minimum acceptable version.
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, Tag, encodeNode, isUniversal, parseDer, readBigInt, seqChildren } from './der.js';
import { OID_AA_FIRMWARE_PACKAGE_INFO } from './firmware-oids.js';
import { PreferredOrLegacyPackageIdentifier, type FirmwarePackageNameJson } from './firmware-package-name.js';

export class FirmwarePackageInfo {
  static readonly CLASS_NAME = 'FirmwarePackageInfo';
  static readonly ATTRIBUTE_OID = OID_AA_FIRMWARE_PACKAGE_INFO;
  fwPkgType?: bigint;
  dependencies?: PreferredOrLegacyPackageIdentifier[];

  constructor(params: { schema: AsnNode } | { fwPkgType?: bigint | number; dependencies?: PreferredOrLegacyPackageIdentifier[] } = {}) {
    if ('schema' in params) this.fromSchema(params.schema);
    else {
      if (params.fwPkgType !== undefined) this.fwPkgType = BigInt(params.fwPkgType);
      if (params.dependencies !== undefined) this.dependencies = [...params.dependencies];
    }
  }

  static schema(parameters: { names?: { blockName?: string } } = {}): asn1js.Sequence {
    return new asn1js.Sequence({
      name: parameters.names?.blockName ?? '',
      value: [new asn1js.Integer({ optional: true }), new asn1js.Sequence({ optional: true, value: [new asn1js.Repeated({ value: new asn1js.Any() })] })],
    });
  }

  fromSchema(schema: AsnNode, path = FirmwarePackageInfo.CLASS_NAME): void {
    const kids = seqChildren(schema, path);
    delete this.fwPkgType;
    delete this.dependencies;
    let i = 0;
    if (isUniversal(kids[i], Tag.INTEGER)) this.fwPkgType = readBigInt(kids[i++], `${path}.fwPkgType`);
    if (kids[i] !== undefined) {
      this.dependencies = seqChildren(kids[i], `${path}.dependencies`).map((d, j) => PreferredOrLegacyPackageIdentifier.fromNode(d, `${path}.dependencies[${j}]`));
      i++;
    }
    if (i < kids.length) throw new Asn1DecodeError('extra-field', `${path}[${i}]`, 'unexpected element');
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

  static fromNode(node: AsnNode, path?: string): FirmwarePackageInfo {
    const f = new FirmwarePackageInfo();
    f.fromSchema(node, path);
    return f;
  }

  static fromBER(bytes: Bytes): FirmwarePackageInfo {
    return FirmwarePackageInfo.fromNode(parseDer(bytes, FirmwarePackageInfo.CLASS_NAME));
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
