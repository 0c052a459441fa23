// The CLI as a user runs it: `enrolld demo`, and `enroll --now` / `status` / `pal` against a lab environment.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { startAgentEnv } from '../harness/agent-env.js';
import { runCli } from '../harness/cli.js';

const run = runCli;

test('enrolld demo: attested enrollment, PAL with CRL + firmware, re-enrollment against the lab server, exits 0', async () => {
  const r = await run('demo');
  assert.is(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /0\. manufacture: AK \S+ created in the TPM/);
  assert.match(r.stdout, /1\. enrolled \(\/simpleenroll/);
  assert.match(r.stdout, /lab verifier: ok/);
  assert.match(r.stdout, /3 entries — ok 3, failed 0/);
  assert.match(r.stdout, /CRLs:\s+1 held/);
  assert.match(r.stdout, /hook installed 262144 B → pending-reboot/);
  assert.match(r.stdout, /receipt:\s+receipt, signed by the TPM key: true/);
  assert.match(r.stdout, /evidence verified/);
  assert.match(r.stdout, /3\. re-enrolled \(\/simplereenroll, TLS client auth signed by the TPM key\)/);
  assert.match(r.stdout, /authenticated as cert:/);
  assert.match(r.stdout, /state: enrolled/);
});

test('enrolld demo --protocol cmp and --protocol cmc: the same lifecycle over CMP (ir/kur) and CMC (/fullcmc)', async () => {
  const cmp = await run('demo', '--protocol', 'cmp');
  assert.is(cmp.status, 0, cmp.stderr + cmp.stdout);
  assert.match(cmp.stdout, /1\. enrolled \(CMP ir, MAC-protected/);
  assert.match(cmp.stdout, /3\. re-enrolled \(CMP kur, signature-protected by the current TPM key\)/);
  assert.match(cmp.stdout, /lab saw:\s+ir, kur issued; evidence verified/);
  const cmc = await run('demo', '--protocol', 'cmc');
  assert.is(cmc.status, 0, cmc.stderr + cmc.stdout);
  assert.match(cmc.stdout, /1\. enrolled \(CMC Full PKI Request on \/fullcmc, signed by the TPM-resident IDevID\)/);
  assert.match(cmc.stdout, /lab saw:\s+enroll as cmc-signer:idevid:.*reenroll as cmc-signer:lab:.*evidence verified/);
  assert.match(cmc.stdout, /state: enrolled/);
});

test('enrolld demo --protocol acme: remote-attest-01 enrollment and renewal against the lab ACME server', async () => {
  const r = await run('demo', '--protocol', 'acme');
  assert.is(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /1\. enrolled \(ACME order, remote-attest-01/);
  assert.match(r.stdout, /lab verifier: ok/);
  assert.match(r.stdout, /lab saw:\s+2 orders from 1 account\(s\); evidence verified/);
  assert.match(r.stdout, /state: enrolled/);
  const bad = await run('demo', '--protocol', 'nope');
  assert.is.not(bad.status, 0);
});

test('enroll --now, status (text and JSON), pal; config errors name the field', async () => {
  const env = await startAgentEnv();
  try {
    const cfg = path.join(env.dir, 'config.json');
    const before = (await run('status', '--config', cfg));
    assert.is(before.status, 0, before.stderr);
    assert.match(before.stdout, /state:\s+unprovisioned/);
    const e = (await run('enroll', '--now', '--config', cfg));
    assert.is(e.status, 0, e.stderr + e.stdout);
    assert.match(e.stdout, /state:\s+enrolled/);
    const js = JSON.parse((await run('status', '--json', '--config', cfg)).stdout);
    assert.is(js.phase, 'enrolled');
    assert.match(js.credential.subject, /CN=dev-0001/);
    const once = (await run('once', '--config', cfg));
    assert.is(once.status, 0, once.stderr + once.stdout);
    assert.match(once.stdout, /last PAL poll: \S+ ok: 0 entries/);
    const p = (await run('pal', '--config', cfg));
    assert.is(p.status, 0, p.stderr);
    const bad = path.join(env.dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ deviceId: 'x', est: { url: 'http://insecure', trustAnchorsFile: 'est-ta.pem' } }));
    const b = (await run('status', '--config', bad));
    assert.is(b.status, 2);
    assert.match(b.stderr, /configuration error: est\.url: must use https/);
  } finally {
    await env.stop();
  }
});

test.run();
