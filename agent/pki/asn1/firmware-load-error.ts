// RFC 4108 §4.1.3 firmware package load error report (content type id-ct-firmwareLoadError):
//   FirmwarePackageLoadError ::= SEQUENCE {
//     version FWErrorVersion DEFAULT v1,
//     hwType OBJECT IDENTIFIER,
//     hwSerialNum OCTET STRING,
//     errorCode FirmwarePackageLoadErrorCode,
//     vendorErrorCode VendorLoadErrorCode OPTIONAL,
//     fwPkgName PreferredOrLegacyPackageIdentifier OPTIONAL,
//     config [1] SEQUENCE OF CurrentFWConfig OPTIONAL }   -- IMPLICIT
//   FWErrorVersion ::= INTEGER { v1(1) }
//   CurrentFWConfig ::= SEQUENCE {
//     fwPkgType INTEGER OPTIONAL,
//     fwPkgName PreferredOrLegacyPackageIdentifier }
//   FirmwarePackageLoadErrorCode ::= ENUMERATED { decodeFailure(1) … breaksDependency(36), otherError(99) }
//   VendorLoadErrorCode ::= INTEGER
// vendorErrorCode MUST be present when errorCode is otherError (enforced both ways). The enumeration has no
// extension marker: values outside it are refused.
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { type AsnNode, type Bytes, Tag, checkOid, contextChildren, encodeNode, hex, isContext, isUniversal, parseDer, readBigInt, readOctets, readOid, readSmallInt, seqChildren, verifySchema } from './der.js';
import { FirmwareErrorCode, OID_CT_FIRMWARE_LOAD_ERROR, firmwareErrorCodeName, type FirmwareErrorCodeName, type FirmwareErrorCodeValue } from './firmware-oids.js';
import { PreferredOrLegacyPackageIdentifier, type FirmwarePackageNameFields, type FirmwarePackageNameJson } from './firmware-package-name.js';

export const FW_ERROR_VERSION_V1 = 1;
const ENUMERATED = 10;

export interface CurrentFWConfig {
  fwPkgType?: bigint;
  fwPkgName: PreferredOrLegacyPackageIdentifier;
}

export interface FirmwarePackageLoadErrorFields {
  hwType: string;
  hwSerialNum: Uint8Array;
  errorCode: FirmwareErrorCodeValue | FirmwareErrorCodeName;
  vendorErrorCode?: bigint | number;
  fwPkgName?: PreferredOrLegacyPackageIdentifier | FirmwarePackageNameFields;
  config?: Array<{ fwPkgType?: bigint | number; fwPkgName: PreferredOrLegacyPackageIdentifier | FirmwarePackageNameFields }>;
}

const asName = (n: PreferredOrLegacyPackageIdentifier | FirmwarePackageNameFields): PreferredOrLegacyPackageIdentifier =>
  n instanceof PreferredOrLegacyPackageIdentifier ? n : new PreferredOrLegacyPackageIdentifier(n);

export class FirmwarePackageLoadError {
  static readonly CLASS_NAME = 'FirmwarePackageLoadError';
  static readonly CONTENT_TYPE = OID_CT_FIRMWARE_LOAD_ERROR;
  readonly version = FW_ERROR_VERSION_V1;
  hwType: string;
  hwSerialNum: Uint8Array;
  errorCode: FirmwareErrorCodeValue;
  vendorErrorCode?: bigint;
  fwPkgName?: PreferredOrLegacyPackageIdentifier;
  config?: CurrentFWConfig[];

  constructor(params: FirmwarePackageLoadErrorFields) {
    checkOid('FirmwarePackageLoadError.hwType', params.hwType);
    this.hwType = params.hwType;
    this.hwSerialNum = new Uint8Array(params.hwSerialNum);
    const code = typeof params.errorCode === 'string' ? FirmwareErrorCode[params.errorCode] : params.errorCode;
    if (code === undefined || firmwareErrorCodeName(code) === undefined) throw new Asn1EncodeError(`unknown FirmwarePackageLoadErrorCode ${String(params.errorCode)}`);
    this.errorCode = code;
    if (params.vendorErrorCode !== undefined) this.vendorErrorCode = BigInt(params.vendorErrorCode);
    if (code === FirmwareErrorCode.otherError && this.vendorErrorCode === undefined) throw new Asn1EncodeError('vendorErrorCode MUST be present with otherError (RFC 4108 §4.1.3)');
    if (params.fwPkgName !== undefined) this.fwPkgName = asName(params.fwPkgName);
    if (params.config !== undefined) {
      this.config = params.config.map((c) => ({ ...(c.fwPkgType !== undefined ? { fwPkgType: BigInt(c.fwPkgType) } : {}), fwPkgName: asName(c.fwPkgName) }));
    }
  }

  get errorName(): FirmwareErrorCodeName {
    return firmwareErrorCodeName(this.errorCode)!;
  }

  /** fwPkgName is Any here (a CHOICE): its reader names a bad one `path.fwPkgName`. */
  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.Integer({ name: 'version', optional: true }),
        new asn1js.ObjectIdentifier({ name: 'hwType' }),
        new asn1js.OctetString({ name: 'hwSerialNum' }),
        new asn1js.Enumerated({ name: 'errorCode' }),
        new asn1js.Integer({ name: 'vendorErrorCode', optional: true }),
        new asn1js.Any({ name: 'fwPkgName', optional: true }),
        new asn1js.Constructed({ name: 'config', optional: true, idBlock: { tagClass: 3, tagNumber: 1 }, value: [new asn1js.Repeated({ value: new asn1js.Any() })] }),
      ],
    });
  }

  static fromSchema(node: AsnNode, path = FirmwarePackageLoadError.CLASS_NAME): FirmwarePackageLoadError {
    const kids = seqChildren(node, path);
    let i = 0;
    if (isUniversal(kids[i], Tag.INTEGER)) readSmallInt(kids[i++], `${path}.version`, FW_ERROR_VERSION_V1, FW_ERROR_VERSION_V1);
    const hwType = readOid(kids[i++], `${path}.hwType`);
    const hwSerialNum = readOctets(kids[i++], `${path}.hwSerialNum`);
    const ec = kids[i++];
    if (ec === undefined) throw new Asn1DecodeError('missing-field', `${path}.errorCode`, 'absent');
    if (!isUniversal(ec, ENUMERATED)) throw new Asn1DecodeError('bad-tag', `${path}.errorCode`, 'expected ENUMERATED');
    const codeBig = (ec as asn1js.Enumerated).toBigInt();
    const code = codeBig >= 0n && codeBig <= 1000n ? Number(codeBig) : -1;
    if (firmwareErrorCodeName(code) === undefined) throw new Asn1DecodeError('constraint', `${path}.errorCode`, `${codeBig} is not a FirmwarePackageLoadErrorCode`);
    const f: FirmwarePackageLoadErrorFields = { hwType, hwSerialNum, errorCode: code as FirmwareErrorCodeValue };
    if (isUniversal(kids[i], Tag.INTEGER)) f.vendorErrorCode = readBigInt(kids[i++], `${path}.vendorErrorCode`);
    if (isUniversal(kids[i], Tag.SEQUENCE) || isUniversal(kids[i], Tag.OCTET_STRING)) f.fwPkgName = PreferredOrLegacyPackageIdentifier.fromNode(kids[i++]!, `${path}.fwPkgName`);
    if (kids[i] !== undefined && isContext(kids[i], 1, true)) {
      f.config = contextChildren(kids[i++]!, `${path}.config`).map((c, j) => {
        const q = `${path}.config[${j}]`;
        const ck = seqChildren(c, q);
        let k = 0;
        const fwPkgType = isUniversal(ck[k], Tag.INTEGER) ? readBigInt(ck[k++], `${q}.fwPkgType`) : undefined;
        if (ck[k] === undefined) throw new Asn1DecodeError('missing-field', `${q}.fwPkgName`, 'absent');
        const fwPkgName = PreferredOrLegacyPackageIdentifier.fromNode(ck[k++]!, `${q}.fwPkgName`);
        if (k < ck.length) throw new Asn1DecodeError('extra-field', `${q}[${k}]`, 'unexpected element');
        return { ...(fwPkgType !== undefined ? { fwPkgType } : {}), fwPkgName };
      });
    }
    if (i < kids.length) throw new Asn1DecodeError('extra-field', `${path}[${i}]`, 'unexpected element');
    if (f.errorCode === FirmwareErrorCode.otherError && f.vendorErrorCode === undefined) {
      throw new Asn1DecodeError('missing-field', `${path}.vendorErrorCode`, 'MUST be present with otherError');
    }
    verifySchema(node, FirmwarePackageLoadError.schema(), path);
    return new FirmwarePackageLoadError(f);
  }

  toSchema(): asn1js.Sequence {
    const value: AsnNode[] = [
      new asn1js.ObjectIdentifier({ value: this.hwType }),
      new asn1js.OctetString({ valueHex: this.hwSerialNum }),
      new asn1js.Enumerated({ value: this.errorCode }),
    ];
    if (this.vendorErrorCode !== undefined) value.push(asn1js.Integer.fromBigInt(this.vendorErrorCode));
    if (this.fwPkgName !== undefined) value.push(this.fwPkgName.toSchema());
    if (this.config !== undefined) {
      value.push(
        new asn1js.Constructed({
          idBlock: { tagClass: 3, tagNumber: 1 },
          value: this.config.map((c) => new asn1js.Sequence({ value: [...(c.fwPkgType !== undefined ? [asn1js.Integer.fromBigInt(c.fwPkgType)] : []), c.fwPkgName.toSchema()] })),
        }),
      );
    }
    return new asn1js.Sequence({ value });
  }

  toJSON(): {
    version: number;
    hwType: string;
    hwSerialNum: string;
    errorCode: number;
    errorName: string;
    vendorErrorCode?: string;
    fwPkgName?: FirmwarePackageNameJson;
    config?: Array<{ fwPkgType?: string; fwPkgName: FirmwarePackageNameJson }>;
  } {
    const j: ReturnType<FirmwarePackageLoadError['toJSON']> = {
      version: this.version,
      hwType: this.hwType,
      hwSerialNum: hex(this.hwSerialNum),
      errorCode: this.errorCode,
      errorName: this.errorName,
    };
    if (this.vendorErrorCode !== undefined) j.vendorErrorCode = this.vendorErrorCode.toString();
    if (this.fwPkgName) j.fwPkgName = this.fwPkgName.toJSON();
    if (this.config) j.config = this.config.map((c) => ({ ...(c.fwPkgType !== undefined ? { fwPkgType: c.fwPkgType.toString() } : {}), fwPkgName: c.fwPkgName.toJSON() }));
    return j;
  }

  /** Same as fromSchema (the name the package verifiers use). */
  static fromNode(node: AsnNode, path?: string): FirmwarePackageLoadError {
    return FirmwarePackageLoadError.fromSchema(node, path);
  }

  static fromBER(bytes: Bytes): FirmwarePackageLoadError {
    return FirmwarePackageLoadError.fromSchema(parseDer(bytes, FirmwarePackageLoadError.CLASS_NAME));
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
