// KeyStore over the TPM (native addon, one promise queue). Keys live as TPM2B_PUBLIC/TPM2B_PRIVATE blobs wrapped by
// the SRK (persistent 0x81000001); every operation loads, uses and flushes its keys inside one queue job, so with or
// without a resource manager no transient handle outlives the job. All TPM structure policy is here and in agent/tpm2.
import { createHash, createPublicKey, randomBytes, verify as cryptoVerify } from 'node:crypto';
import { HASH_SIZES, type HashAlgorithm, type KeyAlgorithm, type Signer } from '../pki/signer.js';
import {
  HASH_INFO,
  TPM_ALG,
  TPM_CAP,
  TPM_ECC,
  TPM_HT,
  TPM_PT,
  TPM_RH,
  WELL_KNOWN,
  algName,
  handleRangeStart,
} from '../tpm2/constants.js';
import * as TPM2 from '../tpm2/commands.js';
import { marshalEccPoint2B, unmarshalEccPoint2B } from '../tpm2/ecc-point.js';
import { TpmCommandError, Tpm2FormatError } from '../tpm2/errors.js';
import { type EsysTr, type TpmHandle, tpmHandle } from '../tpm2/handles.js';
import { unmarshalAttest } from '../tpm2/attest.js';
import { unmarshalCapabilityData } from '../tpm2/capability.js';
import { unmarshalNvPublic2B } from '../tpm2/nv.js';
import { type PcrSelection, marshalPcrSelection, pcrCompositeDigest, unmarshalPcrSelection } from '../tpm2/pcr.js';
import {
  type TpmtPublic,
  attestationKeyTemplate,
  eccSigningTemplate,
  eccP256DecryptTemplate,
  rsa2048DecryptTemplate,
  isStorageKey,
  marshalPublic2B,
  marshalRsaDecryptScheme,
  publicToSpki,
  rsaSigningTemplate,
  srkEccTemplate,
  unmarshalPublic2B,
} from '../tpm2/public.js';
import {
  MAX_SEALED_DATA,
  importedEccP256Public,
  importedRsa2048Public,
  sealedDataTemplate,
  symDefObjectNull,
  unwrappedDuplicate,
} from '../tpm2/sensitive.js';
import {
  SIG_SCHEME_ECDSA_SHA256,
  SIG_SCHEME_NULL,
  SIG_SCHEME_RSASSA_SHA256,
  TPM_HASH_BY_NAME,
  marshalSigScheme,
  signatureToDer,
  unmarshalSignature,
} from '../tpm2/signature.js';
import { EnrolldError } from '../util/errors.js';
import { type CommandStats, TpmClient } from './addon.js';
import type { KeyImportStore, KeyRecord, KeyStore, KeyStoreHealth, SealedRecord, TlsKeyOptions } from './keystore.js';
import { PromiseQueue } from './queue.js';
import { lazyModule } from '../util/lazy-import.js';

/** The PKCS#8 decoder (asn1js), for importKey only. */
const privateKeyModule = lazyModule('the PKCS#8 decoder', () => import('../pki/private-key.js'));

export class TpmKeyStoreError extends EnrolldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('keystore.tpm', message, options);
  }
}

export interface TpmKeyStoreOptions {
  /** TCTI configuration, e.g. "device:/dev/tpmrm0" or "swtpm:host=127.0.0.1,port=2321". */
  tcti: string;
  /** Persistent handle of the SRK (default 0x81000001); created with the TCG ECC P-256 template if absent. */
  srkHandle?: number | TpmHandle;
  /**
   * Flush every transient object first, before the SRK check needs an object slot (a TPM without a resource manager
   * whose slots a crashed process left full). The count is in `staleTransientsFlushed`.
   */
  flushStaleTransients?: boolean;
}

export interface TpmCertifyResult {
  /** TPMS_ATTEST bytes (the signed message). */
  attest: Uint8Array;
  /** TPMT_SIGNATURE bytes. */
  signature: Uint8Array;
  /** The signature as DER ECDSA-Sig-Value (or PKCS#1 v1.5 for an RSA AK). */
  signatureDer: Uint8Array;
}

export interface TpmQuoteResult {
  /** TPMS_ATTEST bytes (the signed message). */
  quoted: Uint8Array;
  /** TPMT_SIGNATURE bytes. */
  signature: Uint8Array;
  signatureDer: Uint8Array;
  /** The PCR bank quoted. */
  hashAlg: number;
  /** PCR values read together with the quote, ascending by index; their composite digest matches the quote. */
  pcrDigests: { pcr: number; digest: Uint8Array }[];
}

const ID_RE = /^[A-Za-z0-9._-]{1,128}$/;
const MAX_QUOTE_ATTEMPTS = 3;

interface KeyBlobs {
  parent: TpmHandle;
  pub: Uint8Array;
  priv: Uint8Array;
  publicArea: TpmtPublic;
}

function b64(b: Uint8Array): string {
  return Buffer.from(b).toString('base64');
}

/** Length of the DER TLV at the start of `der` (an EK certificate NV index may carry padding after it). */
function derTlvLength(der: Uint8Array): number {
  if (der.byteLength < 2 || der[0] !== 0x30) throw new Tpm2FormatError('EK certificate is not a DER SEQUENCE');
  const first = der[1]!;
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  if (n === 0 || n > 4 || der.byteLength < 2 + n) throw new Tpm2FormatError('EK certificate has a bad DER length');
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + der[2 + i]!;
  if (2 + n + len > der.byteLength) throw new Tpm2FormatError('EK certificate is truncated');
  return 2 + n + len;
}

/** TPM handles of one type currently in the TPM (TPM2_GetCapability(TPM_CAP_HANDLES)). */
async function listHandlesOf(tpm: TpmClient, ht: number): Promise<TpmHandle[]> {
  const out: TpmHandle[] = [];
  let property = handleRangeStart(ht);
  for (let i = 0; i < 64; i++) {
    const { moreData, capabilityData } = await tpm.execute(TPM2.GetCapability, { capability: TPM_CAP.HANDLES, property, propertyCount: 64 });
    const handles = (unmarshalCapabilityData(capabilityData).handles ?? []).filter((h) => h >>> 24 === ht).map(tpmHandle);
    out.push(...handles);
    if (!moreData || handles.length === 0) break;
    property = handles[handles.length - 1]! + 1;
  }
  return out;
}

/** Flushes every transient object (TPM2_FlushContext; none of these needs an object slot). Returns the count. */
async function flushTransients(tpm: TpmClient): Promise<number> {
  let n = 0;
  for (const h of await listHandlesOf(tpm, TPM_HT.TRANSIENT)) {
    const { object } = await tpm.execute(TPM2.TrFromTpmPublic, { tpmHandle: h });
    await tpm.execute(TPM2.FlushContext, { flushHandle: object });
    n++;
  }
  return n;
}

/** TPM identity and free resources as TPM2_GetCapability reports them (TpmKeyStore.tpmInfo()). */
export interface TpmInfo {
  /** TPM_PT_FAMILY_INDICATOR, e.g. "2.0". */
  family: string;
  /** TPM_PT_MANUFACTURER as its 4 ASCII characters (TCG vendor ID registry), e.g. "IBM", "IFX", "STM". */
  manufacturer: string;
  vendor: string;
  /** TPM_PT_FIRMWARE_VERSION_1/2 as four 16-bit parts (the vendor defines their meaning). */
  firmware: string;
  firmwareRaw: [number, number];
  /** Allocated PCR banks and how many PCRs each has selected. */
  pcrBanks: { hash: string; pcrs: number }[];
  transientAvail: number;
  persistent: number;
  persistentAvail: number;
  nvIndices: number;
  nvCountersAvail: number;
  nvIndexMax: number;
}

export class TpmKeyStore implements KeyStore, KeyImportStore {
  private readonly queue = new PromiseQueue();
  private readonly ops = new Map<string, { count: number; totalMs: number; errors: number }>();
  private closed = false;
  /** Outcome of the last TPM command (open() succeeded, so ok until one fails). */
  private lastOutcome: KeyStoreHealth = { ok: true };

  private constructor(
    private readonly tpm: TpmClient,
    /** TPM handle of the SRK. */
    readonly srkHandle: TpmHandle,
    /** ESYS_TR of the SRK (valid until close()). */
    private readonly srkTr: EsysTr,
    /** True when open() created and persisted the SRK (it was absent). */
    readonly srkCreated: boolean = false,
    /** Transient objects open() flushed (opts.flushStaleTransients). */
    readonly staleTransientsFlushed: number = 0,
  ) {}

  /** Opens the TPM and ensures the SRK (creating and persisting it when absent, checking it is a storage key when present). */
  static async open(opts: TpmKeyStoreOptions): Promise<TpmKeyStore> {
    const srkNumber = opts.srkHandle ?? WELL_KNOWN.SRK_PERSISTENT;
    if ((srkNumber >>> 24) !== TPM_HT.PERSISTENT) throw new TpmKeyStoreError(`SRK handle 0x${srkNumber.toString(16)} is not persistent`);
    const srkHandle = tpmHandle(srkNumber);
    const tpm = TpmClient.open(opts.tcti);
    try {
      const flushed = opts.flushStaleTransients ? await flushTransients(tpm) : 0;
      const { tr, created } = await TpmKeyStore.ensureSrk(tpm, srkHandle);
      return new TpmKeyStore(tpm, srkHandle, tr, created, flushed);
    } catch (err) {
      await tpm.close().catch(() => undefined);
      throw err;
    }
  }

  private static async ensureSrk(tpm: TpmClient, srkHandle: TpmHandle): Promise<{ tr: EsysTr; created: boolean }> {
    let tr: EsysTr;
    let created = false;
    try {
      tr = (await tpm.execute(TPM2.TrFromTpmPublic, { tpmHandle: srkHandle })).object;
    } catch (err) {
      if (!(err instanceof TpmCommandError && err.isHandleError)) throw err;
      const primary = await tpm.execute(TPM2.CreatePrimary, { primaryHandle: TPM_RH.OWNER, inPublic: marshalPublic2B(srkEccTemplate()) });
      try {
        tr = (await tpm.execute(TPM2.EvictControl, { objectHandle: primary.objectHandle, persistentHandle: srkHandle })).newObjectHandle;
        created = true;
      } finally {
        await tpm.execute(TPM2.FlushContext, { flushHandle: primary.objectHandle });
      }
    }
    const { outPublic } = await tpm.execute(TPM2.ReadPublic, { objectHandle: tr });
    const pub = unmarshalPublic2B(outPublic);
    if (!isStorageKey(pub)) {
      await tpm.execute(TPM2.TrClose, { object: tr }).catch(() => undefined);
      throw new TpmKeyStoreError(
        `persistent handle 0x${srkHandle.toString(16)} holds a ${algName(pub.type)} object that is not a storage key ` +
          `(attributes 0x${pub.objectAttributes.toString(16)})`,
      );
    }
    return { tr, created };
  }

  // ---- plumbing ---------------------------------------------------------------------------------------------------

  /** Runs `fn` as one queue job, timing it under `op`. */
  private job<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new TpmKeyStoreError('the TPM keystore is closed'));
    return this.queue.run(async () => {
      const t0 = performance.now();
      let failed = false;
      try {
        const out = await fn();
        this.lastOutcome = { ok: true };
        return out;
      } catch (err) {
        failed = true;
        // Only the TPM's own answers tell about its health (a bad key record or argument does not).
        if (err instanceof TpmCommandError) this.lastOutcome = { ok: false, rc: err.rc };
        throw err;
      } finally {
        const s = this.ops.get(op) ?? { count: 0, totalMs: 0, errors: 0 };
        s.count++;
        s.totalMs += performance.now() - t0;
        if (failed) s.errors++;
        this.ops.set(op, s);
      }
    });
  }

  private blobs(record: KeyRecord): KeyBlobs {
    const { parent, public: pub, private: priv } = record.location;
    if (typeof parent !== 'number' || typeof pub !== 'string' || typeof priv !== 'string') {
      throw new TpmKeyStoreError(`key "${record.id}": location is not a TPM key location {parent, public, private}`);
    }
    if (parent !== this.srkHandle) {
      throw new TpmKeyStoreError(`key "${record.id}": parent 0x${parent.toString(16)} is not this keystore's SRK 0x${this.srkHandle.toString(16)}`);
    }
    const pubBytes = new Uint8Array(Buffer.from(pub, 'base64'));
    const privBytes = new Uint8Array(Buffer.from(priv, 'base64'));
    return { parent: this.srkHandle, pub: pubBytes, priv: privBytes, publicArea: unmarshalPublic2B(pubBytes) };
  }

  /** Loads the keys under the SRK, runs fn with their handles, flushes them on every path. Call inside a job. */
  private async withLoaded<T>(keys: KeyBlobs[], fn: (handles: EsysTr[]) => Promise<T>): Promise<T> {
    const handles: EsysTr[] = [];
    try {
      for (const k of keys) {
        handles.push((await this.tpm.execute(TPM2.Load, { parentHandle: this.srkTr, inPrivate: k.priv, inPublic: k.pub })).objectHandle);
      }
      return await fn(handles);
    } finally {
      for (const h of handles.reverse()) await this.tpm.execute(TPM2.FlushContext, { flushHandle: h }).catch(() => undefined);
    }
  }

  private async createUnderSrk(id: string, template: TpmtPublic, algorithm: KeyAlgorithm): Promise<KeyRecord> {
    if (!ID_RE.test(id)) throw new TpmKeyStoreError(`invalid key id "${id}"`);
    const { outPublic, outPrivate } = await this.tpm.execute(TPM2.Create, { parentHandle: this.srkTr, inPublic: marshalPublic2B(template) });
    const spki = publicToSpki(unmarshalPublic2B(outPublic));
    return { id, algorithm, spki, location: { parent: this.srkHandle, public: b64(outPublic), private: b64(outPrivate) } };
  }

  // ---- KeyStore ---------------------------------------------------------------------------------------------------

  createKey(id: string, algorithm: KeyAlgorithm): Promise<KeyRecord> {
    return this.job('createKey', async () => {
      const template =
        algorithm === 'ecc-p256' ? eccSigningTemplate(TPM_ECC.NIST_P256)
        : algorithm === 'ecc-p384' ? eccSigningTemplate(TPM_ECC.NIST_P384)
        : algorithm === 'rsa-2048' ? rsaSigningTemplate(2048)
        : algorithm === 'rsa-3072' ? rsaSigningTemplate(3072)
        : undefined;
      if (!template) throw new TpmKeyStoreError(`unsupported key algorithm ${String(algorithm)}`);
      return this.createUnderSrk(id, template, algorithm);
    });
  }

  // ---- key-establishment keys (cmc: RFC 5272 §6.7 indirect POP) ------------------------------------------------

  /** A decryption (key-establishment) key under the SRK: decrypt attribute set, sign clear. It cannot sign. */
  createDecryptionKey(id: string, algorithm: KeyAlgorithm): Promise<KeyRecord> {
    return this.job('createDecryptionKey', async () => {
      if (algorithm === 'ecc-p256') return this.createUnderSrk(id, eccP256DecryptTemplate(), algorithm);
      if (algorithm === 'rsa-2048') return this.createUnderSrk(id, rsa2048DecryptTemplate(), algorithm);
      throw new TpmKeyStoreError(`unsupported key algorithm ${String(algorithm)}`);
    });
  }

  /**
   * RSA decryption inside the TPM (load → TPM2_RSA_Decrypt → flush). Default RSAES-OAEP (SHA-256, MGF1-SHA-256, empty
   * label); `scheme` selects OAEP with another hash, RSAES-PKCS1-v1_5 (TPM_ALG_RSAES), or raw RSA (TPM_ALG_NULL: the
   * RSA-KEM Decapsulate primitive, RFC 9690; the result is left-padded to the modulus size).
   */
  decrypt(
    record: KeyRecord,
    cipherText: Uint8Array,
    scheme: { scheme: 'oaep'; hash: 'sha1' | 'sha256' | 'sha384' | 'sha512' } | { scheme: 'rsaes' } | { scheme: 'raw' } = { scheme: 'oaep', hash: 'sha256' },
  ): Promise<Uint8Array> {
    return this.job('decrypt', async () => {
      const key = this.blobs(record);
      if (key.publicArea.type !== TPM_ALG.RSA) throw new TpmKeyStoreError(`key "${record.id}" is not an RSA key`);
      const nLen = key.publicArea.unique.byteLength;
      if (cipherText.byteLength !== nLen) throw new TpmKeyStoreError(`RSA-${nLen * 8} ciphertext must be ${nLen} bytes, got ${cipherText.byteLength}`);
      const hashAlg = { sha1: TPM_ALG.SHA1, sha256: TPM_ALG.SHA256, sha384: TPM_ALG.SHA384, sha512: TPM_ALG.SHA512 };
      const inScheme = marshalRsaDecryptScheme(
        scheme.scheme === 'oaep' ? { scheme: TPM_ALG.OAEP, hashAlg: hashAlg[scheme.hash] }
        : scheme.scheme === 'rsaes' ? { scheme: TPM_ALG.RSAES, hashAlg: TPM_ALG.NULL }
        : { scheme: TPM_ALG.NULL, hashAlg: TPM_ALG.NULL },
      );
      const { message } = await this.withLoaded([key], ([h]) =>
        this.tpm.execute(TPM2.RsaDecrypt, { keyHandle: h!, cipherText, inScheme, label: new Uint8Array(0) }),
      );
      if (scheme.scheme !== 'raw') return new Uint8Array(message);
      if (message.byteLength > nLen) throw new TpmKeyStoreError(`raw RSA decryption returned ${message.byteLength} bytes (modulus ${nLen})`);
      const z = new Uint8Array(nLen);
      z.set(message, nLen - message.byteLength);
      message.fill(0);
      return z;
    });
  }

  /**
   * ECDH inside the TPM (load → TPM2_ECDH_ZGen → flush): the shared secret Z (the x coordinate, 32 bytes, RFC 5753
   * §3.1.1 / SP 800-56A) of our key with the peer's P-256 public point (x, y: 32 bytes each).
   */
  ecdhZGen(record: KeyRecord, peer: { x: Uint8Array; y: Uint8Array }): Promise<Uint8Array> {
    return this.job('ecdhZGen', async () => {
      const key = this.blobs(record);
      if (key.publicArea.type !== TPM_ALG.ECC) throw new TpmKeyStoreError(`key "${record.id}" is not an ECC key`);
      if (peer.x.byteLength !== 32 || peer.y.byteLength !== 32) throw new TpmKeyStoreError('P-256 point coordinates must be 32 bytes');
      const inPoint = marshalEccPoint2B(peer);
      const { outPoint } = await this.withLoaded([key], ([h]) => this.tpm.execute(TPM2.EcdhZGen, { keyHandle: h!, inPoint }));
      return unmarshalEccPoint2B(outPoint).x;
    });
  }

  // ---- end of key-establishment keys ------------------------------------------------------------------------------

  /** A restricted ECC P-256 ECDSA-SHA256 signing key for TPM2_Certify / TPM2_Quote. */
  createAttestationKey(id: string): Promise<KeyRecord> {
    return this.job('createAttestationKey', () => this.createUnderSrk(id, attestationKeyTemplate(), 'ecc-p256'));
  }

  signer(record: KeyRecord): TpmSigner {
    return new TpmSigner(this, record);
  }

  /**
   * Signs a digest made with `hash` (default SHA-256) using the matching scheme (ECDSA or RSASSA with that hash):
   * DER ECDSA-Sig-Value (ECC) or PKCS#1 v1.5 signature (RSA).
   */
  signDigest(record: KeyRecord, digest: Uint8Array, hash: HashAlgorithm = 'sha256'): Promise<Uint8Array> {
    return this.job('signDigest', async () => {
      const size = HASH_SIZES[hash];
      if (size === undefined) throw new TpmKeyStoreError(`unsupported hash ${String(hash)}`);
      if (digest.byteLength !== size) throw new TpmKeyStoreError(`expected a ${size}-byte ${hash} digest, got ${digest.byteLength} bytes`);
      const key = this.blobs(record);
      const hashAlg = TPM_HASH_BY_NAME[hash];
      const scheme =
        key.publicArea.type === TPM_ALG.ECC ? { ...SIG_SCHEME_ECDSA_SHA256, hashAlg }
        : key.publicArea.type === TPM_ALG.RSA ? { ...SIG_SCHEME_RSASSA_SHA256, hashAlg }
        : undefined;
      if (!scheme) throw new TpmKeyStoreError(`key "${record.id}" is a ${algName(key.publicArea.type)} object, not a signing key`);
      const { signature } = await this.withLoaded([key], ([h]) =>
        this.tpm.execute(TPM2.Sign, { keyHandle: h!, digest, inScheme: marshalSigScheme(scheme) }),
      );
      return signatureToDer(unmarshalSignature(signature));
    });
  }

  /**
   * TLS client options: the addon's in-process OpenSSL engine (native/tls_engine.cc) signs the handshake with the
   * TPM key (load → TPM2_Sign → flush under the ESYS mutex); the private key never leaves the TPM. ECDSA keys work
   * with TLS 1.2 and 1.3; RSA keys only with PKCS#1 v1.5 signatures, i.e. TLS 1.2.
   */
  async tlsKeyOptions(record: KeyRecord): Promise<TlsKeyOptions> {
    const key = this.blobs(record);
    const ecc = key.publicArea.type === TPM_ALG.ECC;
    if (!ecc && key.publicArea.type !== TPM_ALG.RSA) throw new TpmKeyStoreError(`key "${record.id}" cannot authenticate TLS`);
    const engine = this.tpm.registerTlsKey(record.id, key.parent, key.pub, key.priv);
    return {
      privateKeyEngine: engine,
      privateKeyIdentifier: record.id,
      // The list is also what the server may sign with, so it names the server-side algorithms too; the client's
      // own CertificateVerify can only use the entries matching its key type, and those are SHA-256 only (the TPM key
      // signs 32-byte digests): P-256 ECDSA-SHA256, or RSA PKCS#1 v1.5 SHA-256 — never PSS, which the engine cannot
      // produce. A list of only the client's algorithm broke the handshake with any server whose certificate is of
      // the other key type (RSA client, ECDSA server: alert 40).
      // A P-384 key signs SHA-384 digests (ecdsa_secp384r1_sha384, TLS 1.3 binds curve and hash).
      sigalgs: ecc
        ? `${key.publicArea.type === TPM_ALG.ECC && key.publicArea.parameters.curveId === TPM_ECC.NIST_P384 ? 'ecdsa_secp384r1_sha384:' : ''}ecdsa_secp256r1_sha256:rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pkcs1_sha256:rsa_pkcs1_sha384`
        : 'rsa_pkcs1_sha256:ecdsa_secp256r1_sha256:ecdsa_secp384r1_sha384',
      ...(ecc ? {} : { maxVersion: 'TLSv1.2' as const }),
    };
  }

  /**
   * Keys are never resident (loaded per operation), so nothing in the TPM holds them; forgetting the blobs deletes
   * them. The TLS engine's registration goes too (a TLS context built earlier keeps its own reference).
   */
  async deleteKey(record: KeyRecord): Promise<void> {
    this.blobs(record);
    // The TLS engine keeps the blobs of every key handed to tlsKeyOptions(): drop them too, or each renewal leaves
    // one entry behind in the addon for the life of the process (found by test/integration/soak-year.test.ts).
    this.tpm.unregisterTlsKey(record.id);
  }

  /** Waits for queued jobs, releases the SRK's ESYS_TR and closes the TPM connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    const last = this.queue.run(async () => {
      await this.tpm.execute(TPM2.TrClose, { object: this.srkTr }).catch(() => undefined);
      await this.tpm.close();
    });
    this.closed = true;
    await last;
  }

  // ---- key import and sealing -------------------------------------------------------------------------------------

  /**
   * Imports a PKCS#8 P-256 / RSA-2048 private key under the SRK: TPM2_Import of an unwrapped duplicate (empty
   * encryptionKey and inSymSeed, symmetricAlg NULL — the TPM needs no wrapping key because the agent holds the
   * plaintext anyway). The object gets userWithAuth|sign only (fixedTPM/fixedParent/sensitiveDataOrigin CLEAR, see
   * IMPORTED_SIGNING_ATTRS). The agent's copies of the key bits are wiped before this returns, on every path; the
   * caller wipes `pkcs8`. The imported key is then loaded once and probed (sign + verify with its SPKI) so a key whose
   * private part does not match its public area is refused, not stored.
   */
  importKey(id: string, pkcs8: Uint8Array): Promise<KeyRecord> {
    return this.job('importKey', async () => {
      if (!ID_RE.test(id)) throw new TpmKeyStoreError(`invalid key id "${id}"`);
      const material = (await privateKeyModule()).decodePrivateKey(pkcs8);
      const seed = new Uint8Array(randomBytes(32));
      let pub: TpmtPublic;
      let duplicate: Uint8Array;
      try {
        pub = material.algorithm === 'ecc-p256' ? importedEccP256Public(material.x, material.y) : importedRsa2048Public(material.n, material.e);
        const sensitive = material.algorithm === 'ecc-p256' ? material.d : material.p;
        duplicate = unwrappedDuplicate({ sensitiveType: pub.type, authValue: new Uint8Array(0), seedValue: seed, sensitive });
      } finally {
        material.wipe();
        seed.fill(0);
      }
      const pub2b = marshalPublic2B(pub);
      let outPrivate: Buffer;
      try {
        ({ outPrivate } = await this.tpm.execute(TPM2.Import, {
          parentHandle: this.srkTr,
          encryptionKey: new Uint8Array(0),
          objectPublic: pub2b,
          duplicate,
          inSymSeed: new Uint8Array(0),
          symmetricAlg: symDefObjectNull(),
        }));
      } finally {
        duplicate.fill(0);
      }
      const record: KeyRecord = {
        id,
        algorithm: material.algorithm,
        spki: publicToSpki(pub),
        location: { parent: this.srkHandle, public: b64(pub2b), private: b64(outPrivate) },
      };
      await this.probeKey(record);
      return record;
    });
  }

  /** Signs a random message with the key and verifies it with the record's SPKI (node:crypto). Call inside a job. */
  private async probeKey(record: KeyRecord): Promise<void> {
    const key = this.blobs(record);
    const message = randomBytes(32);
    const digest = createHash('sha256').update(message).digest();
    const scheme = key.publicArea.type === TPM_ALG.ECC ? SIG_SCHEME_ECDSA_SHA256 : SIG_SCHEME_RSASSA_SHA256;
    const { signature } = await this.withLoaded([key], ([h]) =>
      this.tpm.execute(TPM2.Sign, { keyHandle: h!, digest, inScheme: marshalSigScheme(scheme) }),
    );
    const der = signatureToDer(unmarshalSignature(signature));
    const spki = createPublicKey({ key: Buffer.from(record.spki), format: 'der', type: 'spki' });
    if (!cryptoVerify('sha256', message, spki, der)) {
      throw new TpmKeyStoreError(`key "${record.id}": the imported private key does not match its public key`);
    }
  }

  /**
   * Seals a symmetric secret (1..128 bytes) as a KEYEDHASH sealed data object under the SRK (TPM2_Create with the
   * secret as sensitive data; fixedTPM|fixedParent|userWithAuth|noDA). The caller wipes `secret`.
   */
  sealSecret(id: string, secret: Uint8Array): Promise<SealedRecord> {
    return this.job('sealSecret', async () => {
      if (!ID_RE.test(id)) throw new TpmKeyStoreError(`invalid secret id "${id}"`);
      if (secret.byteLength === 0 || secret.byteLength > MAX_SEALED_DATA) {
        throw new TpmKeyStoreError(`secret "${id}" is ${secret.byteLength} bytes; the TPM seals 1..${MAX_SEALED_DATA}`);
      }
      const { outPublic, outPrivate } = await this.tpm.execute(TPM2.Create, {
        parentHandle: this.srkTr,
        inPublic: marshalPublic2B(sealedDataTemplate()),
        sensitiveData: secret,
      });
      return { id, length: secret.byteLength, location: { parent: this.srkHandle, public: b64(outPublic), private: b64(outPrivate) } };
    });
  }

  /** TPM2_Unseal of a sealed secret (load → unseal → flush). The caller wipes the result. */
  unsealSecret(record: SealedRecord): Promise<Uint8Array> {
    return this.job('unsealSecret', async () => {
      const key = this.blobs({ id: record.id, algorithm: 'ecc-p256', spki: new Uint8Array(0), location: record.location });
      if (key.publicArea.type !== TPM_ALG.KEYEDHASH) throw new TpmKeyStoreError(`secret "${record.id}" is not a sealed data object`);
      const { outData: out } = await this.withLoaded([key], ([h]) => this.tpm.execute(TPM2.Unseal, { itemHandle: h! }));
      const copy = new Uint8Array(out);
      out.fill(0);
      return copy;
    });
  }

  // ---- attestation ------------------------------------------------------------------------------------------------

  /** TPM2_Certify of `key` by the attestation key `ak`, with `qualifyingData` (the freshness nonce) as extraData. */
  certify(key: KeyRecord, ak: KeyRecord, qualifyingData: Uint8Array): Promise<TpmCertifyResult> {
    return this.job('certify', async () => {
      const k = this.blobs(key);
      const a = this.blobs(ak);
      const res = await this.withLoaded([k, a], ([kh, ah]) =>
        this.tpm.execute(TPM2.Certify, { objectHandle: kh!, signHandle: ah!, qualifyingData, inScheme: marshalSigScheme(SIG_SCHEME_NULL) }),
      );
      const attest = new Uint8Array(res.certifyInfo);
      const signature = new Uint8Array(res.signature);
      return { attest, signature, signatureDer: signatureToDer(unmarshalSignature(signature)) };
    });
  }

  /**
   * TPM2_Quote of `pcrs` (bank `hashAlg`, default SHA-256) by `ak`, plus the PCR values: they are read in the same
   * job and checked against the quote's pcrDigest (re-read and re-quoted if a PCR changed in between).
   */
  quote(ak: KeyRecord, qualifyingData: Uint8Array, pcrs: number[], hashAlg: number = TPM_ALG.SHA256): Promise<TpmQuoteResult> {
    return this.job('quote', async () => {
      const a = this.blobs(ak);
      const sorted = [...new Set(pcrs)].sort((x, y) => x - y);
      if (sorted.length === 0) throw new TpmKeyStoreError('quote: no PCRs selected');
      const selection: PcrSelection[] = [{ hashAlg, pcrs: sorted }];
      // TPM2_GetCapability(TPM_CAP_PCRS) first: a bank that is not allocated is a configuration error, named as one
      const { capabilityData } = await this.tpm.execute(TPM2.GetCapability, { capability: TPM_CAP.PCRS, property: 0, propertyCount: 1 });
      const banks = unmarshalCapabilityData(capabilityData).pcrs ?? [];
      const bank = banks.find((b) => b.hashAlg === hashAlg);
      const bankName = (alg: number): string => HASH_INFO[alg]?.name ?? algName(alg);
      if (!bank || bank.pcrs.length === 0) {
        throw new TpmKeyStoreError(`PCR bank ${bankName(hashAlg)} is not allocated in this TPM (allocated: ${banks.filter((b) => b.pcrs.length > 0).map((b) => bankName(b.hashAlg)).join(', ') || 'none'})`);
      }
      const absent = sorted.filter((p) => !bank.pcrs.includes(p));
      if (absent.length > 0) throw new TpmKeyStoreError(`PCR ${absent.join(',')} not allocated in bank ${bankName(hashAlg)}`);
      const digestAlg = a.publicArea.type === TPM_ALG.ECC || a.publicArea.type === TPM_ALG.RSA ? a.publicArea.parameters.scheme.hashAlg : TPM_ALG.NULL;
      return this.withLoaded([a], async ([ah]) => {
        for (let attempt = 1; ; attempt++) {
          const values = await this.readPcrs(hashAlg, sorted);
          const res = await this.tpm.execute(TPM2.Quote, {
            signHandle: ah!,
            qualifyingData,
            inScheme: marshalSigScheme(SIG_SCHEME_NULL),
            pcrSelect: marshalPcrSelection(selection),
          });
          const quoted = new Uint8Array(res.quoted);
          const info = unmarshalAttest(quoted).quote;
          if (!info) throw new TpmKeyStoreError('quote: the TPM returned a non-quote attestation');
          const expect = pcrCompositeDigest(digestAlg === TPM_ALG.NULL ? TPM_ALG.SHA256 : digestAlg, info.pcrSelect, (_bank, pcr) => {
            const v = values.get(pcr);
            if (!v) throw new TpmKeyStoreError(`quote: PCR ${pcr} was quoted but not read`);
            return v;
          });
          if (Buffer.from(expect).equals(Buffer.from(info.pcrDigest)) || attempt >= MAX_QUOTE_ATTEMPTS) {
            if (!Buffer.from(expect).equals(Buffer.from(info.pcrDigest))) {
              throw new TpmKeyStoreError(`quote: PCR values kept changing (${attempt} attempts)`);
            }
            const signature = new Uint8Array(res.signature);
            return {
              quoted,
              signature,
              signatureDer: signatureToDer(unmarshalSignature(signature)),
              hashAlg,
              pcrDigests: sorted.map((pcr) => ({ pcr, digest: values.get(pcr)! })),
            };
          }
        }
      });
    });
  }

  /** TPM2_PCR_Read of `pcrs` in one bank, repeated until all are read (≤ 8 digests per response) with one updateCounter. */
  private async readPcrs(hashAlg: number, pcrs: number[]): Promise<Map<number, Uint8Array>> {
    const size = HASH_INFO[hashAlg]?.size;
    for (let restart = 0; restart < 5; restart++) {
      const values = new Map<number, Uint8Array>();
      let counter: number | undefined;
      let consistent = true;
      while (values.size < pcrs.length) {
        const remaining = pcrs.filter((p) => !values.has(p));
        const res = await this.tpm.execute(TPM2.PcrRead, { pcrSelectionIn: marshalPcrSelection([{ hashAlg, pcrs: remaining }]) });
        if (counter !== undefined && res.pcrUpdateCounter !== counter) {
          consistent = false;
          break;
        }
        counter = res.pcrUpdateCounter;
        const returned = unmarshalPcrSelection(res.pcrSelectionOut).flatMap((s) => (s.hashAlg === hashAlg ? s.pcrs : []));
        if (returned.length === 0 || returned.length !== res.pcrValues.length) {
          throw new TpmKeyStoreError(`PCR_Read returned none of PCRs ${remaining.join(',')} in bank ${algName(hashAlg)}`);
        }
        returned.forEach((pcr, i) => {
          const d = new Uint8Array(res.pcrValues[i]!);
          if (size !== undefined && d.byteLength !== size) throw new Tpm2FormatError(`PCR ${pcr}: ${d.byteLength}-byte digest`);
          values.set(pcr, d);
        });
      }
      if (consistent) return values;
    }
    throw new TpmKeyStoreError('PCR values kept changing while being read');
  }

  // ---- misc -------------------------------------------------------------------------------------------------------

  /**
   * The EK certificate (DER) from its TCG NV index — RSA-2048 0x01c00002, ECC P-256 0x01c0000a, ECC P-384 0x01c00016;
   * `which` picks RSA or ECC, default: the first present in that order. null when no index exists.
   */
  readEkCertificate(which?: 'rsa' | 'ecc'): Promise<Uint8Array | null> {
    return this.job('readEkCertificate', async () => {
      const rsa = [WELL_KNOWN.EK_CERT_RSA_NV];
      const ecc = [WELL_KNOWN.EK_CERT_ECC_NV, WELL_KNOWN.EK_CERT_ECC_P384_NV];
      const indices = which === 'rsa' ? rsa : which === 'ecc' ? ecc : [...rsa, ...ecc];
      for (const index of indices) {
        let size: number;
        try {
          size = unmarshalNvPublic2B((await this.tpm.execute(TPM2.NvReadPublic, { nvIndex: index })).nvPublic).dataSize;
        } catch (err) {
          if (err instanceof TpmCommandError && err.isHandleError) continue;
          throw err;
        }
        if (size === 0) continue;
        const data = new Uint8Array((await this.tpm.execute(TPM2.NvRead, { nvIndex: index, size, offset: 0 })).data);
        return data.slice(0, derTlvLength(data));
      }
      return null;
    });
  }

  /** What a provisioning station checks (TPM2_GetCapability: TPM properties and PCR banks; Part 2 §6.13, §10.10). */
  tpmInfo(): Promise<TpmInfo> {
    return this.job('tpmInfo', async () => {
      const props = new Map<number, number>();
      for (const [first, count] of [[0x100, 0x40], [0x200, 0x20]] as const) {
        const { capabilityData } = await this.tpm.execute(TPM2.GetCapability, { capability: TPM_CAP.TPM_PROPERTIES, property: first, propertyCount: count });
        for (const p of unmarshalCapabilityData(capabilityData).properties ?? []) props.set(p.property, p.value);
      }
      const { capabilityData } = await this.tpm.execute(TPM2.GetCapability, { capability: TPM_CAP.PCRS, property: 0, propertyCount: 1 });
      const banks = (unmarshalCapabilityData(capabilityData).pcrs ?? []).map((b) => ({ hash: HASH_INFO[b.hashAlg]?.name ?? algName(b.hashAlg), pcrs: b.pcrs.length }));
      const get = (p: number): number => props.get(p) ?? 0;
      const chars = (...ps: number[]): string =>
        Buffer.concat(ps.map((p) => { const b = Buffer.alloc(4); b.writeUInt32BE(get(p) >>> 0); return b; })).toString('latin1').replace(/[\0\s]+$/g, '').replace(/\0/g, '');
      const fw1 = get(TPM_PT.FIRMWARE_VERSION_1) >>> 0;
      const fw2 = get(TPM_PT.FIRMWARE_VERSION_2) >>> 0;
      return {
        family: chars(TPM_PT.FAMILY_INDICATOR),
        manufacturer: chars(TPM_PT.MANUFACTURER),
        vendor: chars(TPM_PT.VENDOR_STRING_1, TPM_PT.VENDOR_STRING_2, TPM_PT.VENDOR_STRING_3, TPM_PT.VENDOR_STRING_4),
        firmware: `${fw1 >>> 16}.${fw1 & 0xffff}.${fw2 >>> 16}.${fw2 & 0xffff}`,
        firmwareRaw: [fw1, fw2],
        pcrBanks: banks,
        transientAvail: get(TPM_PT.HR_TRANSIENT_AVAIL),
        persistent: get(TPM_PT.HR_PERSISTENT),
        persistentAvail: get(TPM_PT.HR_PERSISTENT_AVAIL),
        nvIndices: get(TPM_PT.HR_NV_INDEX),
        nvCountersAvail: get(TPM_PT.NV_COUNTERS_AVAIL),
        nvIndexMax: get(TPM_PT.NV_INDEX_MAX),
      };
    });
  }

  getRandom(n: number): Promise<Uint8Array> {
    return this.job('getRandom', async () => new Uint8Array((await this.tpm.execute(TPM2.GetRandom, { bytesRequested: n })).randomBytes));
  }

  /** TPM handles of one type currently in the TPM (TPM2_GetCapability(TPM_CAP_HANDLES)). */
  listHandles(ht: number = TPM_HT.TRANSIENT): Promise<TpmHandle[]> {
    return this.job('listHandles', () => listHandlesOf(this.tpm, ht));
  }

  /**
   * Flushes every transient object in the TPM. For TPMs without a resource manager (swtpm, /dev/tpm0) after a crash
   * left objects loaded; with a resource manager it sees only this connection's (none between jobs). Returns the count.
   */
  flushStaleTransients(): Promise<number> {
    return this.job('flushStaleTransients', () => flushTransients(this.tpm));
  }

  /**
   * In-process timings: native commands by name ("sign", "load", …) and keystore operations ("op.signDigest", …
   * including queue-internal load/flush, excluding queue wait).
   */
  /** The status's `tpm`: open succeeded; ok/rc of the last TPM command since. */
  health(): KeyStoreHealth {
    return { ...this.lastOutcome };
  }

  stats(): CommandStats {
    const out: CommandStats = this.tpm.stats();
    for (const [k, v] of this.ops) out[`op.${k}`] = { ...v };
    return out;
  }
}

/** Signer over a TPM key: hashes in the agent (SHA-256 unless asked otherwise), the TPM signs the digest (TPM2_Sign). */
export class TpmSigner implements Signer {
  readonly algorithm: KeyAlgorithm;
  readonly spki: Uint8Array;

  constructor(
    private readonly store: TpmKeyStore,
    readonly record: KeyRecord,
  ) {
    this.algorithm = record.algorithm;
    this.spki = record.spki;
  }

  /** Signs hash(message): DER ECDSA-Sig-Value (ECC keys) or RSASSA-PKCS1-v1_5 (RSA keys). */
  sign(message: Uint8Array, hash: HashAlgorithm = 'sha256'): Promise<Uint8Array> {
    return this.store.signDigest(this.record, new Uint8Array(createHash(hash).update(message).digest()), hash);
  }

  /** Signs a precomputed SHA-256 digest. */
  signDigest(digest: Uint8Array): Promise<Uint8Array> {
    return this.store.signDigest(this.record, digest);
  }
}
