#!/usr/bin/env node
// Production build of the agent: `npm run build:bundle` → dist/bundle/
//   enrolld.mjs            launcher: turns on Node's module compile cache (Node >= 22.1; module.enableCompileCache)
//                          before anything else is compiled, then imports main.mjs
//   main.mjs               the CLI (agent/cli/main.ts) and everything it imports statically, one ESM file
//   chunk-*.mjs            modules reached only through import() (CMP, CMC, ACME, TAMP, key packages, firmware,
//                          provisioning, demo): loaded when that feature is configured or that command runs
//   vendor/<dep>.cjs       dependencies the agent require()s on first use (agent/util/lazy-require.ts: mqtt,
//                          fast-xml-parser, cbor-x), each bundled on its own so they stay off the start-up path
//   *.map                  source maps back to agent/*.ts (stack traces: node --enable-source-maps)
// No node_modules is needed at run time; the addon is still build/Release/enrolld_tpm.node under the package root
// (the directory holding package.json) or ENROLLD_TPM_ADDON.
import { build } from 'esbuild';
import { rmSync, writeFileSync, statSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const top = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const out = path.join(top, 'dist', 'bundle');
// The ids agent code passes to lazyRequire(); each becomes vendor/<id>.cjs.
const LAZY = ['mqtt', 'fast-xml-parser', 'cbor-x'];

// lazyRequire(id) resolves a bare id from node_modules; in the bundle it loads the vendored copy beside the file.
const lazyRequirePlugin = {
  name: 'lazy-require-vendor',
  setup(b) {
    b.onLoad({ filter: /agent[\\/]util[\\/]lazy-require\.ts$/ }, () => ({
      loader: 'ts',
      contents: `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const VENDORED = new Set(${JSON.stringify(LAZY)});
export function lazyRequire<T>(id: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= require(VENDORED.has(id) ? './vendor/' + id + '.cjs' : id) as T);
}
`,
    }));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  sourcesContent: false,
  legalComments: 'none',
  logLevel: 'warning',
  absWorkingDir: top,
};

rmSync(out, { recursive: true, force: true });
await build({
  ...common,
  entryPoints: { main: 'agent/cli/main.ts' },
  outdir: out,
  format: 'esm',
  splitting: true,
  outExtension: { '.js': '.mjs' },
  chunkNames: '[name]-[hash]',
  // ESM output still meets CommonJS code in some dependencies (pvtsutils & co. use require for node builtins).
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  plugins: [lazyRequirePlugin],
  metafile: true,
});
for (const id of LAZY) {
  await build({
    ...common,
    stdin: { contents: `module.exports = require(${JSON.stringify(id)});`, resolveDir: top, sourcefile: `vendor-${id}.cjs` },
    outfile: path.join(out, 'vendor', `${id}.cjs`),
    format: 'cjs',
    // cbor-x's native string extractor is optional (it falls back to JavaScript when require throws).
    external: ['cbor-extract'],
  });
}
writeFileSync(path.join(out, 'package.json'), '{ "type": "module" }\n');
// The compile cache lives in ENROLLD_COMPILE_CACHE, else systemd's $CACHE_DIRECTORY (CacheDirectory=enrolld), else
// NODE_COMPILE_CACHE / Node's default (a directory under os.tmpdir()). NODE_DISABLE_COMPILE_CACHE=1 turns it off.
writeFileSync(
  path.join(out, 'enrolld.mjs'),
  `#!/usr/bin/env node
import module from 'node:module';
if (typeof module.enableCompileCache === 'function' && !process.env.NODE_DISABLE_COMPILE_CACHE) {
  const dir = process.env.ENROLLD_COMPILE_CACHE || process.env.CACHE_DIRECTORY?.split(':')[0] || undefined;
  try {
    module.enableCompileCache(dir);
  } catch {
    // a cache that cannot be written only costs start-up time
  }
}
await import('./main.mjs');
`,
  { mode: 0o755 },
);

const rows = [];
const walk = (d) => {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (!p.endsWith('.map') && !p.endsWith('package.json')) rows.push([path.relative(out, p), statSync(p).size]);
  }
};
walk(out);
rows.sort((a, b) => b[1] - a[1]);
for (const [f, n] of rows) console.log(`${(n / 1024).toFixed(0).padStart(6)} KiB  dist/bundle/${f}`);
