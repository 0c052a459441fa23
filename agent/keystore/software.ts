// Software KeyStore/Signer over node:crypto keys. DESIGN.md: for the lab server and tests ONLY — a device keeps its
// keys in the TPM. Keys live in memory, or (with `dir`) as PKCS#8 PEM files (mode 0600) so a lab restart keeps them.
//
// `Signer.signDigest` takes a precomputed SHA-256 digest (what a TPM signs). node:crypto has no "sign this digest"
// call for ECDSA (crypto.sign always hashes), so the P-256 ECDSA step is done here with BigInt arithmetic; it is not
// constant-time, which is acceptable for test/lab keys and one more reason this store must never hold device keys.
// RSA uses privateEncrypt with PKCS#1 v1.5 type-1 padding over DigestInfo(SHA-256), i.e. RSASSA-PKCS1-v1_5.
import { constants, createPrivateKey, createPublicKey, generateKeyPairSync, privateEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as pkijs from 'pkijs';
import type { KeyAlgorithm, Signer } from '../pki/signer.js';
import type { KeyRecord, KeyStore, TlsKeyOptions } from './keystore.js';
import { EnrolldError } from '../util/errors.js';

export class SoftwareKeyError extends EnrolldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('keystore.software', message, options);
  }
}

// ---- P-256 (FIPS 186-4 D.1.2.3 / SEC 2) -------------------------------------------------------------------------
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const GX = 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n;
const GY = 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n;

const mod = (a: bigint, m: bigint): bigint => {
  const r = a % m;
  return r < 0n ? r + m : r;
};
function inv(a: bigint, m: bigint): bigint {
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new SoftwareKeyError('value not invertible');
  return mod(s0, m);
}
/** Jacobian point (X/Z², Y/Z³); Z = 0 is the point at infinity. */
type Jac = [bigint, bigint, bigint];
function dbl([x, y, z]: Jac): Jac {
  if (z === 0n || y === 0n) return [0n, 1n, 0n];
  // dbl-2001-b (a = -3)
  const delta = mod(z * z, P);
  const gamma = mod(y * y, P);
  const beta = mod(x * gamma, P);
  const alpha = mod(3n * (x - delta) * (x + delta), P);
  const x3 = mod(alpha * alpha - 8n * beta, P);
  const z3 = mod((y + z) * (y + z) - gamma - delta, P);
  const y3 = mod(alpha * (4n * beta - x3) - 8n * gamma * gamma, P);
  return [x3, y3, z3];
}
function add(p1: Jac, p2: Jac): Jac {
  if (p1[2] === 0n) return p2;
  if (p2[2] === 0n) return p1;
  // add-2007-bl
  const [x1, y1, z1] = p1;
  const [x2, y2, z2] = p2;
  const z1z1 = mod(z1 * z1, P);
  const z2z2 = mod(z2 * z2, P);
  const u1 = mod(x1 * z2z2, P);
  const u2 = mod(x2 * z1z1, P);
  const s1 = mod(y1 * z2 * z2z2, P);
  const s2 = mod(y2 * z1 * z1z1, P);
  const h = mod(u2 - u1, P);
  const rr = mod(2n * (s2 - s1), P);
  if (h === 0n) return rr === 0n ? dbl(p1) : [0n, 1n, 0n];
  const i = mod(4n * h * h, P);
  const j = mod(h * i, P);
  const v = mod(u1 * i, P);
  const x3 = mod(rr * rr - j - 2n * v, P);
  const y3 = mod(rr * (v - x3) - 2n * s1 * j, P);
  const z3 = mod(((z1 + z2) * (z1 + z2) - z1z1 - z2z2) * h, P);
  return [x3, y3, z3];
}
function mulG(k: bigint): bigint {
  let acc: Jac = [0n, 1n, 0n];
  let base: Jac = [GX, GY, 1n];
  for (let e = k; e > 0n; e >>= 1n) {
    if (e & 1n) acc = add(acc, base);
    base = dbl(base);
  }
  if (acc[2] === 0n) throw new SoftwareKeyError('point at infinity');
  const zi = inv(acc[2], P);
  return mod(acc[0] * zi * zi, P);
}
const toBig = (b: Uint8Array): bigint => BigInt('0x' + (Buffer.from(b).toString('hex') || '0'));
const to32 = (v: bigint): Uint8Array => Buffer.from(v.toString(16).padStart(64, '0'), 'hex');

function ecdsaP256SignDigest(d: bigint, digest: Uint8Array): Uint8Array {
  if (digest.byteLength !== 32) throw new SoftwareKeyError(`expected a 32-byte SHA-256 digest, got ${digest.byteLength} bytes`);
  const e = mod(toBig(digest), N);
  for (;;) {
    const k = toBig(randomBytes(32));
    if (k === 0n || k >= N) continue;
    const r = mod(mulG(k), N);
    if (r === 0n) continue;
    const s = mod(inv(k, N) * (e + r * d), N);
    if (s === 0n) continue;
    const raw = new Uint8Array(64);
    raw.set(to32(r), 0);
    raw.set(to32(s), 32);
    // pkijs helper: raw r||s → DER ECDSA-Sig-Value with minimal INTEGERs.
    return new Uint8Array(pkijs.createCMSECDSASignature(raw.buffer));
  }
}

const SHA256_DIGEST_INFO_PREFIX = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/** A Signer over a node:crypto private key (EC P-256 or RSA-2048). */
export class SoftwareSigner implements Signer {
  readonly algorithm: KeyAlgorithm;
  readonly spki: Uint8Array;
  private readonly ecD: bigint | undefined;

  constructor(readonly privateKey: KeyObject) {
    if (privateKey.type !== 'private') throw new SoftwareKeyError('SoftwareSigner needs a private key');
    const details = privateKey.asymmetricKeyDetails ?? {};
    if (privateKey.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1') {
      this.algorithm = 'ecc-p256';
      const jwk = privateKey.export({ format: 'jwk' });
      this.ecD = toBig(Buffer.from(jwk.d!, 'base64url'));
    } else if (privateKey.asymmetricKeyType === 'rsa' && details.modulusLength === 2048) {
      this.algorithm = 'rsa-2048';
      this.ecD = undefined;
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

  async signDigest(digest: Uint8Array): Promise<Uint8Array> {
    if (this.algorithm === 'ecc-p256') return ecdsaP256SignDigest(this.ecD!, digest);
    if (digest.byteLength !== 32) throw new SoftwareKeyError(`expected a 32-byte SHA-256 digest, got ${digest.byteLength} bytes`);
    const sig = privateEncrypt(
      { key: this.privateKey, padding: constants.RSA_PKCS1_PADDING },
      Buffer.concat([SHA256_DIGEST_INFO_PREFIX, Buffer.from(digest)]),
    );
    return new Uint8Array(sig);
  }

  /** PKCS#8 PEM of the private key (for node:tls `key`). */
  privateKeyPem(): string {
    return this.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  }

  /** TLS options: the PEM key plus the signature algorithms it can produce. */
  tlsKeyOptions(): TlsKeyOptions {
    return {
      key: this.privateKeyPem(),
      sigalgs: this.algorithm === 'ecc-p256' ? 'ecdsa_secp256r1_sha256' : 'rsa_pss_rsae_sha256:rsa_pkcs1_sha256',
    };
  }
}

function generateKey(algorithm: KeyAlgorithm): KeyObject {
  if (algorithm === 'ecc-p256') return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  if (algorithm === 'rsa-2048') return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
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
