// RFC 5652 content types (§4–§8) and the signed attributes every SignedData carries (§11): declared once here.

/** RFC 5652 §4 id-data. */
export const OID_DATA = '1.2.840.113549.1.7.1';
/** RFC 5652 §5.1 id-signedData. */
export const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
/** RFC 5652 §6.1 id-envelopedData. */
export const OID_ENVELOPED_DATA = '1.2.840.113549.1.7.3';
/** RFC 5083 §1.1 id-ct-authEnvelopedData. */
export const OID_AUTH_ENVELOPED_DATA = '1.2.840.113549.1.9.16.1.23';
/** RFC 5652 §8 id-encryptedData. */
export const OID_ENCRYPTED_DATA = '1.2.840.113549.1.7.6';
/** RFC 5652 §11.1 id-contentType attribute. */
export const OID_ATTR_CONTENT_TYPE = '1.2.840.113549.1.9.3';
/** RFC 5652 §11.2 id-messageDigest attribute. */
export const OID_ATTR_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
/** RFC 5652 §11.3 id-signingTime attribute. */
export const OID_ATTR_SIGNING_TIME = '1.2.840.113549.1.9.5';
