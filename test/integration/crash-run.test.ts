// kill -9 of `enrolld run` at random points of its own progress during enrollment and re-enrollment, against the
// default lab and the plain RFC 7030 profile: after every kill the next start loads a valid state and no credential
// still within its validity is lost; at the end the device holds a usable credential (valid now, its key signs in
// the TPM, the certificate certifies that key) with no TPM object left behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { startAgentEnv, startPlainAgentEnv } from '../harness/agent-env.js';
import { formatCrashReport, runCrashProof, type CrashRunOptions, type CrashRunReport } from '../harness/crash-run.js';

// `npm run prove:crash -- --iterations 1000 [--profile lab|plain]` runs the long form; CI runs 50 per profile.
const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const ITERATIONS = Number(arg('--iterations') ?? process.env.CRASH_ITERATIONS ?? 50);
const PROFILES = (arg('--profile') ?? 'lab,plain').split(',');
// 5 s certificates (both labs backdate notBefore by 60 s) renewed at 95 % of their life: a renewal every ~2 s.
const SCHEDULE = { schedule: { renewFraction: 0.95, backoffMinSeconds: 1, backoffMaxSeconds: 2, jitterSeconds: 0 } };

function check(profile: string, r: CrashRunReport): void {
  const text = formatCrashReport(profile, r);
  console.log(text);
  assert.is(r.kills, ITERATIONS);
  assert.is(r.credentialsLost, 0, r.lossDetails.join('\n'));
  assert.ok(r.midEnrollment > 0, `no kill landed mid-enrollment:\n${text}`);
  assert.ok(r.usabilityChecks > 0, `no kill happened while a credential was valid:\n${text}`);
  assert.ok(r.credentialsSeen > 1, `no renewal completed between the kills:\n${text}`);
  assert.is(r.final.phase, 'enrolled');
  assert.ok(r.final.signs, 'the final credential key signs in the TPM for the certificate key');
  assert.is(r.final.transients, 0, 'no transient TPM object left behind');
}

if (PROFILES.includes('lab')) {
  test(`lab profile: SIGKILL of enrolld run at ${ITERATIONS} points of its progress, then recovery to a usable credential`, async () => {
    const env = await startAgentEnv({ lab: { certValiditySeconds: 5 }, config: SCHEDULE });
    try {
      const o: CrashRunOptions = { configFile: path.join(env.dir, 'config.json'), stateDir: env.config.stateDir, tcti: env.tpm.tcti, iterations: ITERATIONS };
      const r = await runCrashProof(o);
      console.log(`  certificates issued by the lab: ${env.lab.issued.length}`);
      check('lab', r);
    } finally {
      await env.stop();
    }
  });
}

if (PROFILES.includes('plain')) {
  test(`plain RFC 7030 profile: SIGKILL of enrolld run at ${ITERATIONS} points of its progress, then recovery`, async () => {
    // Basic after TLS client auth and the CA's subject rewrite stay on; the 202 + Retry-After (clamped by the agent
    // to ≥ 10 s) is switched on for one iteration in eight, so kills also land on requests waiting for approval.
    const env = await startPlainAgentEnv({ lab: { certValiditySeconds: 5, retryAfterSeconds: null }, config: SCHEDULE });
    try {
      const r = await runCrashProof({
        configFile: path.join(env.dir, 'config.json'),
        stateDir: env.config.stateDir,
        tcti: env.tpm.tcti,
        iterations: ITERATIONS,
        seed: 0x9e3779b9,
        beforeIteration: (i) => env.lab.setRetryAfter(i % 8 === 3 ? 1 : null),
        beforeRecovery: () => env.lab.setRetryAfter(null),
      });
      const answers: Record<number, number> = {};
      for (const q of env.lab.requests) if (q.path.endsWith('enroll')) answers[q.status] = (answers[q.status] ?? 0) + 1;
      console.log(`  certificates issued by the plain lab: ${env.lab.issued.length}; (re)enroll answers by status: ${JSON.stringify(answers)}`);
      check('plain', r);
      assert.ok(r.pending > 0, 'some kills landed on a request waiting on a 202');
    } finally {
      await env.stop();
    }
  });
}

test.run();
