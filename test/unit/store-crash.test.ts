// Crash simulation: a child process saves generation after generation (each a few hundred KiB, so a kill often lands
// mid-write, mid-fsync or between the renames) and is SIGKILLed at a random moment, again and again. After every kill
// the store must load a complete, self-consistent generation that is at least the last one the child saw confirmed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileStateStore, type LoadResult } from '../../agent/store/index.js';

interface Doc {
  n: number;
  payload: string;
  digest: string;
}
const digestOf = (n: number, payload: string): string => createHash('sha256').update(`${n}:${payload}`).digest('hex');
const isDoc = (d: unknown): d is Doc => {
  const x = d as Doc;
  return typeof x === 'object' && x !== null && typeof x.n === 'number' && typeof x.payload === 'string' && x.digest === digestOf(x.n, x.payload);
};

const ITERATIONS = Number(process.env.STORE_CRASH_ITERATIONS ?? 60);
const BUDGET_MS = 150_000;
const storeUrl = new URL('../../agent/store/index.js', import.meta.url).href;

// The writer runs as `node --input-type=module -e CHILD <dir>`; it prints "ready" and then "g <generation>" after each
// save has resolved (i.e. is durable).
const CHILD = `
import { createHash } from 'node:crypto';
const { FileStateStore } = await import(${JSON.stringify(storeUrl)});
const store = new FileStateStore({ dir: process.argv[1], version: 1 });
const before = await store.loadDetailed();
let n = before.status === 'loaded' ? before.data.n : 0;
process.stdout.write('ready\\n');
for (;;) {
  n++;
  const payload = String.fromCharCode(97 + (n % 26)).repeat(100_000 + (n % 7) * 50_000);
  const digest = createHash('sha256').update(n + ':' + payload).digest('hex');
  const r = await store.saveDetailed({ n, payload, digest });
  process.stdout.write('g ' + r.generation + '\\n');
}
`;

interface Round {
  confirmed: number;
  killedAfterMs: number;
}

function runAndKill(dir: string): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let confirmed = 0;
    let killedAfterMs = -1;
    let timer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000); // never hang: a stuck child is killed too
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (const m of out.matchAll(/^g (\d+)$/gm)) confirmed = Math.max(confirmed, Number(m[1]));
      if (timer === undefined && out.includes('ready\n')) {
        // Kill somewhere in the first few saves: before the first one, mid-write, mid-rename…
        killedAfterMs = Math.floor(Math.random() * 60);
        timer = setTimeout(() => child.kill('SIGKILL'), killedAfterMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(guard);
      if (timer) clearTimeout(timer);
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited with ${code ?? signal}: ${err}`));
      if (killedAfterMs < 0) return reject(new Error(`writer killed before it was ready: ${err}`));
      resolve({ confirmed, killedAfterMs });
    });
  });
}

test(`SIGKILL during saves, ${ITERATIONS} times: the store always loads a complete generation`, async () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'enrolld-crash-')), 'state');
  const started = Date.now();
  let lastGeneration = 0;
  let recovered = 0;
  let unconfirmedSeen = 0;
  let rounds = 0;
  let midWrite = 0;
  try {
    for (; rounds < ITERATIONS; rounds++) {
      assert.ok(Date.now() - started < BUDGET_MS, `crash loop exceeded ${BUDGET_MS} ms after ${rounds} rounds`);
      const { confirmed } = await runAndKill(dir);
      if (readdirSync(dir).some((n) => n.includes('.tmp-'))) midWrite++;
      const store = new FileStateStore<Doc>({ dir, version: 1, validate: isDoc });
      const r: LoadResult<Doc> = await store.loadDetailed(); // throws StateCorruptError if nothing is usable
      if (r.status === 'fresh') {
        // Only possible while nothing was ever confirmed.
        assert.is(lastGeneration, 0, `round ${rounds}: store empty after generation ${lastGeneration}`);
        assert.is(confirmed, 0);
        continue;
      }
      assert.ok(isDoc(r.data), `round ${rounds}: inconsistent data`);
      // Never older than what the writer saw acknowledged; at most the one save in flight beyond it.
      assert.ok(r.generation >= confirmed, `round ${rounds}: loaded ${r.generation} < confirmed ${confirmed}`);
      assert.ok(r.generation >= lastGeneration, `round ${rounds}: generation went back ${lastGeneration} → ${r.generation}`);
      assert.is(r.data.n, r.generation); // the writer's counter and the store's generation advance together
      if (r.generation > confirmed) unconfirmedSeen++;
      if (r.source === 'prev') recovered++;
      lastGeneration = r.generation;
      // Loading cleaned up any temp file of the dead writer; what remains is private.
      for (const name of readdirSync(dir)) {
        assert.ok(name === 'state.json' || name === 'state.json.prev', `round ${rounds}: leftover ${name}`);
        assert.is(statSync(path.join(dir, name)).mode & 0o777, 0o600);
      }
    }
  } finally {
    rmSync(path.dirname(dir), { recursive: true, force: true });
  }
  assert.ok(rounds >= 50);
  assert.ok(lastGeneration > 0, 'the writer never completed a save: the kills came too early to test anything');
  console.log(
    `    crash loop: ${rounds} kills in ${((Date.now() - started) / 1000).toFixed(1)}s, final generation ${lastGeneration}, ` +
      `${midWrite} kills left a temp file (mid-write), ${unconfirmedSeen} loads of an in-flight save, ${recovered} recoveries from .prev`,
  );
});

test.run();
