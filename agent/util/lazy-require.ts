// Loads a (CommonJS-capable) dependency on first use instead of at start-up. `enrolld run` must reach READY=1 fast
// and stay small when idle (bench/: ≤ 250 ms, ≤ 48 MB): mqtt (~80 ms to load), fast-xml-parser (~40 ms) and
// cbor-x are only needed when MQTT is configured or an XML PAL arrives. See bench/RESULTS.md.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** A getter that require()s `id` once, on its first call. */
export function lazyRequire<T>(id: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= require(id) as T);
}
