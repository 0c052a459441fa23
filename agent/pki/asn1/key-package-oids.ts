// OIDs and codes of the CMS key package specs: RFC 6031 (symmetric key packages, PSKC attributes), RFC 5958
// (asymmetric key packages), RFC 7191 (key package receipts and errors). One constants file for the family.

/** RFC 6031 §2: id-ct-KP-sKeyPackage { id-ct 25 }. */
export const OID_CT_KP_SKEY_PACKAGE = '1.2.840.113549.1.9.16.1.25';
/** RFC 5958 §3: id-ct-KP-aKeyPackage { 2 16 840 1 101 2 1 2 78 5 }. */
export const OID_CT_KP_AKEY_PACKAGE = '2.16.840.1.101.2.1.2.78.5';
/** RFC 7191 §3: id-ct-KP-keyPackageReceipt { 2 16 840 1 101 2 1 2 78 3 }. */
export const OID_CT_KP_KEY_PACKAGE_RECEIPT = '2.16.840.1.101.2.1.2.78.3';
/** RFC 7191 §4: id-ct-KP-keyPackageError { 2 16 840 1 101 2 1 2 78 6 }. */
export const OID_CT_KP_KEY_PACKAGE_ERROR = '2.16.840.1.101.2.1.2.78.6';
/** RFC 7191 §2: id-aa-KP-keyPkgIdAndReceiptReq { 2 16 840 1 101 2 1 5 65 }. */
export const OID_AA_KP_KEY_PKG_ID_AND_RECEIPT_REQ = '2.16.840.1.101.2.1.5.65';
/** RFC 7191 §5: id-dn — SIREntityName whose sirenValue is a DER DistinguishedName. */
export const OID_SIREN_DN = '2.16.840.1.101.2.1.16.0';

/** RFC 6031 §3 id-pskc arc (PSKC attributes, RFC 6030 equivalents). */
export const OID_PSKC = '1.2.840.113549.1.9.16.12';
/** §3.2.1 keyId (UTF8String) — the key's identifier; enrolld names the sealed key after it. */
export const OID_PSKC_KEY_ID = `${OID_PSKC}.9`;
/** §3.2.2 algorithm (UTF8String, a URI such as "http://www.w3.org/2001/04/xmlenc#aes256-cbc"). */
export const OID_PSKC_ALGORITHM = `${OID_PSKC}.10`;
/** §3.2.3 issuer (UTF8String). */
export const OID_PSKC_ISSUER = `${OID_PSKC}.11`;
/** §3.2.6 friendlyName (SEQUENCE { friendlyName UTF8String, friendlyNameLangTag UTF8String OPTIONAL }). */
export const OID_PSKC_FRIENDLY_NAME = `${OID_PSKC}.14`;
/** §3.2.10 keyExpiryDate (GeneralizedTime). */
export const OID_PSKC_KEY_EXPIRY_DATE = `${OID_PSKC}.22`;
/** §3.1.2 serialNo (UTF8String) — package attribute naming the target device. */
export const OID_PSKC_SERIAL_NO = `${OID_PSKC}.2`;

/** RFC 7191 §4 EnumeratedErrorCode (values ≤ 33 aligned with RFC 5934). */
export const KeyPackageErrorCode = {
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
  unsupportedParameters: 15,
  signatureFailure: 16,
  insufficientMemory: 17,
  incorrectTarget: 23,
  missingSignature: 29,
  resourcesBusy: 30,
  versionNumberMismatch: 31,
  revokedCertificate: 33,
  ambiguousDecrypt: 60,
  noDecryptKey: 61,
  badEncryptedData: 62,
  badEnvelopedData: 63,
  badAuthenticatedData: 64,
  badAuthEnvelopedData: 65,
  badKeyAgreeRecipientInfo: 66,
  badKEKRecipientInfo: 67,
  badEncryptContent: 68,
  badEncryptAlgorithm: 69,
  missingCiphertext: 70,
  decryptFailure: 71,
  badMACAlgorithm: 72,
  badAuthAttrs: 73,
  badUnauthAttrs: 74,
  invalidMAC: 75,
  mismatchedDigestAlg: 76,
  missingCertificate: 77,
  tooManySigners: 78,
  missingSignedAttributes: 79,
  derEncodingNotUsed: 80,
  missingContentHints: 81,
  invalidAttributeLocation: 82,
  badMessageDigest: 83,
  badKeyPackage: 84,
  badAttributes: 85,
  attributeComparisonFailure: 86,
  unsupportedSymmetricKeyPackage: 87,
  unsupportedAsymmetricKeyPackage: 88,
  constraintViolation: 89,
  ambiguousDefaultValue: 90,
  noMatchingRecipientInfo: 91,
  unsupportedKeyWrapAlgorithm: 92,
  badKeyTransRecipientInfo: 93,
  other: 127,
} as const;
export type KeyPackageErrorCodeName = keyof typeof KeyPackageErrorCode;

export function keyPackageErrorCodeName(value: number): KeyPackageErrorCodeName | undefined {
  return (Object.keys(KeyPackageErrorCode) as KeyPackageErrorCodeName[]).find((k) => KeyPackageErrorCode[k] === value);
}

/** RFC 8295 §1.5 / §5 media types (the symmetric key package and the receipt/error bodies are application/cms). */
export const MEDIA_TYPE_CMS = 'application/cms';
export const MEDIA_TYPE_PKCS8 = 'application/pkcs8';
export const MEDIA_TYPE_PKCS7_CERTS_ONLY = 'application/pkcs7-mime; smime-type=certs-only';
export const MEDIA_TYPE_MULTIPART_MIXED = 'multipart/mixed';

// ---- encrypted key packages (RFC 6032 §2 EncryptedKeyPackage) and PKCS #12 (RFC 7292); their algorithm OIDs are in pki/algorithms.ts ----

/** RFC 6032 §2 id-ct-KP-encryptedKeyPkg. */
export const OID_CT_KP_ENCRYPTED_KEY_PACKAGE = '2.16.840.1.101.2.1.2.78.2';
/** RFC 7292 §4.2 bag types. */
export const OID_PKCS12_KEY_BAG = '1.2.840.113549.1.12.10.1.1';
export const OID_PKCS12_SHROUDED_KEY_BAG = '1.2.840.113549.1.12.10.1.2';
export const OID_PKCS12_CERT_BAG = '1.2.840.113549.1.12.10.1.3';
/** RFC 7292 §4.2.3 x509Certificate cert type. */
export const OID_PKCS9_X509_CERTIFICATE = '1.2.840.113549.1.9.22.1';
/** RFC 8295 §8 / RFC 7292 media type of a PKCS #12 part. */
export const MEDIA_TYPE_PKCS12 = 'application/pkcs12';
