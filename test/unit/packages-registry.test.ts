// The package registry: built-in handlers are registered by their types and loaded at their first entry; a handler
// module that fails to load fails that entry (the run goes on) and is loaded again at the next one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dispatchPal, type PalEntry } from '../../agent/pal/index.js';
import { builtinHandlers, createPackageRegistry, LazyPackageHandler, PLACEHOLDER_TYPES } from '../../agent/packages/registry.js';
import { CaCertsHandler } from '../../agent/packages/cacerts.js';
import { CrlsHandler } from '../../agent/packages/crls.js';
import { EeCertsHandler } from '../../agent/packages/eecerts.js';
import { EnrollmentHandler } from '../../agent/packages/enrollment.js';
import type { PackageContext } from '../../agent/packages/context.js';
import { memoryLogger } from '../../agent/util/log.js';

const e = (type: string): PalEntry => ({ type, size: 0, info: { kind: 'uri', uri: `https://e.example/${type}` } });

test('the lazily registered types are the handlers’ own', () => {
  const lazy = builtinHandlers().map((h) => [...h.types].sort());
  const real = [new CaCertsHandler(), new EeCertsHandler(), new CrlsHandler(), new EnrollmentHandler()].map((h) => [...h.types].sort());
  assert.equal(lazy, real);
  const all = createPackageRegistry().types();
  assert.equal(all, [...real.flat(), ...PLACEHOLDER_TYPES].sort());
});

test('a handler module is loaded once, at its first entry', async () => {
  let loads = 0;
  const h = new LazyPackageHandler(['0002'], async () => {
    loads++;
    return { types: ['0002'], handle: async () => ({ status: 'ok', detail: 'done' }) };
  });
  assert.is(loads, 0);
  const hctx = { index: 0, position: 0, kind: 'cacerts', log: undefined, signal: undefined, shared: {} as PackageContext } as const;
  assert.equal(await h.handle(e('0002'), hctx as never), { status: 'ok', detail: 'done' });
  assert.equal(await h.handle(e('0002'), hctx as never), { status: 'ok', detail: 'done' });
  assert.is(loads, 1);
});

test('a module that fails to load fails its entry, the next entries run, and the next entry loads it again', async () => {
  let loads = 0;
  const failing = new LazyPackageHandler(['0026'], async () => {
    loads++;
    if (loads === 1) throw Object.assign(new Error("Cannot find module './firmware.js'"), { code: 'ERR_MODULE_NOT_FOUND' });
    return { types: ['0026'], handle: async () => ({ status: 'ok' }) };
  });
  const reg = createPackageRegistry({ handlers: [failing] });
  const first = await dispatchPal([e('0026'), e('0027')], reg, { context: { log: memoryLogger() } as unknown as PackageContext });
  assert.equal(first.results.map((r) => [r.type, r.status, r.code]), [
    // a ModuleLoadError names what did not load; dispatch keeps its code
    ['0026', 'failed', 'module.load'],
    ['0027', 'ok', undefined],
  ]);
  const second = await dispatchPal([e('0026')], reg, { context: { log: memoryLogger() } as unknown as PackageContext });
  assert.is(second.results[0]!.status, 'ok');
  assert.is(loads, 2);
});

test.run();
