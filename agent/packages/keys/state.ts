// keys.json, the key package handlers' persisted state: the metadata of the keys held in the TPM (sealed symmetric
// keys, imported server-generated keys, the key-encryption keys) and the outbox of signed RFC 7191 receipts/errors
// waiting for their /return POST. Light (no ASN.1 stack): the feature's start reads and writes it (the KEK), and the
// firmware feature looks sealed decryption keys up in it.
import path from 'node:path';
import type { KeyRecord, SealedRecord } from '../../keystore/keystore.js';
import { DocumentStore } from '../../store/document-store.js';
import { StateCorruptError } from '../../store/errors.js';
import { KEYS_FILE } from '../../store/layout.js';
import { EnrolldError } from '../../util/errors.js';

export interface OutboxItem {
  kind: 'receipt' | 'error';
  /** Which /return path: 'symmetrickeys' or 'serverkeygen'. */
  path: 'symmetrickeys' | 'serverkeygen';
  /** base64 DER ContentInfo(SignedData(receipt|error)). */
  der: string;
  /** hex pkgID, for logs. */
  pkgId?: string;
}



export interface StoredSymmetricKey {
  keyId: string;
  algorithm?: string;
  pkgId?: string;
  receivedAt: string;
  sealed: SealedRecord;
}

export interface StoredServerKey {
  id: string;
  receivedAt: string;
  key: { id: string; algorithm: string; spki: string; location: KeyRecord['location'] };
  certificatePem: string;
  chainPem: string[];
}

export interface KeysState {
  schema: 1;
  symmetric: StoredSymmetricKey[];
  serverKeys: StoredServerKey[];
  outbox: OutboxItem[];
  /** TPM-held key-encryption keys (RFC 5652 §6.2.1 ktri recipients of encrypted key packages), by name. */
  keks?: StoredKek[];
}

/** A key-encryption key in the TPM (a decrypt-only RSA key under the SRK); holds no secret. */
export interface StoredKek {
  name: string;
  /** RFC 5280 §4.2.1.2 method 1 key identifier (hex): the ktri rid subjectKeyIdentifier the sender uses. */
  keyId: string;
  createdAt: string;
  key: { id: string; algorithm: string; spki: string; location: KeyRecord['location'] };
}

const isKeysState = (d: unknown): d is KeysState => {
  const x = d as KeysState;
  return (
    typeof x === 'object' && x !== null && x.schema === 1 && Array.isArray(x.symmetric) && Array.isArray(x.serverKeys) && Array.isArray(x.outbox) &&
    (x.keks === undefined || Array.isArray(x.keks))
  );
};

const emptyKeysState = (): KeysState => ({ schema: 1, symmetric: [], serverKeys: [], outbox: [] });

/** One store per file in this process: the handlers of one directory share its serialised read-modify-write. */
const keyStores = new Map<string, DocumentStore<KeysState>>();

/**
 * `stateDir/keys.json` as a DocumentStore (checksummed, previous-good copy, atomic, 0600). Holds TPM blobs and
 * metadata, never a plaintext key. The bare-JSON file of earlier versions is converted once on the first load; a
 * damaged file with no usable previous copy is an error (keys.state), never a silent reset.
 */
export class KeysStateFile {
  readonly file: string;
  private readonly store: DocumentStore<KeysState>;
  constructor(dir: string) {
    this.file = path.join(path.resolve(dir), KEYS_FILE);
    let store = keyStores.get(this.file);
    if (!store) {
      store = new DocumentStore<KeysState>({ dir, name: KEYS_FILE, kind: 'enrolld-keys', version: 1, validate: isKeysState, legacy: (j) => (isKeysState(j) ? j : undefined) });
      keyStores.set(this.file, store);
    }
    this.store = store;
  }
  async load(): Promise<KeysState> {
    try {
      return (await this.store.load()) ?? emptyKeysState();
    } catch (e) {
      throw this.wrap(e);
    }
  }
  async update(fn: (s: KeysState) => void): Promise<KeysState> {
    try {
      return await this.store.update((cur) => {
        const s = cur ?? emptyKeysState();
        fn(s);
        return s;
      });
    } catch (e) {
      throw this.wrap(e);
    }
  }
  private wrap(e: unknown): unknown {
    return e instanceof StateCorruptError ? new EnrolldError('keys.state', `${this.file}: ${e.message}`, { cause: e }) : e;
  }
}

