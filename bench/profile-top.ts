// Top entries of a V8 CPU profile (.cpuprofile, from `node --cpu-prof` or ENROLLD_BENCH_PROFILE):
//   node dist/bench/profile-top.js <file.cpuprofile> [n] [--per <count>]
// Prints the busy time (samples outside (idle)/(program)/(garbage collector) split out), then the top n functions by
// self time and by inclusive time (a function counted once per sample however often it recurses), and self time by
// module (node_modules package, agent file, node internals). `--per k` divides every figure by k (per operation).
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const perIdx = args.indexOf('--per');
const per = perIdx >= 0 ? Number(args.splice(perIdx, 2)[1]) : 1;
const [file, nArg] = args;
if (!file) throw new Error('usage: profile-top <file.cpuprofile> [n] [--per count]');
const n = Number(nArg ?? 25);
const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(prof.nodes.map((x) => [x.id, x]));
const parent = new Map<number, number>();
for (const x of prof.nodes) for (const c of x.children ?? []) parent.set(c, x.id);

const shortUrl = (url: string): string => {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 13);
  const d = url.indexOf('/dist/');
  if (d >= 0) return url.slice(d + 6);
  return url.replace(/^file:\/\//, '');
};
const key = (x: ProfileNode): string => {
  const f = x.callFrame;
  return f.url ? `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}:${f.lineNumber + 1}` : f.functionName;
};
const moduleOf = (x: ProfileNode): string => {
  const url = x.callFrame.url;
  if (!url) return x.callFrame.functionName; // (garbage collector), (program), (idle)
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 13).split('/')[0]!;
  if (url.startsWith('node:')) return url;
  return shortUrl(url);
};

const self = new Map<string, number>();
const incl = new Map<string, number>();
const mods = new Map<string, number>();
let total = 0;
let busy = 0;
const NOT_BUSY = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);
prof.samples.forEach((id, i) => {
  const dt = (prof.timeDeltas[i] ?? 0) / 1000; // µs → ms
  const leaf = byId.get(id)!;
  total += dt;
  const k = key(leaf);
  self.set(k, (self.get(k) ?? 0) + dt);
  mods.set(moduleOf(leaf), (mods.get(moduleOf(leaf)) ?? 0) + dt);
  if (!NOT_BUSY.has(leaf.callFrame.functionName) || leaf.callFrame.url) busy += dt;
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const kk = key(byId.get(cur)!);
    if (seen.has(kk)) continue;
    seen.add(kk);
    incl.set(kk, (incl.get(kk) ?? 0) + dt);
  }
});

const f = (ms: number): string => (ms / per).toFixed(2).padStart(8);
const top = (m: Map<string, number>, skip: (k: string) => boolean = () => false): Array<[string, number]> =>
  [...m].filter(([k]) => !skip(k)).sort((a, b) => b[1] - a[1]).slice(0, n);
const gc = self.get('(garbage collector)') ?? 0;
console.log(`${file}: ${f(total)} ms sampled, ${f(busy)} ms in JS/native frames, ${f(gc)} ms GC, ${f(self.get('(program)') ?? 0)} ms (program), ${f(self.get('(idle)') ?? 0)} ms idle${per !== 1 ? ` (per 1/${per})` : ''}`);
console.log('\nself time (ms)');
for (const [k, v] of top(self, (k) => k === '(idle)')) console.log(`${f(v)}  ${k}`);
console.log('\ninclusive time (ms)');
for (const [k, v] of top(incl, (k) => NOT_BUSY.has(k))) console.log(`${f(v)}  ${k}`);
console.log('\nself time by module (ms)');
for (const [k, v] of top(mods, (k) => k === '(idle)')) console.log(`${f(v)}  ${k}`);
