// KeyStore over the TPM (native addon, one promise queue). Keys live as TPM2B_PUBLIC/TPM2B_PRIVATE blobs wrapped by
// the SRK (persistent 0x81000001); every operation loads, uses and flushes its keys inside one queue job, so with or
// without a resource manager no transient handle outlives the job. All TPM structure policy is here and in agent/tpm2.
import { createHash } from 'node:crypto';
import type { KeyAlgorithm, Signer } from '../pki/signer.js';
import {
  HASH_INFO,
  TPM_ALG,
  TPM_CAP,
  TPM_HT,
  TPM_RH,
  WELL_KNOWN,
  algName,
  handleRangeStart,
} from '../tpm2/constants.js';
import { TpmCommandError, Tpm2FormatError } from '../tpm2/errors.js';
import { unmarshalAttest } from '../tpm2/attest.js';
import { unmarshalCapabilityData } from '../tpm2/capability.js';
import { unmarshalNvPublic2B } from '../tpm2/nv.js';
import { type PcrSelection, marshalPcrSelection, pcrCompositeDigest, unmarshalPcrSelection } from '../tpm2/pcr.js';
import {
  type TpmtPublic,
  attestationKeyTemplate,
  eccP256SigningTemplate,
  eccP256DecryptTemplate,
  rsa2048DecryptTemplate,
  isStorageKey,
  marshalPublic2B,
  publicToSpki,
  rsa2048SigningTemplate,
  srkEccTemplate,
  unmarshalPublic2B,
} from '../tpm2/public.js';
import {
  SIG_SCHEME_ECDSA_SHA256,
  SIG_SCHEME_NULL,
  SIG_SCHEME_RSASSA_SHA256,
  marshalSigScheme,
  signatureToDer,
  unmarshalSignature,
} from '../tpm2/signature.js';
import { EnrolldError } from '../util/errors.js';
import { type CommandStats, TpmClient } from './addon.js';
import type { KeyRecord, KeyStore, TlsKeyOptions } from './keystore.js';
import { PromiseQueue } from './queue.js';

export class TpmKeyStoreError extends EnrolldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('keystore.tpm', message, options);
  }
}

export interface TpmKeyStoreOptions {
  /** TCTI configuration, e.g. "device:/dev/tpmrm0" or "swtpm:host=127.0.0.1,port=2321". */
  tcti: string;
  /** Persistent handle of the SRK (default 0x81000001); created with the TCG ECC P-256 template if absent. */
  srkHandle?: number;
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
  parent: number;
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

export class TpmKeyStore implements KeyStore {
  private readonly queue = new PromiseQueue();
  private readonly ops = new Map<string, { count: number; totalMs: number; errors: number }>();
  private closed = false;

  private constructor(
    private readonly tpm: TpmClient,
    /** TPM handle of the SRK. */
    readonly srkHandle: number,
    /** ESYS_TR of the SRK (valid until close()). */
    private readonly srkTr: number,
  ) {}

  /** Opens the TPM and ensures the SRK (creating and persisting it when absent, checking it is a storage key when present). */
  static async open(opts: TpmKeyStoreOptions): Promise<TpmKeyStore> {
    const srkHandle = opts.srkHandle ?? WELL_KNOWN.SRK_PERSISTENT;
    if ((srkHandle >>> 24) !== TPM_HT.PERSISTENT) throw new TpmKeyStoreError(`SRK handle 0x${srkHandle.toString(16)} is not persistent`);
    const tpm = TpmClient.open(opts.tcti);
    try {
      const srkTr = await TpmKeyStore.ensureSrk(tpm, srkHandle);
      return new TpmKeyStore(tpm, srkHandle, srkTr);
    } catch (err) {
      await tpm.call('close').catch(() => undefined);
      throw err;
    }
  }

  private static async ensureSrk(tpm: TpmClient, srkHandle: number): Promise<number> {
    let tr: number;
    try {
      tr = await tpm.call('trFromTpmPublic', srkHandle);
    } catch (err) {
      if (!(err instanceof TpmCommandError && err.isHandleError)) throw err;
      const { handle } = await tpm.call('createPrimary', TPM_RH.OWNER, marshalPublic2B(srkEccTemplate()));
      try {
        tr = await tpm.call('evictControl', handle, srkHandle);
      } finally {
        await tpm.call('flushContext', handle);
      }
    }
    const { outPublic } = await tpm.call('readPublic', tr);
    const pub = unmarshalPublic2B(outPublic);
    if (!isStorageKey(pub)) {
      await tpm.call('trClose', tr).catch(() => undefined);
      throw new TpmKeyStoreError(
        `persistent handle 0x${srkHandle.toString(16)} holds a ${algName(pub.type)} object that is not a storage key ` +
          `(attributes 0x${pub.objectAttributes.toString(16)})`,
      );
    }
    return tr;
  }

  // ---- plumbing ---------------------------------------------------------------------------------------------------

  /** Runs `fn` as one queue job, timing it under `op`. */
  private job<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new TpmKeyStoreError('the TPM keystore is closed'));
    return this.queue.run(async () => {
      const t0 = performance.now();
      let failed = false;
      try {
        return await fn();
      } catch (err) {
        failed = true;
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
    return { parent, pub: pubBytes, priv: privBytes, publicArea: unmarshalPublic2B(pubBytes) };
  }

  /** Loads the keys under the SRK, runs fn with their handles, flushes them on every path. Call inside a job. */
  private async withLoaded<T>(keys: KeyBlobs[], fn: (handles: number[]) => Promise<T>): Promise<T> {
    const handles: number[] = [];
    try {
      for (const k of keys) handles.push(await this.tpm.call('load', this.srkTr, k.priv, k.pub));
      return await fn(handles);
    } finally {
      for (const h of handles.reverse()) await this.tpm.call('flushContext', h).catch(() => undefined);
    }
  }

  private async createUnderSrk(id: string, template: TpmtPublic, algorithm: KeyAlgorithm): Promise<KeyRecord> {
    if (!ID_RE.test(id)) throw new TpmKeyStoreError(`invalid key id "${id}"`);
    const { outPublic, outPrivate } = await this.tpm.call('create', this.srkTr, marshalPublic2B(template));
    const spki = publicToSpki(unmarshalPublic2B(outPublic));
    return { id, algorithm, spki, location: { parent: this.srkHandle, public: b64(outPublic), private: b64(outPrivate) } };
  }

  // ---- KeyStore ---------------------------------------------------------------------------------------------------

  createKey(id: string, algorithm: KeyAlgorithm): Promise<KeyRecord> {
    return this.job('createKey', async () => {
      if (algorithm === 'ecc-p256') return this.createUnderSrk(id, eccP256SigningTemplate(), algorithm);
      if (algorithm === 'rsa-2048') return this.createUnderSrk(id, rsa2048SigningTemplate(), algorithm);
      throw new TpmKeyStoreError(`unsupported key algorithm ${String(algorithm)}`);
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

  /** RSAES-OAEP (SHA-256, MGF1-SHA-256, empty label) decryption inside the TPM (load → TPM2_RSA_Decrypt → flush). */
  decrypt(record: KeyRecord, cipherText: Uint8Array): Promise<Uint8Array> {
    return this.job('decrypt', async () => {
      const key = this.blobs(record);
      if (key.publicArea.type !== TPM_ALG.RSA) throw new TpmKeyStoreError(`key "${record.id}" is not an RSA key`);
      if (cipherText.byteLength !== 256) throw new TpmKeyStoreError(`RSA-2048 ciphertext must be 256 bytes, got ${cipherText.byteLength}`);
      const scheme = new Uint8Array([TPM_ALG.OAEP >> 8, TPM_ALG.OAEP & 0xff, TPM_ALG.SHA256 >> 8, TPM_ALG.SHA256 & 0xff]);
      const out = await this.withLoaded([key], ([h]) => this.tpm.call('rsaDecrypt', h!, cipherText, scheme, new Uint8Array(0)));
      return new Uint8Array(out);
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
      const inPoint = Buffer.alloc(2 + 2 + 32 + 2 + 32);
      inPoint.writeUInt16BE(2 + 32 + 2 + 32, 0);
      inPoint.writeUInt16BE(32, 2);
      inPoint.set(peer.x, 4);
      inPoint.writeUInt16BE(32, 36);
      inPoint.set(peer.y, 38);
      const out = await this.withLoaded([key], ([h]) => this.tpm.call('ecdhZGen', h!, new Uint8Array(inPoint)));
      // TPM2B_ECC_POINT: size, x (TPM2B), y (TPM2B) → x.
      if (out.byteLength < 4) throw new TpmKeyStoreError('TPM2_ECDH_ZGen returned a truncated point');
      const xLen = out.readUInt16BE(2);
      if (4 + xLen > out.byteLength) throw new TpmKeyStoreError('TPM2_ECDH_ZGen returned a truncated point');
      return new Uint8Array(out.subarray(4, 4 + xLen));
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

  /** Signs a SHA-256 digest: DER ECDSA-Sig-Value (ECC) or PKCS#1 v1.5 signature (RSA). */
  signDigest(record: KeyRecord, digest: Uint8Array): Promise<Uint8Array> {
    return this.job('signDigest', async () => {
      if (digest.byteLength !== 32) throw new TpmKeyStoreError(`expected a 32-byte SHA-256 digest, got ${digest.byteLength} bytes`);
      const key = this.blobs(record);
      const scheme =
        key.publicArea.type === TPM_ALG.ECC ? SIG_SCHEME_ECDSA_SHA256
        : key.publicArea.type === TPM_ALG.RSA ? SIG_SCHEME_RSASSA_SHA256
        : undefined;
      if (!scheme) throw new TpmKeyStoreError(`key "${record.id}" is a ${algName(key.publicArea.type)} object, not a signing key`);
      const sig = await this.withLoaded([key], ([h]) => this.tpm.call('sign', h!, digest, marshalSigScheme(scheme)));
      return signatureToDer(unmarshalSignature(sig));
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
      sigalgs: ecc ? 'ecdsa_secp256r1_sha256' : 'rsa_pkcs1_sha256',
      ...(ecc ? {} : { maxVersion: 'TLSv1.2' as const }),
    };
  }

  /** Keys are never resident (loaded per operation), so nothing in the TPM holds them; forgetting the blobs deletes them. */
  async deleteKey(record: KeyRecord): Promise<void> {
    this.blobs(record);
  }

  /** Waits for queued jobs, releases the SRK's ESYS_TR and closes the TPM connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    const last = this.queue.run(async () => {
      await this.tpm.call('trClose', this.srkTr).catch(() => undefined);
      await this.tpm.call('close');
    });
    this.closed = true;
    await last;
  }

  // ---- attestation ------------------------------------------------------------------------------------------------

  /** TPM2_Certify of `key` by the attestation key `ak`, with `qualifyingData` (the freshness nonce) as extraData. */
  certify(key: KeyRecord, ak: KeyRecord, qualifyingData: Uint8Array): Promise<TpmCertifyResult> {
    return this.job('certify', async () => {
      const k = this.blobs(key);
      const a = this.blobs(ak);
      const res = await this.withLoaded([k, a], ([kh, ah]) =>
        this.tpm.call('certify', kh!, ah!, qualifyingData, marshalSigScheme(SIG_SCHEME_NULL)),
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
      const digestAlg = a.publicArea.type === TPM_ALG.ECC || a.publicArea.type === TPM_ALG.RSA ? a.publicArea.parameters.scheme.hashAlg : TPM_ALG.NULL;
      return this.withLoaded([a], async ([ah]) => {
        for (let attempt = 1; ; attempt++) {
          const values = await this.readPcrs(hashAlg, sorted);
          const res = await this.tpm.call('quote', ah!, qualifyingData, marshalSigScheme(SIG_SCHEME_NULL), marshalPcrSelection(selection));
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
        const res = await this.tpm.call('pcrRead', marshalPcrSelection([{ hashAlg, pcrs: remaining }]));
        if (counter !== undefined && res.updateCounter !== counter) {
          consistent = false;
          break;
        }
        counter = res.updateCounter;
        const returned = unmarshalPcrSelection(res.selectionOut).flatMap((s) => (s.hashAlg === hashAlg ? s.pcrs : []));
        if (returned.length === 0 || returned.length !== res.digests.length) {
          throw new TpmKeyStoreError(`PCR_Read returned none of PCRs ${remaining.join(',')} in bank ${algName(hashAlg)}`);
        }
        returned.forEach((pcr, i) => {
          const d = new Uint8Array(res.digests[i]!);
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
          size = unmarshalNvPublic2B((await this.tpm.call('nvReadPublic', index)).nvPublic).dataSize;
        } catch (err) {
          if (err instanceof TpmCommandError && err.isHandleError) continue;
          throw err;
        }
        if (size === 0) continue;
        const data = new Uint8Array(await this.tpm.call('nvRead', index, size, 0));
        return data.slice(0, derTlvLength(data));
      }
      return null;
    });
  }

  getRandom(n: number): Promise<Uint8Array> {
    return this.job('getRandom', async () => new Uint8Array(await this.tpm.call('getRandom', n)));
  }

  /** TPM handles of one type currently in the TPM (TPM2_GetCapability(TPM_CAP_HANDLES)). */
  listHandles(ht: number = TPM_HT.TRANSIENT): Promise<number[]> {
    return this.job('listHandles', () => this.listHandlesInJob(ht));
  }

  private async listHandlesInJob(ht: number): Promise<number[]> {
    const out: number[] = [];
    let property = handleRangeStart(ht);
    for (let i = 0; i < 64; i++) {
      const { moreData, capabilityData } = await this.tpm.call('getCapability', TPM_CAP.HANDLES, property, 64);
      const handles = (unmarshalCapabilityData(capabilityData).handles ?? []).filter((h) => h >>> 24 === ht);
      out.push(...handles);
      if (!moreData || handles.length === 0) break;
      property = handles[handles.length - 1]! + 1;
    }
    return out;
  }

  /**
   * Flushes every transient object in the TPM. For TPMs without a resource manager (swtpm, /dev/tpm0) after a crash
   * left objects loaded; with a resource manager it sees only this connection's (none between jobs). Returns the count.
   */
  flushStaleTransients(): Promise<number> {
    return this.job('flushStaleTransients', async () => {
      let n = 0;
      for (const h of await this.listHandlesInJob(TPM_HT.TRANSIENT)) {
        const tr = await this.tpm.call('trFromTpmPublic', h);
        await this.tpm.call('flushContext', tr);
        n++;
      }
      return n;
    });
  }

  /**
   * In-process timings: native commands by name ("sign", "load", …) and keystore operations ("op.signDigest", …
   * including queue-internal load/flush, excluding queue wait).
   */
  stats(): CommandStats {
    const out: CommandStats = this.tpm.stats();
    for (const [k, v] of this.ops) out[`op.${k}`] = { ...v };
    return out;
  }
}

/** Signer over a TPM key: hashes with SHA-256 in the agent, the TPM signs the digest (TPM2_Sign). */
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

  /** Signs SHA-256(message): DER ECDSA-Sig-Value (ecc-p256) or RSASSA-PKCS1-v1_5 (rsa-2048). */
  sign(message: Uint8Array): Promise<Uint8Array> {
    return this.store.signDigest(this.record, new Uint8Array(createHash('sha256').update(message).digest()));
  }

  /** Signs a precomputed SHA-256 digest. */
  signDigest(digest: Uint8Array): Promise<Uint8Array> {
    return this.store.signDigest(this.record, digest);
  }
}
