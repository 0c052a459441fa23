// Runs bench/agent-probe.js in a child process against the lab (through a byte-counting relay) and collects its
// result plus the relay's counters at each MARK the probe printed.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentEnv } from '../test/harness/agent-env.js';
import type { Relay, RelayCounters } from './relay.js';

const PROBE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'agent-probe.js');

/** Writes a copy of the environment's config whose EST URL is the relay (and optionally another, fresh state dir). */
export function relayConfig(env: AgentEnv, relay: Relay, name = 'config-relay.json', stateDir?: string): string {
  const doc = JSON.parse(readFileSync(path.join(env.dir, 'config.json'), 'utf8')) as { est: { url: string }; stateDir: string };
  doc.est.url = relay.url;
  if (stateDir) doc.stateDir = path.join(env.dir, stateDir);
  const file = path.join(env.dir, name);
  writeFileSync(file, JSON.stringify(doc, null, 2), { mode: 0o600 });
  return file;
}

export interface ProbeOutput<T> {
  result: T;
  marks: Record<string, RelayCounters>;
}

/** `nodeArgs` / `env`: node flags and environment for the probe process (e.g. the .deb wrapper's); none by default. */
export function runProbe<T>(configFile: string, relay: Relay, mode: 'poll' | 'enroll', n: number, timeoutMs = 300_000, nodeArgs: string[] = [], env: Record<string, string> = {}): Promise<ProbeOutput<T>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, PROBE, configFile, mode, String(n)], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    const marks: Record<string, RelayCounters> = {};
    let result: T | undefined;
    let buf = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        if (l.startsWith('MARK ')) {
          marks[l.slice(5)] = relay.snapshot();
          child.stdin!.write('ok\n');
        } else if (l.startsWith('RESULT ')) result = JSON.parse(l.slice(7)) as T;
      }
    });
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0 && result !== undefined) resolve({ result, marks });
      else reject(new Error(`agent probe (${mode}) exited ${code}: ${stderr}`));
    });
  });
}

export function delta(a: RelayCounters, b: RelayCounters): RelayCounters {
  return { connections: b.connections - a.connections, up: b.up - a.up, down: b.down - a.down };
}
