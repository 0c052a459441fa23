/** The key algorithms enrolld issues CSRs for. */
export type KeyAlgorithm = 'ecc-p256' | 'rsa-2048';

/**
 * A private key that can sign but never reveals itself: the TPM keystore implements it, and so does the
 * software signer that the lab server and unit tests use.
 */
export interface Signer {
  readonly algorithm: KeyAlgorithm;
  /** DER SubjectPublicKeyInfo of the key. */
  readonly spki: Uint8Array;
  /**
   * Signs a SHA-256 digest and returns the X.509 signature value: DER ECDSA-Sig-Value (minimal INTEGERs) for
   * ecc-p256, the PKCS#1 v1.5 signature for rsa-2048.
   */
  signDigest(digest: Uint8Array): Promise<Uint8Array>;
}
