// A private mosquitto broker for one test file: loopback only, a free port, anonymous, no persistence,
// run in the foreground from a temp config. stop() ends only the PID it started and removes the temp dir.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePorts } from './ports.js';
import { startProcess, waitForPort } from './proc.js';

export interface Mosquitto {
  /** mqtt://127.0.0.1:PORT */
  url: string;
  port: number;
  pid: number;
  /** Broker log so far (stdout + stderr), for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface MosquittoOptions {
  /** Binary (default: `mosquitto` from PATH, /usr/sbin on Debian). */
  binary?: string;
  /** Extra config lines appended after the defaults. */
  extraConfig?: string[];
  /** Bound on the start-up wait (default 10 s). */
  startTimeoutMs?: number;
}

const DEFAULT_BINARY = process.env.MOSQUITTO_BIN ?? 'mosquitto';

/** Starts a broker; retries on another port if the chosen one got taken between probing and binding. */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  const binary = options.binary ?? DEFAULT_BINARY;
  const env = { ...process.env, PATH: `${process.env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin` };
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePorts(1);
    const dir = mkdtempSync(path.join(tmpdir(), 'enrolld-mosquitto-'));
    const conf = path.join(dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence false',
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        'log_type notice',
        'log_type information',
        ...(options.extraConfig ?? []),
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const cleanupDir = (): void => rmSync(dir, { recursive: true, force: true });
    let proc;
    try {
      proc = await startProcess(binary, ['-c', conf], { env });
    } catch (err) {
      cleanupDir();
      throw err; // not installed: retrying will not help
    }
    try {
      await waitForPort(port, { proc, timeoutMs: options.startTimeoutMs ?? 10_000, what: 'mosquitto' });
      // Someone else may have bound the port between probe and bind: then our broker has exited.
      if (proc.hasExited()) throw new Error(`mosquitto exited (port ${port} taken?)\n${proc.output()}`);
    } catch (err) {
      lastError = err;
      await proc.stop();
      cleanupDir();
      continue;
    }
    const started = proc;
    return {
      url: `mqtt://127.0.0.1:${port}`,
      port,
      pid: started.pid,
      output: () => started.output(),
      async stop() {
        await started.stop();
        cleanupDir();
      },
    };
  }
  throw lastError instanceof Error ? lastError : new Error(`mosquitto did not start: ${String(lastError)}`);
}
