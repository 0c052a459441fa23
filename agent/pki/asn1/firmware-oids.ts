// RFC 4108 (Using CMS to Protect Firmware Packages) object identifiers, checked against the RFC text (§2.1.5,
// §2.2.3–§2.2.10, §2.3.1, §3.1.3, §4.1.3, §5 and Appendix A, module CMSFirmwareWrapper { … modules(0)
// cms-firmware-wrap(22) }, DEFINITIONS IMPLICIT TAGS) plus Errata ID 4093 (id-aa-fwPkgMessageDigest, defined in
// §2.2.10 but missing from Appendix A). The CMS/RFC 3274 OIDs the firmware profile uses are listed here too.

/** id-smime ::= { iso(1) member-body(2) us(840) rsadsi(113549) pkcs(1) pkcs9(9) smime(16) } */
export const OID_ID_SMIME = '1.2.840.113549.1.9.16';
/** id-ct ::= { id-smime 1 } (content types). */
export const OID_ID_CT = `${OID_ID_SMIME}.1`;
/** id-aa ::= { id-smime 2 } (attributes). */
export const OID_ID_AA_SMIME = `${OID_ID_SMIME}.2`;
/** id-alg ::= { id-smime 3 } (algorithms, RFC 3274). */
export const OID_ID_ALG = `${OID_ID_SMIME}.3`;

/** §2.1.5: id-ct-firmwarePackage ::= { id-ct 16 } — content type of FirmwarePkgData. */
export const OID_CT_FIRMWARE_PACKAGE = `${OID_ID_CT}.16`;
/** §3.1.3: id-ct-firmwareLoadReceipt ::= { id-ct 17 }. */
export const OID_CT_FIRMWARE_LOAD_RECEIPT = `${OID_ID_CT}.17`;
/** §4.1.3: id-ct-firmwareLoadError ::= { id-ct 18 }. */
export const OID_CT_FIRMWARE_LOAD_ERROR = `${OID_ID_CT}.18`;

/** §2.2.3: id-aa-firmwarePackageID ::= { id-aa 35 } — FirmwarePackageIdentifier. */
export const OID_AA_FIRMWARE_PACKAGE_ID = `${OID_ID_AA_SMIME}.35`;
/** §2.2.4: id-aa-targetHardwareIDs ::= { id-aa 36 } — TargetHardwareIdentifiers. */
export const OID_AA_TARGET_HARDWARE_IDS = `${OID_ID_AA_SMIME}.36`;
/** §2.2.5: id-aa-decryptKeyID ::= { id-aa 37 } — DecryptKeyIdentifier. */
export const OID_AA_DECRYPT_KEY_ID = `${OID_ID_AA_SMIME}.37`;
/** §2.2.6: id-aa-implCryptoAlgs ::= { id-aa 38 } — ImplementedCryptoAlgorithms. */
export const OID_AA_IMPL_CRYPTO_ALGS = `${OID_ID_AA_SMIME}.38`;
/** §2.3.1: id-aa-wrappedFirmwareKey ::= { id-aa 39 } — WrappedFirmwareKey (unsigned attribute). */
export const OID_AA_WRAPPED_FIRMWARE_KEY = `${OID_ID_AA_SMIME}.39`;
/** §2.2.8: id-aa-communityIdentifiers ::= { id-aa 40 } — CommunityIdentifiers. */
export const OID_AA_COMMUNITY_IDENTIFIERS = `${OID_ID_AA_SMIME}.40`;
/** §2.2.10 / Errata 4093: id-aa-fwPkgMessageDigest ::= { id-aa 41 } — FirmwarePackageMessageDigest. */
export const OID_AA_FW_PKG_MESSAGE_DIGEST = `${OID_ID_AA_SMIME}.41`;
/** §2.2.9: id-aa-firmwarePackageInfo ::= { id-aa 42 } — FirmwarePackageInfo. */
export const OID_AA_FIRMWARE_PACKAGE_INFO = `${OID_ID_AA_SMIME}.42`;
/** §2.2.7: id-aa-implCompressAlgs ::= { id-aa 43 } — ImplementedCompressAlgorithms. */
export const OID_AA_IMPL_COMPRESS_ALGS = `${OID_ID_AA_SMIME}.43`;

/** §5: id-on-hardwareModuleName ::= { id-pkix on(8) 4 } (otherName form of HardwareModuleName). */
export const OID_ON_HARDWARE_MODULE_NAME = '1.3.6.1.5.5.7.8.4';

// --- CMS (RFC 5652) and compression (RFC 3274) identifiers used by the firmware profile --------------------------
// RFC 5652 identifiers (agent/pki/cms/oids.ts), under the names the firmware profile has used.
export {
  OID_SIGNED_DATA as OID_CMS_SIGNED_DATA,
  OID_ENCRYPTED_DATA as OID_CMS_ENCRYPTED_DATA,
  OID_ATTR_CONTENT_TYPE,
  OID_ATTR_MESSAGE_DIGEST,
  OID_ATTR_SIGNING_TIME,
} from '../cms/oids.js';
/** RFC 3274 §1.1: id-ct-compressedData ::= { id-ct 9 }. */
export const OID_CT_COMPRESSED_DATA = `${OID_ID_CT}.9`;
/** RFC 3274 §2: id-alg-zlibCompress ::= { id-alg 8 } — the zlib format of RFC 1950 (deflate, RFC 1951). */
export const OID_ALG_ZLIB_COMPRESS = `${OID_ID_ALG}.8`;

/** §4.1.3 FirmwarePackageLoadErrorCode (ENUMERATED), by name. */
export const FirmwareErrorCode = {
  decodeFailure: 1,
  badContentInfo: 2,
  badSignedData: 3,
  badEncapContent: 4,
  badCertificate: 5,
  badSignerInfo: 6,
  badSignedAttrs: 7,
  badUnsignedAttrs: 8,
  missingContent: 9,
  noTrustAnchor: 10,
  notAuthorized: 11,
  badDigestAlgorithm: 12,
  badSignatureAlgorithm: 13,
  unsupportedKeySize: 14,
  signatureFailure: 15,
  contentTypeMismatch: 16,
  badEncryptedData: 17,
  unprotectedAttrsPresent: 18,
  badEncryptContent: 19,
  badEncryptAlgorithm: 20,
  missingCiphertext: 21,
  noDecryptKey: 22,
  decryptFailure: 23,
  badCompressAlgorithm: 24,
  missingCompressedContent: 25,
  decompressFailure: 26,
  wrongHardware: 27,
  stalePackage: 28,
  notInCommunity: 29,
  unsupportedPackageType: 30,
  missingDependency: 31,
  wrongDependencyVersion: 32,
  insufficientMemory: 33,
  badFirmware: 34,
  unsupportedParameters: 35,
  breaksDependency: 36,
  otherError: 99,
} as const;
export type FirmwareErrorCodeName = keyof typeof FirmwareErrorCode;
export type FirmwareErrorCodeValue = (typeof FirmwareErrorCode)[FirmwareErrorCodeName];

/** Name of an error code value (undefined for values outside the enumeration). */
export function firmwareErrorCodeName(value: number): FirmwareErrorCodeName | undefined {
  return (Object.keys(FirmwareErrorCode) as FirmwareErrorCodeName[]).find((k) => FirmwareErrorCode[k] === value);
}
