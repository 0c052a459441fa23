// PKCS#9 / X.509 OIDs the CSR code and the EST client share, in a module without the ASN.1 stack (light to import).

/** RFC 2985 §5.4.2 extensionRequest. */
export const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
/** RFC 2985 §5.4.1 challengePassword. */
export const OID_CHALLENGE_PASSWORD = '1.2.840.113549.1.9.7';
/** RFC 5280 §4.2.1.6 subjectAltName. */
export const OID_SUBJECT_ALT_NAME = '2.5.29.17';
