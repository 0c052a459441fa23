// The device's key-encryption key for encrypted key packages (RFC 6032 EncryptedKeyPackage, RFC 5652 §6 EnvelopedData,
// RFC 7030 §4.4.2 encrypted server-generated keys): an RSA-2048 decrypt-only key created once under the SRK, its
// blobs and key identifier recorded in keys.json. The sender encrypts the content-encryption key to its public key
// with RSAES-OAEP (SHA-256, MGF1-SHA-256, RFC 4055 §4.1) and names it by subjectKeyIdentifier (RFC 5652 §6.2.1 rid,
// RFC 5280 §4.2.1.2 method 1); the TPM performs the RSA step (TPM2_RSA_Decrypt).
// Publication (our choice; RFC 6032 / RFC 8295 leave it to provisioning): the key-packages feature creates the KEK
// at its first start and writes its SubjectPublicKeyInfo as a PEM "PUBLIC KEY" file (keyPackages.kek.publicKeyFile,
// default <state>/keys/kek.pub.pem; 0600 like every state file) which manufacturing hands to the server; the server wraps it in a
// certificate of its own if its CMS tool needs one (`openssl cms -encrypt -keyid` then names it by the same SKI).
// Light (no ASN.1 stack): the feature's start reads the KEK and publishes it (creating it loads pki/cert.ts for the key
// identifier); opening an encrypted package (openIfEncrypted) is in enveloped-data.ts.
import type { KeyRecord, KeyStore } from '../../keystore/keystore.js';
import type { KeyAlgorithm } from '../../pki/signer.js';
import { loadCert } from '../../pki/lazy-modules.js';
import { pemEncode } from '../../pki/pem.js';
import type { KeysStateFile, StoredKek } from './state.js';

/** A keystore that holds decrypt-only keys and decrypts with them inside the device (TpmKeyStore). */
export interface KeyDecryptStore {
  createDecryptionKey(id: string, algorithm: KeyAlgorithm): Promise<KeyRecord>;
  /** RSAES-OAEP SHA-256 / MGF1-SHA-256, empty label. */
  decrypt(record: KeyRecord, cipherText: Uint8Array): Promise<Uint8Array>;
}

export function isKeyDecryptStore(ks: unknown): ks is KeyDecryptStore {
  const k = ks as Partial<KeyDecryptStore> | null;
  return typeof k?.createDecryptionKey === 'function' && typeof k.decrypt === 'function';
}

export const DEFAULT_KEK_NAME = 'key-packages';

/** A KEK ready to use: its key record and RFC 5280 method-1 key identifier. */
export interface Kek {
  name: string;
  record: KeyRecord;
  keyId: Uint8Array;
}

export function kekFromStored(s: StoredKek): Kek {
  return {
    name: s.name,
    record: { id: s.key.id, algorithm: s.key.algorithm as KeyAlgorithm, spki: new Uint8Array(Buffer.from(s.key.spki, 'base64')), location: s.key.location },
    keyId: new Uint8Array(Buffer.from(s.keyId, 'hex')),
  };
}

/** The KEKs recorded in keys.json. */
export async function storedKeks(state: KeysStateFile): Promise<Kek[]> {
  return ((await state.load()).keks ?? []).map(kekFromStored);
}

/** The KEK named `name`, created in the TPM and recorded on first use. */
export async function ensureKek(state: KeysStateFile, keystore: KeyStore, now: Date, name = DEFAULT_KEK_NAME): Promise<Kek> {
  const have = ((await state.load()).keks ?? []).find((k) => k.name === name);
  if (have) return kekFromStored(have);
  if (!isKeyDecryptStore(keystore)) throw new Error('the keystore cannot hold a key-encryption key');
  const record = await keystore.createDecryptionKey(`kek-${name}-${now.getTime()}`, 'rsa-2048');
  const stored: StoredKek = {
    name,
    // RFC 5280 §4.2.1.2 method 1; computed once, when the KEK is created (a first start, which enrolls and so loads pki/cert.ts anyway)
    keyId: Buffer.from((await loadCert()).keyIdentifierFromSpki(record.spki)).toString('hex'),
    createdAt: now.toISOString(),
    key: { id: record.id, algorithm: record.algorithm, spki: Buffer.from(record.spki).toString('base64'), location: record.location },
  };
  await state.update((s) => {
    s.keks = [...(s.keks ?? []).filter((k) => k.name !== name), stored];
  });
  return kekFromStored(stored);
}

/** SubjectPublicKeyInfo of the KEK as PEM "PUBLIC KEY" (what a server encrypts to; RFC 7468 §13). */
export function kekPublicKeyPem(kek: Kek): string {
  return pemEncode('PUBLIC KEY', kek.record.spki);
}

