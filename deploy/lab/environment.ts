// A complete lab device environment (used by `enrolld demo` and the integration tests): a fresh swtpm, the lab server, and an
// enrolld config document + state directory in a temp dir (secrets 0600). The agent side reads config.json with its
// own parser (test/harness/agent-env.ts, agent/cli/demo.ts); the lab only writes the JSON.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLabServer, type LabServer, type LabServerOptions } from './server.js';
import { startSwtpm, type Swtpm } from './swtpm.js';
import { createPlainLabServer, type PlainLabOptions, type PlainLabServer } from './plain/server.js';

/** What the environment needs of a lab server profile. */
interface EnvLab {
  url: string;
  trustAnchorPem: string;
  close(): Promise<void>;
}

export interface LabEnv<L> {
  dir: string;
  tpm: Swtpm;
  lab: L;
  /** The enrolld config document written to `configPath` (relative paths are relative to `dir`). */
  configDoc: Record<string, unknown>;
  configPath: string;
  stop(): Promise<void>;
}

export type LabAgentEnv = LabEnv<LabServer>;
export type PlainLabAgentEnv = LabEnv<PlainLabServer>;

async function startEnv<L extends EnvLab>(
  createLab: (users: Record<string, string>) => Promise<L>,
  opts: { config?: Record<string, unknown>; deviceId?: string; prefix: string },
): Promise<LabEnv<L>> {
  const deviceId = opts.deviceId ?? 'dev-0001';
  const dir = mkdtempSync(path.join(os.tmpdir(), opts.prefix));
  const tpm = await startSwtpm();
  let lab: L | undefined;
  try {
    lab = await createLab({ [deviceId]: 'factory-secret' });
    writeFileSync(path.join(dir, 'est-ta.pem'), lab.trustAnchorPem, { mode: 0o644 });
    writeFileSync(path.join(dir, 'est-password'), 'factory-secret\n', { mode: 0o600 });
    const doc = {
      deviceId,
      stateDir: path.join(dir, 'state'),
      tpm: { tcti: tpm.tcti, flushStaleTransients: true },
      est: { url: lab.url, trustAnchorsFile: 'est-ta.pem', basicAuth: { username: deviceId, passwordFile: 'est-password' } },
      identity: { subject: `CN=${deviceId},O=enrolld demo`, dnsNames: [`${deviceId}.devices.example`] },
      ...opts.config,
    };
    const configPath = path.join(dir, 'config.json');
    writeFileSync(configPath, JSON.stringify(doc, null, 2), { mode: 0o600 });
    const l = lab;
    return {
      dir,
      tpm,
      lab,
      configDoc: doc,
      configPath,
      async stop() {
        await l.close().catch(() => undefined);
        await tpm.stop().catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await lab?.close().catch(() => undefined);
    await tpm.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

export function startLabEnv(opts: { lab?: LabServerOptions; config?: Record<string, unknown>; deviceId?: string } = {}): Promise<LabAgentEnv> {
  return startEnv((users) => createLabServer({ users, ...opts.lab }), { ...opts, prefix: 'enrolld-env-' });
}

/**
 * The same device environment against the `plain` profile (deploy/lab/plain/): an RFC 7030 server that shares no
 * code with the agent. The identity asks for O= (which the plain CA drops) so renewal must copy the issued subject.
 */
export function startPlainLabEnv(opts: { lab?: PlainLabOptions; config?: Record<string, unknown>; deviceId?: string } = {}): Promise<PlainLabAgentEnv> {
  return startEnv((users) => createPlainLabServer({ users, ...opts.lab }), { ...opts, prefix: 'enrolld-plain-' });
}
