// The lab's RFC 4108 (CMS firmware packages) ASN.1, from the module in its Appendix A (DEFINITIONS IMPLICIT TAGS):
// the signed attributes the lab puts on a package (§2.2) and decoders for what a device returns, the load receipt
// (§3.1.3) and the load error (§4.1.3), as JSON-friendly records. RFC 3274 CompressedData and RFC 5652 EncryptedData
// around the content are written by the streaming package writer (../firmware.ts).
import type * as pkijs from 'pkijs';
import { attribute } from '../pki/signed-data.js';
import { DerError, Fields, UNIVERSAL, hex, int, isContext, isUniversal, nul, octets, oid, parse, readInt, readOctets, readOid, seq, type Node } from './der.js';

const ID_CT = '1.2.840.113549.1.9.16.1';
const ID_AA = '1.2.840.113549.1.9.16.2';
export const OID_CT_FIRMWARE_PACKAGE = `${ID_CT}.16`;
export const OID_CT_FIRMWARE_LOAD_RECEIPT = `${ID_CT}.17`;
export const OID_CT_FIRMWARE_LOAD_ERROR = `${ID_CT}.18`;
/** RFC 3274 §1.1 id-ct-compressedData and §2 id-alg-zlibCompress. */
export const OID_CT_COMPRESSED_DATA = `${ID_CT}.9`;
export const OID_ALG_ZLIB_COMPRESS = '1.2.840.113549.1.9.16.3.8';
const OID_AA = {
  firmwarePackageID: `${ID_AA}.35`,
  targetHardwareIDs: `${ID_AA}.36`,
  decryptKeyID: `${ID_AA}.37`,
  communityIdentifiers: `${ID_AA}.40`,
  fwPkgMessageDigest: `${ID_AA}.41`,
  firmwarePackageInfo: `${ID_AA}.42`,
} as const;

/** RFC 7193 application/cms parameters for a package served on /firmware (RFC 8295 §6), plain or compressed before signing. */
export const FIRMWARE_MEDIA_TYPE = 'application/cms; encapsulatingContent=signedData; innerContent=firmwarePackage';
export const FIRMWARE_COMPRESSED_MEDIA_TYPE = 'application/cms; encapsulatingContent="signedData, compressedData"; innerContent=firmwarePackage';

// ---- names (§2.2.3) ------------------------------------------------------------------------------------------------

/** PreferredOrLegacyPackageIdentifier ::= CHOICE { preferred SEQUENCE { fwPkgID OBJECT IDENTIFIER, verNum INTEGER (0..MAX) }, legacy OCTET STRING }. */
export type FirmwarePackageName = { preferred: { fwPkgID: string; verNum: bigint | number } } | { legacy: Uint8Array };
export type FirmwarePackageNameJson = { preferred: { fwPkgID: string; verNum: string } } | { legacy: string };
/** PreferredOrLegacyStalePackageIdentifier ::= CHOICE { preferredStaleVerNum INTEGER (0..MAX), legacyStaleVersion OCTET STRING }. */
export type FirmwareStaleVersion = { preferredStaleVerNum: bigint | number } | { legacyStaleVersion: Uint8Array };

const nameNode = (n: FirmwarePackageName): Node => ('preferred' in n ? seq(oid(n.preferred.fwPkgID), int(n.preferred.verNum)) : octets(n.legacy));

function readName(n: Node, path: string): FirmwarePackageNameJson {
  if (isUniversal(n, UNIVERSAL.OCTET_STRING)) return { legacy: hex(readOctets(n, path)) };
  const f = Fields.of(n, `${path}.preferred`);
  const fwPkgID = readOid(...f.next('fwPkgID'));
  const [vn, vp] = f.next('verNum');
  const verNum = readInt(vn, vp);
  if (verNum < 0n) throw new DerError(vp, 'verNum is INTEGER (0..MAX)');
  f.end();
  return { preferred: { fwPkgID, verNum: verNum.toString() } };
}

// ---- signed attributes (§2.2) --------------------------------------------------------------------------------------

export type HardwareSerialEntry = { all: true } | { single: Uint8Array } | { block: { low: Uint8Array; high: Uint8Array } };
/** §2.2.6 CommunityIdentifier ::= CHOICE { communityOID OBJECT IDENTIFIER, hwModuleList HardwareModules }. */
export type CommunityIdentifier = { communityOID: string } | { hwModuleList: { hwType: string; hwSerialEntries: HardwareSerialEntry[] } };

/** §2.2.1 firmware-package-identifier: FirmwarePackageIdentifier ::= SEQUENCE { name, stale OPTIONAL }. */
export function firmwarePackageIdentifierAttribute(name: FirmwarePackageName, stale?: FirmwareStaleVersion): pkijs.Attribute {
  const staleNode = stale === undefined ? [] : ['preferredStaleVerNum' in stale ? int(stale.preferredStaleVerNum) : octets(stale.legacyStaleVersion)];
  return attribute(OID_AA.firmwarePackageID, seq(nameNode(name), ...staleNode));
}
/** §2.2.2 target-hardware-identifiers: SEQUENCE OF OBJECT IDENTIFIER. */
export const targetHardwareIdentifiersAttribute = (oids: string[]): pkijs.Attribute => attribute(OID_AA.targetHardwareIDs, seq(...oids.map(oid)));
/** §2.2.3 decrypt-key-identifier: DecryptKeyIdentifier ::= OCTET STRING. */
export const decryptKeyIdentifierAttribute = (keyId: Uint8Array): pkijs.Attribute => attribute(OID_AA.decryptKeyID, octets(keyId));
/** §2.2.6 community-identifiers: SEQUENCE OF CommunityIdentifier. */
export function communityIdentifiersAttribute(ids: CommunityIdentifier[]): pkijs.Attribute {
  const serial = (s: HardwareSerialEntry): Node => ('all' in s ? nul() : 'single' in s ? octets(s.single) : seq(octets(s.block.low), octets(s.block.high)));
  return attribute(OID_AA.communityIdentifiers, seq(...ids.map((c) => ('communityOID' in c ? oid(c.communityOID) : seq(oid(c.hwModuleList.hwType), seq(...c.hwModuleList.hwSerialEntries.map(serial)))))));
}
/** §2.2.7 firmware-package-message-digest: SEQUENCE { algorithm AlgorithmIdentifier, msgDigest OCTET STRING }. */
export const firmwarePackageMessageDigestAttribute = (digestAlg: string, digest: Uint8Array): pkijs.Attribute =>
  attribute(OID_AA.fwPkgMessageDigest, seq(seq(oid(digestAlg)), octets(digest)));
/** §2.2.5 firmware-package-info: SEQUENCE { fwPkgType INTEGER OPTIONAL, dependencies SEQUENCE OF PreferredOrLegacyPackageIdentifier OPTIONAL }. */
export function firmwarePackageInfoAttribute(o: { fwPkgType?: number; dependencies?: FirmwarePackageName[] }): pkijs.Attribute {
  return attribute(OID_AA.firmwarePackageInfo, seq(...(o.fwPkgType !== undefined ? [int(o.fwPkgType)] : []), ...(o.dependencies ? [seq(...o.dependencies.map(nameNode))] : [])));
}

// ---- receipt and error (§3.1.3, §4.1.3) -----------------------------------------------------------------------------

export interface FirmwareLoadReceiptJson {
  version: number;
  hwType: string;
  hwSerialNum: string;
  fwPkgName: FirmwarePackageNameJson;
  trustAnchorKeyID?: string;
  decryptKeyID?: string;
}

/** One `version FW…Version DEFAULT v1` INTEGER { v1(1) }: the only version there is. */
function readV1(f: Fields): number {
  const v = f.optional('version', (x) => isUniversal(x, UNIVERSAL.INTEGER));
  if (v && readInt(...v) !== 1n) throw new DerError(v[1], 'version is v1(1)');
  return 1;
}

/**
 * FirmwarePackageLoadReceipt ::= SEQUENCE { version FWReceiptVersion DEFAULT v1, hwType OBJECT IDENTIFIER,
 *   hwSerialNum OCTET STRING, fwPkgName PreferredOrLegacyPackageIdentifier, trustAnchorKeyID OCTET STRING OPTIONAL,
 *   decryptKeyID [1] OCTET STRING OPTIONAL }
 */
export function decodeFirmwareLoadReceipt(d: Uint8Array): FirmwareLoadReceiptJson {
  const f = Fields.of(parse(d, 'FirmwarePackageLoadReceipt'), 'FirmwarePackageLoadReceipt');
  const r: FirmwareLoadReceiptJson = { version: readV1(f), hwType: readOid(...f.next('hwType')), hwSerialNum: hex(readOctets(...f.next('hwSerialNum'))), fwPkgName: readName(...f.next('fwPkgName')) };
  const ta = f.optional('trustAnchorKeyID', (x) => isUniversal(x, UNIVERSAL.OCTET_STRING));
  if (ta) r.trustAnchorKeyID = hex(readOctets(...ta));
  const dk = f.optional('decryptKeyID', (x) => isContext(x, 1, false));
  if (dk) r.decryptKeyID = hex(readOctets(dk[0], dk[1], 1));
  f.end();
  return r;
}

/** FirmwarePackageLoadErrorCode ::= ENUMERATED (§4.1.3). */
const ERROR_CODES: Readonly<Record<number, string>> = {
  1: 'decodeFailure', 2: 'badContentInfo', 3: 'badSignedData', 4: 'badEncapContent', 5: 'badCertificate', 6: 'badSignerInfo', 7: 'badSignedAttrs',
  8: 'badUnsignedAttrs', 9: 'missingContent', 10: 'noTrustAnchor', 11: 'notAuthorized', 12: 'badDigestAlgorithm', 13: 'badSignatureAlgorithm',
  14: 'unsupportedKeySize', 15: 'signatureFailure', 16: 'contentTypeMismatch', 17: 'badEncryptedData', 18: 'unprotectedAttrsPresent',
  19: 'badEncryptContent', 20: 'badEncryptAlgorithm', 21: 'missingCiphertext', 22: 'noDecryptKey', 23: 'decryptFailure', 24: 'badCompressAlgorithm',
  25: 'missingCompressedContent', 26: 'decompressFailure', 27: 'wrongHardware', 28: 'stalePackage', 29: 'notInCommunity', 30: 'unsupportedPackageType',
  31: 'missingDependency', 32: 'wrongDependencyVersion', 33: 'insufficientMemory', 34: 'badFirmware', 35: 'unsupportedParameters', 36: 'breaksDependency',
  99: 'otherError',
};

export interface FirmwareLoadErrorJson {
  version: number;
  hwType: string;
  hwSerialNum: string;
  errorCode: number;
  errorName: string;
  vendorErrorCode?: string;
  fwPkgName?: FirmwarePackageNameJson;
  config?: Array<{ fwPkgType?: string; fwPkgName: FirmwarePackageNameJson }>;
}

/**
 * FirmwarePackageLoadError ::= SEQUENCE { version FWErrorVersion DEFAULT v1, hwType OBJECT IDENTIFIER,
 *   hwSerialNum OCTET STRING, errorCode FirmwarePackageLoadErrorCode, vendorErrorCode VendorLoadErrorCode OPTIONAL,
 *   fwPkgName PreferredOrLegacyPackageIdentifier OPTIONAL, config [1] SEQUENCE OF CurrentFWConfig OPTIONAL }
 * CurrentFWConfig ::= SEQUENCE { fwPkgType INTEGER OPTIONAL, fwPkgName PreferredOrLegacyPackageIdentifier }
 * §4.1.3: vendorErrorCode MUST be present when errorCode is otherError.
 */
export function decodeFirmwareLoadError(d: Uint8Array): FirmwareLoadErrorJson {
  const f = Fields.of(parse(d, 'FirmwarePackageLoadError'), 'FirmwarePackageLoadError');
  const version = readV1(f);
  const hwType = readOid(...f.next('hwType'));
  const hwSerialNum = hex(readOctets(...f.next('hwSerialNum')));
  const [ec, ep] = f.next('errorCode');
  const code = Number(readInt(ec, ep, { universal: UNIVERSAL.ENUMERATED }));
  const errorName = ERROR_CODES[code];
  if (!errorName) throw new DerError(ep, `${code} is not a FirmwarePackageLoadErrorCode`);
  const r: FirmwareLoadErrorJson = { version, hwType, hwSerialNum, errorCode: code, errorName };
  const vendor = f.optional('vendorErrorCode', (x) => isUniversal(x, UNIVERSAL.INTEGER));
  if (vendor) r.vendorErrorCode = readInt(...vendor).toString();
  if (errorName === 'otherError' && !vendor) throw new DerError(`${f.path}.vendorErrorCode`, 'MUST be present with otherError (§4.1.3)');
  const name = f.optional('fwPkgName', (x) => isUniversal(x, UNIVERSAL.SEQUENCE) || isUniversal(x, UNIVERSAL.OCTET_STRING));
  if (name) r.fwPkgName = readName(...name);
  const cfg = f.optional('config', (x) => isContext(x, 1, true));
  if (cfg) {
    r.config = Fields.of(cfg[0], cfg[1], { context: 1 })
      .rest('')
      .map(([c, p]) => {
        const cf = Fields.of(c, p);
        const t = cf.optional('fwPkgType', (x) => isUniversal(x, UNIVERSAL.INTEGER));
        const out = { ...(t ? { fwPkgType: readInt(...t).toString() } : {}), fwPkgName: readName(...cf.next('fwPkgName')) };
        cf.end();
        return out;
      });
  }
  f.end();
  return r;
}

