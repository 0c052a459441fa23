// CMC (RFC 5272, RFC 5273, RFC 6402) over EST /fullcmc (RFC 7030 §4.3): OIDs and media types in one place.
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

/** Witness/POP algorithms (RFC 5272 §6.7: HMAC-SHA256 classic variant; the CMCbis KMAC variant needs KMAC, which
 * node:crypto lacks). */
export { OID_HMAC_SHA256, OID_SHA256 } from '../../pki/algorithms.js';

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

/** id-alg-noSignature (RFC 5272 §3.2.1.2.1, Appendix A: {id-pkix id-alg(6) 2}): the PKCS#10 of a key that cannot
 * sign. Choice (the RFC leaves the value loosely specified): parameters absent, the signature BIT STRING holds
 * SHA-256(certificationRequestInfo DER); POP is then done by encryptedPOP/decryptedPOP (§6.7). */
export const OID_ALG_NO_SIGNATURE = '1.3.6.1.5.5.7.6.2';
/** Content encryption and key transport used for the encryptedPOP EnvelopedData. */
export const OID_AES256_CBC = '2.16.840.1.101.3.4.1.42';
export const OID_RSAES_OAEP = '1.2.840.113549.1.1.7';
export { OID_MGF1 } from '../../pki/algorithms.js';
export { OID_DATA, OID_ENVELOPED_DATA } from '../../pki/cms/oids.js';
