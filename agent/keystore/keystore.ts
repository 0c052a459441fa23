import type { KeyAlgorithm, Signer } from '../pki/signer.js';

/** Where a key's blobs live and what it is; persisted in agent state (contains no secret). */
export interface KeyRecord {
  /** Stable name inside the keystore, e.g. "ldevid-1732300000". */
  id: string;
  algorithm: KeyAlgorithm;
  /** DER SubjectPublicKeyInfo. */
  spki: Uint8Array;
  /** Opaque, keystore-specific location (TPM: parent handle + base64 TPM2B_PUBLIC/TPM2B_PRIVATE). */
  location: Record<string, string | number>;
}

/** Options a Node TLS client needs to authenticate with a keystore key, without the private key leaving the store. */
export interface TlsKeyOptions {
  key?: string;
  privateKeyEngine?: string;
  privateKeyIdentifier?: string;
  /** signature algorithms the key can produce (tls `sigalgs`). */
  sigalgs?: string;
  /** Highest TLS version the key can serve (RSA TPM keys: PKCS#1 v1.5 only, so TLS 1.2). */
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
}

export interface KeyStore {
  /** Creates a new signing key in the store. */
  createKey(id: string, algorithm: KeyAlgorithm): Promise<KeyRecord>;
  /** A signer for a key created earlier (also after a restart, from its record). */
  signer(record: KeyRecord): Signer;
  /** TLS client options for the key. */
  tlsKeyOptions(record: KeyRecord): Promise<TlsKeyOptions>;
  /** Forgets the key (flushes/destroys what the store holds for it). */
  deleteKey(record: KeyRecord): Promise<void>;
  close(): Promise<void>;
  /** What the store knows of its device's health (TPM: opened, and the outcome of its last command); absent: nothing to report. */
  health?(): KeyStoreHealth;
}

/** A keystore's health as the status reports it (docs/status-schema.md `tpm`). */
export interface KeyStoreHealth {
  /** The store opened and its last device command succeeded. */
  ok: boolean;
  /** Response code of the last command when it failed (TPM: TPM_RC / TSS2_RC). */
  rc?: number;
}

/** A symmetric secret sealed in the store (TPM: a KEYEDHASH sealed data object under the SRK); holds no secret itself. */
export interface SealedRecord {
  id: string;
  /** Length of the sealed secret in bytes. */
  length: number;
  /** Opaque, keystore-specific location (TPM: parent handle + base64 TPM2B_PUBLIC/TPM2B_PRIVATE). */
  location: Record<string, string | number>;
}

/** Stores that can take keys made elsewhere (server-generated keys, key packages). */
export interface KeyImportStore {
  /**
   * Imports a PKCS#8 DER private key (P-256 or RSA-2048) and returns a record usable with signer()/tlsKeyOptions().
   * The store wipes its own copies; the caller wipes `pkcs8`.
   */
  importKey(id: string, pkcs8: Uint8Array): Promise<KeyRecord>;
  /** Seals a symmetric secret (≤ 128 bytes) in the store; the caller wipes `secret`. */
  sealSecret(id: string, secret: Uint8Array): Promise<SealedRecord>;
  /** Returns a sealed secret (for its one use, e.g. decrypting a firmware package); the caller wipes it. */
  unsealSecret(record: SealedRecord): Promise<Uint8Array>;
}

export function isKeyImportStore(ks: unknown): ks is KeyStore & KeyImportStore {
  const k = ks as Partial<KeyImportStore> | null;
  return typeof k?.importKey === 'function' && typeof k.sealSecret === 'function' && typeof k.unsealSecret === 'function';
}
