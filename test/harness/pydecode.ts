// Independent decoders for the wire-format tests: Debian's python3-pyasn1-modules (run with /usr/bin/python3, the
// interpreter that has it) through the scripts in test/harness/pyasn1/, and openssl. Nothing here uses the agent's
// own ASN.1 code. A missing pyasn1_modules is a test failure with the package name, never a silent skip.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabRequest, LabResponse, Router } from '../../deploy/lab/router.js';

export const PYTHON = '/usr/bin/python3';
/** The scripts stay in the source tree (tsc does not copy them): dist/test/harness → test/harness/pyasn1. */
export const PYASN1_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/harness/pyasn1');

/** Throws a clear error unless /usr/bin/python3 can import pyasn1_modules 0.2.x (call it in test.before). */
export function requirePyasn1(): string {
  const r = spawnSync(PYTHON, ['-c', 'import pyasn1_modules, pyasn1; print(pyasn1_modules.__version__)'], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) {
    throw new Error(`independent decoder unavailable: ${PYTHON} cannot import pyasn1_modules (install the Debian package python3-pyasn1-modules; deploy/dev-setup.sh does): ${r.error?.message ?? r.stderr.trim()}`);
  }
  return r.stdout.trim();
}

function run(cmd: string, args: string[], input?: Uint8Array): Buffer {
  const r = spawnSync(cmd, args, { input: input ? Buffer.from(input) : undefined, timeout: 60_000, maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.map((a) => path.basename(a)).join(' ')} exited ${r.status}: ${r.stderr.toString().trim()}`);
  return r.stdout;
}

/** Runs test/harness/pyasn1/<script> on DER (stdin) and returns its JSON. Decode failures throw with the reason. */
export function pyDecode<T = any>(script: string, der: Uint8Array, args: string[] = []): T {
  if (der.byteLength === 0) throw new Error(`${script}: no input`);
  const out = run(PYTHON, [path.join(PYASN1_DIR, script), ...args, '-'], der);
  return JSON.parse(out.toString('utf8')) as T;
}

/** Like pyDecode for many inputs in one interpreter run (starting Python costs seconds on a loaded machine). */
export function pyDecodeMany<T = any>(script: string, ders: Uint8Array[], args: string[] = []): T[] {
  if (ders.length === 0) return [];
  const out = run(PYTHON, [path.join(PYASN1_DIR, script), ...args, '--batch'], new TextEncoder().encode(JSON.stringify(ders.map((d) => Buffer.from(d).toString('hex')))));
  return JSON.parse(out.toString('utf8')) as T[];
}

/** DER built by test/harness/pyasn1/encode.py (pyasn1-modules), e.g. pyEncode('nonce-response', ['--nonce=…']). */
export function pyEncode(command: string, args: string[] = []): Uint8Array {
  return new Uint8Array(run(PYTHON, [path.join(PYASN1_DIR, 'encode.py'), command, ...args]));
}

/** openssl with files in a private temp dir: `files` are written there first, `{dir}` in args is replaced. */
export function openssl(args: string[], files: Record<string, Uint8Array | string> = {}, input?: Uint8Array): { stdout: Buffer; dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-ossl-'));
  for (const [n, v] of Object.entries(files)) writeFileSync(path.join(dir, n), v);
  try {
    const stdout = run('openssl', args.map((a) => a.replaceAll('{dir}', dir)), input);
    return { stdout, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** openssl output as text, temp dir removed. */
export function opensslText(args: string[], files: Record<string, Uint8Array | string> = {}, input?: Uint8Array): string {
  const r = openssl(args, files, input);
  r.cleanup();
  return r.stdout.toString('utf8');
}

export interface Tapped {
  method: string;
  path: string;
  contentType: string | undefined;
  request: Uint8Array;
  status: number;
  responseType: string | undefined;
  response: Uint8Array;
}

/** Records every request/response body the lab router serves (the bytes on the wire, after HTTP framing). */
export function tapRouter(router: Router): Tapped[] {
  const seen: Tapped[] = [];
  const match = router.match.bind(router);
  router.match = (method: string, p: string) => {
    const m = match(method, p);
    if (!m || !('handler' in m)) return m;
    const handler = async (req: LabRequest): Promise<LabResponse> => {
      const res = await m.handler(req);
      const body = res.body === undefined ? new Uint8Array() : typeof res.body === 'string' ? new TextEncoder().encode(res.body) : new Uint8Array(res.body);
      const header = (h: Record<string, string> | undefined, n: string) => Object.entries(h ?? {}).find(([k]) => k.toLowerCase() === n)?.[1];
      seen.push({ method, path: p, contentType: req.headers['content-type'], request: new Uint8Array(req.body), status: res.status, responseType: header(res.headers, 'content-type'), response: body });
      return res;
    };
    return { handler, params: m.params };
  };
  return seen;
}

/** Base64 body (EST, RFC 7030 §4: base64 with line breaks) → DER. */
export function unbase64(b: Uint8Array): Uint8Array {
  return new Uint8Array(Buffer.from(Buffer.from(b).toString('latin1').replace(/[\s\0]/g, ''), 'base64'));
}

export const hex = (b: Uint8Array | ArrayBuffer): string => Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b).toString('hex');

/** RFC 5280 §4.2.1.2 method 1 key identifier of a PEM public key, by openssl (not the agent's code): SHA-1 of the subjectPublicKey BIT STRING contents. */
export function opensslKeyId(pem: string): string {
  const parsed = opensslText(['asn1parse', '-in', '{dir}/k.pem'], { 'k.pem': pem });
  const offset = Number(/^\s*(\d+):/.exec(parsed.split('\n').find((l) => /BIT STRING/.test(l)) ?? '')?.[1]);
  if (!Number.isInteger(offset)) throw new Error(`no BIT STRING in the public key: ${parsed}`);
  const r = openssl(['asn1parse', '-in', '{dir}/k.pem', '-strparse', String(offset), '-noout', '-out', '{dir}/pk.der'], { 'k.pem': pem });
  try {
    return createHash('sha1').update(readFileSync(path.join(r.dir, 'pk.der'))).digest('hex');
  } finally {
    r.cleanup();
  }
}
