// A private pebble (Debian's ACME test CA) for one test file: loopback ports, its own TLS certificate for
// 127.0.0.1 (made with openssl in a temp dir and trusted explicitly by the client), challenges always valid
// (PEBBLE_VA_ALWAYS_VALID: pebble does not implement remote attestation and a device serves no http-01), no
// random sleeps. stop() ends only the PID it started and removes the temp dir.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePorts } from './ports.js';
import { startProcess, waitForPort } from './proc.js';

export interface Pebble {
  directoryUrl: string;
  /** PEM of pebble's own TLS certificate (the TA a client configures for the ACME server). */
  tlsTrustAnchorPem: string;
  /** PEM of the root that issued certificates chain to (management interface /roots/0). */
  issuerRoot(): Promise<string>;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

export interface PebbleOptions {
  /** Percentage of good nonces pebble rejects as badNonce (PEBBLE_WFE_NONCEREJECT), default 0. */
  nonceRejectPercent?: number;
}

function get(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, timeout: 5000 }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString('utf8')));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode}`))));
      })
      .on('error', reject);
  });
}

export async function startPebble(o: PebbleOptions = {}): Promise<Pebble> {
  const dir = mkdtempSync(path.join(tmpdir(), 'enrolld-pebble-'));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=pebble test', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  const base = await freePorts(4);
  writeFileSync(
    path.join(dir, 'pebble.json'),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${base}`,
        managementListenAddress: `127.0.0.1:${base + 1}`,
        certificate: cert,
        privateKey: key,
        httpPort: base + 2,
        tlsPort: base + 3,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  const env = { ...process.env, PEBBLE_VA_ALWAYS_VALID: '1', PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: String(o.nonceRejectPercent ?? 0), PEBBLE_AUTHZREUSE: '0' };
  const proc = await startProcess('pebble', ['-config', path.join(dir, 'pebble.json')], { env });
  try {
    await waitForPort(base, { proc, timeoutMs: 15_000, what: 'pebble' });
    await waitForPort(base + 1, { proc, timeoutMs: 15_000, what: 'pebble management' });
  } catch (err) {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const ta = readFileSync(cert, 'utf8');
  return {
    directoryUrl: `https://127.0.0.1:${base}/dir`,
    tlsTrustAnchorPem: ta,
    issuerRoot: () => get(`https://127.0.0.1:${base + 1}/roots/0`, ta),
    pid: proc.pid,
    output: () => proc.output(),
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
