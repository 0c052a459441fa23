// node-flags: --expose-gc
// A simulated year of the composed agent (ManualClock; real lab server over TLS; swtpm): PAL polls with CRL and
// eecerts packages, the CRL reissued every few days, renewals at the policy fraction of 10-day certificates. Every
// `sampleDays` of simulated time, while the agent sleeps: heap used after global.gc(), the process's active
// resources (handles, timers, sockets), the TPM's transient objects and the files in the state directory.
// Asserts flat memory (last-quarter median ≤ first-quarter median + a bound), resources back to the baseline,
// no transient object left in the TPM, and a credential that never lapses.
//
// CI (the runner, `node test/run.mjs soak`) runs the bounded form: 365 days with a daily PAL poll (365 polls, ~55
// renewals, 91 samples). Measured on the shared 2-core machine: 6-hourly polls 63 s alone; 12-hourly 31–38 s alone
// but 62 s beside another test file under load — over the 60 s budget, hence daily. The long form, hourly polls for a year (8760 polls):
//   npm run soak -- --days 365 --poll-minutes 60          (or SOAK_DAYS / SOAK_POLL_MINUTES)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { parseArgs } from 'node:util';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import { TPM_HT } from '../../agent/tpm2/constants.js';
import { createLogger } from '../../agent/util/log.js';
import { simulateUntil } from '../harness/sim.js';
import { cronEvery, startSimAgent } from '../harness/sim-agent.js';

const { values } = parseArgs({ options: { days: { type: 'string' }, 'poll-minutes': { type: 'string' } }, strict: false });
const DAYS = Number(values.days ?? process.env.SOAK_DAYS ?? 365);
const POLL_MINUTES = Number(values['poll-minutes'] ?? process.env.SOAK_POLL_MINUTES ?? 1440);
const CERT_DAYS = 10;
const SAMPLE_DAYS = 4; // also the CRL reissue period (the lab's CRLs are valid 7 days)
/**
 * Growth allowed between the first and the last quarter (medians of post-GC samples): 1 MiB for the heap without
 * V8's code spaces, 2 MiB for heapUsed in total. Heap-snapshot diffs of this run (SOAK_HEAP_SNAPSHOTS) showed the
 * total still creeping up late in the year as compiled code (optimized code, deopt data, feedback vectors) of
 * paths that run only at renewals (~55 times a year) gets tiered up — not objects; see bench/RESULTS.md.
 */
const DATA_BOUND = 1024 * 1024;
const HEAP_BOUND = 2 * 1024 * 1024;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const gc = (globalThis as { gc?: () => void }).gc;

function resourceCounts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}
/** Heap used outside V8's code spaces (objects, not JIT output). */
const dataHeapUsed = (): number => getHeapSpaceStatistics().filter((s) => !s.space_name.startsWith('code')).reduce((n, s) => n + s.space_used_size, 0);
const total = (c: Record<string, number>): number => Object.values(c).reduce((a, b) => a + b, 0);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const listFiles = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)))
    .sort();
/** Real time for closing sockets and fs callbacks to finish (the simulated clock does not move meanwhile). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 15));
};

test(`${DAYS} simulated days, PAL poll every ${POLL_MINUTES} min: flat heap, no leaked handles or TPM objects, credential never lapses`, async () => {
  assert.ok(gc, 'run with --expose-gc (test/run.mjs reads the node-flags line of this file)');
  const t0 = Date.now();
  // Warnings before the first enrollment are expected (the first PAL poll runs before it: a CRL signed by the issuing
  // CA cannot be verified until the credential's chain supplies that CA); after it, none.
  let enrolledOnce = false;
  const early: string[] = [];
  const late: string[] = [];
  let eecertsNoStore = 0;
  const log = createLogger({
    level: 'warn',
    journal: false,
    sink: {
      write: (l) => {
        if (/code=eecerts\.no_store /.test(l)) eecertsNoStore++;
        const to = enrolledOnce ? late : early;
        if (to.length < 50) to.push(l);
      },
    },
  });
  let lapses = 0;
  let lostPhases = 0;
  let minMarginMs = Infinity;
  let clockNow = (): number => 0;
  const sim = await startSimAgent({
    certValiditySeconds: CERT_DAYS * 86_400,
    cron: cronEvery(POLL_MINUTES),
    log,
    onIdle: (s) => {
      if (s.phase === 'enrolled') enrolledOnce = true;
      if (!enrolledOnce) return;
      if (s.phase !== 'enrolled' && s.phase !== 'renewing') lostPhases++;
      const margin = s.credential ? Date.parse(s.credential.notAfter) - clockNow() : -1;
      if (margin <= 0) lapses++;
      minMarginMs = Math.min(minMarginMs, margin);
    },
  });
  clockNow = () => sim.clock.now().getTime();
  const ks = sim.agent.keystore;
  assert.ok(ks instanceof TpmKeyStore);
  const start = sim.clock.now().getTime();
  const heap: number[] = [];
  const data: number[] = [];
  const resources: Array<Record<string, number>> = [];
  const transients: number[] = [];
  const files: string[][] = [];
  let palFetches = 0;
  try {
    await settle();
    gc!();
    const baseline = resourceCounts();
    const running = sim.run();
    for (let day = SAMPLE_DAYS; day <= DAYS; day += SAMPLE_DAYS) {
      await simulateUntil(sim.clock, new Date(start + day * DAY));
      await settle();
      await sim.agent.settled(); // background status writes queued by the last poll
      // Lab-side bookkeeping lives in this process too: count and drop it so only the agent's memory is measured.
      palFetches += sim.pal.requests.length;
      sim.pal.requests.length = 0;
      gc!();
      heap.push(process.memoryUsage().heapUsed);
      data.push(dataHeapUsed());
      // Diagnostics: SOAK_HEAP_SNAPSHOTS=<dir> writes a heap snapshot at a quarter of the run and at its end.
      const snapDir = process.env.SOAK_HEAP_SNAPSHOTS;
      if (snapDir && (heap.length === Math.floor(DAYS / SAMPLE_DAYS / 4) || day + SAMPLE_DAYS > DAYS)) writeHeapSnapshot(path.join(snapDir, `soak-day-${day}.heapsnapshot`));
      // A handle still closing (CloseReq, FSReqPromise of a write just finished) is not a leak: re-sample a few times;
      // a leaked socket, timer or file handle stays and is reported.
      let r = resourceCounts();
      for (let i = 0; i < 5 && total(r) > total(baseline); i++) {
        await settle();
        r = resourceCounts();
      }
      resources.push(r);
      transients.push((await ks.listHandles(TPM_HT.TRANSIENT)).length);
      files.push(listFiles(sim.env.config.stateDir));
      await sim.pal.reissueCrl();
    }
    await simulateUntil(sim.clock, new Date(start + DAYS * DAY));
    palFetches += sim.pal.requests.length;
    const state = await sim.agent.enroller.loadState();
    const issued = sim.env.lab.issued;
    const q = Math.max(1, Math.floor(heap.length / 4));
    const firstQ = median(heap.slice(0, q));
    const lastQ = median(heap.slice(-q));
    const firstD = median(data.slice(0, q));
    const lastD = median(data.slice(-q));
    const mb = (b: number): string => (b / 2 ** 20).toFixed(2);
    const wallS = (Date.now() - t0) / 1000;
    console.log(
      `${DAYS} days / ${POLL_MINUTES}-min polls in ${wallS.toFixed(1)} s: ${palFetches} PAL fetches, ${sim.requests} requests, ` +
        `${issued.length} certificates (${issued.filter((r) => r.operation === 'simpleenroll').length} simpleenroll), ${sim.daemon.iterations} loop iterations`,
    );
    console.log(`heap used after gc: first quarter median ${mb(firstQ)} MB, last quarter median ${mb(lastQ)} MB, min ${mb(Math.min(...heap))}, max ${mb(Math.max(...heap))} (${heap.length} samples)`);
    console.log(`heap without code spaces: first quarter median ${mb(firstD)} MB, last quarter median ${mb(lastD)} MB, min ${mb(Math.min(...data))}, max ${mb(Math.max(...data))}`);
    console.log(`active resources: baseline ${JSON.stringify(baseline)}, max total during the run ${Math.max(...resources.map(total))}, last ${JSON.stringify(resources.at(-1))}`);
    console.log(`TPM transients at samples: max ${Math.max(...transients)}; state files: first ${files[0]!.length}, last ${files.at(-1)!.length}; min credential margin ${(minMarginMs / DAY).toFixed(2)} days; warnings before/after the first enrollment ${early.length}/${late.length} (eecerts.no_store: ${eecertsNoStore})`);
    console.log(`heap samples (MB): ${heap.map(mb).join(' ')}`);

    // Enrollment: one initial enrollment, then renewals at 2/3 of 10 days (~every 6.67 days), never a lapse.
    assert.is(issued.filter((r) => r.operation === 'simpleenroll').length, 1);
    const expectedRenewals = (DAYS * DAY) / ((2 / 3) * CERT_DAYS * DAY);
    assert.ok(Math.abs(issued.length - 1 - expectedRenewals) <= 3, `certificates ${issued.length}, expected ~${(expectedRenewals + 1).toFixed(1)}`);
    assert.ok(enrolledOnce);
    assert.is(lapses, 0, 'the credential lapsed');
    assert.is(lostPhases, 0, 'left enrolled/renewing after the first enrollment');
    assert.is(state.phase, 'enrolled');
    assert.ok(Date.parse(state.credential!.notAfter) > sim.clock.now().getTime());
    // Polls: one per schedule slot (± the few that a renewal or backoff moves), no hot loop.
    const slots = (DAYS * 1440) / POLL_MINUTES;
    assert.ok(palFetches >= slots - 2 && palFetches <= slots + 10, `PAL fetches ${palFetches}, schedule slots ${slots}`);
    assert.ok(sim.requests <= 3 * (slots + 10) + 3 * issued.length + 20, `requests ${sim.requests}`);
    // Resources: while asleep the agent holds nothing beyond the baseline; TPM transients always 0; state files flat.
    assert.is(transients.filter((n) => n !== 0).length, 0, `transients ${JSON.stringify(transients)}`);
    for (const [i, r] of resources.entries()) assert.ok(total(r) <= total(baseline), `sample ${i}: ${JSON.stringify(r)} vs baseline ${JSON.stringify(baseline)}`);
    // A document's one rollback copy (x.json.prev, written at its first replacement) is bounded; anything else is growth.
    const known = new Set(files[0]!.flatMap((f) => [f, `${f}.prev`]));
    const added = files.at(-1)!.filter((f) => !known.has(f));
    assert.equal(added, [], `state files added after the first sample: ${added.join(', ')} (first: ${files[0]!.join(', ')})`);
    // Memory: flat (the lab's per-request records are dropped at every sample).
    assert.ok(lastD <= firstD + DATA_BOUND, `heap (without code) grew: ${mb(firstD)} → ${mb(lastD)} MB`);
    assert.ok(lastQ <= firstQ + HEAP_BOUND, `heap grew: ${mb(firstQ)} → ${mb(lastQ)} MB`);
    // Every package (CRLs, eecerts into the peer store) succeeds: any warning after the first enrollment is a finding.
    assert.equal(late, [], 'warnings after the first enrollment');
    await sim.halt();
    await running;
    await settle();
    const after = resourceCounts();
    assert.ok(total(after) <= total(baseline), `after stop: ${JSON.stringify(after)} vs ${JSON.stringify(baseline)}`);
  } finally {
    await sim.stop();
  }
});

test.run();
