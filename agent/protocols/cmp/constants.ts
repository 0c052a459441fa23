// CMP (RFC 4210/9480/9483), CRMF (RFC 4211), CMP-over-HTTP (RFC 6712/9811) and CMP-over-CoAP (RFC 9482) constants.
export const CMP_MEDIA_TYPE = 'application/pkixcmp';

// CMP over CoAP: RFC 9482 (November 2023, from draft-ietf-ace-cmpv2-coap-transport-10), the version implemented.
/** RFC 9482 §2.4 / IANA "CoAP Content-Formats": application/pkixcmp. */
export const COAP_CONTENT_FORMAT_PKIXCMP = 259;
/** RFC 7252 §6.1: the default port of coap:// URIs (RFC 9482 §2.1). */
export const COAP_DEFAULT_PORT = 5683;
/** RFC 9480 §2.20: pvno 3 (cmp2021) when a v3 feature (hashAlg in certConf) is used, else 2. We send 2. */
export const PVNO_CMP2000 = 2;
export const PVNO_CMP2021 = 3;

// Algorithm identifiers are declared once, in agent/pki/algorithms.ts.
export { OID_ECDSA_WITH_SHA256, OID_HMAC_SHA256, OID_PASSWORD_BASED_MAC, OID_SHA256, OID_SHA256_WITH_RSA } from '../../pki/algorithms.js';

// RFC 4210 §5.3.19 / RFC 9480 §2.14-2.19, id-it = 1.3.6.1.5.5.7.4
export const OID_IT_IMPLICIT_CONFIRM = '1.3.6.1.5.5.7.4.13';
export const OID_IT_CONFIRM_WAIT_TIME = '1.3.6.1.5.5.7.4.14';
export const OID_IT_CA_CERTS = '1.3.6.1.5.5.7.4.17';
export const OID_IT_ROOT_CA_KEY_UPDATE = '1.3.6.1.5.5.7.4.18';
export const OID_IT_ROOT_CA_CERT = '1.3.6.1.5.5.7.4.20';

/** RFC 4211 §6.5 */
export const OID_REG_CTRL_OLD_CERT_ID = '1.3.6.1.5.5.7.5.1.5';

/** PKIBody CHOICE tags (RFC 4210 §5.1.2). */
export const BodyTag = {
  ir: 0, ip: 1, cr: 2, cp: 3, p10cr: 4, kur: 7, kup: 8, rr: 11, rp: 12,
  pkiconf: 19, genm: 21, genp: 22, error: 23, certConf: 24, pollReq: 25, pollRep: 26,
} as const;
export type BodyType = keyof typeof BodyTag;
export const bodyName = (tag: number): string => (Object.entries(BodyTag).find(([, t]) => t === tag)?.[0] ?? `[${tag}]`);

/** PKIStatus (RFC 4210 §5.2.3). */
export const PKIStatus = { accepted: 0, grantedWithMods: 1, rejection: 2, waiting: 3, revocationWarning: 4, revocationNotification: 5, keyUpdateWarning: 6 } as const;

/** PKIFailureInfo bit names (RFC 4210 §5.2.3 + RFC 9480). */
export const FAIL_INFO_NAMES = [
  'badAlg', 'badMessageCheck', 'badRequest', 'badTime', 'badCertId', 'badDataFormat', 'wrongAuthority', 'incorrectData',
  'missingTimeStamp', 'badPOP', 'certRevoked', 'certConfirmed', 'wrongIntegrity', 'badRecipientNonce', 'timeNotAvailable',
  'unacceptedPolicy', 'unacceptedExtension', 'addInfoNotAvailable', 'badSenderNonce', 'badCertTemplate', 'signerNotTrusted',
  'transactionIdInUse', 'unsupportedVersion', 'notAuthorized', 'systemUnavail', 'systemFailure', 'duplicateCertReq',
] as const;
