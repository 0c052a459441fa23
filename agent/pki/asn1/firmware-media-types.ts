// RFC 8295 media types for the firmware path components, /firmware (package type 0026) and /firmware/return (0027).
// RFC 8295 carries RFC 4108 content in the application/cms media type of RFC 7193, whose optional parameters name
// the CMS encapsulating content type(s) ("encapsulatingContent", RFC 7193 §3: signedData, compressedData,
// encryptedData, …) and the inner content type ("innerContent": firmwarePackage, firmwareLoadReceipt,
// firmwareLoadError — the ICT names RFC 7193 registers for RFC 4108). Parameter values are case sensitive.
// The /return POSTs are answered with 204 No Content on success.

/** application/cms (RFC 7193). */
export const MEDIA_TYPE_CMS = 'application/cms';

/** /firmware response: a signed (optionally compressed/encrypted) firmware package. */
export const FIRMWARE_PACKAGE_MEDIA_TYPE = `${MEDIA_TYPE_CMS}; encapsulatingContent=signedData; innerContent=firmwarePackage`;
/** /firmware response when the package is compressed before signing (RFC 4108 §2, RFC 3274). */
export const FIRMWARE_PACKAGE_COMPRESSED_MEDIA_TYPE = `${MEDIA_TYPE_CMS}; encapsulatingContent="signedData, compressedData"; innerContent=firmwarePackage`;

/** /firmware/return request bodies. A signed receipt/error is SignedData; an unsigned one is a bare ContentInfo. */
export function firmwareReturnMediaType(kind: 'receipt' | 'error', signed: boolean): string {
  const inner = kind === 'receipt' ? 'firmwareLoadReceipt' : 'firmwareLoadError';
  return signed ? `${MEDIA_TYPE_CMS}; encapsulatingContent=signedData; innerContent=${inner}` : `${MEDIA_TYPE_CMS}; innerContent=${inner}`;
}

/** RFC 7193 innerContent values for the three RFC 4108 content types. */
export const FIRMWARE_INNER_CONTENT = {
  package: 'firmwarePackage',
  receipt: 'firmwareLoadReceipt',
  error: 'firmwareLoadError',
} as const;

/** Status the server answers a successful /firmware/return POST with. */
export const FIRMWARE_RETURN_SUCCESS_STATUS = 204;

/** EST path components (RFC 8295 §2.1.1 Table 1 for 0026/0027). */
export const FIRMWARE_PATH = 'firmware';
export const FIRMWARE_RETURN_PATH = 'firmware/return';
