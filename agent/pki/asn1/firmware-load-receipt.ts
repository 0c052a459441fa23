// RFC 4108 §3.1.3 firmware package load receipt (content type id-ct-firmwareLoadReceipt):
//   FirmwarePackageLoadReceipt ::= SEQUENCE {
//     version FWReceiptVersion DEFAULT v1,
//     hwType OBJECT IDENTIFIER,
//     hwSerialNum OCTET STRING,
//     fwPkgName PreferredOrLegacyPackageIdentifier,
//     trustAnchorKeyID OCTET STRING OPTIONAL,
//     decryptKeyID [1] OCTET STRING OPTIONAL }      -- IMPLICIT (module DEFINITIONS IMPLICIT TAGS)
//   FWReceiptVersion ::= INTEGER { v1(1) }
// Implementations MUST use the default version, so DER omits it; an explicit v1 (the eContent need not be DER) is
// accepted on decode, any other version is refused. decryptKeyID only for an encrypted package that was decrypted.
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, Tag, checkOid, encodeNode, hex, isContext, isUniversal, parseDer, readOctets, readOid, readSmallInt, seqChildren } from './der.js';
import { OID_CT_FIRMWARE_LOAD_RECEIPT } from './firmware-oids.js';
import { PreferredOrLegacyPackageIdentifier, type FirmwarePackageNameFields, type FirmwarePackageNameJson } from './firmware-package-name.js';

export const FW_RECEIPT_VERSION_V1 = 1;

export interface FirmwarePackageLoadReceiptFields {
  hwType: string;
  hwSerialNum: Uint8Array;
  fwPkgName: PreferredOrLegacyPackageIdentifier | FirmwarePackageNameFields;
  trustAnchorKeyID?: Uint8Array;
  decryptKeyID?: Uint8Array;
}

/** Reads an [n] IMPLICIT OCTET STRING (primitive, or constructed BER segments) as bytes. */
export function readImplicitOctets(node: AsnNode, path: string): Uint8Array {
  const b = node as asn1js.BaseBlock;
  if (b.idBlock.isConstructed) {
    const parts = ((b.valueBlock as unknown as { value?: AsnNode[] }).value ?? []).map((p, i) => readOctets(p, `${path}[${i}]`));
    return new Uint8Array(Buffer.concat(parts));
  }
  return new Uint8Array((b.valueBlock as unknown as { valueHexView: Uint8Array }).valueHexView);
}

export function implicitOctets(tagNumber: number, value: Uint8Array): asn1js.Primitive {
  return new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber }, valueHex: value });
}

export class FirmwarePackageLoadReceipt {
  static readonly CLASS_NAME = 'FirmwarePackageLoadReceipt';
  static readonly CONTENT_TYPE = OID_CT_FIRMWARE_LOAD_RECEIPT;
  readonly version = FW_RECEIPT_VERSION_V1;
  hwType: string;
  hwSerialNum: Uint8Array;
  fwPkgName: PreferredOrLegacyPackageIdentifier;
  trustAnchorKeyID?: Uint8Array;
  decryptKeyID?: Uint8Array;

  constructor(params: { schema: AsnNode } | FirmwarePackageLoadReceiptFields) {
    if ('schema' in params) {
      this.hwType = '';
      this.hwSerialNum = new Uint8Array();
      this.fwPkgName = new PreferredOrLegacyPackageIdentifier({ legacy: new Uint8Array() });
      this.fromSchema(params.schema);
      return;
    }
    checkOid('FirmwarePackageLoadReceipt.hwType', params.hwType);
    this.hwType = params.hwType;
    this.hwSerialNum = new Uint8Array(params.hwSerialNum);
    this.fwPkgName = params.fwPkgName instanceof PreferredOrLegacyPackageIdentifier ? params.fwPkgName : new PreferredOrLegacyPackageIdentifier(params.fwPkgName);
    if (params.trustAnchorKeyID !== undefined) this.trustAnchorKeyID = new Uint8Array(params.trustAnchorKeyID);
    if (params.decryptKeyID !== undefined) this.decryptKeyID = new Uint8Array(params.decryptKeyID);
  }

  static schema(parameters: { names?: { blockName?: string } } = {}): asn1js.Sequence {
    return new asn1js.Sequence({
      name: parameters.names?.blockName ?? '',
      value: [
        new asn1js.Integer({ optional: true }),
        new asn1js.ObjectIdentifier(),
        new asn1js.OctetString(),
        PreferredOrLegacyPackageIdentifier.schema(),
        new asn1js.OctetString({ optional: true }),
        new asn1js.Primitive({ optional: true, idBlock: { tagClass: 3, tagNumber: 1 } }),
      ],
    });
  }

  fromSchema(schema: AsnNode, path = FirmwarePackageLoadReceipt.CLASS_NAME): void {
    const kids = seqChildren(schema, path);
    let i = 0;
    if (isUniversal(kids[i], Tag.INTEGER)) readSmallInt(kids[i++], `${path}.version`, FW_RECEIPT_VERSION_V1, FW_RECEIPT_VERSION_V1);
    this.hwType = readOid(kids[i++], `${path}.hwType`);
    this.hwSerialNum = readOctets(kids[i++], `${path}.hwSerialNum`);
    if (kids[i] === undefined) throw new Asn1DecodeError('missing-field', `${path}.fwPkgName`, 'absent');
    this.fwPkgName = PreferredOrLegacyPackageIdentifier.fromNode(kids[i++]!, `${path}.fwPkgName`);
    delete this.trustAnchorKeyID;
    delete this.decryptKeyID;
    if (isUniversal(kids[i], Tag.OCTET_STRING)) this.trustAnchorKeyID = readOctets(kids[i++], `${path}.trustAnchorKeyID`);
    if (kids[i] !== undefined && isContext(kids[i], 1)) this.decryptKeyID = readImplicitOctets(kids[i++]!, `${path}.decryptKeyID`);
    if (i < kids.length) throw new Asn1DecodeError('extra-field', `${path}[${i}]`, 'unexpected element');
  }

  toSchema(): asn1js.Sequence {
    const value: AsnNode[] = [new asn1js.ObjectIdentifier({ value: this.hwType }), new asn1js.OctetString({ valueHex: this.hwSerialNum }), this.fwPkgName.toSchema()];
    if (this.trustAnchorKeyID !== undefined) value.push(new asn1js.OctetString({ valueHex: this.trustAnchorKeyID }));
    if (this.decryptKeyID !== undefined) value.push(implicitOctets(1, this.decryptKeyID));
    return new asn1js.Sequence({ value });
  }

  toJSON(): { version: number; hwType: string; hwSerialNum: string; fwPkgName: FirmwarePackageNameJson; trustAnchorKeyID?: string; decryptKeyID?: string } {
    const j: ReturnType<FirmwarePackageLoadReceipt['toJSON']> = { version: this.version, hwType: this.hwType, hwSerialNum: hex(this.hwSerialNum), fwPkgName: this.fwPkgName.toJSON() };
    if (this.trustAnchorKeyID) j.trustAnchorKeyID = hex(this.trustAnchorKeyID);
    if (this.decryptKeyID) j.decryptKeyID = hex(this.decryptKeyID);
    return j;
  }

  static fromNode(node: AsnNode, path?: string): FirmwarePackageLoadReceipt {
    const r = new FirmwarePackageLoadReceipt({ hwType: "1.1", hwSerialNum: new Uint8Array(), fwPkgName: { legacy: new Uint8Array() } });
    r.fromSchema(node, path);
    return r;
  }

  static fromBER(bytes: Bytes): FirmwarePackageLoadReceipt {
    return new FirmwarePackageLoadReceipt({ schema: parseDer(bytes, FirmwarePackageLoadReceipt.CLASS_NAME) });
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
