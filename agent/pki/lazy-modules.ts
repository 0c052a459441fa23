// pki/cert.ts (the certificate decoder) as the start-up path's light modules load it on first use: `loadCert()` at
// the seam where an operation starts decoding, so the synchronous reads that follow it can use `loadedCert()`.
import { EnrolldError } from '../util/errors.js';
import { lazyModule } from '../util/lazy-import.js';

export type CertModule = typeof import('./cert.js');

let loaded: CertModule | undefined;

/** Loads pki/cert.ts (once; a failed load is a ModuleLoadError, retried by the next call). */
export const loadCert: () => Promise<CertModule> = lazyModule('the certificate decoder', async () => (loaded = await import('./cert.js')));

/** pki/cert.ts once loadCert() has resolved; a synchronous read before that is a programming error. */
export function loadedCert(): CertModule {
  if (!loaded) throw new EnrolldError('pki.not-loaded', 'the certificate decoder was used before it was loaded (loadCert)');
  return loaded;
}
