// CMC (RFC 5272, RFC 5273, RFC 6402) over EST /fullcmc (RFC 7030 §4.3): OIDs and media types in one place.
//
// What the CMCbis texts said when this was written (read from the working group's repository lamps-wg/cmcbis,
// HEAD 9a0a52f of 29 Sep 2024 = the -03 text plus "Add No Signature Example for KEM certificate"; the numbered
// drafts published later — draft-ietf-lamps-rfc5274bis-11 of 26 Feb 2026 is the newest seen — could only be read
// as far as their front matter here, so the numbered versions past that commit are NOT checked).
// Published since: RFC 10002 (from draft-ietf-lamps-rfc5272bis-11) and RFC 10003 (from rfc5273bis-11), July 2026,
// both obsoleting RFC 5272 (resp. 5273) and RFC 6402; RFC 10004 is the requirements document. Only their metadata and
// abstracts were readable here, so the RFC text is NOT checked either; the wire format follows 9a0a52f:
// - draft-ietf-lamps-rfc5272bis §6.7 (Encrypted and Decrypted POP Controls): EncryptedPOP/DecryptedPOP unchanged
//   from RFC 5272. cms = EnvelopedData of id-data whose content is the POP Proof Value y; recipient identifier SHOULD
//   be the CSR's SKI when it has one, else issuerAndSerialNumber with the IssuerName encoded as NULL (an empty Name)
//   and the serial = the request's bodyPartID. witness = witnessAlg(y). thePOP = thePOPAlg(key = y, data = the
//   request); "If the POP Proof Value is greater than 64 bytes, only the first 64 bytes ... is used as the secret".
//   A client whose witness check or decryption fails MUST abort by sending a CMC Status Info control with
//   CMCFailInfo popFailed. Appendix B.3 (Direct POP with No Signature Mechanism): a KEM key, the EnvelopedData
//   using ori.KEMRecipientInfo (RFC 9629), thePOPAlgID KmacWithSHAKE128 and witnessAlgID SHAKE128 (RFC 8702).
//   The module's POPAlgs are { maca-hMAC-SHA1 | maca-hMAC-SHA256, ... } and WitnessAlgs { mda-sha1 | mda-sha256, ... }.
// - §C.1 (No-Signature Signature Mechanism): id-alg-noSignature parameters MUST be present and MUST be NULL;
//   NoSignatureValue (OCTET STRING) "contains the hash of the certification request" (hash unspecified in the text).
// - draft-ietf-lamps-rfc5274bis (same commit): SHA-1 MUST / SHA-256 SHOULD for witnessAlgID, HMAC-SHA1 MUST /
//   HMAC-SHA256 SHOULD for thePOPAlgID; AES MUST for content encryption; RSA (PKCS #1 v1.5) key transport MUST,
//   RSA-OAEP SHOULD.
// - RFC 9629 (KEMRecipientInfo), RFC 9690 (RSA-KEM: KDF3-SHA-256 + AES-128-wrap mandatory), RFC 8702 (KMAC/SHAKE in
//   CMS), RFC 5753 (ECDH kari, ECC-CMS-SharedInfo, X9.63 KDF), RFC 8619 (HKDF OIDs) are published RFCs.
// No OID used here is TBD, so none is a placeholder.
export const CMCBIS_VERSION = {
  structures: 'draft-ietf-lamps-rfc5272bis (lamps-wg/cmcbis 9a0a52f, 2024-09-29)',
  transport: 'draft-ietf-lamps-rfc5273bis (lamps-wg/cmcbis 9a0a52f, 2024-09-29)',
  compliance: 'draft-ietf-lamps-rfc5274bis (lamps-wg/cmcbis 9a0a52f, 2024-09-29)',
} as const;
const PKIX = '1.3.6.1.5.5.7';

/** Content types (RFC 5272 §3.2.1, §4.2). */
export const OID_CCT_PKI_DATA = `${PKIX}.12.2`;
export const OID_CCT_PKI_RESPONSE = `${PKIX}.12.3`;

/** Control attributes, id-cmc-* (RFC 5272 §6, RFC 6402). */
export const OID_CMC = {
  statusInfo: `${PKIX}.7.1`,
  identification: `${PKIX}.7.2`,
  identityProof: `${PKIX}.7.3`,
  dataReturn: `${PKIX}.7.4`,
  transactionId: `${PKIX}.7.5`,
  senderNonce: `${PKIX}.7.6`,
  recipientNonce: `${PKIX}.7.7`,
  addExtensions: `${PKIX}.7.8`,
  encryptedPOP: `${PKIX}.7.9`,
  decryptedPOP: `${PKIX}.7.10`,
  lraPOPWitness: `${PKIX}.7.11`,
  getCert: `${PKIX}.7.15`,
  getCRL: `${PKIX}.7.16`,
  revokeRequest: `${PKIX}.7.17`,
  regInfo: `${PKIX}.7.18`,
  responseInfo: `${PKIX}.7.19`,
  queryPending: `${PKIX}.7.21`,
  popLinkRandom: `${PKIX}.7.22`,
  popLinkWitness: `${PKIX}.7.23`,
  confirmCertAcceptance: `${PKIX}.7.24`,
  statusInfoV2: `${PKIX}.7.25`,
  trustedAnchors: `${PKIX}.7.26`,
  authData: `${PKIX}.7.27`,
  batchRequests: `${PKIX}.7.28`,
  batchResponses: `${PKIX}.7.29`,
  publishCert: `${PKIX}.7.30`,
  modCertTemplate: `${PKIX}.7.31`,
  controlProcessed: `${PKIX}.7.32`,
  popLinkWitnessV2: `${PKIX}.7.33`,
  identityProofV2: `${PKIX}.7.34`,
} as const;

/** Witness and POP algorithms (RFC 5272 §6.7 / rfc5272bis §6.7, Appendix B.3; RFC 5274bis §4.1). */
export { OID_HMAC_SHA256, OID_SHA256, OID_SHA1 } from '../../pki/algorithms.js';
/** hmacWithSHA1 (RFC 8018 / RFC 6268). */
export { OID_HMAC_SHA1 } from '../../pki/algorithms.js';
/** id-shake128 (RFC 8702 §3.1): a 256-bit output as a witness/digest; parameters absent. */
export const OID_SHAKE128 = '2.16.840.1.101.3.4.2.11';
/** id-KMACWithSHAKE128 (RFC 8702 §3.4): parameters KMACwithSHAKE128-params OPTIONAL (256-bit output, '' customization). */
export const OID_KMAC_WITH_SHAKE128 = '2.16.840.1.101.3.4.2.19';

/** Media types (RFC 5273 §3, RFC 7030 §4.3). */
export const CMC_MEDIA_TYPES = {
  request: 'application/pkcs7-mime; smime-type=CMC-request',
  response: 'application/pkcs7-mime; smime-type=CMC-response',
  essence: 'application/pkcs7-mime',
} as const;

export const CMC_FULLCMC_OPERATION = 'fullcmc';

/** CMCStatus (RFC 5272 §6.1.1). */
export const CMC_STATUS = {
  success: 0,
  failed: 2,
  pending: 3,
  noSupport: 4,
  confirmRequired: 5,
  popRequired: 6,
  partial: 7,
} as const;
export type CmcStatusName = keyof typeof CMC_STATUS;

/** CMCFailInfo (RFC 5272 §6.1.4). */
export const CMC_FAIL_INFO = [
  'badAlg',
  'badMessageCheck',
  'badRequest',
  'badTime',
  'badCertId',
  'unsupportedExt',
  'mustArchiveKeys',
  'badIdentity',
  'popRequired',
  'popFailed',
  'noKeyReuse',
  'internalCAError',
  'tryLater',
  'authDataFail',
] as const;
export type CmcFailInfoName = (typeof CMC_FAIL_INFO)[number];

export function statusName(n: number): CmcStatusName | undefined {
  return (Object.keys(CMC_STATUS) as CmcStatusName[]).find((k) => CMC_STATUS[k] === n);
}

/** id-alg-noSignature (RFC 5272 Appendix C.1, rfc5272bis Appendix C.1: {id-pkix id-alg(6) 2}): the PKCS#10 of a key
 * that cannot sign. Parameters present and NULL (as both texts require); the value is "the hash of the certification
 * request", unspecified: the signature BIT STRING holds SHA-256(certificationRequestInfo DER). POP is then done by
 * encryptedPOP/decryptedPOP (§6.7). */
export const OID_ALG_NO_SIGNATURE = '1.3.6.1.5.5.7.6.2';
/** Content encryption (RFC 3565 §4.1), key wrap (RFC 3565 §4.3 / RFC 3394). */
export { OID_AES128_CBC, OID_AES192_CBC, OID_AES256_CBC, OID_AES128_WRAP, OID_AES192_WRAP, OID_AES256_WRAP } from '../../pki/algorithms.js';
/** Key transport: RSAES-OAEP (RFC 8017 Appendix A.2.1, RFC 4055 §4.1), RSAES-PKCS1-v1_5 = rsaEncryption (RFC 3370 §4.2.1). */
export { OID_RSAES_OAEP, OID_RSA_ENCRYPTION } from '../../pki/algorithms.js';
/** id-ori-kem (RFC 9629 §3) and id-kem-rsa (RFC 9690 Appendix B: { is18033-2 key-encapsulation-mechanism(2) rsa(4) }). */
export const OID_ORI_KEM = '1.2.840.113549.1.9.16.13.3';
export const OID_KEM_RSA = '1.0.18033.2.2.4';
/** KDFs: X9.44 KDF2/KDF3 (RFC 9690 Appendix B), HKDF (RFC 8619 §2). */
export const OID_KDF_KDF2 = '1.3.133.16.840.9.44.1.1';
export const OID_KDF_KDF3 = '1.3.133.16.840.9.44.1.2';
export const OID_HKDF_SHA256 = '1.2.840.113549.1.9.16.3.28';
export const OID_HKDF_SHA384 = '1.2.840.113549.1.9.16.3.29';
export const OID_HKDF_SHA512 = '1.2.840.113549.1.9.16.3.30';
/** ECDH ephemeral-static key agreement (RFC 5753 §7.1.4): dhSinglePass-stdDH-sha*kdf-scheme. */
export const OID_ECDH_STD_SHA256_KDF = '1.3.132.1.11.1';
export const OID_ECDH_STD_SHA384_KDF = '1.3.132.1.11.2';
export { OID_EC_PUBLIC_KEY, OID_P256 } from '../../pki/algorithms.js';
export { OID_MGF1 } from '../../pki/algorithms.js';
export { OID_DATA, OID_ENVELOPED_DATA } from '../../pki/cms/oids.js';
