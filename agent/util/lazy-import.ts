// Agent modules that need the ASN.1 stack (pkijs/asn1js) are loaded at the first operation that decodes or builds
// DER, not at start-up: `enrolld run` on an enrolled device whose PAL has nothing new never evaluates them
// (ARCHITECTURE.md §Start-up path; test/unit/startup-graph.test.ts keeps the start-up graph free of them).
// In the bundle each such import() stays a chunk of its own (deploy/build/bundle.mjs).

/** A memoized `import()`: the module is loaded on the first call; a failed load is retried on the next call. */
export function lazyImport<T>(load: () => Promise<T>): () => Promise<T> {
  let mod: Promise<T> | undefined;
  return () =>
    (mod ??= load().catch((err: unknown) => {
      mod = undefined;
      throw err;
    }));
}
