// Renewal rules against the lab's plain RFC 7030 profile (deploy/lab/plain: libest's defaults — Basic demanded even
// after TLS client auth, 202 + Retry-After 60, a CA that drops O=), the composed agent with its key in swtpm:
//  - RFC 7030 §4.2.2: the re-enrollment CSR carries the Subject and subjectAltName of the certificate being renewed,
//    byte for byte (not config.identity.subject, which the CA rewrote), checked by openssl too;
//  - §3.2.3: a 401 after TLS client auth → one retry of the same request with the configured Basic credentials;
//  - a renewal refused 401/403 is resent schedule.renewAuthRetries times with backoff, then its key is dropped; the
//    current credential is never touched.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { composeAgent, type AgentParts } from '../../agent/cli/compose.js';
import { parseConfig } from '../../agent/config.js';
import { ManualClock } from '../../agent/lifecycle/clock.js';
import { certificatesFromPem, nameDer, findExtension } from '../../agent/pki/cert.js';
import { csrExtensions, OID_SUBJECT_ALT_NAME, parseCsr } from '../../agent/pki/csr.js';
import { memoryLogger } from '../../agent/util/log.js';
import type { TpmKeyStore } from '../../agent/keystore/tpm.js';
import { createPlainLabServer, type PlainLabServer } from '../../deploy/lab/plain/server.js';
import { startSwtpm, type Swtpm } from '../harness/swtpm.js';

const DEVICE = 'dev-0001';
const users: Record<string, string> = { [DEVICE]: 'factory-secret' };
let dir: string;
let tpm: Swtpm;
let lab: PlainLabServer;
let agent: AgentParts;
const clock = new ManualClock(new Date());
const log = memoryLogger('info');

test.before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-renewal-plain-'));
  tpm = await startSwtpm();
  lab = await createPlainLabServer({ users, now: () => clock.now() });
  writeFileSync(path.join(dir, 'est-ta.pem'), lab.trustAnchorPem);
  writeFileSync(path.join(dir, 'est-password'), 'factory-secret\n', { mode: 0o600 });
  const config = parseConfig(
    {
      deviceId: DEVICE,
      stateDir: path.join(dir, 'state'),
      tpm: { tcti: tpm.tcti, flushStaleTransients: true },
      est: { url: lab.url, trustAnchorsFile: 'est-ta.pem', basicAuth: { username: DEVICE, passwordFile: 'est-password' } },
      identity: { subject: `CN=${DEVICE},O=enrolld demo`, dnsNames: [`${DEVICE}.devices.example`] },
      schedule: { backoffMinSeconds: 60, backoffMaxSeconds: 3600 },
    },
    dir,
  );
  agent = await composeAgent(config, { clock, log });
});

test.after(async () => {
  await agent?.close().catch(() => undefined);
  await lab?.close().catch(() => undefined);
  await tpm?.stop().catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Steps until issued, waiting out 202s on the simulated clock (bounded). */
async function untilIssued(force: boolean) {
  let r = await agent.enroller.step({ force });
  for (let i = 0; i < 3 && r.action === 'pending'; i++) {
    await clock.advanceTo(r.nextDue!);
    r = await agent.enroller.step();
  }
  return r;
}

function openssl(args: string[], der: Uint8Array): string {
  const f = path.join(dir, 'obj.der');
  writeFileSync(f, der);
  return execFileSync('openssl', [...args, '-inform', 'DER', '-in', f, '-noout', '-subject', '-nameopt', 'RFC2253'], { encoding: 'utf8' }).trim().replace(/^subject=\s*/, '');
}

test('renewal copies the issued Subject/SAN byte for byte; 401 after TLS client auth → same request with Basic → issued', async () => {
  const first = await untilIssued(false);
  assert.is(first.action, 'issued', `${first.error?.message}\n${log.lines.slice(-5).join('\n')}`);
  const cert1 = certificatesFromPem(first.state.credential!.certPem)[0]!;
  assert.is(lab.issued.at(-1)!.subject, `CN=${DEVICE}`, 'the CA dropped O= from the requested subject');

  const before = lab.requests.length;
  const renewing = await agent.enroller.step({ force: true });
  assert.is(renewing.action, 'pending', `${renewing.error?.message}`);
  // The persisted re-enrollment CSR: Subject DER and SAN extension exactly those of the certificate being renewed.
  const csrDer = new Uint8Array(Buffer.from(renewing.state.pending!.csr, 'base64'));
  const csr = parseCsr(csrDer);
  assert.equal(Buffer.from(nameDer(csr.subject)), Buffer.from(nameDer(cert1.subject)));
  const certSan = findExtension(cert1.extensions, OID_SUBJECT_ALT_NAME)!;
  const csrSan = findExtension(csrExtensions(csr), OID_SUBJECT_ALT_NAME)!;
  assert.equal(Buffer.from(csrSan.extnValue.valueBlock.valueHexView), Buffer.from(certSan.extnValue.valueBlock.valueHexView));
  // Independent decoder: openssl reads the same subject from both.
  assert.is(openssl(['req'], csrDer), openssl(['x509'], new Uint8Array(cert1.toSchema().toBER(false))));
  assert.is(openssl(['req'], csrDer), `CN=${DEVICE}`);

  await clock.advanceTo(renewing.nextDue!);
  const renewed = await agent.enroller.step();
  assert.is(renewed.action, 'issued', `${renewed.error?.message}\n${log.lines.slice(-5).join('\n')}`);
  assert.is.not(renewed.state.credential!.serial, first.state.credential!.serial);
  const reenrolls = lab.requests.slice(before).filter((r) => r.path.endsWith('/simplereenroll'));
  // Each send: without Basic (TLS client auth only) → 401, then the same request with Basic too.
  assert.equal(reenrolls.map((r) => [r.status, r.basic, r.clientCert]), [[401, false, true], [202, true, true], [401, false, true], [200, true, true]]);
  assert.equal(lab.issued.at(-1)!.authenticatedAs, [`tls:CN=${DEVICE}`, `basic:${DEVICE}`]);
  assert.equal(await (agent.keystore as TpmKeyStore).listHandles(), []);
});

test('a renewal refused 401 is resent renewAuthRetries (3) times with backoff, then dropped; the credential is kept', async () => {
  const s0 = (await agent.state.load())!;
  const serial = s0.credential!.serial;
  users[DEVICE] = 'rotated-on-the-server';
  try {
    const before = lab.requests.length;
    let r = await agent.enroller.step({ force: true });
    const keyId = r.state.pending?.key.id;
    assert.ok(keyId, 'the refused renewal keeps its request');
    const outcomes: string[] = [r.action];
    const refusals: Array<number | undefined> = [r.state.pending?.authFailures];
    const waits: number[] = [r.nextDue!.getTime() - clock.now().getTime()];
    for (let i = 0; i < 5 && r.action === 'failed'; i++) {
      await clock.advanceTo(r.nextDue!);
      r = await agent.enroller.step();
      outcomes.push(r.action);
      refusals.push(r.state.pending?.authFailures);
      if (r.state.pending) assert.is(r.state.pending.key.id, keyId, 'the same request is resent');
      if (r.nextDue) waits.push(r.nextDue.getTime() - clock.now().getTime());
    }
    assert.equal(outcomes, ['failed', 'failed', 'failed', 'abandoned']);
    assert.equal(refusals, [1, 2, 3, undefined]);
    assert.ok(waits.every((w) => w >= 30_000), `backoff between resends: ${waits.join(',')} ms`);
    assert.ok(waits[3]! > waits[0]!, `the backoff grows: ${waits.join(',')} ms`);
    const sent = lab.requests.slice(before).filter((x) => x.path.endsWith('/simplereenroll'));
    assert.is(sent.length, 8, 'four sends, each without then with Basic');
    assert.ok(sent.every((x) => x.status === 401));
    const s = (await agent.state.load())!;
    assert.is(s.phase, 'enrolled');
    assert.is(s.credential!.serial, serial, 'the current credential is never touched');
    assert.is(s.pending, undefined);
    assert.is(s.retry?.kind, 'failed', 'a fresh renewal waits for the backoff');
    assert.ok(log.lines.some((l) => l.includes('enroll.renew-refused') && l.includes('refusals=3')));
  } finally {
    users[DEVICE] = 'factory-secret';
  }
  // Credentials fixed on the server: the next renewal (a fresh key and CSR) succeeds.
  await clock.advanceTo(new Date((await agent.enroller.nextDue((await agent.state.load())!))!.getTime()));
  const ok = await untilIssued(false);
  assert.is(ok.action, 'issued', `${ok.error?.message}`);
});

test.run();
