// Software KeyStore/Signer over node:crypto keys. For tests and simulations ONLY (ARCHITECTURE.md §Layers) — a device keeps its
// keys in the TPM. Keys live in memory, or (with `dir`) as PKCS#8 PEM files (mode 0600) so a lab restart keeps them.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { HashAlgorithm, KeyAlgorithm, Signer } from '../pki/signer.js';
import type { KeyRecord, KeyStore, TlsKeyOptions } from './keystore.js';
import { EnrolldError } from '../util/errors.js';

export class SoftwareKeyError extends EnrolldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('keystore.software', message, options);
  }
}

/** A Signer over a node:crypto private key (EC P-256/P-384 or RSA-2048/3072). */
export class SoftwareSigner implements Signer {
  readonly algorithm: KeyAlgorithm;
  readonly spki: Uint8Array;

  constructor(readonly privateKey: KeyObject) {
    if (privateKey.type !== 'private') throw new SoftwareKeyError('SoftwareSigner needs a private key');
    const details = privateKey.asymmetricKeyDetails ?? {};
    if (privateKey.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1') {
      this.algorithm = 'ecc-p256';
    } else if (privateKey.asymmetricKeyType === 'ec' && details.namedCurve === 'secp384r1') {
      this.algorithm = 'ecc-p384';
    } else if (privateKey.asymmetricKeyType === 'rsa' && details.modulusLength === 2048) {
      this.algorithm = 'rsa-2048';
    } else if (privateKey.asymmetricKeyType === 'rsa' && details.modulusLength === 3072) {
      this.algorithm = 'rsa-3072';
    } else {
      throw new SoftwareKeyError(`unsupported key (${privateKey.asymmetricKeyType} ${details.namedCurve ?? details.modulusLength ?? ''})`);
    }
    this.spki = new Uint8Array(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }));
  }

  static generate(algorithm: KeyAlgorithm = 'ecc-p256'): SoftwareSigner {
    return new SoftwareSigner(generateKey(algorithm));
  }

  static fromPem(pem: string): SoftwareSigner {
    return new SoftwareSigner(createPrivateKey(pem));
  }

  /** Signature over `message` with `hash` (default SHA-256; DER ECDSA-Sig-Value or RSASSA-PKCS1-v1_5), by node:crypto. */
  async sign(message: Uint8Array, hash: HashAlgorithm = 'sha256'): Promise<Uint8Array> {
    return new Uint8Array(cryptoSign(hash, message, { key: this.privateKey, dsaEncoding: 'der' }));
  }

  /** PKCS#8 PEM of the private key (for node:tls `key`). */
  privateKeyPem(): string {
    return this.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  }

  /** TLS options: the PEM key plus the signature algorithms it can produce. */
  tlsKeyOptions(): TlsKeyOptions {
    return {
      key: this.privateKeyPem(),
      sigalgs:
        this.algorithm === 'ecc-p256' ? 'ecdsa_secp256r1_sha256'
        : this.algorithm === 'ecc-p384' ? 'ecdsa_secp384r1_sha384'
        : 'rsa_pss_rsae_sha256:rsa_pkcs1_sha256',
    };
  }
}

function generateKey(algorithm: KeyAlgorithm): KeyObject {
  if (algorithm === 'ecc-p256') return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  if (algorithm === 'ecc-p384') return generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
  if (algorithm === 'rsa-2048') return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  if (algorithm === 'rsa-3072') return generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey;
  throw new SoftwareKeyError(`unsupported key algorithm ${String(algorithm)}`);
}

const ID_RE = /^[A-Za-z0-9._-]{1,128}$/;

/** KeyStore with software keys. In memory by default; persisted to `dir` when given. */
export class SoftwareKeyStore implements KeyStore {
  private readonly keys = new Map<string, SoftwareSigner>();
  constructor(private readonly opts: { dir?: string } = {}) {}

  async createKey(id: string, algorithm: KeyAlgorithm): Promise<KeyRecord> {
    if (!ID_RE.test(id)) throw new SoftwareKeyError(`invalid key id "${id}"`);
    const signer = SoftwareSigner.generate(algorithm);
    const location: Record<string, string | number> = { store: 'software', id };
    if (this.opts.dir) {
      await mkdir(this.opts.dir, { recursive: true, mode: 0o700 });
      const file = path.join(this.opts.dir, `${id}.key.pem`);
      await writeFile(file, signer.privateKeyPem(), { mode: 0o600, flag: 'wx' });
      location.file = file;
    }
    this.keys.set(id, signer);
    return { id, algorithm, spki: signer.spki, location };
  }

  /** Adds an existing key (e.g. loaded by a test) under `id`. */
  importSigner(id: string, signer: SoftwareSigner): KeyRecord {
    this.keys.set(id, signer);
    return { id, algorithm: signer.algorithm, spki: signer.spki, location: { store: 'software', id } };
  }

  signer(record: KeyRecord): SoftwareSigner {
    const s = this.keys.get(record.id);
    if (s) return s;
    throw new SoftwareKeyError(`unknown key "${record.id}" (call load() for persisted keys)`);
  }

  /** Loads a persisted key back into memory (after a restart). */
  async load(record: KeyRecord): Promise<SoftwareSigner> {
    const existing = this.keys.get(record.id);
    if (existing) return existing;
    const file = record.location.file;
    if (typeof file !== 'string') throw new SoftwareKeyError(`key "${record.id}" is not persisted`);
    const signer = SoftwareSigner.fromPem(await readFile(file, 'utf8'));
    this.keys.set(record.id, signer);
    return signer;
  }

  async tlsKeyOptions(record: KeyRecord): Promise<TlsKeyOptions> {
    return (this.keys.get(record.id) ?? (await this.load(record))).tlsKeyOptions();
  }

  async deleteKey(record: KeyRecord): Promise<void> {
    this.keys.delete(record.id);
    if (typeof record.location.file === 'string') await rm(record.location.file, { force: true });
  }

  async close(): Promise<void> {
    this.keys.clear();
  }
}
