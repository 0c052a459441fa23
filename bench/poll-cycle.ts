// Benchmark: the no-change PAL poll cycle (GET /pal → empty PAL) of the composed agent, in its own process (not the
// lab server's): CPU per cycle (process.cpuUsage of the agent process, all threads), its RSS after the cycles, and
// bytes on the wire per cycle counted at a TCP relay (TLS handshake and records included) — once with a full TLS
// handshake per cycle and once with TLS session resumption (the transport's default).
import type { AgentEnv } from '../test/harness/agent-env.js';
import type { ProcMemory } from './proc-status.js';
import { delta, relayConfig, runProbe } from './probe-runner.js';
import { startRelay } from './relay.js';

export interface PollVariant {
  cpuMsMedian: number;
  cpuMsP90: number;
  wallMsMedian: number;
  bytesPerCycle: number;
  upPerCycle: number;
  downPerCycle: number;
  connectionsPerCycle: number;
}

export interface PollCycleResult {
  cycles: number;
  full: PollVariant;
  resume: PollVariant;
  memory: ProcMemory;
}

interface ProbePoll {
  full: Omit<PollVariant, 'bytesPerCycle' | 'upPerCycle' | 'downPerCycle' | 'connectionsPerCycle'>;
  resume: PollVariant;
  memory: ProcMemory;
}

export async function pollCycle(env: AgentEnv, cycles = 50): Promise<PollCycleResult> {
  const relay = await startRelay(env.lab.port);
  try {
    const { result, marks } = await runProbe<ProbePoll>(relayConfig(env, relay), relay, 'poll', cycles);
    const variant = (tag: 'full' | 'resume'): PollVariant => {
      const d = delta(marks[`${tag}-start`]!, marks[`${tag}-end`]!);
      return {
        ...result[tag],
        bytesPerCycle: Math.round((d.up + d.down) / cycles),
        upPerCycle: Math.round(d.up / cycles),
        downPerCycle: Math.round(d.down / cycles),
        connectionsPerCycle: d.connections / cycles,
      };
    };
    return { cycles, full: variant('full'), resume: variant('resume'), memory: result.memory };
  } finally {
    await relay.close();
  }
}
