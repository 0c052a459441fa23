// `npm run bench`: runs the benchmarks and prints one table. bench/firmware-apply.ts runs on its own
// (`node dist/bench/firmware-apply.js 16 256`) because it writes large temp files.
import os from 'node:os';
import { pollCycle } from './poll-cycle.js';

const r = await pollCycle(Number(process.argv[2] ?? 50));
const rows: Array<[string, string, string]> = [
  ['no-change PAL poll: CPU/cycle (median, agent+lab upper bound)', `${r.cpuMsMedian.toFixed(2)} ms`, '≤ 15 ms'],
  ['no-change PAL poll: CPU/cycle (p90)', `${r.cpuMsP90.toFixed(2)} ms`, ''],
  ['no-change PAL poll: wall time (median)', `${r.wallMsMedian.toFixed(2)} ms`, ''],
  ['no-change PAL poll: HTTP bytes/cycle (TLS records excluded)', `${r.bytesPerCycle} B`, ''],
  ['no-change PAL poll: TLS connections/cycle', `${r.connectionsPerCycle}`, ''],
];
console.log(`machine: ${os.cpus()[0]?.model ?? '?'} × ${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}; ${r.cycles} cycles`);
for (const [k, v, t] of rows) console.log(`${k.padEnd(62)} ${v.padStart(10)}  ${t}`);
