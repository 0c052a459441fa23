// No hot loop over EST (the invariant in test/harness/no-hot-loop.ts), and the case that hot-looped in the field:
// the composed agent with attestation on against a server without /nonce (POST /nonce 404) — before, each try ran
// a TPM2_Create and was retried about once a second, forever, because the failure skipped the persisted backoff.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import { ManualClock } from '../../agent/lifecycle/clock.js';
import { memoryLogger } from '../../agent/util/log.js';
import { provisionAttestationKey } from '../../agent/attest/provision.js';
import { composeAgent } from '../../agent/cli/compose.js';
import { parseConfig } from '../../agent/config.js';
import { createAttestationCa, labAkCertifier } from '../../deploy/lab/attestation.js';
import { startAgentEnv } from '../harness/agent-env.js';
import { noHotLoopTests, simulateByHour, DEVICE, DNS, HOUR, MAX_PER_HOUR, SIM_HOURS } from '../harness/no-hot-loop.js';

noHotLoopTests(test, 'est');

test('composed agent, attestation on, server without /nonce: POST /nonce 404 goes through the persisted backoff (no TPM2_Create storm)', async () => {
  const envDir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-no-nonce-'));
  const akKeyFile = path.join(envDir, 'ak.json');
  const akCertFile = path.join(envDir, 'ak.pem');
  const sim = new ManualClock(new Date());
  // A lab without the attestation option serves no /nonce (404), like a plain RFC 7030 server.
  const env = await startAgentEnv({ lab: { now: () => sim.now() } });
  let agent: Awaited<ReturnType<typeof composeAgent>> | undefined;
  const ac = new AbortController();
  let running: Promise<void> | undefined;
  try {
    const pks = await TpmKeyStore.open({ tcti: env.tpm.tcti });
    await provisionAttestationKey({ keystore: pks, certifier: labAkCertifier(await createAttestationCa()), deviceId: DEVICE, akKeyFile, akCertFile });
    await pks.close();
    const config = parseConfig(
      {
        deviceId: DEVICE,
        stateDir: path.join(env.dir, 'state'),
        tpm: { tcti: env.tpm.tcti, flushStaleTransients: true },
        est: { url: env.lab.url, trustAnchorsFile: 'est-ta.pem', basicAuth: { username: DEVICE, passwordFile: 'est-password' } },
        identity: { subject: `CN=${DEVICE},O=enrolld demo`, dnsNames: [DNS] },
        attestation: { enabled: true, akKeyFile, akCertFile },
        schedule: { cron: '0 * * * *', jitterSeconds: 0 },
      },
      env.dir,
    );
    const log = memoryLogger('info');
    agent = await composeAgent(config, { clock: sim, log });
    const tks = agent.keystore as TpmKeyStore;
    let nonceCalls = 0;
    const match = env.lab.router.match.bind(env.lab.router);
    env.lab.router.match = (method, p) => {
      if (p.endsWith('/nonce')) nonceCalls++;
      return match(method, p);
    };
    running = agent.daemon().run(ac.signal);
    const perHour = await simulateByHour(sim, sim.now().getTime() + SIM_HOURS * HOUR, { nonce: () => nonceCalls, creates: () => tks.stats()['op.createKey']?.count ?? 0 });
    ac.abort();
    await running;
    const summary = `nonce requests/h ${perHour.nonce.join(',')} creates/h ${perHour.creates.join(',')}`;
    assert.ok(nonceCalls >= 5, `${summary}: it keeps trying`);
    for (let h = 1; h < SIM_HOURS; h++) {
      assert.ok((perHour.nonce[h] ?? 0) <= MAX_PER_HOUR, `${summary}: hour ${h}`);
      assert.ok((perHour.creates[h] ?? 0) <= MAX_PER_HOUR, `${summary}: hour ${h}`);
    }
    const s = (await agent.state.load())!;
    assert.is(s.retry?.kind, 'failed', 'the backoff is persisted');
    assert.is(s.pending, undefined, 'no request was persisted without its nonce');
    assert.ok(log.lines.some((l) => l.includes('enroll.failed') && l.includes('404')), log.lines.slice(-5).join('\n'));
    assert.equal(await tks.listHandles(), [], 'no transient TPM object left');
  } finally {
    ac.abort();
    await running?.catch(() => undefined);
    await agent?.close().catch(() => undefined);
    await env.stop();
    rmSync(envDir, { recursive: true, force: true });
  }
});

test.run();
