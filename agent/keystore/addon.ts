// Typed access to the native addon (build/Release/enrolld_tpm.node): loads it from ESM, turns its errors into
// TpmCommandError, and times every call. No policy here: TpmClient.execute runs one typed command (agent/tpm2/commands.ts).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Close, type TpmCommand } from '../tpm2/commands.js';
import { TpmCommandError } from '../tpm2/errors.js';
import type { TpmHandle } from '../tpm2/handles.js';

/**
 * The native `Tpm` object (native/tpm_context.h): one method per registered command (native/commands.cc), each taking
 * one input object and resolving with one output object. Its typed view is agent/tpm2/commands.ts (TpmClient.execute).
 */
export type NativeTpm = Record<string, ((input: object) => Promise<unknown>) | undefined>;

export interface NativeAddon {
  Tpm: new (tctiConf: string) => NativeTpm;
  sdNotify?: (state: string, socketPath?: string) => boolean;
  /** The OpenSSL engine id (native/tls_engine.cc) for node:tls `privateKeyEngine`. */
  tlsEngineId: string;
  /** Makes a TPM key usable as `privateKeyIdentifier: id` (the engine loads/signs/flushes per TLS handshake). */
  registerTlsKey(tpm: NativeTpm, id: string, parentTpmHandle: TpmHandle, pub: Uint8Array, priv: Uint8Array): void;
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

/** The addon's `Tpm` behind typed commands: execute() times each call and rejects with TpmCommandError. */
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
  registerTlsKey(id: string, parentTpmHandle: TpmHandle, pub: Uint8Array, priv: Uint8Array): string {
    const addon = loadAddon();
    addon.registerTlsKey(this.native, id, parentTpmHandle, Buffer.from(pub), Buffer.from(priv));
    return addon.tlsEngineId;
  }

  /** Forgets a key registered with the TLS engine (its blobs); false if it was not registered. */
  unregisterTlsKey(id: string): boolean {
    return loadAddon().unregisterTlsKey(id);
  }

  /** Runs one command (never throws synchronously), recording its duration under its binding name. */
  async execute<I, O>(command: TpmCommand<I, O>, input: NoInfer<I>): Promise<O> {
    const t0 = performance.now();
    let failed = false;
    try {
      const fn = this.native[command.binding];
      if (typeof fn !== 'function') throw new TypeError(`the TPM addon has no ${command.binding} (${command.name}); rebuild it`);
      return (await fn.call(this.native, input as object)) as O;
    } catch (err) {
      failed = true;
      throw toTpmError(err);
    } finally {
      const s = this.timings.get(command.binding) ?? { count: 0, totalMs: 0, errors: 0 };
      s.count++;
      s.totalMs += performance.now() - t0;
      if (failed) s.errors++;
      this.timings.set(command.binding, s);
    }
  }

  /** Closes the connection (Esys_Finalize); idempotent. */
  async close(): Promise<void> {
    await this.execute(Close, {});
  }

  /** Per-command count, total in-process milliseconds and error count since open. */
  stats(): CommandStats {
    const out: CommandStats = {};
    for (const [k, v] of this.timings) out[k] = { ...v };
    return out;
  }
}
