// CMC (RFC 5272, RFC 5273, RFC 6402) over EST /fullcmc (RFC 7030 §4.3): OIDs and media types in one place.
//
// CMCbis — RFC 10002 (structures), RFC 10003 (transport), RFC 10004 (compliance), July 2026, obsoleting RFC 5272,
// 5273, 5274 and 6402. Their RFC text is not readable here; what is implemented is the text they were published from:
// draft-ietf-lamps-rfc5272bis-11, rfc5273bis-11 and rfc5274bis-11, read (3 December 2026) from the stored gh-pages
// copies of lamps-wg/cmcbis, directory draft-ietf-lamps-rfc5272bis-11/ (f3a8680). Earlier this followed the WG
// repository's HEAD 9a0a52f (29 Sep 2024, the -03 text); the git snapshot still ends there.
// Wire-relevant differences of -11 from 9a0a52f, all implemented:
// - rfc5272bis-11 §6.7 step 2: "cms is an EnvelopedData or AuthEnvelopedData" (new). AuthEnvelopedData is RFC 5083
//   with AES-GCM (RFC 5084); pop-envelope.ts opens both. Recipient identifier rules unchanged: the CSR's SKI when it
//   has one, else issuerAndSerialNumber with the IssuerName encoded as NULL (an empty Name) and the serial = the
//   request's bodyPartID. witness = witnessAlg(y); thePOP = HMAC (or the named MAC) keyed with y over the request,
//   "only the first 64 bytes" of a longer y. A failed witness check or decryption: abort with CMC Status Info
//   popFailed. EncryptedPOP / DecryptedPOP ASN.1 unchanged.
// - Appendix C.1: id-alg-noSignature parameters "MUST be present and MUST be encoded as NULL"; NoSignatureValue
//   "contains the SHA-1 hash of the certification request" (9a0a52f named no hash; enrolld sent SHA-256) and "SHOULD be
//   ignored"; a SignerInfo under a noSignature key "MUST use the subjectKeyIdentifier choice" (enrolld signs the
//   PKIData with its signing credential instead, as in Appendix B.3).
// - Appendix B renumbered: B.3 is now "Direct POP for an RSA or KEM Certificate" (HMAC-SHA256 / SHA-256, PKIData signed
//   by the requester's signing certificate: what enrolld does); the KEM + noSignature flow (ori KEMRecipientInfo
//   RFC 9629, thePOPAlgID KmacWithSHAKE128, witnessAlgID SHAKE128 RFC 8702) moved to B.4. Both say "either
//   EnvelopedData or AuthEnvelopedData can be used". The ASN.1 module's POPAlgs / WitnessAlgs still list
//   maca-hMAC-SHA1 | maca-hMAC-SHA256 and mda-sha1 | mda-sha256.
// - rfc5274bis-11 §5.1 (RFC 10004): SHA-256 MUST for witnessAlgID and HMAC-SHA256 MUST for thePOPAlgID (were SHA-1 /
//   HMAC-SHA1); AES-GCM MUST for AuthEnvelopedData with a 12-octet nonce and a 12-octet ICV; RSA key transport MUST
//   for EnvelopedData and AuthEnvelopedData; RSA-SHA256 SignedData signatures MUST be generated and verified (enrolld
//   signs with its credential's algorithm, often ECDSA: a server insisting on RSA would refuse it). Backwards
//   compatibility: servers MAY offer the RFC 5274 algorithms.
// - rfc5273bis-11 (RFC 10003): the smime-type values are now written CMC-Request / CMC-Response (RFC 5273:
//   CMC-request / CMC-response); HTTP over TLS 1.2 or later per BCP 195, no 0-RTT; TCP port 5318. Over EST /fullcmc
//   the media types are RFC 7030's (kept below); the agent compares smime-type case-insensitively, so either spelling
//   from a server is accepted.
// What a server on the older text sees: an RFC 5272 CA that checked the noSignature value as SHA-256 (nothing required
// that) would now see SHA-1; RFC 5272/10002 both say nothing binds that value, and a CA following RFC 10002 ignores it.
// A CA that sends EnvelopedData is answered exactly as before.
// - RFC 9629 (KEMRecipientInfo), RFC 9690 (RSA-KEM: KDF3-SHA-256 + AES-128-wrap mandatory), RFC 8702 (KMAC/SHAKE in
//   CMS), RFC 5753 (ECDH kari, ECC-CMS-SharedInfo, X9.63 KDF), RFC 8619 (HKDF OIDs), RFC 5083/5084 (AuthEnvelopedData,
//   AES-GCM) are published RFCs.
// No OID used here is TBD, so none is a placeholder.
export const CMCBIS_VERSION = {
  structures: 'RFC 10002 as draft-ietf-lamps-rfc5272bis-11 (lamps-wg/cmcbis gh-pages f3a8680)',
  transport: 'RFC 10003 as draft-ietf-lamps-rfc5273bis-11 (lamps-wg/cmcbis gh-pages f3a8680)',
  compliance: 'RFC 10004 as draft-ietf-lamps-rfc5274bis-11 (lamps-wg/cmcbis gh-pages f3a8680)',
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

/** Witness and POP algorithms (RFC 5272 §6.7 / RFC 10002 §6.7, Appendix B.3 and B.4; RFC 10004 §5.1). */
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

/** id-alg-noSignature (RFC 5272 Appendix C.1, RFC 10002 Appendix C.1: {id-pkix id-alg(6) 2}): the PKCS#10 of a key
 * that cannot sign. Parameters present and NULL (as both texts require). RFC 10002 (rfc5272bis-11) C.1: the value
 * "contains the SHA-1 hash of the certification request" and "SHOULD be ignored"; the signature BIT STRING holds
 * SHA-1(certificationRequestInfo DER). (The 9a0a52f text left the hash open and enrolld used SHA-256 then.) POP is
 * then done by encryptedPOP/decryptedPOP (§6.7). */
export const OID_ALG_NO_SIGNATURE = '1.3.6.1.5.5.7.6.2';
/** Content encryption (RFC 3565 §4.1), key wrap (RFC 3565 §4.3 / RFC 3394). */
export { OID_AES128_CBC, OID_AES192_CBC, OID_AES256_CBC, OID_AES128_GCM, OID_AES192_GCM, OID_AES256_GCM, OID_AES128_WRAP, OID_AES192_WRAP, OID_AES256_WRAP } from '../../pki/algorithms.js';
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
export { OID_AUTH_ENVELOPED_DATA, OID_DATA, OID_ENVELOPED_DATA } from '../../pki/cms/oids.js';
