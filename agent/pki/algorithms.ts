// The one table of algorithm identifiers the agent names: digests (RFC 5754 §2, RFC 3279 §2.2.1), signatures
// (RFC 5758 §3.2, RFC 4055 §5, RFC 8410 §3, RFC 3370 §3.2), MACs (RFC 4231 §3.1 / RFC 8018 B.1, RFC 4211 §4.4) and
// KDFs (RFC 8018 §5.2), each with its OID, its ASN.1 name and the name node:crypto and WebCrypto use for it.
// Every OID constant of these algorithms is declared here once; other modules import it.
import type { HashAlgorithm } from './signer.js';

// ---- digests ----------------------------------------------------------------------------------------------------

/** RFC 3279 §2.2.1 id-sha1 (key identifiers, RFC 5280 §4.2.1.2 method 1; never for a signature the agent trusts). */
export const OID_SHA1 = '1.3.14.3.2.26';
/** RFC 5754 §2 id-sha256, id-sha384, id-sha512. */
export const OID_SHA256 = '2.16.840.1.101.3.4.2.1';
export const OID_SHA384 = '2.16.840.1.101.3.4.2.2';
export const OID_SHA512 = '2.16.840.1.101.3.4.2.3';
/** RFC 5754 §2 id-sha224: only as the hash of a KDF2/KDF3 (RFC 9690 Appendix B), never in DIGEST_ALGORITHMS. */
export const OID_SHA224 = '2.16.840.1.101.3.4.2.4';

export interface DigestAlgorithm {
  oid: string;
  /** ASN.1 name. */
  asn1: string;
  /** node:crypto createHash name. */
  node: 'sha1' | HashAlgorithm;
  /** WebCrypto name. */
  webCrypto: 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';
  bytes: number;
  /** Accepted in a CMS SignerInfo the agent verifies (RFC 5754; SHA-1 is not). */
  cmsVerify: boolean;
}

export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = [
  { oid: OID_SHA1, asn1: 'id-sha1', node: 'sha1', webCrypto: 'SHA-1', bytes: 20, cmsVerify: false },
  { oid: OID_SHA256, asn1: 'id-sha256', node: 'sha256', webCrypto: 'SHA-256', bytes: 32, cmsVerify: true },
  { oid: OID_SHA384, asn1: 'id-sha384', node: 'sha384', webCrypto: 'SHA-384', bytes: 48, cmsVerify: true },
  { oid: OID_SHA512, asn1: 'id-sha512', node: 'sha512', webCrypto: 'SHA-512', bytes: 64, cmsVerify: true },
];

export const digestByOid = (oid: string): DigestAlgorithm | undefined => DIGEST_ALGORITHMS.find((d) => d.oid === oid);
export const digestByName = (name: DigestAlgorithm['node']): DigestAlgorithm => DIGEST_ALGORITHMS.find((d) => d.node === name)!;

// ---- signatures -------------------------------------------------------------------------------------------------

/** RFC 5758 §3.2 ecdsa-with-SHA2 family (no parameters). */
export const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
export const OID_ECDSA_WITH_SHA384 = '1.2.840.10045.4.3.3';
export const OID_ECDSA_WITH_SHA512 = '1.2.840.10045.4.3.4';
/** RFC 5480 §2.1.1 id-ecPublicKey (some CMS signers put it as the signatureAlgorithm; the hash is the digestAlgorithm). */
export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
/** RFC 4055 §5 shaNNNWithRSAEncryption (NULL parameters). */
export const OID_SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
export const OID_SHA384_WITH_RSA = '1.2.840.113549.1.1.12';
export const OID_SHA512_WITH_RSA = '1.2.840.113549.1.1.13';
/** RFC 3370 §3.2 rsaEncryption as a CMS signatureAlgorithm: PKCS#1 v1.5 with the digestAlgorithm. */
export const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
/** RFC 4055 §3.1 id-RSASSA-PSS (parameters: RSASSA-PSS-params). */
export const OID_RSASSA_PSS = '1.2.840.113549.1.1.10';
/** RFC 4055 §2.2 id-mgf1. */
export const OID_MGF1 = '1.2.840.113549.1.1.8';
/** RFC 8410 §3 id-Ed25519. */
export const OID_ED25519 = '1.3.101.112';
/** RFC 5480 §2.1.1.1 secp256r1 (prime256v1), secp384r1, secp521r1. */
export const OID_P256 = '1.2.840.10045.3.1.7';
export const OID_P384 = '1.3.132.0.34';
export const OID_P521 = '1.3.132.0.35';

export interface SignatureAlgorithm {
  oid: string;
  asn1: string;
  /** The key the algorithm needs (node:crypto KeyObject.asymmetricKeyType). */
  key: 'ec' | 'rsa' | 'rsa-pss' | 'ed25519';
  /** Hash over the signed bytes; undefined: Ed25519 (none), rsaEncryption / id-ecPublicKey (the digestAlgorithm),
   * RSASSA-PSS (its parameters). */
  hash?: HashAlgorithm;
  /** WebCrypto algorithm name. */
  webCrypto: 'ECDSA' | 'RSASSA-PKCS1-v1_5' | 'RSA-PSS' | 'Ed25519';
}

export const SIGNATURE_ALGORITHMS: readonly SignatureAlgorithm[] = [
  { oid: OID_ECDSA_WITH_SHA256, asn1: 'ecdsa-with-SHA256', key: 'ec', hash: 'sha256', webCrypto: 'ECDSA' },
  { oid: OID_ECDSA_WITH_SHA384, asn1: 'ecdsa-with-SHA384', key: 'ec', hash: 'sha384', webCrypto: 'ECDSA' },
  { oid: OID_ECDSA_WITH_SHA512, asn1: 'ecdsa-with-SHA512', key: 'ec', hash: 'sha512', webCrypto: 'ECDSA' },
  { oid: OID_EC_PUBLIC_KEY, asn1: 'id-ecPublicKey', key: 'ec', webCrypto: 'ECDSA' },
  { oid: OID_SHA256_WITH_RSA, asn1: 'sha256WithRSAEncryption', key: 'rsa', hash: 'sha256', webCrypto: 'RSASSA-PKCS1-v1_5' },
  { oid: OID_SHA384_WITH_RSA, asn1: 'sha384WithRSAEncryption', key: 'rsa', hash: 'sha384', webCrypto: 'RSASSA-PKCS1-v1_5' },
  { oid: OID_SHA512_WITH_RSA, asn1: 'sha512WithRSAEncryption', key: 'rsa', hash: 'sha512', webCrypto: 'RSASSA-PKCS1-v1_5' },
  { oid: OID_RSA_ENCRYPTION, asn1: 'rsaEncryption', key: 'rsa', webCrypto: 'RSASSA-PKCS1-v1_5' },
  { oid: OID_RSASSA_PSS, asn1: 'id-RSASSA-PSS', key: 'rsa-pss', webCrypto: 'RSA-PSS' },
  { oid: OID_ED25519, asn1: 'id-Ed25519', key: 'ed25519', webCrypto: 'Ed25519' },
];

export const signatureByOid = (oid: string): SignatureAlgorithm | undefined => SIGNATURE_ALGORITHMS.find((s) => s.oid === oid);

/** The ECDSA / PKCS#1 v1.5 signature OID for a hash (what the agent signs with). */
export function signatureOid(key: 'ec' | 'rsa', hash: HashAlgorithm): string {
  return SIGNATURE_ALGORITHMS.find((s) => s.key === key && s.hash === hash)!.oid;
}

/** Named curves a verified ECDSA key may be on (node:crypto names): P-256, P-384, P-521. */
export const EC_CURVES = ['prime256v1', 'secp384r1', 'secp521r1'] as const;
/** Smallest RSA modulus a verified signature may use (bits). */
export const RSA_MIN_BITS = 2048;

// ---- MACs and KDFs ----------------------------------------------------------------------------------------------

/** RFC 8018 B.1.2 / RFC 4231 hmacWithSHA256 (the OID RFC 4211 §4.4 and RFC 5272 §6.7 use). */
export const OID_HMAC_SHA256 = '1.2.840.113549.2.9';
export const OID_HMAC_SHA384 = '1.2.840.113549.2.10';
export const OID_HMAC_SHA512 = '1.2.840.113549.2.11';
/** RFC 8018 B.1.1 hmacWithSHA1 (the PBKDF2 default PRF, RFC 8018 A.2). */
export const OID_HMAC_SHA1 = '1.2.840.113549.2.7';
/** RFC 4211 §4.4 id-PasswordBasedMac. */
export const OID_PASSWORD_BASED_MAC = '1.2.840.113533.7.66.13';
/** RFC 8018 §5.2 id-PBKDF2. */
export const OID_PBKDF2 = '1.2.840.113549.1.5.12';

export interface MacAlgorithm {
  oid: string;
  asn1: string;
  /** node:crypto createHmac hash. */
  node: 'sha1' | HashAlgorithm;
  webCrypto: { name: 'HMAC'; hash: DigestAlgorithm['webCrypto'] };
}

export const MAC_ALGORITHMS: readonly MacAlgorithm[] = [
  { oid: OID_HMAC_SHA256, asn1: 'hmacWithSHA256', node: 'sha256', webCrypto: { name: 'HMAC', hash: 'SHA-256' } },
  { oid: OID_HMAC_SHA384, asn1: 'hmacWithSHA384', node: 'sha384', webCrypto: { name: 'HMAC', hash: 'SHA-384' } },
  { oid: OID_HMAC_SHA512, asn1: 'hmacWithSHA512', node: 'sha512', webCrypto: { name: 'HMAC', hash: 'SHA-512' } },
  /** RFC 8018 B.1.1 hmacWithSHA1 and RFC 3370 §3.1 / RFC 2104 hMAC-SHA1 (the CMP PBM of older peers). */
  { oid: OID_HMAC_SHA1, asn1: 'hmacWithSHA1', node: 'sha1', webCrypto: { name: 'HMAC', hash: 'SHA-1' } },
  { oid: '1.3.6.1.5.5.8.1.2', asn1: 'hMAC-SHA1', node: 'sha1', webCrypto: { name: 'HMAC', hash: 'SHA-1' } },
];

export const macByOid = (oid: string): MacAlgorithm | undefined => MAC_ALGORITHMS.find((m) => m.oid === oid);

export const KDF_ALGORITHMS: ReadonlyArray<{ oid: string; asn1: string; webCrypto: 'PBKDF2' }> = [{ oid: OID_PBKDF2, asn1: 'id-PBKDF2', webCrypto: 'PBKDF2' }];

// ---- encrypted key packages and PKCS #12 (RFC 5652 §6, RFC 6032, RFC 7292) ----
/** RFC 4055 §4.1 id-RSAES-OAEP (the only key transport the TPM KEK performs: SHA-256, MGF1-SHA-256, empty label). */
export const OID_RSAES_OAEP = '1.2.840.113549.1.1.7';
/** RFC 3565 §4.1 AES-CBC content encryption (parameters: the 16-byte IV). */
export const OID_AES128_CBC = '2.16.840.1.101.3.4.1.2';
export const OID_AES192_CBC = '2.16.840.1.101.3.4.1.22';
export const OID_AES256_CBC = '2.16.840.1.101.3.4.1.42';
export const AES_CBC: Readonly<Record<string, { node: 'aes-128-cbc' | 'aes-192-cbc' | 'aes-256-cbc'; keyBytes: number }>> = {
  [OID_AES128_CBC]: { node: 'aes-128-cbc', keyBytes: 16 },
  [OID_AES192_CBC]: { node: 'aes-192-cbc', keyBytes: 24 },
  [OID_AES256_CBC]: { node: 'aes-256-cbc', keyBytes: 32 },
};
/** RFC 5084 §3.2 AES-GCM authenticated content encryption (AuthEnvelopedData, RFC 5083). */
export const OID_AES128_GCM = '2.16.840.1.101.3.4.1.6';
export const OID_AES192_GCM = '2.16.840.1.101.3.4.1.26';
export const OID_AES256_GCM = '2.16.840.1.101.3.4.1.46';
export const AES_GCM: Readonly<Record<string, { node: 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm'; keyBytes: number }>> = {
  [OID_AES128_GCM]: { node: 'aes-128-gcm', keyBytes: 16 },
  [OID_AES192_GCM]: { node: 'aes-192-gcm', keyBytes: 24 },
  [OID_AES256_GCM]: { node: 'aes-256-gcm', keyBytes: 32 },
};
/** RFC 3565 §4.3 / RFC 3394 AES key wrap (parameters absent; default IV A6A6A6A6A6A6A6A6). */
export const OID_AES128_WRAP = '2.16.840.1.101.3.4.1.5';
export const OID_AES192_WRAP = '2.16.840.1.101.3.4.1.25';
export const OID_AES256_WRAP = '2.16.840.1.101.3.4.1.45';
/** RFC 5649 §6 AES key wrap with padding (alternative initial value A65959A6 || MLI). */
export const OID_AES128_WRAP_PAD = '2.16.840.1.101.3.4.1.8';
export const OID_AES192_WRAP_PAD = '2.16.840.1.101.3.4.1.28';
export const OID_AES256_WRAP_PAD = '2.16.840.1.101.3.4.1.48';
/** The AES key-wrap algorithms by OID: node:crypto cipher name, KEK length and the IV node:crypto is given. */
export const AES_KEY_WRAP: Readonly<Record<string, { node: string; keyBytes: number; iv: string }>> = {
  [OID_AES128_WRAP]: { node: 'id-aes128-wrap', keyBytes: 16, iv: 'a6a6a6a6a6a6a6a6' },
  [OID_AES192_WRAP]: { node: 'id-aes192-wrap', keyBytes: 24, iv: 'a6a6a6a6a6a6a6a6' },
  [OID_AES256_WRAP]: { node: 'id-aes256-wrap', keyBytes: 32, iv: 'a6a6a6a6a6a6a6a6' },
  [OID_AES128_WRAP_PAD]: { node: 'id-aes128-wrap-pad', keyBytes: 16, iv: 'a65959a6' },
  [OID_AES192_WRAP_PAD]: { node: 'id-aes192-wrap-pad', keyBytes: 24, iv: 'a65959a6' },
  [OID_AES256_WRAP_PAD]: { node: 'id-aes256-wrap-pad', keyBytes: 32, iv: 'a65959a6' },
};
/** RFC 8018 §6.2 id-PBES2 and RFC 8018 Appendix B.1.2 hmacWithSHA256/384/512 (PBKDF2 PRFs accepted in PKCS #12). */
export const OID_PBES2 = '1.2.840.113549.1.5.13';
export const PBKDF2_STRONG_PRFS: readonly string[] = [OID_HMAC_SHA256, OID_HMAC_SHA384, OID_HMAC_SHA512];
/** RFC 7292 Appendix C pkcs-12PbeIds (SHA-1 with RC4/3DES/2DES/RC2): weak, refused. */
export const OID_PKCS12_PBE_ARC = '1.2.840.113549.1.12.1';
