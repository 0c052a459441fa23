// OIDs, media types and status codes of TAMP (RFC 5934) and its EST transport (RFC 8295 §7, /tamp and
// /tamp/return, PAL package types 0028–0037). One constants file for the spec.

/** RFC 5934 Appendix A: id-tamp { joint-iso-ccitt(2) country(16) us(840) organization(1) gov(101) dod(2) infosec(1) formats(2) 77 }. */
export const OID_TAMP = '2.16.840.1.101.2.1.2.77';
export const OID_CT_TAMP_STATUS_QUERY = `${OID_TAMP}.1`;
export const OID_CT_TAMP_STATUS_RESPONSE = `${OID_TAMP}.2`;
export const OID_CT_TAMP_UPDATE = `${OID_TAMP}.3`;
export const OID_CT_TAMP_UPDATE_CONFIRM = `${OID_TAMP}.4`;
export const OID_CT_TAMP_APEX_UPDATE = `${OID_TAMP}.5`;
export const OID_CT_TAMP_APEX_UPDATE_CONFIRM = `${OID_TAMP}.6`;
export const OID_CT_TAMP_COMMUNITY_UPDATE = `${OID_TAMP}.7`;
export const OID_CT_TAMP_COMMUNITY_UPDATE_CONFIRM = `${OID_TAMP}.8`;
export const OID_CT_TAMP_ERROR = `${OID_TAMP}.9`;
export const OID_CT_TAMP_SEQ_NUM_ADJUST = `${OID_TAMP}.10`;
export const OID_CT_TAMP_SEQ_NUM_ADJUST_CONFIRM = `${OID_TAMP}.11`;

/** RFC 5934 §4.3 / Appendix A: id-pe-wrappedApexContinKey (TA extension carrying the wrapped contingency key). */
export const OID_PE_WRAPPED_APEX_CONTIN_KEY = '1.3.6.1.5.5.7.1.20';
/** RFC 5934 §4.3: id-aa-TAMP-contingencyPublicKeyDecryptKey (unsigned attribute of a contingency-signed apex update). */
export const OID_AA_TAMP_CONTINGENCY_PUBLIC_KEY_DECRYPT_KEY = '2.16.840.1.101.2.1.5.63';

/** RFC 5934 §8 (registered media types; RFC 8295 §7 uses them on /tamp and /tamp/return). */
export const TAMP_MEDIA_TYPES: Readonly<Record<string, string>> = {
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

/** Request content type → the confirm content type that answers it. */
export const TAMP_CONFIRM_OF: Readonly<Record<string, string>> = {
  [OID_CT_TAMP_STATUS_QUERY]: OID_CT_TAMP_STATUS_RESPONSE,
  [OID_CT_TAMP_UPDATE]: OID_CT_TAMP_UPDATE_CONFIRM,
  [OID_CT_TAMP_APEX_UPDATE]: OID_CT_TAMP_APEX_UPDATE_CONFIRM,
  [OID_CT_TAMP_COMMUNITY_UPDATE]: OID_CT_TAMP_COMMUNITY_UPDATE_CONFIRM,
  [OID_CT_TAMP_SEQ_NUM_ADJUST]: OID_CT_TAMP_SEQ_NUM_ADJUST_CONFIRM,
};

/** RFC 8295 §2.1.1: PAL package type → the TAMP request content type it delivers (even) / whose answers it returns (odd). */
export const TAMP_PAL_TYPES: Readonly<Record<string, { request: string; returns: boolean }>> = {
  '0028': { request: OID_CT_TAMP_STATUS_QUERY, returns: false },
  '0029': { request: OID_CT_TAMP_STATUS_QUERY, returns: true },
  '0030': { request: OID_CT_TAMP_UPDATE, returns: false },
  '0031': { request: OID_CT_TAMP_UPDATE, returns: true },
  '0032': { request: OID_CT_TAMP_APEX_UPDATE, returns: false },
  '0033': { request: OID_CT_TAMP_APEX_UPDATE, returns: true },
  '0034': { request: OID_CT_TAMP_COMMUNITY_UPDATE, returns: false },
  '0035': { request: OID_CT_TAMP_COMMUNITY_UPDATE, returns: true },
  '0036': { request: OID_CT_TAMP_SEQ_NUM_ADJUST, returns: false },
  '0037': { request: OID_CT_TAMP_SEQ_NUM_ADJUST, returns: true },
};

/** RFC 5934 §5 StatusCode ::= ENUMERATED. */
export const TampStatusCode = {
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
export type TampStatusCodeName = keyof typeof TampStatusCode;

export function statusCodeName(n: number): TampStatusCodeName | undefined {
  return (Object.keys(TampStatusCode) as TampStatusCodeName[]).find((k) => TampStatusCode[k] === n);
}
