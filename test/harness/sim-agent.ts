// A composed agent on a ManualClock against the real lab server and swtpm, with the PAL set up to carry CRL and
// eecerts packages (RFC 8295 types 0004 and 0003) and a counting fault hook at the server boundary — the setup the
// long simulated lifecycle tests share (lifecycle-30d, soak-year).
import { ManualClock } from '../../agent/lifecycle/clock.js';
import { composeAgent, type AgentParts } from '../../agent/cli/compose.js';
import type { Daemon } from '../../agent/lifecycle/daemon.js';
import type { AgentState } from '../../agent/lifecycle/state.js';
import type { Logger } from '../../agent/util/log.js';
import { labPal, type LabPalService } from '../../deploy/lab/pal.js';
import type { LabResponse } from '../../deploy/lab/router.js';
import { startAgentEnv, type AgentEnv } from './agent-env.js';

export interface SimAgentOptions {
  /** Validity of certificates the lab issues (seconds). */
  certValiditySeconds: number;
  /** PAL poll schedule (cron), e.g. "0 * * * *". */
  cron: string;
  log: Logger;
  backoffMinSeconds?: number;
  backoffMaxSeconds?: number;
  start?: Date;
  /** Called after every daemon loop iteration. */
  onIdle?(s: AgentState, next: Date): void;
}

export interface SimAgent {
  clock: ManualClock;
  env: AgentEnv;
  pal: LabPalService;
  agent: AgentParts;
  daemon: Daemon;
  /** Requests that reached the lab's router. */
  readonly requests: number;
  /** While set, every request is answered by this instead of the lab (a storm of 503s, …); counted in faulted. */
  fault: (() => LabResponse) | undefined;
  readonly faulted: number;
  /** Starts the daemon loop (resolves when it stops). */
  run(): Promise<void>;
  /** Stops the daemon loop only (the agent, lab and TPM stay up for inspection). */
  halt(): Promise<void>;
  /** Stops the daemon (if running), closes the agent and stops swtpm + lab; idempotent. */
  stop(): Promise<void>;
}

export async function startSimAgent(o: SimAgentOptions): Promise<SimAgent> {
  const clock = new ManualClock(o.start ?? new Date());
  const env = await startAgentEnv({
    lab: { certValiditySeconds: o.certValiditySeconds, now: () => clock.now() },
    config: { schedule: { cron: o.cron, jitterSeconds: 0, backoffMinSeconds: o.backoffMinSeconds ?? 60, backoffMaxSeconds: o.backoffMaxSeconds ?? 3600 } },
  });
  let agent: AgentParts;
  try {
    const pal = labPal(env.lab.router);
    const base = env.lab.estUrl();
    pal.setPal('dev-0001', [
      { type: '0004', size: 0, info: { kind: 'uri', uri: `${base}/crls` } },
      { type: '0003', size: 0, info: { kind: 'uri', uri: `${base}/eecerts` } },
    ]);
    // A peer certificate for the /eecerts package (valid beyond any simulated run), so 0003 succeeds every poll.
    pal.setEeCerts('dev-0001', [await pal.issuePeerCertificate('peer.devices.example', 800)]);
    agent = await composeAgent(env.config, { clock, log: o.log });
    const daemon = agent.daemon(o.onIdle ? { onIdle: o.onIdle } : {});
    const ac = new AbortController();
    let running: Promise<void> | undefined;
    let stopped = false;
    const sim: SimAgent = {
      clock,
      env,
      pal,
      agent,
      daemon,
      requests: 0,
      fault: undefined,
      faulted: 0,
      run() {
        running ??= daemon.run(ac.signal);
        return running;
      },
      async halt() {
        ac.abort();
        await running?.catch(() => undefined);
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        ac.abort();
        await running?.catch(() => undefined);
        await agent.close().catch(() => undefined);
        await env.stop();
      },
    };
    const counters = sim as { requests: number; faulted: number };
    const match = env.lab.router.match.bind(env.lab.router);
    env.lab.router.match = (method, path) => {
      counters.requests++;
      const fault = sim.fault;
      if (fault) {
        counters.faulted++;
        return { handler: async () => fault(), params: {} };
      }
      return match(method, path);
    };
    return sim;
  } catch (err) {
    await env.stop();
    throw err;
  }
}

/** A cron expression for a PAL poll every `minutes` (a divisor of 60, or whole hours dividing 24, or 1440). */
export function cronEvery(minutes: number): string {
  if (minutes >= 1 && minutes < 60 && 60 % minutes === 0) return minutes === 1 ? '* * * * *' : `*/${minutes} * * * *`;
  if (minutes === 60) return '0 * * * *';
  if (minutes % 60 === 0 && 24 % (minutes / 60) === 0) return minutes === 1440 ? '0 0 * * *' : `0 */${minutes / 60} * * *`;
  throw new Error(`poll interval ${minutes} min: use a divisor of 60, whole hours dividing 24, or 1440`);
}
