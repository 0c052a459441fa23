// The start-up path holds no ASN.1 stack (ARCHITECTURE.md §Start-up path): the modules `enrolld run` evaluates
// before READY=1 and on an idle poll — the CLI, the composition root, the EST feature, the PAL poller, the MQTT
// status sink and attestation's set-up — import pkijs/asn1js only through import(), at the first operation that
// decodes or builds DER. Checked on the TypeScript sources with esbuild's import graph (the bundler the .deb build
// uses), so a static import that drags the stack back in fails here with its import chain.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const top = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** What `enrolld run` loads for an EST device: the CLI and the features composed for every configuration. */
const STARTUP_ENTRIES = [
  'agent/cli/main.ts',
  'agent/features/est/index.ts',
  'agent/features/pal/index.ts',
  'agent/features/mqtt/index.ts',
  'agent/features/attestation/index.ts',
  // loaded at composition when `firmware` is configured (the feature imports the manager there)
  'agent/features/firmware/index.ts',
  'agent/packages/firmware/manager.ts',
  // loaded at composition when `keyPackages` is configured (the handlers' types, keys.json, the KEK)
  'agent/features/key-packages/index.ts', 'agent/packages/keys/index.ts', 'agent/packages/keys/state.ts', 'agent/packages/keys/kek.ts',
  // and when `tamp` is configured
  'agent/features/tamp/index.ts',
  'agent/packages/tamp/manager.ts',
];
/** pkijs and what only it brings (asn1js, its byte helpers). */
const ASN1_STACK = /^node_modules\/(pkijs|asn1js|pvtsutils|pvutils|bytestreamjs)\//;

async function importGraph(entries: string[]): Promise<Metafile> {
  const r = await build({ entryPoints: entries, absWorkingDir: top, bundle: true, platform: 'node', format: 'esm', splitting: true, outdir: path.join(top, 'dist', 'startup-graph'), write: false, metafile: true, logLevel: 'silent' });
  return r.metafile;
}

/** Every module reachable from `entries` by static imports, with the importer it was first reached from. */
function staticClosure(meta: Metafile, entries: string[]): Map<string, string | null> {
  const from = new Map<string, string | null>(entries.map((e) => [e, null]));
  const queue = [...entries];
  for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
    for (const i of meta.inputs[f]?.imports ?? []) {
      if (i.kind !== 'import-statement' || i.external || from.has(i.path)) continue;
      from.set(i.path, f);
      queue.push(i.path);
    }
  }
  return from;
}

function chain(from: Map<string, string | null>, f: string): string {
  const out: string[] = [];
  for (let c: string | null | undefined = f; c; c = from.get(c)) out.unshift(c);
  return out.join(' → ');
}

test('the start-up path imports no ASN.1 stack statically', async () => {
  const meta = await importGraph(STARTUP_ENTRIES);
  const from = staticClosure(meta, STARTUP_ENTRIES);
  assert.ok([...from.keys()].filter((f) => f.startsWith('agent/')).length >= 40, 'the start-up graph looks too small: were the entries found?');
  // one chain per agent module that imports the stack directly: the edge to cut
  const direct = [...from.keys()].filter((f) => f.startsWith('agent/') && meta.inputs[f]!.imports.some((i) => i.kind === 'import-statement' && ASN1_STACK.test(i.path)));
  assert.equal(direct.map((f) => chain(from, f)), [], 'static import chains from the start-up entries to pkijs/asn1js');
  assert.equal([...from.keys()].filter((f) => ASN1_STACK.test(f)), []);
});

test('the ASN.1 stack is still reached, through import(), from the enrollment path', async () => {
  // the check above means something only if the graph does see pkijs where it is used
  const meta = await importGraph(['agent/cli/compose.ts']);
  const all = Object.keys(meta.inputs);
  assert.ok(all.some((f) => /^node_modules\/pkijs\//.test(f)), 'pkijs not in the graph of compose.ts at all');
  assert.not.ok(
    [...staticClosure(meta, ['agent/cli/compose.ts']).keys()].some((f) => ASN1_STACK.test(f)),
    'compose.ts reaches pkijs statically',
  );
});

test.run();
