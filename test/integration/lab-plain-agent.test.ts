// The agent (swtpm, TPM keys) against the plain RFC 7030 lab profile: each behaviour a libest-style server shows,
// met by the agent's lifecycle. The lab shares no code with the agent (deploy/lab/plain/).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate } from 'node:crypto';
import { startPlainAgentEnv, type PlainAgentEnv } from '../harness/agent-env.js';
import type { PlainLabOptions } from '../../deploy/lab/plain/server.js';
import { composeAgent, type AgentParts } from '../../agent/cli/compose.js';
import { ManualClock } from '../../agent/lifecycle/clock.js';
import type { StepOutcome } from '../../agent/lifecycle/enroller.js';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import { createLogger } from '../../agent/util/log.js';

interface Rig { env: PlainAgentEnv; agent: AgentParts; clock: ManualClock }

async function rig(lab: PlainLabOptions = {}): Promise<Rig> {
  const env = await startPlainAgentEnv({ lab });
  const clock = new ManualClock(new Date());
  try {
    const keystore = await TpmKeyStore.open({ tcti: env.tpm.tcti });
    const agent = await composeAgent(env.config, { keystore, clock, log: createLogger({ level: 'warn', journal: false }) });
    return { env, agent, clock };
  } catch (e) {
    await env.stop();
    throw e;
  }
}
async function done(r: Rig): Promise<void> {
  await r.agent.close().catch(() => undefined);
  await r.env.stop();
}
const estPaths = (r: Rig, from = 0): string[] => r.env.lab.requests.slice(from).map((q) => `${q.method} ${q.path.replace('/.well-known/est', '')} ${q.status}`);

/** Enrollment through the server's 202: the agent waits Retry-After on its clock and resends the same CSR. */
async function enroll(r: Rig): Promise<StepOutcome> {
  const first = await r.agent.enroller.step();
  assert.is(first.action, 'pending', first.error?.message);
  assert.ok(first.nextDue && first.nextDue.getTime() - r.clock.now().getTime() >= 59_000, 'Retry-After 60 honoured');
  await r.clock.advanceTo(first.nextDue!);
  const second = await r.agent.enroller.step();
  assert.is(second.action, 'issued', second.error?.message);
  return second;
}

test('P-384 + SHA-384 from /csrattrs: TPM P-384 key, 202 waited out, O= dropped; renewal copies the issued subject, 401 → Basic', async () => {
  const r = await rig();
  try {
    const s = await enroll(r);
    assert.is(s.state.credential!.key.algorithm, 'ecc-p384');
    const rec = r.env.lab.issued.at(-1)!;
    assert.is(rec.key, 'ec secp384r1');
    assert.is(rec.csrSignatureAlgorithm, '1.2.840.10045.4.3.3');
    assert.is(rec.subject, 'CN=dev-0001');
    assert.is(r.env.lab.issued.length, 1);
    // Re-enrollment with TLS client auth by the P-384 TPM key; the server still asks for Basic.
    const mark = r.env.lab.requests.length;
    let n = await r.agent.enroller.step({ force: true });
    if (n.action === 'pending') {
      await r.clock.advanceTo(n.nextDue!);
      n = await r.agent.enroller.step();
    }
    assert.is(n.action, 'issued', `${n.error?.message ?? ''}\n${estPaths(r, mark).join('\n')}`);
    const renew = r.env.lab.issued.at(-1)!;
    assert.is(renew.operation, 'simplereenroll');
    assert.equal(renew.authenticatedAs, ['tls:CN=dev-0001', 'basic:dev-0001']);
    assert.is(renew.requestedSubject, 'CN=dev-0001');
    assert.ok(estPaths(r, mark).filter((p) => p.startsWith('POST /simplereenroll')).map((p) => p.split(' ')[2]).join(',').startsWith('401'));
  } finally {
    await done(r);
  }
});

for (const rootNames of ['same', 'generation'] as const) {
test(`no PAL (/pal 404, remembered): the agent refreshes /cacerts itself and takes a root key update (root names: ${rootNames})`, async () => {
  const r = await rig({ csrAttrs: { key: 'p256' }, retryAfterSeconds: null, rootNames });
  try {
    const s = await r.agent.enroller.step();
    assert.is(s.action, 'issued', s.error?.message);
    r.env.lab.rollover();
    await r.agent.poller.poll(s.state);
    const last = r.agent.poller.last;
    assert.is(last?.mode, 'rfc7030');
    assert.is(last?.counts.ok, 1);
    const roots = r.agent.taStore.list().map((t) => new X509Certificate(Buffer.from(t.der)).publicKey.export({ format: 'der', type: 'spki' }).toString('hex'));
    const newRoot = new X509Certificate(r.env.lab.currentRootPem).publicKey.export({ format: 'der', type: 'spki' }).toString('hex');
    assert.ok(roots.includes(newRoot), 'NewWithNew is a trust anchor now');
    // A second poll does not probe /pal again (the absence is remembered).
    const palProbes = (): number => r.env.lab.requests.filter((q) => q.path.endsWith('/pal')).length;
    const before = palProbes();
    await r.agent.poller.poll(s.state);
    assert.is(palProbes(), before);
    // Renewal now gets a certificate from the new root, and the agent accepts it.
    const n = await r.agent.enroller.step({ force: true });
    assert.is(n.action, 'issued', n.error?.message);
    assert.is(r.env.lab.issued.at(-1)!.rootGeneration, 2);
  } finally {
    await done(r);
  }
});
}

test('RFC 9908 template form and RSA-3072 asks are honoured in the TPM', async () => {
  const t = await rig({ csrAttrs: { form: 'template', key: 'p384' }, retryAfterSeconds: null });
  try {
    const s = await t.agent.enroller.step();
    assert.is(s.action, 'issued', s.error?.message);
    assert.is(t.env.lab.issued.at(-1)!.key, 'ec secp384r1');
  } finally {
    await done(t);
  }
  const r = await rig({ csrAttrs: { key: 'rsa3072' }, retryAfterSeconds: null });
  try {
    const s = await r.agent.enroller.step();
    assert.is(s.action, 'issued', s.error?.message);
    assert.is(r.env.lab.issued.at(-1)!.key, 'rsa 3072');
    assert.is(r.env.lab.issued.at(-1)!.csrSignatureAlgorithm, '1.2.840.113549.1.1.11');
  } finally {
    await done(r);
  }
});

test.run();
