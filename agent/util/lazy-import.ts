// Agent modules that need the ASN.1 stack (pkijs/asn1js) are loaded at the first operation that decodes or builds
// DER, not at start-up: `enrolld run` on an enrolled device whose PAL has nothing new never evaluates them
// (ARCHITECTURE.md §Start-up path; test/unit/startup-graph.test.ts keeps the start-up graph free of them).
// In the bundle each such import() stays a chunk of its own (deploy/build/bundle.mjs).
import { EnrolldError } from './errors.js';

/** A module of the agent failed to load (a broken installation): transient for the operation that needed it. */
export class ModuleLoadError extends EnrolldError {
  constructor(what: string, cause: unknown) {
    super('module.load', `cannot load ${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

const deferred = new Set<() => Promise<unknown>>();

/**
 * A memoized `import()` of `what`: the module is loaded on the first call; a failed load is a ModuleLoadError
 * naming `what`, and the next call tries again.
 */
export function lazyModule<T>(what: string, load: () => Promise<T>): () => Promise<T> {
  let mod: Promise<T> | undefined;
  const get = (): Promise<T> =>
    (mod ??= load().catch((err: unknown) => {
      mod = undefined;
      throw new ModuleLoadError(what, err);
    }));
  deferred.add(get);
  return get;
}

/**
 * Loads every module deferred by lazyModule() in the modules loaded so far, and those they defer in turn: the
 * process then holds what a fully static import graph would have evaluated at start. For benchmarks that time an
 * operation apart from the loading of its code; the daemon itself never calls it.
 */
export async function loadDeferredModules(): Promise<number> {
  const done = new Set<() => Promise<unknown>>();
  for (let todo = [...deferred]; todo.length > 0; todo = [...deferred].filter((g) => !done.has(g))) {
    for (const g of todo) done.add(g);
    await Promise.all(todo.map((g) => g()));
  }
  return done.size;
}
