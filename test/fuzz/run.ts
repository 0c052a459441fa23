// The fuzz driver: `npm run fuzz -- --iterations N --seed S [--target name]…` (long form) and the fixed-seed short
// run in test/unit/fuzz-short.test.ts. For each target: mutate its seeds, call the parser, and record any outcome
// that is not "returned" or "threw an EnrolldError" (a TypeError, a RangeError, a hang over 2 s). Failing inputs are
// written to test/fixtures/fuzz/<target>-<sha256 prefix>.bin with --save; every file there is replayed by the short
// test as a regression fixture.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EnrolldError } from '../../agent/util/errors.js';
import { mutate, Rng } from './mutate.js';
import { buildTargets, type FuzzTarget } from './targets.js';

export interface FuzzFinding {
  target: string;
  iteration: number;
  input: Uint8Array;
  error: string;
}

export interface FuzzReport {
  seed: number;
  iterations: Record<string, number>;
  findings: FuzzFinding[];
}

const HANG_MS = 2000;

/** One call: undefined when fine, otherwise what went wrong. */
export async function probe(t: FuzzTarget, input: Uint8Array): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(() => t.run(input)),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`hang: no result after ${HANG_MS} ms`)), HANG_MS);
      }),
    ]);
    return undefined;
  } catch (e) {
    if (e instanceof EnrolldError) return undefined;
    return e instanceof Error ? `${e.name}: ${e.message}\n${e.stack?.split('\n').slice(1, 4).join('\n') ?? ''}` : String(e);
  } finally {
    clearTimeout(timer);
  }
}

export async function fuzz(o: { seed: number; iterations: number; targets?: string[]; onFinding?: (f: FuzzFinding) => void }): Promise<FuzzReport> {
  const all = await buildTargets();
  const targets = o.targets?.length ? all.filter((t) => o.targets!.includes(t.name)) : all;
  const report: FuzzReport = { seed: o.seed, iterations: {}, findings: [] };
  for (const t of targets) {
    const rng = new Rng(o.seed ^ hash32(t.name));
    const n = Math.max(1, Math.floor(o.iterations / (t.weight ?? 1)));
    for (const s of t.seeds) {
      const err = await probe(t, s);
      if (err) report.findings.push({ target: t.name, iteration: -1, input: s, error: `a valid seed fails: ${err}` });
    }
    for (let i = 0; i < n; i++) {
      const input = mutate(rng.pick(t.seeds), rng, rng.pick(t.seeds));
      const err = await probe(t, input);
      if (err) {
        const f = { target: t.name, iteration: i, input, error: err };
        report.findings.push(f);
        o.onFinding?.(f);
      }
    }
    report.iterations[t.name] = n;
  }
  return report;
}

function hash32(s: string): number {
  return createHash('sha256').update(s).digest().readUInt32LE(0);
}

export const FIXTURE_DIR = path.join(process.cwd(), 'test/fixtures/fuzz');

/** Regression fixtures: <target>-<hash>.bin. */
export function fixtures(): Array<{ target: string; file: string; input: Uint8Array }> {
  let files: string[] = [];
  try {
    files = readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.bin'));
  } catch {
    return [];
  }
  return files.map((f) => ({ target: f.replace(/-[0-9a-f]{12}\.bin$/, ''), file: f, input: new Uint8Array(readFileSync(path.join(FIXTURE_DIR, f))) }));
}

export function saveFixture(f: FuzzFinding): string {
  const name = `${f.target}-${createHash('sha256').update(f.input).digest('hex').slice(0, 12)}.bin`;
  writeFileSync(path.join(FIXTURE_DIR, name), f.input);
  return name;
}

// CLI: node dist/test/fuzz/run.js --iterations 100000 --seed 7 [--target pal-xml] [--save]
if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const val = (k: string, d: string): string => {
    const i = args.indexOf(k);
    return i >= 0 && args[i + 1] ? args[i + 1]! : d;
  };
  const targets = args.flatMap((a, i) => (a === '--target' && args[i + 1] ? [args[i + 1]!] : []));
  const seed = Number(val('--seed', String(Date.now() & 0xffff)));
  const iterations = Number(val('--iterations', '20000'));
  const save = args.includes('--save');
  const t0 = Date.now();
  const r = await fuzz({ seed, iterations, targets, onFinding: (f) => process.stdout.write(`FINDING ${f.target} #${f.iteration}: ${f.error.split('\n')[0]}${save ? ` → ${saveFixture(f)}` : ''}\n`) });
  for (const [t, n] of Object.entries(r.iterations)) process.stdout.write(`${t.padEnd(22)} ${n} iterations\n`);
  process.stdout.write(`seed ${seed}: ${Object.values(r.iterations).reduce((a, b) => a + b, 0)} inputs, ${r.findings.length} findings, ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  process.exit(r.findings.length ? 1 : 0);
}
