// Typed access to the native addon (build/Release/enrolld_tpm.node): loads it from ESM, turns its errors into
// TpmCommandError, and times every call. No policy here — one method per TPM command, bytes in, bytes out.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TpmCommandError } from '../tpm2/errors.js';

/** The native `Tpm` class (native/tpm_context.h, native/commands.cc). Handles are ESYS_TR numbers. */
export interface NativeTpm {
  getRandom(n: number): Promise<Buffer>;
  createPrimary(hierarchy: number, inPublic: Uint8Array): Promise<{ handle: number; outPublic: Buffer }>;
  create(parentHandle: number, inPublic: Uint8Array): Promise<{ outPublic: Buffer; outPrivate: Buffer }>;
  load(parentHandle: number, inPrivate: Uint8Array, inPublic: Uint8Array): Promise<number>;
  sign(keyHandle: number, digest: Uint8Array, scheme: Uint8Array): Promise<Buffer>;
  certify(
    objectHandle: number,
    signHandle: number,
    qualifyingData: Uint8Array,
    scheme: Uint8Array,
  ): Promise<{ certifyInfo: Buffer; signature: Buffer }>;
  quote(
    signHandle: number,
    qualifyingData: Uint8Array,
    scheme: Uint8Array,
    pcrSelection: Uint8Array,
  ): Promise<{ quoted: Buffer; signature: Buffer }>;
  pcrRead(selection: Uint8Array): Promise<{ updateCounter: number; selectionOut: Buffer; digests: Buffer[] }>;
  readPublic(handle: number): Promise<{ outPublic: Buffer; name: Buffer; qualifiedName: Buffer }>;
  trFromTpmPublic(tpmHandle: number): Promise<number>;
  trClose(handle: number): Promise<void>;
  evictControl(objectHandle: number, persistentHandle: number): Promise<number>;
  nvReadPublic(nvIndex: number): Promise<{ nvPublic: Buffer; name: Buffer }>;
  nvRead(nvIndex: number, size: number, offset: number, authHandle?: number): Promise<Buffer>;
  getCapability(capability: number, property: number, propertyCount: number): Promise<{ moreData: boolean; capabilityData: Buffer }>;
  flushContext(handle: number): Promise<void>;
  close(): Promise<void>;
  // key import and sealing (keys helper)
  /** TPM2_Import → outPrivate (TPM2B_PRIVATE). `duplicate` may hold a plaintext TPM2B_SENSITIVE; the addon wipes its copies. */
  import(
    parentHandle: number,
    encryptionKey: Uint8Array,
    objectPublic: Uint8Array,
    duplicate: Uint8Array,
    inSymSeed: Uint8Array,
    symmetricAlg: Uint8Array,
  ): Promise<Buffer>;
  /** TPM2_Create with TPM2B_SENSITIVE_CREATE.data = `data` (sealed data object or caller-supplied key bits). */
  createSealed(parentHandle: number, inPublic: Uint8Array, data: Uint8Array): Promise<{ outPublic: Buffer; outPrivate: Buffer }>;
  /** TPM2_Unseal → the sealed bytes (the caller wipes them). */
  unseal(itemHandle: number): Promise<Buffer>;
  // key-establishment commands (cmc, RFC 5272 §6.7 indirect POP)
  /** TPM2_RSA_Decrypt: cipherText, marshalled TPMT_RSA_DECRYPT scheme, label → the message. */
  rsaDecrypt(keyHandle: number, cipherText: Uint8Array, scheme: Uint8Array, label: Uint8Array): Promise<Buffer>;
  /** TPM2_ECDH_ZGen: marshalled TPM2B_ECC_POINT (the peer's public point) → marshalled TPM2B_ECC_POINT (shared point). */
  ecdhZGen(keyHandle: number, inPoint: Uint8Array): Promise<Buffer>;
}

export interface NativeAddon {
  Tpm: new (tctiConf: string) => NativeTpm;
  sdNotify?: (state: string, socketPath?: string) => boolean;
  /** The OpenSSL engine id (native/tls_engine.cc) for node:tls `privateKeyEngine`. */
  tlsEngineId: string;
  /** Makes a TPM key usable as `privateKeyIdentifier: id` (the engine loads/signs/flushes per TLS handshake). */
  registerTlsKey(tpm: NativeTpm, id: string, parentTpmHandle: number, pub: Uint8Array, priv: Uint8Array): void;
  unregisterTlsKey(id: string): boolean;
  tlsEngineLastError(): string;
}

/** The directory holding enrolld's package.json (works from agent/ sources and from dist/). */
export function packageRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const pj = path.join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'enrolld') return dir;
      } catch {
        // not ours; keep walking
      }
    }
    if (path.dirname(dir) === dir) throw new Error(`enrolld package root not found above ${from}`);
  }
}

let cached: NativeAddon | undefined;

/** Loads the addon once. ENROLLD_TPM_ADDON overrides its path (packaging). */
export function loadAddon(): NativeAddon {
  if (!cached) {
    const file = process.env.ENROLLD_TPM_ADDON ?? path.join(packageRoot(), 'build', 'Release', 'enrolld_tpm.node');
    cached = createRequire(import.meta.url)(file) as NativeAddon;
  }
  return cached;
}

type NativeError = Error & { rc?: unknown; command?: unknown; rcText?: unknown };

/** Native errors carrying `.rc` become TpmCommandError; argument errors (TypeError/RangeError) pass through. */
export function toTpmError(err: unknown): unknown {
  const e = err as NativeError;
  if (e instanceof Error && typeof e.rc === 'number' && typeof e.command === 'string') {
    return new TpmCommandError(e.command, e.rc, typeof e.rcText === 'string' ? e.rcText : '', e.message, { cause: err });
  }
  return err;
}

export type CommandStats = Record<string, { count: number; totalMs: number; errors: number }>;

/** A NativeTpm whose methods time themselves and reject with TpmCommandError. */
export class TpmClient {
  private readonly timings = new Map<string, { count: number; totalMs: number; errors: number }>();

  private constructor(private readonly native: NativeTpm) {}

  /** Opens the TCTI (e.g. "swtpm:host=127.0.0.1,port=2321", "device:/dev/tpmrm0"). Throws TpmCommandError. */
  static open(tctiConf: string): TpmClient {
    const { Tpm } = loadAddon();
    try {
      return new TpmClient(new Tpm(tctiConf));
    } catch (err) {
      throw toTpmError(err);
    }
  }

  /** Registers key blobs with the in-process OpenSSL engine under `id`; returns the engine id. */
  registerTlsKey(id: string, parentTpmHandle: number, pub: Uint8Array, priv: Uint8Array): string {
    const addon = loadAddon();
    addon.registerTlsKey(this.native, id, parentTpmHandle, Buffer.from(pub), Buffer.from(priv));
    return addon.tlsEngineId;
  }

  /** Forgets a key registered with the TLS engine (its blobs); false if it was not registered. */
  unregisterTlsKey(id: string): boolean {
    return loadAddon().unregisterTlsKey(id);
  }

  /** Calls one native command, recording its duration under `name`. */
  async call<K extends keyof NativeTpm>(name: K, ...args: Parameters<NativeTpm[K]>): Promise<Awaited<ReturnType<NativeTpm[K]>>> {
    const t0 = performance.now();
    let failed = false;
    try {
      const fn = this.native[name] as (...a: unknown[]) => Promise<Awaited<ReturnType<NativeTpm[K]>>>;
      return await fn.apply(this.native, args);
    } catch (err) {
      failed = true;
      throw toTpmError(err);
    } finally {
      const s = this.timings.get(name) ?? { count: 0, totalMs: 0, errors: 0 };
      s.count++;
      s.totalMs += performance.now() - t0;
      if (failed) s.errors++;
      this.timings.set(name, s);
    }
  }

  /** Per-command count, total in-process milliseconds and error count since open. */
  stats(): CommandStats {
    const out: CommandStats = {};
    for (const [k, v] of this.timings) out[k] = { ...v };
    return out;
  }
}
