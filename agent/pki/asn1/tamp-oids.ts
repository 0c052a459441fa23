// RFC 5934 (TAMP) content types, media types (RFC 5934 §9, as RFC 8295 §7 uses them on /tamp and /tamp/return)
// and the StatusCode enumeration.
const ID_CT = '1.2.840.113549.1.9.16.1';

export const OID_CT_TAMP_STATUS_QUERY = `${ID_CT}.31`;
export const OID_CT_TAMP_STATUS_RESPONSE = `${ID_CT}.32`;
export const OID_CT_TAMP_UPDATE = `${ID_CT}.33`;
export const OID_CT_TAMP_UPDATE_CONFIRM = `${ID_CT}.34`;
export const OID_CT_TAMP_APEX_UPDATE = `${ID_CT}.35`;
export const OID_CT_TAMP_APEX_UPDATE_CONFIRM = `${ID_CT}.36`;
export const OID_CT_TAMP_COMMUNITY_UPDATE = `${ID_CT}.37`;
export const OID_CT_TAMP_COMMUNITY_UPDATE_CONFIRM = `${ID_CT}.38`;
export const OID_CT_TAMP_SEQ_NUM_ADJUST = `${ID_CT}.39`;
export const OID_CT_TAMP_SEQ_NUM_ADJUST_CONFIRM = `${ID_CT}.40`;
export const OID_CT_TAMP_ERROR = `${ID_CT}.41`;

/** Media type of each TAMP content type (RFC 5934 §9). */
export const TAMP_MEDIA_TYPES: Record<string, string> = {
  [OID_CT_TAMP_STATUS_QUERY]: 'application/tamp-status-query',
  [OID_CT_TAMP_STATUS_RESPONSE]: 'application/tamp-status-response',
  [OID_CT_TAMP_UPDATE]: 'application/tamp-update',
  [OID_CT_TAMP_UPDATE_CONFIRM]: 'application/tamp-update-confirm',
  [OID_CT_TAMP_APEX_UPDATE]: 'application/tamp-apex-update',
  [OID_CT_TAMP_APEX_UPDATE_CONFIRM]: 'application/tamp-apex-update-confirm',
  [OID_CT_TAMP_COMMUNITY_UPDATE]: 'application/tamp-community-update',
  [OID_CT_TAMP_COMMUNITY_UPDATE_CONFIRM]: 'application/tamp-community-update-confirm',
  [OID_CT_TAMP_SEQ_NUM_ADJUST]: 'application/tamp-sequence-adjust',
  [OID_CT_TAMP_SEQ_NUM_ADJUST_CONFIRM]: 'application/tamp-sequence-adjust-confirm',
  [OID_CT_TAMP_ERROR]: 'application/tamp-error',
};

/** RFC 5934 §5 StatusCode. */
export const TampStatus = {
  success: 0,
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
  unsupportedTAMPMsgType: 18,
  apexTAMPAnchor: 19,
  improperTAAddition: 20,
  seqNumFailure: 21,
  contingencyPublicKeyDecrypt: 22,
  incorrectTarget: 23,
  communityUpdateFailed: 24,
  trustAnchorNotFound: 25,
  unsupportedTAAlgorithm: 26,
  unsupportedTAKeySize: 27,
  unsupportedContinPubKeyDecryptAlg: 28,
  missingSignature: 29,
  resourcesBusy: 30,
  versionNumberMismatch: 31,
  missingPolicySet: 32,
  revokedCertificate: 33,
  unsupportedTrustAnchorFormat: 34,
  improperTAChange: 35,
  malformed: 36,
  cmsError: 37,
  unsupportedTargetIdentifier: 38,
  other: 127,
} as const;
export type TampStatusName = keyof typeof TampStatus;

export function tampStatusName(code: number): TampStatusName | undefined {
  return (Object.keys(TampStatus) as TampStatusName[]).find((k) => TampStatus[k] === code);
}
