// RFC 7030 (EST) constants: paths, operation names, media types. Section references are to RFC 7030 unless noted;
// RFC 8951 clarifies transfer encoding (always base64 DER bodies, Content-Transfer-Encoding ignored).
import { OID_CHALLENGE_PASSWORD, OID_EXTENSION_REQUEST } from '../../pki/oids.js';

/** §3.2.2: all EST operations live under this well-known prefix (RFC 8615). */
export const EST_WELL_KNOWN_PATH = '/.well-known/est';

/** §3.2.2 operation path segments. */
export const EST_OPERATIONS = {
  cacerts: 'cacerts', // §4.1
  simpleenroll: 'simpleenroll', // §4.2.1
  simplereenroll: 'simplereenroll', // §4.2.2
  fullcmc: 'fullcmc', // §4.3
  serverkeygen: 'serverkeygen', // §4.4
  csrattrs: 'csrattrs', // §4.5
} as const;
export type EstOperation = (typeof EST_OPERATIONS)[keyof typeof EST_OPERATIONS];

/** §3.2.4 / §4 message types. */
export const MEDIA_TYPES = {
  /** §4.2.1: enrollment request body (base64 DER PKCS#10). */
  pkcs10: 'application/pkcs10',
  /** §4.1.3, §4.2.3: certs-only CMS (RFC 5751 smime-type=certs-only). */
  pkcs7Mime: 'application/pkcs7-mime',
  certsOnly: 'application/pkcs7-mime; smime-type=certs-only',
  /** §4.5.2 CSR attributes response. */
  csrattrs: 'application/csrattrs',
} as const;

/**
 * §3.2.2: the optional additional path segment between the prefix and the operation ("arbitraryLabel"). We accept
 * RFC 3986 unreserved characters only, and refuse labels that equal an operation name (ambiguous paths).
 */
export const EST_LABEL_PATTERN = /^[A-Za-z0-9._~-]{1,64}$/;

/** Limits for what an EST client accepts. */
export const EST_DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
/** Server error text is included in typed errors, truncated to this many characters. */
export const EST_ERROR_TEXT_MAX = 512;

/**
 * CSR Attributes (§4.5) as clarified and extended by RFC 9908 ("Clarification and Enhancement of RFC 7030 CSR
 * Attributes Definition", the published form of draft-ietf-lamps-rfc7030-csrattrs; followed here: RFC 9908, with
 * §3.3 key-type conventions and the §3.4 template). The template OIDs are from RFC 9908 §7 (IANA, SMI Security for
 * S/MIME Attributes).
 */
export const CSRATTRS_SPEC = 'RFC 9908';
/** A /csrattrs answer larger than this is refused (RFC 9908 answers are a few hundred bytes). */
export const CSRATTRS_MAX_BYTES = 64 * 1024;

/** §4.5.2 / RFC 9908 OIDs a server lists or a template carries, besides the key, curve and signature algorithm OIDs
 * (those are agent/pki/algorithms.ts's). */
export const OIDS = {
  /** RFC 2985 §5.4.1; in /csrattrs: "link the CSR to the TLS session" (§3.5 tls-unique in challengePassword). */
  challengePassword: OID_CHALLENGE_PASSWORD,
  extensionRequest: OID_EXTENSION_REQUEST,
  /** RFC 9908 §3.4 id-aa-certificationRequestInfoTemplate { id-aa 61 }. */
  certificationRequestInfoTemplate: '1.2.840.113549.1.9.16.2.61',
  /** RFC 9908 §3.4 id-aa-extensionReqTemplate { id-aa 62 }. */
  extensionReqTemplate: '1.2.840.113549.1.9.16.2.62',
  subjectAltName: '2.5.29.17',
} as const;

// ---------------------------------------------------------------------------------------------------------------
// RFC 8295 (EST extensions). The PAL encodings and their media types are in agent/pal/constants.ts (§1.5, §2.2).

/** RFC 8295 operation path segments used by the client: /pal (§2.2), /eecerts (§3.1), /crls (§4.1). */
export const EST_EXT_OPERATIONS = {
  pal: 'pal',
  eecerts: 'eecerts',
  crls: 'crls',
} as const;
export type EstExtOperation = (typeof EST_EXT_OPERATIONS)[keyof typeof EST_EXT_OPERATIONS];

/**
 * RFC 8295 §1.5 / §4.2 / Appendix A: /crls answers application/pkcs7-mime carrying a "crls-only" message — a
 * degenerate SignedData (RFC 5652 §5) with CRLs in `crls`, no signers, no content. RFC 5751 registers no
 * smime-type for it; Appendix A labels it smime-type=crls-only. /eecerts (§3.2) answers certs-only like /cacerts.
 */
export const SMIME_TYPE_CRLS_ONLY = 'crls-only';
export const MEDIA_TYPE_CRLS_ONLY = 'application/pkcs7-mime; smime-type=crls-only';
