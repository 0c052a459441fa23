// CMP (RFC 4210/9480/9483), CRMF (RFC 4211), CMP-over-HTTP (RFC 6712/9811) and CMP-over-CoAP (RFC 9482) constants.
//
// Versions implemented: the Lightweight CMP Profile RFC 9483 (November 2023; draft-ietf-lamps-lightweight-cmp-profile-21)
// over CMP Updates RFC 9480 (November 2023; draft-ietf-lamps-cmp-updates-23) to RFC 4210, with RFC 9481 algorithms.
// A server on plain RFC 4210 (cmp2000 only) sees pvno 2 on every message except a certConf that carries hashAlg
// (RFC 9480 §2.10: EdDSA-signed certificates only), and genm/rr/certConf answered "waiting" are polled as RFC 9480
// §2.19 describes (RFC 4210 polled ir/cr/kur only).
export const CMP_MEDIA_TYPE = 'application/pkixcmp';
export const CMP_SPEC_VERSIONS = { profile: 'RFC 9483', updates: 'RFC 9480', algorithms: 'RFC 9481', http: 'RFC 6712', coap: 'RFC 9482' } as const;
/** RFC 9480 §2.20: pvno 3 (cmp2021) only when a cmp2021 feature is used (hashAlg in CertStatus, EnvelopedData), else 2. */

// CMP over CoAP: RFC 9482 (November 2023, from draft-ietf-ace-cmpv2-coap-transport-10), the version implemented.
/** RFC 9482 §2.4 / IANA "CoAP Content-Formats": application/pkixcmp. */
export const COAP_CONTENT_FORMAT_PKIXCMP = 259;
/** RFC 7252 §6.1: the default port of coap:// URIs (RFC 9482 §2.1). */
export const COAP_DEFAULT_PORT = 5683;

export const PVNO_CMP2000 = 2;
export const PVNO_CMP2021 = 3;
/** certReqId -1: the whole response in a pollReq after an error "waiting" (RFC 9480 §2.19), and the CertResponse to
 *  a p10cr, whose request has no certReqId (RFC 9810 §5.3.4; RFC 4210 says it only in Appendix F's CertResponse). */
export const CERT_REQ_ID_NONE = -1;

// Algorithm identifiers are declared once, in agent/pki/algorithms.ts.
export { OID_ECDSA_WITH_SHA256, OID_HMAC_SHA256, OID_PASSWORD_BASED_MAC, OID_SHA256, OID_SHA256_WITH_RSA } from '../../pki/algorithms.js';

// RFC 4210 §5.3.19; added by RFC 9480: §2.4 certProfile, §2.14 caCerts, §2.15 rootCaCert/rootCaKeyUpdate. id-it = 1.3.6.1.5.5.7.4
export const OID_IT_IMPLICIT_CONFIRM = '1.3.6.1.5.5.7.4.13';
export const OID_IT_CONFIRM_WAIT_TIME = '1.3.6.1.5.5.7.4.14';
export const OID_IT_CA_CERTS = '1.3.6.1.5.5.7.4.17';
export const OID_IT_ROOT_CA_KEY_UPDATE = '1.3.6.1.5.5.7.4.18';
export const OID_IT_ROOT_CA_CERT = '1.3.6.1.5.5.7.4.20';
/** RFC 9480 §2.4 (RFC 4210 §5.1.1.3), used in ir/cr/kur/p10cr/genm: id-it-certProfile, CertProfileValue ::= SEQUENCE SIZE (1..MAX) OF UTF8String. */
export const OID_IT_CERT_PROFILE = '1.3.6.1.5.5.7.4.21';

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
