// The RFC 8295 §2.1.1 package types the key package handlers take (light: the feature registers them at start-up,
// their handlers load at the first entry).

/** 0020 PKCS #8, 0021 CMS, 0022 PKCS #12 asymmetric key packages (/serverkeygen). */
export const SERVERKEYGEN_TYPES = ['0020', '0021', '0022'] as const;
/** 0023 asymmetric key package receipt or error (/serverkeygen/return). */
export const SERVERKEYGEN_RETURN_TYPE = '0023';
/** 0024 symmetric key package (/symmetrickeys). */
export const SYMMETRIC_KEY_PACKAGE_TYPE = '0024';
/** 0025 symmetric key package receipt or error (/symmetrickeys/return). */
export const SYMMETRIC_KEY_RETURN_TYPE = '0025';
