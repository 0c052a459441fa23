// Test harness: one private swtpm (TPM 2.0, TCP, no resource manager) per test file. Fresh temp state, two consecutive
// free loopback ports, bounded readiness wait, PID tracked; stop() kills only that PID and removes the state.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from './ports.js';

export interface Swtpm {
  /** TCTI configuration for the addon / tpm2-tools, "swtpm:host=127.0.0.1,port=P". */
  tcti: string;
  stateDir: string;
  pid: number;
  port: number;
  /** The swtpm_localca root CA certificate (PEM path) when started with ekCert. */
  caCertPem?: string;
  stop(): Promise<void>;
}

export interface SwtpmOptions {
  /** Manufacture the TPM first with swtpm_setup: EKs + EK certificates in NV (RSA 0x01c00002, ECC P-384 0x01c00016). */
  ekCert?: boolean;
}

const running = new Map<number, { child: ChildProcess; root: string }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [pid, { root }] of running) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
      rmSync(root, { recursive: true, force: true });
    }
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function manufacture(root: string, stateDir: string): string {
  const ca = path.join(root, 'ca');
  mkdirSync(ca);
  const localcaConf = path.join(root, 'swtpm-localca.conf');
  const localcaOpts = path.join(root, 'swtpm-localca.options');
  const setupConf = path.join(root, 'swtpm_setup.conf');
  writeFileSync(
    localcaConf,
    `statedir = ${ca}\nsigningkey = ${ca}/signkey.pem\nissuercert = ${ca}/issuercert.pem\ncertserial = ${ca}/certserial\n`,
  );
  writeFileSync(localcaOpts, '');
  writeFileSync(
    setupConf,
    `create_certs_tool = /usr/bin/swtpm_localca\ncreate_certs_tool_config = ${localcaConf}\n` +
      `create_certs_tool_options = ${localcaOpts}\nactive_pcr_banks = sha256\n`,
  );
  const r = spawnSync(
    'swtpm_setup',
    ['--tpm2', '--tpmstate', stateDir, '--config', setupConf, '--create-ek-cert', '--ecc', '--overwrite'],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (r.status !== 0) throw new Error(`swtpm_setup failed (${r.status ?? r.signal}): ${r.stderr}${r.stdout}`);
  return path.join(ca, 'swtpm-localca-rootca-cert.pem');
}

export async function startSwtpm(opts: SwtpmOptions = {}): Promise<Swtpm> {
  installExitHook();
  const root = mkdtempSync(path.join(os.tmpdir(), 'enrolld-swtpm-'));
  const stateDir = path.join(root, 'state');
  mkdirSync(stateDir);
  let caCertPem: string | undefined;
  try {
    if (opts.ekCert) caCertPem = manufacture(root, stateDir);
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  const port = await freePorts(2);
  const child = spawn(
    'swtpm',
    [
      'socket', '--tpm2',
      '--tpmstate', `dir=${stateDir}`,
      '--flags', 'not-need-init,startup-clear',
      '--server', `type=tcp,port=${port},bindaddr=127.0.0.1`,
      '--ctrl', `type=tcp,port=${port + 1},bindaddr=127.0.0.1`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `swtpm exited (${code ?? signal}): ${stderr.trim()}`;
  });
  const pid = child.pid;
  if (pid === undefined) {
    rmSync(root, { recursive: true, force: true });
    throw new Error('swtpm did not start (is it installed?)');
  }
  running.set(pid, { child, root });

  const stop = async (): Promise<void> => {
    if (running.has(pid)) {
      running.delete(pid);
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await gone;
        clearTimeout(timer);
      }
    }
    rmSync(root, { recursive: true, force: true });
  };

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(exited);
    }
    if ((await canConnect(port + 1)) && (await canConnect(port))) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`swtpm did not accept connections on 127.0.0.1:${port} within 10 s: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const out: Swtpm = { tcti: `swtpm:host=127.0.0.1,port=${port}`, stateDir, pid, port, stop };
  if (caCertPem) out.caCertPem = caCertPem;
  return out;
}
