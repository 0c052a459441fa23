// Benchmark: enrollment latency of the composed agent in its own process, split into TPM time (the keystore's
// per-command stats: create, load, sign, flush…; plus the TLS engine's CertificateVerify signature on
// re-enrollment, estimated as one signDigest operation), agent CPU (process.cpuUsage: CSR building, TLS crypto,
// certificate validation, state writes) and the rest of the wall time (network + the lab server's work).
// Bytes on the wire per operation from the relay.
import type { AgentEnv } from '../test/harness/agent-env.js';
import { median } from './proc-status.js';
import { delta, relayConfig, runProbe } from './probe-runner.js';
import { startRelay } from './relay.js';

export interface EnrollSample {
  op: string;
  wallMs: number;
  cpuMs: number;
  tpmMs: number;
  tpmCalls: number;
  engineSignMs: number;
}

export interface EnrollBreakdown {
  samples: number;
  wallMs: number;
  tpmMs: number;
  cpuMs: number;
  /** wall − TPM − agent CPU (≥ 0): waiting for the network and the server. */
  networkMs: number;
  tpmCalls: number;
  bytes: number;
  /** TCP (and so TLS) connections opened through the relay. */
  connections: number;
}

export interface EnrollLatencyResult {
  enroll?: EnrollBreakdown;
  reenroll: EnrollBreakdown;
  /** Loading the modules deferred at start-up, before the initial enrollment (timed apart from it). */
  load?: { cpuMs: number; wallMs: number; modules: number };
  /** Re-enrollment CPU by thread (mean; /proc per-thread ticks). */
  threads: { mainMsPerReenroll: number; otherMsPerReenroll: number };
}

/** `nodeArgs`: flags for the probe process (the .deb wrapper's, for the rows of the agent as a device runs it). */
export async function enrollLatency(env: AgentEnv, reenrolls = 10, nodeArgs: string[] = [], nodeEnv: Record<string, string> = {}): Promise<EnrollLatencyResult> {
  const relay = await startRelay(env.lab.port);
  try {
    const { result, marks } = await runProbe<{ samples: EnrollSample[]; threads: EnrollLatencyResult['threads']; load?: EnrollLatencyResult['load'] }>(relayConfig(env, relay, 'config-enroll.json', `state-enroll-${Date.now()}`), relay, 'enroll', reenrolls, undefined, nodeArgs, nodeEnv);
    const withBytes = result.samples.map((s, i) => {
      const name = s.op === 'enroll' ? 'enroll' : `reenroll-${result.samples[0]!.op === 'enroll' ? i - 1 : i}`;
      const d = delta(marks[`${name}-start`]!, marks[`${name}-end`]!);
      return { ...s, bytes: d.up + d.down, connections: d.connections };
    });
    const summarize = (xs: typeof withBytes): EnrollBreakdown => {
      const tpm = xs.map((s) => s.tpmMs + s.engineSignMs);
      return {
        samples: xs.length,
        wallMs: median(xs.map((s) => s.wallMs)),
        tpmMs: median(tpm),
        cpuMs: median(xs.map((s) => s.cpuMs)),
        networkMs: median(xs.map((s, i) => Math.max(0, s.wallMs - tpm[i]! - s.cpuMs))),
        tpmCalls: median(xs.map((s) => s.tpmCalls)),
        bytes: median(xs.map((s) => s.bytes)),
        connections: median(xs.map((s) => s.connections)),
      };
    };
    const first = withBytes.filter((s) => s.op === 'enroll');
    return { ...(first.length ? { enroll: summarize(first) } : {}), reenroll: summarize(withBytes.filter((s) => s.op === 'reenroll')), threads: result.threads, ...(result.load ? { load: result.load } : {}) };
  } finally {
    await relay.close();
  }
}
