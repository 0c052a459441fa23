// The agent against the lab's plain RFC 7030 profile (no PAL, no nonce; shares no code with the agent) with swtpm:
// /csrattrs honoured with keys made in the TPM (P-384 + SHA-384 from the OID list ending in NUL, RSA-3072 from an
// RFC 9908 template), CSRs checked by openssl; PAL 404 → RFC 7030 mode with its daily re-probe, /cacerts refresh
// before the CA certificates expire, and a root key update taken into the TA store.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startPlainAgentEnv, type PlainAgentEnv } from '../harness/agent-env.js';
import { composeAgent, type AgentParts } from '../../agent/cli/compose.js';
import { ManualClock } from '../../agent/lifecycle/clock.js';
import { memoryLogger } from '../../agent/util/log.js';
import type { PlainLabOptions } from '../../deploy/lab/plain/server.js';

const HOUR = 3_600_000;

async function setup(lab: PlainLabOptions = {}, config: Record<string, unknown> = {}): Promise<{ env: PlainAgentEnv; agent: AgentParts; clock: ManualClock; log: ReturnType<typeof memoryLogger> }> {
  const clock = new ManualClock(new Date());
  const env = await startPlainAgentEnv({ lab: { now: () => clock.now(), ...lab }, config });
  const log = memoryLogger('info');
  try {
    const agent = await composeAgent(env.config, { clock, log });
    return { env, agent, clock, log };
  } catch (err) {
    await env.stop();
    throw err;
  }
}

function opensslReq(env: PlainAgentEnv, csrB64: string): string {
  const f = path.join(env.dir, 'csr.der');
  writeFileSync(f, Buffer.from(csrB64, 'base64'));
  return execFileSync('openssl', ['req', '-inform', 'DER', '-in', f, '-noout', '-verify', '-text'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** First step answers 202 (Retry-After 60): the persisted CSR is returned for inspection, then the request is completed. */
async function enrollThrough202(s: { agent: AgentParts; clock: ManualClock }, force = false): Promise<string> {
  const first = await s.agent.enroller.step(force ? { force: true } : {});
  assert.is(first.action, 'pending', first.error?.message);
  const csr = first.state.pending!.csr;
  await s.clock.advance(61_000);
  const done = await s.agent.enroller.step();
  assert.is(done.action, 'issued', done.error?.message);
  return csr;
}

test('csrattrs OID list (P-384, SHA-384, trailing NUL): key made in the TPM, CSR verified by openssl; renewal with the P-384 key over TLS', async () => {
  const s = await setup();
  try {
    const csr = await enrollThrough202(s);
    const text = opensslReq(s.env, csr);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA384/);
    assert.match(text, /NIST CURVE: P-384/);
    const cred = (await s.agent.state.load())!.credential!;
    assert.is(cred.key.algorithm, 'ecc-p384');
    assert.ok(cred.key.location.public && cred.key.location.private, 'TPM blobs (TPM2B_PUBLIC/PRIVATE) in the key record');
    assert.is(s.env.lab.issued[0]!.key, 'ec secp384r1');
    assert.is(s.env.lab.issued[0]!.csrSignatureAlgorithm, '1.2.840.10045.4.3.3');
    assert.ok(s.log.lines.some((l) => l.includes('csrattrs.plan') && l.includes('ecc-p384')), s.log.lines.filter((l) => l.includes('csrattrs')).join('\n'));
    // libest asks for challengePassword by default? this profile does not: nothing unsatisfied
    assert.not.ok(s.log.lines.some((l) => l.includes('csrattrs.not-honoured')), s.log.lines.filter((l) => l.includes('csrattrs')).join('\n'));
    // Renewal: TLS client auth signed by the P-384 TPM key (ecdsa_secp384r1_sha384), then Basic on the 401.
    const csr2 = await enrollThrough202(s, true);
    assert.match(opensslReq(s.env, csr2), /ecdsa-with-SHA384/);
    const re = s.env.lab.issued.at(-1)!;
    assert.is(re.operation, 'simplereenroll');
    assert.ok(re.authenticatedAs.some((a) => a.startsWith('tls:')), re.authenticatedAs.join(' '));
  } finally {
    await s.agent.close();
    await s.env.stop();
  }
});

test('csrattrs asking for RSA-3072 + SHA-384: RSA-3072 key in the TPM, sha384WithRSAEncryption CSR', async () => {
  const s = await setup({ csrAttrs: { key: 'rsa3072', hash: 'sha384' } });
  try {
    const csr = await enrollThrough202(s);
    const text = opensslReq(s.env, csr);
    assert.match(text, /sha384WithRSAEncryption/);
    assert.match(text, /Public-Key: \(3072 bit\)/);
    assert.is((await s.agent.state.load())!.credential!.key.algorithm, 'rsa-3072');
    assert.is(s.env.lab.issued[0]!.key, 'rsa 3072');
  } finally {
    await s.agent.close();
    await s.env.stop();
  }
});

test('RFC 9908 template form (P-384): followed like the OID list', async () => {
  const s = await setup({ csrAttrs: { key: 'p384', form: 'template' }, retryAfterSeconds: null });
  try {
    const out = await s.agent.enroller.step();
    assert.is(out.action, 'issued', out.error?.message);
    assert.is(s.env.lab.issued[0]!.key, 'ec secp384r1');
    assert.is(s.env.lab.issued[0]!.csrSignatureAlgorithm, '1.2.840.10045.4.3.3');
    assert.ok(s.log.lines.some((l) => l.includes('csrattrs.plan') && l.includes('template')), s.log.lines.filter((l) => l.includes('csrattrs')).join('\n'));
  } finally {
    await s.agent.close();
    await s.env.stop();
  }
});

test('PAL 404 → RFC 7030 mode: remembered, /cacerts at start and when due, /pal re-probed after a day, root key update into the TA store', async () => {
  const s = await setup({ retryAfterSeconds: null });
  try {
    assert.is((await s.agent.enroller.step()).action, 'issued');
    const reqs = (p: string): number => s.env.lab.requests.filter((r) => r.path.endsWith(p)).length;
    let state = (await s.agent.state.load())!;
    await s.agent.poller.poll(state);
    assert.is(reqs('/pal'), 1);
    assert.is(reqs('/cacerts'), 1);
    assert.is(s.agent.poller.last?.mode, 'rfc7030');
    const memo = path.join(s.env.config.stateDir, 'est-pal-probe.json');
    assert.ok(existsSync(memo) && JSON.parse(readFileSync(memo, 'utf8')).data.palAbsentAt, 'PAL absence remembered in the state dir');
    const digest = s.agent.taStore.digest();

    // An hour later: neither /pal nor /cacerts again (not due).
    await s.clock.advance(HOUR);
    await s.agent.poller.poll(state);
    assert.is(reqs('/pal'), 1);
    assert.is(reqs('/cacerts'), 1);

    // Root key update at the CA; a day later /pal is probed again (still 404) and /cacerts brings the new root,
    // accepted because the NewWithOld link validates to the current TA.
    const roll = s.env.lab.rollover();
    await s.clock.advance(24 * HOUR);
    state = (await s.agent.state.load())!;
    const out = await s.agent.poller.poll(state);
    assert.is(reqs('/pal'), 2);
    assert.is(reqs('/cacerts'), 2);
    assert.is.not(s.agent.taStore.digest(), digest);
    const added = s.agent.taStore.find(roll.newWithNew);
    assert.ok(added, 'NewWithNew joined the TA store');
    assert.is(added!.source, 'cacerts-rollover');
    assert.ok(out.renew, 'a CA change asks for re-enrollment');
  } finally {
    await s.agent.close();
    await s.env.stop();
  }
});

test('est.pal false: /pal never asked; /cacerts refreshed before the CA certificate expires (§4.1.3)', async () => {
  // Root valid for 30 h, refresh interval 24 h: the next refresh is due 24 h before expiry, i.e. ~6 h after the first.
  const s = await setup({ retryAfterSeconds: null, caValiditySeconds: 30 * 3600, certValiditySeconds: 20 * 3600 });
  await s.agent.close();
  const agent = await composeAgent({ ...s.env.config, est: { ...s.env.config.est, pal: false } }, { clock: s.clock, log: s.log });
  try {
    assert.is((await agent.enroller.step()).action, 'issued');
    const reqs = (p: string): number => s.env.lab.requests.filter((r) => r.path.endsWith(p)).length;
    const state = (await agent.state.load())!;
    await agent.poller.poll(state);
    assert.is(reqs('/cacerts'), 1);
    await s.clock.advance(4 * HOUR);
    await agent.poller.poll(state);
    assert.is(reqs('/cacerts'), 1, 'not due yet');
    await s.clock.advance(3 * HOUR);
    await agent.poller.poll(state);
    assert.is(reqs('/cacerts'), 2, 'refreshed before the root expires');
    assert.is(reqs('/pal'), 0);
  } finally {
    await agent.close();
    await s.env.stop();
  }
});

test.run();
