// RFC 7030 (EST) constants: paths, operation names, media types. Section references are to RFC 7030 unless noted;
// RFC 8951 clarifies transfer encoding (always base64 DER bodies, Content-Transfer-Encoding ignored).

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

/** §4.5.2 CSR attributes: OIDs a server commonly lists. */
export const OIDS = {
  challengePassword: '1.2.840.113549.1.9.7',
  extensionRequest: '1.2.840.113549.1.9.14',
  ecPublicKey: '1.2.840.10045.2.1',
  secp256r1: '1.2.840.10045.3.1.7',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  rsaEncryption: '1.2.840.113549.1.1.1',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  /** RFC 7030 §3.5 / §4.5: tls-unique linking uses challengePassword; listed by servers that want it. */
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
