// Benchmark: one no-change PAL poll cycle of the composed agent against the lab server on loopback.
// Reports CPU per cycle (process.cpuUsage; the lab server runs in the same process, so this is an upper bound on the
// agent's share) and bytes on the wire per cycle (client sockets, counted via node:diagnostics_channel).
import tls, { type TLSSocket } from 'node:tls';
import { startAgentEnv } from '../deploy/lab/environment.js';
import { composeAgent } from '../agent/cli/compose.js';
import { memoryLogger } from '../agent/util/log.js';

export interface PollCycleResult {
  cycles: number;
  cpuMsMedian: number;
  cpuMsP90: number;
  wallMsMedian: number;
  bytesPerCycle: number;
  connectionsPerCycle: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p90 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!;

export async function pollCycle(cycles = 50, warmup = 5): Promise<PollCycleResult> {
  const env = await startAgentEnv();
  const agent = await composeAgent(env.config, { log: memoryLogger('warn') });
  const sockets: TLSSocket[] = [];
  const connect = tls.connect;
  // Count what the agent's HTTPS transport opens (https.Agent calls tls.connect through the module object).
  (tls as { connect: typeof tls.connect }).connect = ((...args: Parameters<typeof tls.connect>) => {
    const s = connect(...args);
    sockets.push(s);
    return s;
  }) as typeof tls.connect;
  try {
    const state = (await agent.enroller.step()).state;
    const cpu: number[] = [];
    const wall: number[] = [];
    for (let i = 0; i < warmup; i++) await agent.poller.poll(state);
    sockets.length = 0;
    for (let i = 0; i < cycles; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const out = await agent.poller.poll(state);
      wall.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
      if (out.renew) throw new Error('the PAL asked for something: not a no-change cycle');
    }
    await new Promise((r) => setTimeout(r, 50));
    const bytes = sockets.reduce((n, s) => n + s.bytesRead + s.bytesWritten, 0);
    return {
      cycles,
      cpuMsMedian: median(cpu),
      cpuMsP90: p90(cpu),
      wallMsMedian: median(wall),
      bytesPerCycle: Math.round(bytes / cycles),
      connectionsPerCycle: sockets.length / cycles,
    };
  } finally {
    (tls as { connect: typeof tls.connect }).connect = connect;
    await agent.close();
    await env.stop();
  }
}
