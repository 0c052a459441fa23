/** The key algorithms enrolld issues CSRs for (RFC 7030 §4.5 / RFC 9908: what a server may ask for). */
export type KeyAlgorithm = 'ecc-p256' | 'ecc-p384' | 'rsa-2048' | 'rsa-3072';
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['ecc-p256', 'ecc-p384', 'rsa-2048', 'rsa-3072'];

/** Digest algorithms a signer hashes with (the TPM signs the digest with the matching ECDSA/RSASSA scheme). */
export type HashAlgorithm = 'sha256' | 'sha384' | 'sha512';
export const HASH_SIZES: Readonly<Record<HashAlgorithm, number>> = { sha256: 32, sha384: 48, sha512: 64 };

export function isEcc(algorithm: KeyAlgorithm): boolean {
  return algorithm === 'ecc-p256' || algorithm === 'ecc-p384';
}

/** RSA modulus size in bytes (= signature size), or undefined for ECC. */
export function rsaBytes(algorithm: KeyAlgorithm): number | undefined {
  return algorithm === 'rsa-2048' ? 256 : algorithm === 'rsa-3072' ? 384 : undefined;
}

/** The hash that matches the key's strength when nothing else is asked for (SHA-384 for P-384, SHA-256 otherwise). */
export function defaultHashFor(algorithm: KeyAlgorithm): HashAlgorithm {
  return algorithm === 'ecc-p384' ? 'sha384' : 'sha256';
}

/**
 * A private key that can sign but never reveals itself: the TPM keystore implements it, and so does the
 * software signer that the lab server and unit tests use.
 */
export interface Signer {
  readonly algorithm: KeyAlgorithm;
  /** DER SubjectPublicKeyInfo of the key. */
  readonly spki: Uint8Array;
  /**
   * Signs hash(message) (SHA-256 unless `hash` says otherwise) and returns the X.509 signature value: DER
   * ECDSA-Sig-Value (minimal INTEGERs) for ECC keys, the RSASSA-PKCS1-v1_5 signature for RSA keys. A TPM signer
   * hashes in the agent and has the TPM sign the digest (TPM2_Sign); a software signer hands the message to
   * node:crypto.
   */
  sign(message: Uint8Array, hash?: HashAlgorithm): Promise<Uint8Array>;
}
