// `npm run bench`: every benchmark, one table. Starts swtpm + the lab server here; every measured agent
// is a separate process (`enrolld run`, bench/agent-probe.js, the firmware standalone runner), so its CPU and
// /proc memory figures are its own.
//   npm run bench                         all (firmware 16 and 256 MB)
//   npm run bench -- --quick              fewer repetitions, firmware 16 MB only
//   npm run bench -- --restarts 9 --polls 100 --reenrolls 20 --fw 16,64 --fleet-devices 2000 --fleet-days 90
//   npm run bench -- --quick --only poll,enroll   only these groups: startup, poll, enroll, shell, firmware, fleet
// ENROLLD_BENCH_PROFILE=<dir>: the agent probe also writes a V8 CPU profile of each measured loop there
// (bench/profile-top.ts prints its top entries).
// Every row: value, the baseline measured in this run with this node (node -e 0, a shell enrollment), the ratio,
// the target and the verdict. The tsc output (dist/agent) and the production bundle (dist/bundle) are both measured.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { startAgentEnv } from '../test/harness/agent-env.js';
import { startDeviceConfigEnv } from './device-config.js';
import { enrollNow, idleFloor, nodeBaseline, shellEnrollment } from './baselines.js';
import { BUNDLE_MAIN, TSC_MAIN, daemonStart, startupPhases, type DaemonStartOptions } from './daemon-start.js';
import { FLEET_SCENARIOS, simulateFleet } from './fleet-schedule.js';
import { enrollLatency } from './enroll-latency.js';
import { firmwareApply } from './firmware-apply.js';
import { pollCycle } from './poll-cycle.js';
import { MB } from './proc-status.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    restarts: { type: 'string' },
    polls: { type: 'string' },
    reenrolls: { type: 'string' },
    fw: { type: 'string' },
    'fleet-devices': { type: 'string' },
    'fleet-days': { type: 'string' },
    only: { type: 'string' },
  },
});
const GROUPS = ['startup', 'poll', 'enroll', 'shell', 'firmware', 'fleet'] as const;
const only = values.only?.split(',').map((g) => g.trim()).filter(Boolean);
for (const g of only ?? []) if (!(GROUPS as readonly string[]).includes(g)) throw new Error(`--only: unknown group ${g} (${GROUPS.join(', ')})`);
const want = (g: (typeof GROUPS)[number]): boolean => !only || only.includes(g);
const quick = values.quick;
const restarts = Number(values.restarts ?? (quick ? 3 : 7));
const polls = Number(values.polls ?? (quick ? 20 : 50));
const reenrolls = Number(values.reenrolls ?? (quick ? 5 : 15));
const fleetDevices = Number(values['fleet-devices'] ?? (quick ? 1000 : 10_000));
const fleetDays = Number(values['fleet-days'] ?? 90);
const fwSizes = (values.fw ?? (quick ? '16' : '16,256')).split(',').filter(Boolean).map(Number);

const mb = (b: number): string => `${(b / MB).toFixed(1)} MB`;
const ms = (x: number): string => `${x.toFixed(1)} ms`;
interface Row {
  what: string;
  value: string;
  baseline: string;
  ratio: string;
  target: string;
  verdict: string;
}
const rows: Row[] = [];
const row = (what: string, value: string, o: { baseline?: string; ratio?: number; target?: string; ok?: boolean } = {}): void => {
  rows.push({
    what,
    value,
    baseline: o.baseline ?? '',
    ratio: o.ratio === undefined ? '' : `${o.ratio.toFixed(2)}×`,
    target: o.target ?? '',
    verdict: o.ok === undefined ? '' : o.ok ? 'ok' : 'MISSED',
  });
};

// Node 24 refuses --no-expose-wasm (bad option; Node 20 and 22 accept it and need it to silence --jitless's warning).
const JITLESS = ['--jitless', ...(Number(process.versions.node.split('.')[0]) < 24 ? ['--no-expose-wasm'] : [])];
// Every process the bench starts runs as a device's unit would: without NODE_EXTRA_CA_CERTS. Node 20 reads that
// file at every start, before any script (a 146-certificate bundle here: ≈ 75 ms and 416 M instructions, more than
// `node -e 0` itself); a shell or CI environment that sets it inflates the baseline and every start-up figure alike.
// enrolld gives every TLS context its configured anchors as `ca`, so the variable never reaches its trust decisions.
const extraCaCerts = process.env.NODE_EXTRA_CA_CERTS;
delete process.env.NODE_EXTRA_CA_CERTS;
const load0 = os.loadavg();
const node0 = await nodeBaseline(quick ? 5 : 11);
if (extraCaCerts !== undefined) row('environment: NODE_EXTRA_CA_CERTS removed for every process the bench starts (was set)', extraCaCerts);
row('baseline: node -e 0 (wall / peak RSS, median)', `${ms(node0.wallMs)} / ${mb(node0.maxRss)}`);
// Floors under the start-up and memory targets, same node, same run: a bare node idle, and node with the libraries
// the design requires (pkijs, asn1js) plus node's TLS/HTTPS imported — what any agent on them holds resident.
// Node 20–23 also parse their ~146 bundled root certificates when a process builds its first TLS context with a `ca`
// of its own (SecureContext::AddCACert compares against the root store, creating it: ≈ 210 M instructions, 20 ms
// here), although those roots are never used; the wrapper makes node's default store OpenSSL's, pointed at nothing.
const PRE24 = Number(process.versions.node.split('.')[0]) < 24;
const WRAPPER = [...JITLESS, '--max-semi-space-size=1', ...(PRE24 ? ['--use-openssl-ca'] : [])];
const WRAPPER_ENV: Record<string, string> = PRE24 ? { SSL_CERT_FILE: '/dev/null', SSL_CERT_DIR: '/dev/null' } : {};
for (const [tag, nodeArgs] of want('startup') ? ([['', []], [', .deb wrapper flags', WRAPPER]] as const) : []) {
  const n = quick ? 3 : 5;
  for (const [what, imports] of [['bare node', 'none'], ['node + node:crypto, fs/promises, stream (the built-ins loaded before READY)', 'builtins'], ['node + pkijs + asn1js + node:tls/https imported', 'libraries']] as const) {
    const f = await idleFloor(n, { nodeArgs: [...nodeArgs], imports });
    const m = f.idle;
    row(`floor${tag}: ${what}, idle 3 s: VmRSS (vs node -e 0 peak) / RssAnon / RssFile`, `${mb(m.rss)} (base${m.rss >= node0.maxRss ? '+' : '−'}${mb(Math.abs(m.rss - node0.maxRss))}) / ${mb(m.rssAnon)} / ${mb(m.rssFile)}`, { target: 'base+10 MB; anon ≤ 12 MB' });
    const from = imports === 'libraries' ? ' (from node_modules, not bundled)' : '';
    if (imports !== 'none') row(`floor${tag}: ${what}${from}: spawn → exit, median of ${n}`, ms(f.wallMs), { baseline: ms(node0.wallMs), ratio: f.wallMs / node0.wallMs, target: '≤ 1.5× (READY)' });
  }
}
const env = await startAgentEnv();
let idleRss = NaN;
try {
  // tsc output and the production bundle; the bundle's compile cache (Node >= 22) starts empty in this run.
  const ccDir = `${env.dir}/compile-cache`;
  const variants: Array<[string, DaemonStartOptions]> = [
    ['tsc output', { main: TSC_MAIN }],
    ['bundle', { main: BUNDLE_MAIN, env: { ENROLLD_COMPILE_CACHE: ccDir } }],
    ['bundle, --max-semi-space-size=1 --max-old-space-size=64', { main: BUNDLE_MAIN, env: { ENROLLD_COMPILE_CACHE: ccDir }, nodeArgs: ['--max-semi-space-size=1', '--max-old-space-size=64'] }],
    ['bundle, --jitless', { main: BUNDLE_MAIN, env: { ENROLLD_COMPILE_CACHE: ccDir }, nodeArgs: JITLESS } ],
    ['bundle, the .deb wrapper\'s flags and environment', { main: BUNDLE_MAIN, env: { ENROLLD_COMPILE_CACHE: ccDir, ...WRAPPER_ENV }, nodeArgs: WRAPPER }],
  ];
  // READY, and the memory `settleMs` after the first loop: 3 s (the target's moment), and 15 s for the .deb wrapper,
  // once V8's memory reducer has run (≈ 8–10 s into an idle period: the steady state a sleeping device keeps)
  const daemonRows = (tag: string, d: Awaited<ReturnType<typeof daemonStart>>, settle = '3 s'): void => {
    const anon = [...d.restarts].sort((a, b) => a.idle.rss - b.idle.rss)[Math.floor(d.restarts.length / 2)]!.idle;
    const readyRatio = d.readyMsMedian / node0.wallMs;
    if (settle === '3 s') row(`enrolld run (${tag}): spawn → READY=1, median of ${restarts}`, ms(d.readyMsMedian), { baseline: ms(node0.wallMs), ratio: readyRatio, target: '≤ 1.5×', ok: readyRatio <= 1.5 });
    row(`enrolld run (${tag}): idle VmRSS ${settle} after the first loop`, mb(d.idleRssMedian), { baseline: mb(node0.maxRss), ratio: d.idleRssMedian / node0.maxRss, target: '≤ base+10 MB', ok: d.idleRssMedian <= node0.maxRss + 10 * MB });
    row(`enrolld run (${tag}): idle RssAnon / RssFile ${settle} after the first loop`, `${mb(anon.rssAnon)} / ${mb(anon.rssFile)}`, { target: 'anon ≤ 12 MB', ok: anon.rssAnon <= 12 * MB });
  };
  for (const [tag, opts] of want('startup') ? variants : []) {
    const d = await daemonStart(env, restarts, opts);
    if (tag === 'tsc output') idleRss = d.idleRssMedian;
    daemonRows(tag, d);
    if (opts.nodeArgs === WRAPPER) daemonRows(tag, await daemonStart(env, restarts, { ...opts, settleMs: 15_000 }), '15 s');
  }
  if (want('startup')) {
    // the shipped example config's features (firmware, TAMP, key packages with the KEK, MQTT): a real device's start
    const dev = await startDeviceConfigEnv();
    try {
      const opts: DaemonStartOptions = { main: BUNDLE_MAIN, env: { ENROLLD_COMPILE_CACHE: `${dev.dir}/compile-cache`, ...WRAPPER_ENV }, nodeArgs: WRAPPER };
      const tag = 'the .deb wrapper, the example config\'s features: firmware, TAMP, key packages, MQTT';
      daemonRows(tag, await daemonStart(dev, restarts, opts));
      daemonRows(tag, await daemonStart(dev, restarts, { ...opts, settleMs: 15_000 }), '15 s');
    } finally {
      await dev.stop();
    }
  const ph = await startupPhases(env, restarts);
  row('startup phases, tsc output (median): node boot / import / compose / bootstrap', `${ms(ph.nodeBoot)} / ${ms(ph.importModules)} / ${ms(ph.compose)} / ${ms(ph.bootstrap)}`);
  }

  if (want('poll')) {
  const p = await pollCycle(env, polls);
  for (const [tag, v] of [['full handshake', p.full], ['TLS resumption', p.resume]] as const) {
    row(`no-change PAL poll, ${tag}: agent CPU/cycle (median)`, ms(v.cpuMsMedian), { target: '≤ 10 ms', ok: v.cpuMsMedian <= 10 });
    row(`no-change PAL poll, ${tag}: agent CPU/cycle (p90)`, ms(v.cpuMsP90));
    row(`no-change PAL poll, ${tag}: wall time (median)`, ms(v.wallMsMedian));
    row(`no-change PAL poll, ${tag}: bytes on the wire/cycle (up+down)`, `${v.bytesPerCycle} B (${v.upPerCycle}+${v.downPerCycle})`);
    row(`no-change PAL poll, ${tag}: TCP/TLS connections/cycle`, String(v.connectionsPerCycle));
  }
  row(`poll probe process after ${2 * polls + 6} polls: VmRSS (RssAnon)`, `${mb(p.memory.rss)} (${mb(p.memory.rssAnon)})`);
  }

  if (want('enroll')) {
  const e = await enrollLatency(env, reenrolls);
  if (e.load) row(`before the initial enroll: loading the ${e.load.modules} deferred module groups (ASN.1 stack, EST operations), CPU / wall`, `${ms(e.load.cpuMs)} / ${ms(e.load.wallMs)}`);
  for (const [tag, b, limit] of [['initial enroll (Basic), 1 sample', e.enroll, 40], [`re-enroll (TPM TLS client auth), median of ${reenrolls}`, e.reenroll, 25]] as const) {
    if (!b) continue;
    row(`${tag}: wall`, ms(b.wallMs));
    row(`${tag}: TPM time (${b.tpmCalls} commands${tag.startsWith('re') ? ' + engine sign' : ''})`, ms(b.tpmMs));
    row(`${tag}: agent CPU (TPM and server excluded)`, ms(b.cpuMs), { target: `≤ ${limit} ms`, ok: b.cpuMs <= limit });
    row(`${tag}: network + server (rest of wall)`, ms(b.networkMs));
    row(`${tag}: bytes on the wire`, `${b.bytes} B`);
    row(`${tag}: TCP/TLS connections`, String(b.connections));
  }
  row('re-enroll: agent CPU by thread, mean (event loop / other threads)', `${ms(e.threads.mainMsPerReenroll)} / ${ms(e.threads.otherMsPerReenroll)}`);
  // The same probe under the .deb wrapper's flags, as a device's unit runs the agent: --jitless has no optimising
  // compiler, whose background threads are most of the "other threads" above when re-enrollments run back to back.
  const w = await enrollLatency(env, reenrolls, WRAPPER, WRAPPER_ENV);
  if (w.enroll) row('initial enroll, .deb wrapper flags: agent CPU (TPM and server excluded)', ms(w.enroll.cpuMs), { target: '≤ 40 ms', ok: w.enroll.cpuMs <= 40 });
  row(`re-enroll, .deb wrapper flags, median of ${reenrolls}: agent CPU (TPM and server excluded)`, ms(w.reenroll.cpuMs), { target: '≤ 25 ms', ok: w.reenroll.cpuMs <= 25 });
  row('re-enroll, .deb wrapper flags: agent CPU by thread, mean (event loop / other threads)', `${ms(w.threads.mainMsPerReenroll)} / ${ms(w.threads.otherMsPerReenroll)}`);
  }

  const n = quick ? 3 : 7;
  if (want('shell')) {
  const shell = await shellEnrollment(env, n);
  row(`baseline: shell enrollment (openssl req -new + curl /simpleenroll), median of ${n}`, `${ms(shell.wallMs)} / ${mb(shell.maxRss)}`);
  // /usr/bin/enrolld enroll --now runs the bundle under the wrapper's flags and environment, as the unit does
  for (const [tag, main, args, nodeEnv] of [['tsc output', TSC_MAIN, [], {}], ['bundle', BUNDLE_MAIN, [], {}], ['bundle, the .deb wrapper', BUNDLE_MAIN, WRAPPER, WRAPPER_ENV]] as const) {
    const r = await enrollNow(env, main, n, [...args], nodeEnv);
    const ratio = r.wallMs / shell.wallMs;
    row(`enrolld enroll --now (${tag}), whole process: wall / CPU / peak RSS`, `${ms(r.wallMs)} / ${ms(r.cpuMs)} / ${mb(r.maxRss)}`, { baseline: ms(shell.wallMs), ratio, target: '≤ 2×', ok: ratio <= 2 });
  }
  }
} finally {
  await env.stop();
}

if (fwSizes.length && want('firmware')) {
  const fw = await firmwareApply(fwSizes);
  for (const r of fw) {
    if (!r.ok && r.error) {
      row(`firmware apply ${r.sizeMb} MB`, `failed: ${r.error.slice(0, 60)}`, { ok: false });
      continue;
    }
    const peak = r.hwm ?? r.peakRss;
    row(`firmware apply ${r.sizeMb} MB (${(r.ms / 1000).toFixed(1)} s): peak VmHWM − start RSS`, `${mb(peak - r.idleRss)} (${mb(r.idleRss)} → ${mb(peak)})`, { baseline: mb(r.idleRss), target: '≤ +16 MB', ok: peak - r.idleRss <= 16 * MB });
    if (Number.isFinite(idleRss)) row(`firmware apply ${r.sizeMb} MB: peak vs enrolld idle VmRSS + 16 MB`, `${mb(peak)} vs ${mb(idleRss + 16 * MB)}`, { ok: peak <= idleRss + 16 * MB });
  }
}

// Fleet-scale schedule (real Daemon/Enroller on a simulated clock): server peak vs mean enrollments per minute.
for (const [jitter, outage] of want('fleet') ? FLEET_SCENARIOS : []) {
  const r = await simulateFleet({ devices: fleetDevices, days: fleetDays, jitter, ...(outage ? { outage } : {}) });
  const tag = `fleet ${fleetDevices} devices, ${fleetDays} days, jitter ${jitter ? 'on' : 'off'}${outage ? `, ${outage.hours} h outage day ${outage.startDay}` : ''}`;
  row(`${tag}: peak (1 h window) / mean enrollments per min`, `${r.peakPerMinute.toFixed(2)} / ${r.meanPerMinute.toFixed(3)}`, { baseline: 'mean', ratio: r.ratio, target: '≤ 3×', ok: r.ratio <= 3 });
  row(`${tag}: peak/mean over 6 h / 24 h windows; refused; lapsed`, `${r.ratioByWindow[360]!.toFixed(2)}× / ${r.ratioByWindow[1440]!.toFixed(2)}×; ${r.refused}; ${r.lapsed}`);
}

// --- further benchmarks register here (one line each) ---
if (want('fleet')) for (const r of await (await import('./fleet-view.js')).fleetViewBench(quick ? [1000] : [1000, 10_000])) row(r.what, r.value);

const cpu = os.cpus();
const mem = /MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'));
console.log(`date ${new Date().toISOString()}; ${cpu[0]?.model ?? '?'} × ${cpu.length} (nproc ${os.availableParallelism()}), RAM ${mem ? (Number(mem[1]) / 2 ** 20).toFixed(1) : '?'} GiB`);
console.log(`node ${process.version}, node's OpenSSL ${process.versions.openssl}; load average before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const width = (k: keyof Row, title: string): number => Math.max(title.length, ...rows.map((r) => r[k].length));
const W = { what: width('what', 'measurement'), value: width('value', 'value'), baseline: width('baseline', 'baseline'), ratio: width('ratio', 'ratio'), target: width('target', 'target') };
console.log(`${'measurement'.padEnd(W.what)}  ${'value'.padStart(W.value)}  ${'baseline'.padStart(W.baseline)}  ${'ratio'.padStart(W.ratio)}  ${'target'.padEnd(W.target)}  verdict`);
for (const r of rows) console.log(`${r.what.padEnd(W.what)}  ${r.value.padStart(W.value)}  ${r.baseline.padStart(W.baseline)}  ${r.ratio.padStart(W.ratio)}  ${r.target.padEnd(W.target)}  ${r.verdict}`);
process.exitCode = 0; // a missed target is a finding (bench/RESULTS.md), not a crash
