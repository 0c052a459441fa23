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
import { type AsnNode, type Bytes, Tag, checkOid, encodeNode, hex, isContext, isUniversal, parseDer, readOctets, readOid, readSmallInt, seqChildren, verifySchema } from './der.js';
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

  constructor(params: FirmwarePackageLoadReceiptFields) {
    checkOid('FirmwarePackageLoadReceipt.hwType', params.hwType);
    this.hwType = params.hwType;
    this.hwSerialNum = new Uint8Array(params.hwSerialNum);
    this.fwPkgName = params.fwPkgName instanceof PreferredOrLegacyPackageIdentifier ? params.fwPkgName : new PreferredOrLegacyPackageIdentifier(params.fwPkgName);
    if (params.trustAnchorKeyID !== undefined) this.trustAnchorKeyID = new Uint8Array(params.trustAnchorKeyID);
    if (params.decryptKeyID !== undefined) this.decryptKeyID = new Uint8Array(params.decryptKeyID);
  }

  /** fwPkgName is Any here (a CHOICE): its reader names a bad one `path.fwPkgName`. */
  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.Integer({ name: 'version', optional: true }),
        new asn1js.ObjectIdentifier({ name: 'hwType' }),
        new asn1js.OctetString({ name: 'hwSerialNum' }),
        new asn1js.Any({ name: 'fwPkgName' }),
        new asn1js.OctetString({ name: 'trustAnchorKeyID', optional: true }),
        new asn1js.Primitive({ name: 'decryptKeyID', optional: true, idBlock: { tagClass: 3, tagNumber: 1 } }),
      ],
    });
  }

  static fromSchema(node: AsnNode, path = FirmwarePackageLoadReceipt.CLASS_NAME): FirmwarePackageLoadReceipt {
    const kids = seqChildren(node, path);
    let i = 0;
    if (isUniversal(kids[i], Tag.INTEGER)) readSmallInt(kids[i++], `${path}.version`, FW_RECEIPT_VERSION_V1, FW_RECEIPT_VERSION_V1);
    const hwType = readOid(kids[i++], `${path}.hwType`);
    const hwSerialNum = readOctets(kids[i++], `${path}.hwSerialNum`);
    if (kids[i] === undefined) throw new Asn1DecodeError('missing-field', `${path}.fwPkgName`, 'absent');
    const f: FirmwarePackageLoadReceiptFields = { hwType, hwSerialNum, fwPkgName: PreferredOrLegacyPackageIdentifier.fromNode(kids[i++]!, `${path}.fwPkgName`) };
    if (isUniversal(kids[i], Tag.OCTET_STRING)) f.trustAnchorKeyID = readOctets(kids[i++], `${path}.trustAnchorKeyID`);
    if (kids[i] !== undefined && isContext(kids[i], 1)) f.decryptKeyID = readImplicitOctets(kids[i++]!, `${path}.decryptKeyID`);
    if (i < kids.length) throw new Asn1DecodeError('extra-field', `${path}[${i}]`, 'unexpected element');
    verifySchema(node, FirmwarePackageLoadReceipt.schema(), path);
    return new FirmwarePackageLoadReceipt(f);
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

  /** Same as fromSchema (the name the package verifiers use). */
  static fromNode(node: AsnNode, path?: string): FirmwarePackageLoadReceipt {
    return FirmwarePackageLoadReceipt.fromSchema(node, path);
  }

  static fromBER(bytes: Bytes): FirmwarePackageLoadReceipt {
    return FirmwarePackageLoadReceipt.fromSchema(parseDer(bytes, FirmwarePackageLoadReceipt.CLASS_NAME));
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
