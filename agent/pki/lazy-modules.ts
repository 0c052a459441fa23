// The ASN.1 modules (over pkijs/asn1js) that the start-up path's light modules load on first use: `lazyModule` at
// the seam where an operation starts decoding or building DER; pki/cert.ts (the certificate decoder) also through
// `loadCert()`, so the synchronous reads that follow such a seam can use it (`loadedCert()`).
import { EnrolldError } from '../util/errors.js';
import { lazyImport } from '../util/lazy-import.js';

/** A module of the agent failed to load (a broken installation): transient for the operation that needed it. */
export class ModuleLoadError extends EnrolldError {
  constructor(what: string, cause: unknown) {
    super('module.load', `cannot load ${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** lazyImport whose failure is a ModuleLoadError naming `what` (retried by the next call). */
export function lazyModule<T>(what: string, load: () => Promise<T>): () => Promise<T> {
  return lazyImport(() =>
    load().catch((err: unknown) => {
      throw new ModuleLoadError(what, err);
    }),
  );
}

export type CertModule = typeof import('./cert.js');

let loaded: CertModule | undefined;

/** Loads pki/cert.ts (once; a failed load is retried by the next call). */
export const loadCert: () => Promise<CertModule> = lazyModule('the certificate decoder', async () => (loaded = await import('./cert.js')));

/** pki/cert.ts once loadCert() has resolved; a synchronous read before that is a programming error. */
export function loadedCert(): CertModule {
  if (!loaded) throw new EnrolldError('pki.not-loaded', 'the certificate decoder was used before it was loaded (loadCert)');
  return loaded;
}
