// A device environment for agent tests: the lab's environment (swtpm, lab server, config.json in a temp dir) with
// the config read by the agent's own parser, as the daemon would read it.
import { parseConfig, type Config } from '../../agent/config.js';
import { startLabEnv, startPlainLabEnv, type LabEnv } from '../../deploy/lab/environment.js';
import type { LabServer, LabServerOptions } from '../../deploy/lab/server.js';
import type { PlainLabOptions, PlainLabServer } from '../../deploy/lab/plain/server.js';

export type AgentEnvOf<L> = LabEnv<L> & { config: Config };
export type AgentEnv = AgentEnvOf<LabServer>;
export type PlainAgentEnv = AgentEnvOf<PlainLabServer>;

async function withConfig<L>(env: LabEnv<L>): Promise<AgentEnvOf<L>> {
  try {
    return { ...env, config: parseConfig(env.configDoc, env.dir) };
  } catch (e) {
    await env.stop();
    throw e;
  }
}

export async function startAgentEnv(opts: { lab?: LabServerOptions; config?: Record<string, unknown>; deviceId?: string } = {}): Promise<AgentEnv> {
  return withConfig(await startLabEnv(opts));
}

/** The same environment against the plain RFC 7030 profile (deploy/lab/plain/). */
export async function startPlainAgentEnv(opts: { lab?: PlainLabOptions; config?: Record<string, unknown>; deviceId?: string } = {}): Promise<PlainAgentEnv> {
  return withConfig(await startPlainLabEnv(opts));
}
