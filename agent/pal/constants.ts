// RFC 8295 (EST Extensions; was draft-turner-est-extensions) constants for the PAL (Package Availability List).
// Section references are to RFC 8295 unless noted.

/** §11.1 / §2.1.2: XML namespace of every PAL element (the schema sets elementFormDefault="qualified"). */
export const PAL_NAMESPACE = 'urn:ietf:params:xml:ns:pal';
/** §11.2: URN under which IANA registered the PAL XML schema. */
export const PAL_SCHEMA_URN = 'urn:ietf:params:xml:schema:pal';
/** Attributes from this namespace (xsi:schemaLocation …) are tolerated on PAL elements, as any XSD processor does. */
export const XSI_NAMESPACE = 'http://www.w3.org/2001/XMLSchema-instance';

/** §2.2: the PAL path component under /.well-known/est[/label]/. */
export const PAL_OPERATION = 'pal';

/** §1.5, §2.2, §2.3: the two PAL encodings and their media types (RFC 7303, RFC 8259). */
export const PAL_MEDIA_TYPES = {
  xml: 'application/xml',
  json: 'application/json',
} as const;
export type PalFormat = keyof typeof PAL_MEDIA_TYPES;

/** §2.2: Accept header a client sends when it takes either encoding (JSON preferred: no XML parser hazards). */
export const PAL_ACCEPT = 'application/json, application/xml;q=0.9';

/** §2.1.2 schema: maxLength of DistinguishedName, SubjectKeyIdentifier (octets of hexBinary) and ThisURI. */
export const PAL_MAX_FIELD_LENGTH = 1024;
/** §2.1.2 GeneralizedTimeType: minInclusive. */
export const PAL_MIN_DATE = '2013-05-23T00:00:00Z';

/** Parser defaults (implementation limits; the RFC sets none — §2.1 leaves client PAL size limits to provisioning). */
export const PAL_DEFAULT_MAX_BYTES = 1024 * 1024;
export const PAL_DEFAULT_MAX_ENTRIES = 1000;
/** Chain defaults (§2.1.1 type 0001): pages followed after the first, and entries summed over all pages. */
export const PAL_DEFAULT_MAX_CHAIN_DEPTH = 8;
export const PAL_DEFAULT_MAX_TOTAL_ENTRIES = 10000;
/** Nesting the schema needs: pal/message/info/iasn/issuer = 5; anything deeper is refused before tree building. */
export const PAL_MAX_XML_DEPTH = 8;
/** Bound on decimal digits of an iasn serial (RFC 5280 §4.1.2.2 caps serials at 20 octets ≈ 49 digits). */
export const PAL_MAX_SERIAL_DIGITS = 64;
