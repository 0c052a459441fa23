// The lifecycle against the real lab EST server over TLS, with simulated time: 30 days of polls, renewals at the
// policy fraction, 202 handling, request counts asserted (no hot loop), the old credential kept until the switch.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate } from 'node:crypto';
import { createLabServer, type LabServer } from '../../deploy/lab/server.js';
import { SoftwareKeyStore } from '../../agent/keystore/software.js';
import { ManualClock } from '../../agent/lifecycle/clock.js';
import { Enroller, type StateAccess } from '../../agent/lifecycle/enroller.js';
import { Daemon } from '../../agent/lifecycle/daemon.js';
import { CronSchedule } from '../../agent/lifecycle/schedule.js';
import { EstEnrollment } from '../../agent/protocols/est/enrollment.js';
import { buildCsr } from '../../agent/pki/csr.js';
import { validateChain } from '../../agent/pki/chain.js';
import { certificatesFromPem } from '../../agent/pki/cert.js';
import { memoryLogger } from '../../agent/util/log.js';
import { ModuleLoadError } from '../../agent/util/lazy-import.js';
import type { AgentState } from '../../agent/lifecycle/state.js';
import { simulateUntil, waitUntilAsleep } from '../harness/sim.js';

const DAY = 86_400_000;

function memoryState(): StateAccess & { saves: number; doc?: AgentState } {
  const s: StateAccess & { saves: number; doc?: AgentState } = {
    saves: 0,
    async load() {
      return s.doc ? structuredClone(s.doc) : undefined;
    },
    async save(doc) {
      s.saves++;
      s.doc = structuredClone(doc);
    },
  };
  return s;
}

function setup(lab: LabServer, clock: ManualClock, state = memoryState(), verifier?: (cert: Uint8Array | object, chain: Array<Uint8Array | object>, at: Date) => Promise<void>) {
  const keystore = new SoftwareKeyStore();
  const log = memoryLogger('info');
  const anchors = certificatesFromPem(lab.trustAnchorPem);
  const protocol = new EstEnrollment({
    baseUrl: lab.url,
    trustAnchors: [lab.trustAnchorPem],
    basicAuth: { username: 'dev-1', password: 'pw-1' },
    keystore,
    now: () => clock.now(),
  });
  const enroller = new Enroller({
    clock,
    log,
    keystore,
    protocol,
    state,
    buildCsr: async (_key, signer) => (await buildCsr({ subject: 'CN=dev-1,O=enrolld test', signer })).der,
    verifyIssued: async (cert, chain, at) => {
      if (verifier) await verifier(cert, chain, at);
      await validateChain({ leaf: cert, intermediates: chain, trustAnchors: anchors, at });
    },
    policy: { keyAlgorithm: 'ecc-p256', renewFraction: 2 / 3, backoffMinSeconds: 60, backoffMaxSeconds: 3600 },
    random: () => 0.5,
  });
  return { keystore, log, enroller, state };
}

test('30 simulated days: enroll once, renew at 2/3 of each 3-day lifetime, bounded requests', async () => {
  const clock = new ManualClock(new Date());
  const start = clock.now();
  const lab = await createLabServer({ users: { 'dev-1': 'pw-1' }, certValiditySeconds: 3 * 86400, now: () => clock.now() });
  try {
    const { enroller, log, state } = setup(lab, clock);
    const schedule = new CronSchedule('*/15 * * * *');
    const daemon = new Daemon({ clock, log, enroller, schedule, jitterSeconds: 60, backoffMinSeconds: 60, backoffMaxSeconds: 3600, random: () => 0.5 });
    const ac = new AbortController();
    const running = daemon.run(ac.signal);
    await simulateUntil(clock, new Date(start.getTime() + 30 * DAY));
    ac.abort();
    await running;
    schedule.close();

    const issued = lab.issued;
    // 3-day certificates renewed after 2 days: the first at t≈0, then one every 2 days → 15 in 30 days.
    assert.ok(issued.length >= 14 && issued.length <= 16, `issued ${issued.length}`);
    assert.is(issued.filter((r) => r.operation === 'simpleenroll').length, 1);
    assert.ok(issued.slice(1).every((r) => r.operation === 'simplereenroll'));
    // Every renewal used TLS client auth with the previous credential.
    assert.ok(issued.slice(1).every((r) => /cert/i.test(r.authenticatedAs)), issued[1]?.authenticatedAs);
    const s = state.doc!;
    assert.is(s.phase, 'enrolled');
    const cert = new X509Certificate(s.credential!.certPem);
    assert.ok(new Date(cert.validTo) > clock.now(), 'the current credential is valid at the end');
    // No hot loop: 30 days at one poll per 15 minutes is 2880 iterations; each renewal adds at most a couple.
    assert.ok(daemon.iterations <= 2880 + 3 * issued.length + 5, `iterations ${daemon.iterations}`);
    assert.ok(log.lines.filter((l) => l.includes('enroll.failed')).length === 0, log.lines.filter((l) => l.includes('failed')).join('\n'));
  } finally {
    await lab.close();
  }
});

test('202 + Retry-After: pending is persisted, the same CSR is resent, then issued', async () => {
  const clock = new ManualClock(new Date());
  const lab = await createLabServer({ users: { 'dev-1': 'pw-1' }, manualApproval: { retryAfterSeconds: 120, approveAfterPolls: 3 }, now: () => clock.now() });
  try {
    const { enroller, state } = setup(lab, clock);
    const first = await enroller.step();
    assert.is(first.action, 'pending');
    assert.is(state.doc!.phase, 'enrolling');
    assert.is(state.doc!.retry?.kind, 'waiting');
    const csr = state.doc!.pending!.csr;
    assert.is((await enroller.step()).action, 'none', 'nothing before Retry-After elapses');
    let outcome;
    for (let i = 0; i < 5; i++) {
      await clock.advance(121_000);
      outcome = await enroller.step();
      if (outcome.action === 'issued') break;
      assert.is(state.doc!.pending!.csr, csr, 'the same request is resent');
    }
    assert.is(outcome!.action, 'issued');
    assert.is(lab.issued.length, 1);
    assert.is(state.doc!.pending, undefined);
  } finally {
    await lab.close();
  }
});

test('wrong password: typed failure, backoff, nothing stored but the retry', async () => {
  const clock = new ManualClock(new Date());
  const lab = await createLabServer({ users: { 'dev-1': 'other' }, now: () => clock.now() });
  try {
    const { enroller, state } = setup(lab, clock);
    const out = await enroller.step();
    assert.is(out.action, 'abandoned');
    assert.is(out.error?.code, 'est.unauthorized');
    assert.is(state.doc!.phase, 'bootstrapped');
    assert.is(state.doc!.credential, undefined);
    assert.is(state.doc!.pending, undefined);
    assert.is(state.doc!.retry?.kind, 'failed');
    assert.ok(out.nextDue! > clock.now());
    assert.is((await enroller.step()).action, 'none', 'backoff honoured');
  } finally {
    await lab.close();
  }
});

test('a restart while pending resumes with the same request (state reloaded by a new enroller)', async () => {
  const clock = new ManualClock(new Date());
  const lab = await createLabServer({ users: { 'dev-1': 'pw-1' }, manualApproval: { retryAfterSeconds: 30 }, now: () => clock.now() });
  try {
    const a = setup(lab, clock);
    assert.is((await a.enroller.step()).action, 'pending');
    const csr = a.state.doc!.pending!.csr;
    lab.approve();
    // A "new process": fresh enroller over the same persisted state (the software keystore is in memory only,
    // which is fine here: resending the pending CSR needs no key operation).
    const b = setup(lab, clock, a.state);
    await clock.advance(31_000);
    const out = await b.enroller.step();
    assert.is(out.action, 'issued');
    assert.is(Buffer.from(out.state.credential!.key.spki, 'base64').toString('hex'), Buffer.from(a.state.doc!.credential!.key.spki, 'base64').toString('hex'));
    assert.ok(csr.length > 0);
  } finally {
    await lab.close();
  }
});

test('an expired credential falls back to initial enrollment (Basic auth) instead of a doomed re-enrollment', async () => {
  const clock = new ManualClock(new Date());
  const lab = await createLabServer({ users: { 'dev-1': 'pw-1' }, certValiditySeconds: 3600, now: () => clock.now() });
  try {
    const { enroller } = setup(lab, clock);
    assert.is((await enroller.step()).action, 'issued');
    await clock.advance(2 * 3600_000); // the device was off past notAfter
    const out = await enroller.step();
    assert.is(out.action, 'issued', out.error?.message);
    assert.is(lab.issued[1]!.operation, 'simpleenroll');
    assert.match(lab.issued[1]!.authenticatedAs, /^basic:/);
  } finally {
    await lab.close();
  }
});

void waitUntilAsleep;
test('a verifier that cannot be loaded: a transient failure (backoff, the request kept), then issued', async () => {
  const clock = new ManualClock(new Date());
  const lab = await createLabServer({ users: { 'dev-1': 'pw-1' }, now: () => clock.now() });
  try {
    let broken = true;
    const { enroller, state } = setup(lab, clock, memoryState(), async () => {
      if (broken) throw new ModuleLoadError('the certificate path validator', new Error('Cannot find module'));
    });
    const first = await enroller.step();
    assert.is(first.action, 'failed', 'not abandoned: the certificate was not judged');
    assert.is(first.error?.code, 'module.load');
    assert.ok(state.doc?.pending, 'the request stays pending');
    assert.ok(first.nextDue && first.nextDue.getTime() > clock.now().getTime(), 'persisted backoff');
    broken = false;
    await clock.advanceTo(first.nextDue!);
    assert.is((await enroller.step()).action, 'issued');
  } finally {
    await lab.close();
  }
});

test.run();
