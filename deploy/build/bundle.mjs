#!/usr/bin/env node
// Production build of the agent: `npm run build:bundle` → dist/bundle/
//   enrolld.mjs            launcher: turns on Node's module compile cache (Node >= 22.1; module.enableCompileCache)
//                          before anything else is compiled, then imports main.mjs
//   main.mjs               the CLI (agent/cli/main.ts), everything it imports statically and the EST feature: the
//                          one file `enrolld run` loads for an EST configuration (second esbuild pass, below)
//   *-<hash>.mjs           modules reached only through import() (CMP, CMC, ACME, TAMP, key packages, firmware,
//                          provisioning, demo) and the chunks only they share: loaded when that feature is
//                          configured or that command runs
//   chunk-*.mjs (stubs)    a chunk whose code is in main.mjs is a one-line re-export from main.mjs, so a feature
//                          loaded later shares main.mjs's module instances (pkijs classes, caches)
//   vendor/<dep>.cjs       dependencies the agent require()s on first use (agent/util/lazy-require.ts: mqtt,
//                          fast-xml-parser, cbor-x), each bundled on its own so they stay off the start-up path
//   *.map                  source maps back to agent/*.ts (stack traces: node --enable-source-maps)
// No node_modules is needed at run time; the addon is still build/Release/enrolld_tpm.node under the package root
// (the directory holding package.json) or ENROLLD_TPM_ADDON.
import { build } from 'esbuild';
import { readFileSync, renameSync, rmSync, writeFileSync, statSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const top = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const out = path.join(top, 'dist', 'bundle');
// The ids agent code passes to lazyRequire(); each becomes vendor/<id>.cjs.
const LAZY = ['mqtt', 'fast-xml-parser', 'cbor-x'];
// Features merged into main.mjs: EST is the default protocol (config.protocol) and the one real servers speak.
const CORE_FEATURES = ['agent/features/est/index.ts'];

// mqtt.js builds a stream for every transport it knows; the agent and `enrolld fleet` speak mqtt:// and mqtts://
// only (status/mqtt.ts and cli/fleet.ts refuse other URLs). Its WebSocket, WeChat/Alipay mini-program and SOCKS
// proxy transports (ws, socks, ip-address, smart-buffer: 155 KiB of the 510 KiB vendor file, ≈ 1.5 MB of idle heap
// once connect() has required them) become stubs that throw if ever called. readable-stream, the userland copy of
// Node 18's streams that mqtt.js and bl write packets through, resolves to node:stream, which the agent has loaded
// before READY anyway (116 KiB, −0.6 MB idle heap).
const mqttTransportsPlugin = {
  name: 'mqtt-tcp-tls-only',
  setup(b) {
    b.onResolve({ filter: /^readable-stream$/ }, () => ({ path: 'node:stream', external: true }));
    b.onResolve({ filter: /^\.\/(ws|wx|ali|socks)$/ }, (a) => (/[\\/]node_modules[\\/]mqtt[\\/]build[\\/]lib[\\/]connect$/.test(a.resolveDir) ? { path: a.path, namespace: 'mqtt-transport-stub' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'mqtt-transport-stub' }, (a) => ({
      loader: 'js',
      contents: `const no = () => { throw new Error(${JSON.stringify(`the mqtt transport ${a.path} is not in enrolld's bundle (mqtt:// and mqtts:// only)`)}); };
module.exports = { default: no, streamBuilder: no, browserStreamBuilder: no };`,
    }));
  },
};

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

// node-cron's entry imports child_process for its background tasks (`fork`), which the agent never creates: loading
// child_process (with net, dgram and the stream internals it brings) was ≈ 55 M instructions of every start under
// --jitless on Node 20 (callgrind; its built-in code cache is not used with V8 flags). In the bundle node-cron gets
// a `fork` that loads child_process when called.
const lazyChildProcessPlugin = {
  name: 'node-cron-lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (a) => (/[\\/]node_modules[\\/]node-cron[\\/]/.test(a.importer) ? { path: 'child_process', namespace: 'lazy-child-process' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'lazy-child-process' }, () => ({
      loader: 'js',
      contents: "export function fork(...args) { return process.getBuiltinModule('node:child_process').fork(...args); }\n",
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
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  absWorkingDir: top,
};

rmSync(out, { recursive: true, force: true });
// Pass 1: esbuild with code splitting, into a staging directory. Splitting keeps each import()ed feature in its own
// files, but spreads the start-up path over many shared chunks (one per set of importers): resolving and linking
// them cost ≈ 40 ms of `enrolld run`'s start-up (bench/RESULTS.md, "Start-up and memory").
const stage = path.join(top, 'dist', 'bundle-stage');
rmSync(stage, { recursive: true, force: true });
const pass1 = await build({
  ...common,
  entryPoints: { main: 'agent/cli/main.ts' },
  outdir: stage,
  format: 'esm',
  splitting: true,
  outExtension: { '.js': '.mjs' },
  chunkNames: '[name]-[hash]',
  // ESM output still meets CommonJS code in some dependencies (pvtsutils & co. use require for node builtins).
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  plugins: [lazyRequirePlugin, lazyChildProcessPlugin],
  metafile: true,
});
await mergeStartupPath(pass1.metafile);
for (const id of LAZY) {
  await build({
    ...common,
    stdin: { contents: `module.exports = require(${JSON.stringify(id)});`, resolveDir: top, sourcefile: `vendor-${id}.cjs` },
    outfile: path.join(out, 'vendor', `${id}.cjs`),
    format: 'cjs',
    // cbor-x's native string extractor is optional (it falls back to JavaScript when require throws).
    external: ['cbor-extract'],
    plugins: id === 'mqtt' ? [mqttTransportsPlugin] : [],
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

// Pass 2: main.mjs becomes one file holding the start-up path — pass 1's main.mjs, every chunk it imports statically
// and the features `run` always needs (EST, the default protocol), with their static imports. Each chunk merged so
// is replaced by a stub that re-exports its names from main.mjs (renamed `<n>$<name>` there), so the feature files
// that stay separate import the very same module instances, with live bindings. Source maps chain through pass 1's.
async function mergeStartupPath(meta) {
  const rel = (f) => path.relative(stage, path.join(top, f)).split(path.sep).join('/');
  const outs = new Map(Object.entries(meta.outputs).filter(([f]) => f.endsWith('.mjs')).map(([f, o]) => [rel(f), o]));
  const inCore = new Set(['main.mjs']);
  for (const [f, o] of outs) if (CORE_FEATURES.includes(o.entryPoint)) inCore.add(f);
  for (let grew = true; grew; ) {
    grew = false;
    for (const f of [...inCore])
      for (const i of outs.get(f).imports) {
        const t = rel(i.path);
        if (i.kind === 'import-statement' && !i.external && !inCore.has(t)) (inCore.add(t), (grew = true));
      }
  }
  // The ASN.1 stack is loaded at the first operation that needs it (agent/util/lazy-import.ts): it must stay out of
  // the start-up file, or every start parses it again (≈ 30 ms of main.mjs's compile on Node 20).
  const stack = [...inCore].flatMap((f) => Object.keys(outs.get(f).inputs).filter((i) => /node_modules\/(pkijs|asn1js)\//.test(i)).map((i) => `${f}: ${i}`));
  if (stack.length) throw new Error(`the start-up path (main.mjs) would hold the ASN.1 stack, imported statically:\n  ${stack.slice(0, 5).join('\n  ')}\n(test/unit/startup-graph.test.ts shows the import chain)`);
  const merged = [...inCore].filter((f) => f !== 'main.mjs');
  const entry = ["import './main.mjs';"];
  merged.forEach((f, n) => {
    const names = outs.get(f).exports;
    if (names.length) entry.push(`export { ${names.map((x) => `${x} as c${n}$${x}`).join(', ')} } from './${f}';`);
    else entry.push(`import './${f}';`);
  });
  await build({
    ...common,
    stdin: { contents: entry.join('\n'), resolveDir: stage, sourcefile: 'startup-entry.mjs', loader: 'js' },
    outfile: path.join(out, 'main.mjs'),
    format: 'esm',
    // Pass 1's files already carry the createRequire banner; a second one would collide with theirs.
    plugins: [
      {
        name: 'keep-non-core-files',
        setup(b) {
          b.onResolve({ filter: /^\.\/.*\.mjs$/ }, (a) => (inCore.has(a.path.slice(2)) || a.importer === '' ? undefined : { path: a.path, external: true }));
        },
      },
    ],
  });
  // Code esbuild generated in pass 1 (its runtime helpers, the banner) and this entry have no source file but the
  // staging directory, which is gone after the build: name them as generated.
  const mapFile = path.join(out, 'main.mjs.map');
  const map = JSON.parse(readFileSync(mapFile, 'utf8'));
  map.sources = map.sources.map((s) => (s.startsWith('../bundle-stage/') ? `esbuild-generated:${s.slice('../bundle-stage/'.length)}` : s));
  writeFileSync(mapFile, JSON.stringify(map));
  for (const f of readdirSync(stage)) {
    if (f === 'main.mjs' || f === 'main.mjs.map' || inCore.has(f.replace(/\.map$/, ''))) continue;
    renameSync(path.join(stage, f), path.join(out, f));
  }
  merged.forEach((f, n) => {
    const names = outs.get(f).exports;
    const body = names.length ? `export { ${names.map((x) => `c${n}$${x} as ${x}`).join(', ')} } from './main.mjs';\n` : "import './main.mjs';\n";
    writeFileSync(path.join(out, f), `// merged into main.mjs (deploy/build/bundle.mjs, pass 2)\n${body}`);
  });
  rmSync(stage, { recursive: true, force: true });
}

// The start-up path loads node's HTTP/HTTPS/TLS and child_process modules on first use (protocols/http/transport.ts, status/mqtt.ts):
// they are not in node's snapshot and nothing before READY=1 needs them. A static import in main.mjs would bring
// their compilation back onto every start.
const startup = readFileSync(path.join(out, 'main.mjs'), 'utf8');
const eager = [...startup.matchAll(/(?:^|[;\s])import\s*(?:[\w$*{},\s]+?from\s*)?"(?:node:)?(https|http|tls|child_process)"/g)].map((m) => m[1]);
if (eager.length) throw new Error(`dist/bundle/main.mjs imports node:${eager.join(', node:')} at start-up; load it on first use (process.getBuiltinModule)`);

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
