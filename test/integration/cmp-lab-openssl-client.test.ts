// The lab's CMP endpoint (deploy/lab/cmp.ts) against an independent client, `openssl cmp` (OpenSSL 3.0): ir with
// MAC protection through the lab's delayed delivery (ip "waiting" → pollReq/pollRep → ip), certConf/pkiConf, genm,
// rr — so the lab side the agent's tests lean on speaks CMP as another implementation reads it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { createLabServer, type LabServer } from '../../deploy/lab/server.js';
import { registerCmpHandlers, type LabCmpRecord } from '../../deploy/lab/cmp.js';

const run = promisify(execFile);
let lab: LabServer;
let dir: string;
let records: LabCmpRecord[];
let base: string[];

test.before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-cmp-osslcli-'));
  lab = await createLabServer();
  records = registerCmpHandlers(lab.router, { ca: lab.ca, reference: 'dev-0001', secret: new TextEncoder().encode('lab-secret'), path: '/pkix/', waiting: { polls: 1, checkAfterSeconds: 1 } });
  writeFileSync(path.join(dir, 'ta.pem'), lab.trustAnchorPem);
  const u = new URL(lab.url);
  base = ['cmp', '-server', `${u.hostname}:${u.port}`, '-path', '/pkix/', '-tls_used', '-tls_trusted', 'ta.pem', '-ref', 'dev-0001', '-secret', 'pass:lab-secret', '-recipient', '/CN=enrolld lab'];
  await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'k.pem'], { cwd: dir });
});

test.after(async () => {
  await lab?.close();
  rmSync(dir, { recursive: true, force: true });
});

// execFile, not execFileSync: the lab answers from this very process
const cmp = async (args: string[]): Promise<string> => {
  const r = await run('openssl', [...base, ...args], { cwd: dir });
  return `${r.stdout}${r.stderr}`;
};

test('openssl cmp -cmd ir: waiting → pollReq → ip, certConf → pkiConf; the certificate holds its key', async () => {
  const out = await cmp(['-cmd', 'ir', '-newkey', 'k.pem', '-subject', '/CN=dev-0001', '-certout', 'c.pem', '-trusted', 'ta.pem']);
  assert.match(out, /received polling response/);
  assert.match(out, /received PKICONF/);
  assert.equal(records.map((r) => r.outcome), ['waiting', 'polled', 'issued', 'confirmed']);
  const c = new X509Certificate(readFileSync(path.join(dir, 'c.pem')));
  assert.match(c.subject, /CN=dev-0001/);
});

test('openssl cmp -cmd genm: a genp it reads', async () => {
  const out = await cmp(['-cmd', 'genm', '-infotype', 'signKeyPairTypes']);
  assert.match(out, /received GENP/);
  assert.is(records.at(-1)!.outcome, 'general');
});

test('openssl cmp -cmd rr: revocation accepted; the same again → rejected (certRevoked)', async () => {
  const out = await cmp(['-cmd', 'rr', '-oldcert', 'c.pem', '-revreason', '1']);
  assert.match(out, /revocation accepted/);
  assert.is(records.at(-1)!.outcome, 'revoked');
  const again = await cmp(['-cmd', 'rr', '-oldcert', 'c.pem', '-revreason', '1']).catch((e: { stdout?: string; stderr?: string }) => `FAILED ${e.stdout ?? ''}${e.stderr ?? ''}`);
  assert.match(again, /^FAILED/);
  assert.match(again, /certRevoked|rejection/i);
});

test.run();
