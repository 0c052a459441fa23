// Benchmark: how long `enrolld fleet` takes to the first full view of N devices' retained state and status, on a
// private mosquitto (loopback) seeded with the agent's own encoder. Two figures per size:
//   - in process (readFleet): connect → last retained message received, and → snapshot complete (adds the quiet
//     period, 500 ms by default, that decides completeness);
//   - the CLI as an operator runs it (`enrolld fleet --json`, node start-up, decode, render, exit), wall time.
// Run alone: node dist/bench/fleet-view.js [sizes, default 1000,10000]
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startMosquitto } from '../test/harness/mosquitto.js';
import { seedFleet } from '../test/harness/fleet-sim.js';
import { ENROLLD_MAIN } from '../test/harness/cli.js';
import { readFleet } from '../agent/cli/fleet.js';

export interface FleetViewRow {
  what: string;
  value: string;
}

function cliWall(url: string, prefix: string): Promise<{ ms: number; devices: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ENROLLD_MAIN, 'fleet', '--url', url, '--prefix', prefix, '--json', '--timeout', '120s'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`enrolld fleet exited ${code}`));
      resolve({ ms: performance.now() - t0, devices: (JSON.parse(out) as { summary: { devices: number } }).summary.devices });
    });
  });
}

export async function fleetViewBench(sizes: number[] = [1000, 10_000]): Promise<FleetViewRow[]> {
  const rows: FleetViewRow[] = [];
  // Each client's per-connection queue must hold a whole fleet's retained messages only for QoS > 0; the view reads
  // them at QoS 0, so the broker runs with its defaults.
  const broker = await startMosquitto();
  try {
    for (const n of sizes) {
      const prefix = `bench${n}/v1`;
      const t0 = performance.now();
      await seedFleet(broker.url, prefix, n, new Date());
      const seedMs = performance.now() - t0;
      const t1 = performance.now();
      const v = await readFleet({ url: broker.url, prefix }, {}, { timeoutMs: 120_000 });
      const doneMs = performance.now() - t1;
      if (v.summary.devices !== n) throw new Error(`fleet view saw ${v.summary.devices} of ${n} devices`);
      const cli = await cliWall(broker.url, prefix);
      if (cli.devices !== n) throw new Error(`enrolld fleet saw ${cli.devices} of ${n} devices`);
      rows.push(
        { what: `fleet view ${n} devices: connect → last retained message (in process)`, value: `${v.snapshot!.ms.toFixed(0)} ms` },
        { what: `fleet view ${n} devices: → snapshot complete (+ 500 ms quiet period)`, value: `${doneMs.toFixed(0)} ms` },
        { what: `fleet view ${n} devices: \`enrolld fleet --json\` wall time`, value: `${cli.ms.toFixed(0)} ms` },
        { what: `fleet view ${n} devices: seeding ${2 * n} retained messages (QoS 1)`, value: `${seedMs.toFixed(0)} ms` },
      );
    }
  } finally {
    await broker.stop();
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sizes = (process.argv[2] ?? '1000,10000').split(',').map(Number);
  for (const r of await fleetViewBench(sizes)) console.log(`${r.what.padEnd(72)} ${r.value}`);
}
