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
   * Signs SHA-256(message) and returns the X.509 signature value: DER ECDSA-Sig-Value (minimal INTEGERs) for
   * ecc-p256, the RSASSA-PKCS1-v1_5 signature for rsa-2048. A TPM signer hashes in the agent and has the TPM sign
   * the digest (TPM2_Sign); a software signer hands the message to node:crypto.
   */
  sign(message: Uint8Array): Promise<Uint8Array>;
}
