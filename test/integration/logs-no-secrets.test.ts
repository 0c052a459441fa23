// Everything enrolld prints during a full lifecycle — `enrolld once` (HTTP Basic enrollment with CSR attestation and
// a lab-issued freshness nonce), a renewal (`once` again after the short certificate passed its renew point; TLS
// client auth signed in the TPM, a second nonce), `enroll --now`, `status` — at log level debug, in both output
// formats (plain and journald with JOURNAL_STREAM set), must not contain: the Basic password or the Basic
// credential as base64, an Authorization header, PEM private keys, any TPM private blob (or its hex) from the state
// and AK files, or any nonce the lab issued (base64/base64url/hex). Also: every log line is one event line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAgentEnv } from '../harness/agent-env.js';
import { createAttestationCa, labAkCertifier } from '../../deploy/lab/attestation.js';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import { provisionAttestationKey } from '../../agent/attest/provision.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../agent/cli/main.js');
function run(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000, env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (status) => resolve({ status, out }));
  });
}

/** Every string in a JSON document that looks like binary material (base64 of ≥ 16 bytes). */
function blobStrings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string' && v.length >= 24 && /^[A-Za-z0-9+/]+=*$/.test(v) && !/^[0-9a-f]+$/.test(v)) out.push(v); // not hex serials
  else if (Array.isArray(v)) v.forEach((x) => blobStrings(x, out));
  else if (v && typeof v === 'object') Object.values(v).forEach((x) => blobStrings(x, out));
  return out;
}

/** The private parts of TPM key locations anywhere in a JSON document. */
function privateBlobs(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => privateBlobs(x, out));
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === 'private' && typeof x === 'string') out.push(x);
      else privateBlobs(x, out);
    }
  }
  return out;
}

function forms(b64: string): string[] {
  const bytes = Buffer.from(b64, 'base64');
  // A 40-char slice of each encoding catches partial dumps too.
  return [b64, bytes.toString('base64url'), bytes.toString('hex')].map((s) => s.slice(0, 40));
}

test('a full lifecycle at debug level prints no secret, nonce, private blob or Authorization header', async () => {
  const issued: Uint8Array[] = [];
  const attCa = await createAttestationCa();
  const env = await startAgentEnv({
    lab: {
      // 30 s certificates (the lab backdates notBefore by 60 s: a 90 s window); renewing at 60 % of it puts the renew
      // point before issuance, so every `once` after the first renews, with 30 s to spare even on a loaded machine.
      certValiditySeconds: 30,
      attestation: { trustAnchors: [attCa.root.der], nonce: { random: (n: number) => { const b = new Uint8Array(randomBytes(n)); issued.push(b); return b; } } },
    },
    config: {
      log: { level: 'debug' },
      schedule: { renewFraction: 0.6, jitterSeconds: 0, backoffMinSeconds: 1, backoffMaxSeconds: 2 },
      attestation: { enabled: true, akKeyFile: 'ak.json', akCertFile: 'ak-chain.pem' },
    },
  });
  try {
    const ks = await TpmKeyStore.open({ tcti: env.tpm.tcti });
    try {
      await provisionAttestationKey({ keystore: ks, certifier: labAkCertifier(attCa), deviceId: env.config.deviceId, akKeyFile: env.config.attestation.akKeyFile!, akCertFile: env.config.attestation.akCertFile! });
    } finally {
      await ks.close();
    }
    const cfg = path.join(env.dir, 'config.json');
    let output = '';
    for (const journal of [false, true]) {
      const e = journal ? { JOURNAL_STREAM: '8:12345' } : { JOURNAL_STREAM: '' };
      const steps: string[][] = [['once'], ['status', '--json'], ['once'], ['enroll', '--now'], ['status']];
      for (const args of steps) {
        const r = await run(e, ...args, '--config', cfg);
        assert.is(r.status, 0, r.out);
        output += r.out;
      }
    }
    // The lifecycle really happened: enrollments and renewals with verified evidence, nonces issued.
    assert.ok(issued.length >= 4, `${issued.length} nonces issued`);
    assert.ok(env.lab.attestation.events.filter((x) => x.ok).length >= 4);
    assert.ok(env.lab.attestation.events.every((x) => x.ok));
    assert.match(output, /simplereenroll|reenroll/);

    const secrets: Array<[string, string]> = [
      ['Basic password', 'factory-secret'],
      ['Basic credential (base64)', Buffer.from(`${env.config.deviceId}:factory-secret`).toString('base64')],
    ];
    for (const n of issued) for (const f of forms(Buffer.from(n).toString('base64'))) secrets.push(['lab nonce', f]);
    const files = [path.join(env.config.stateDir, 'state.json'), path.join(env.config.stateDir, 'state.json.prev'), env.config.attestation.akKeyFile!];
    let blobs = 0;
    for (const file of files) {
      let doc: unknown;
      try {
        doc = JSON.parse(readFileSync(file, 'utf8'));
      } catch {
        continue;
      }
      for (const p of privateBlobs(doc)) {
        blobs++;
        for (const f of forms(p)) secrets.push([`TPM private blob from ${path.basename(file)}`, f]);
      }
    }
    assert.ok(blobs >= 2, `${blobs} private blobs found in the state and AK files`);
    for (const [what, s] of secrets) assert.not.ok(output.includes(s), `${what} appears in the output`);
    assert.not.match(output, /authorization/i, 'an Authorization header appears');
    assert.not.match(output, /PRIVATE KEY/);
    // Other state-file binaries (public areas, certificates) may be printed only as fingerprints/serials, never whole.
    const state = JSON.parse(readFileSync(path.join(env.config.stateDir, 'state.json'), 'utf8')) as unknown;
    for (const b of blobStrings(state)) {
      const i = output.indexOf(b.slice(0, 60));
      assert.not.ok(i >= 0, `a state-file blob appears in the output: ...${output.slice(Math.max(0, i - 200), i + 80)}`);
    }

    // Log lines: one event per line; journald lines carry a <priority> prefix, plain ones a timestamp and level.
    const logLines = output.split('\n').filter((l) => /^(<\d>|\d{4}-\d\d-\d\dT\S+ (debug|info|warn|error) )/.test(l));
    assert.ok(logLines.some((l) => l.startsWith('<')), 'journald-format lines present');
    assert.ok(logLines.some((l) => /^\d{4}-/.test(l)), 'plain-format lines present');
    for (const l of logLines) assert.match(l, /^(<\d>|\S+ \S+ )[a-z][\w.-]*( [\w.-]+=\S.*)?$/, l);
    console.log(`checked ${output.length} bytes / ${output.split('\n').length} lines (${logLines.length} log lines) against ${secrets.length} secret strings; ${issued.length} nonces, ${blobs} private blobs`);
  } finally {
    await env.stop();
  }
});

test('failure paths: a refused Basic password (401) is not echoed, in either output format', async () => {
  const env = await startAgentEnv({ config: { log: { level: 'debug' } } });
  try {
    const wrong = 'wrong-Secret-7f3a9c';
    writeFileSync(path.join(env.dir, 'est-password'), wrong + '\n', { mode: 0o600 });
    const cfg = path.join(env.dir, 'config.json');
    let output = '';
    for (const JOURNAL_STREAM of ['', '8:1']) {
      for (const args of [['enroll', '--now'], ['once'], ['status']]) output += (await run({ JOURNAL_STREAM }, ...args, '--config', cfg)).out;
    }
    assert.match(output, /401|unauthori[sz]ed|auth/i, 'the refusal is reported');
    for (const s of [wrong, Buffer.from(`${env.config.deviceId}:${wrong}`).toString('base64')]) assert.not.ok(output.includes(s), `${s} appears`);
    assert.not.match(output, /authorization:/i);
  } finally {
    await env.stop();
  }
});

test.run();
