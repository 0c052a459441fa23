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
import { noHotLoopTests, DEVICE, DNS, HOUR, MAX_PER_HOUR, SIM_HOURS } from '../harness/no-hot-loop.js';

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
    const doc = { ...env.config, est: { url: env.lab.url, trustAnchorsFile: path.join(env.dir, 'est-ta.pem'), basicAuth: { username: DEVICE, passwordFile: path.join(env.dir, 'est-password') } } };
    const config = parseConfig(
      {
        deviceId: DEVICE,
        stateDir: path.join(env.dir, 'state'),
        tpm: { tcti: env.tpm.tcti, flushStaleTransients: true },
        est: doc.est,
        identity: { subject: `CN=${DEVICE},O=enrolld demo`, dnsNames: [DNS] },
        attestation: { enabled: true, akKeyFile, akCertFile },
        schedule: { cron: '0 * * * *', jitterSeconds: 0 },
      },
      env.dir,
    );
    const log = memoryLogger('info');
    agent = await composeAgent(config, { clock: sim, log });
    const tks = agent.keystore as TpmKeyStore;
    const nonceCalls: number[] = [];
    const match = env.lab.router.match.bind(env.lab.router);
    env.lab.router.match = (method, p) => {
      if (p.endsWith('/nonce')) nonceCalls.push(sim.now().getTime());
      return match(method, p);
    };
    const start = sim.now().getTime();
    const creates: number[] = [];
    running = agent.daemon().run(ac.signal);
    let at = start;
    let lastCreates = tks.stats()['op.createKey']?.count ?? 0;
    for (let steps = 0; steps < 10_000; steps++) {
      const deadline = Date.now() + 20_000;
      while (sim.pending < 1) {
        if (Date.now() > deadline) throw new Error('the daemon did not go back to sleep');
        await new Promise((r) => setTimeout(r, 2));
      }
      const h = Math.floor((at - start) / HOUR);
      const c = tks.stats()['op.createKey']?.count ?? 0;
      creates[h] = (creates[h] ?? 0) + c - lastCreates;
      lastCreates = c;
      const next = sim.nextWake();
      if (!next || next.getTime() > start + SIM_HOURS * HOUR) break;
      at = next.getTime();
      await sim.advanceTo(next);
    }
    ac.abort();
    await running;
    const perHour: number[] = [];
    for (const t of nonceCalls) perHour[Math.floor((t - start) / HOUR)] = (perHour[Math.floor((t - start) / HOUR)] ?? 0) + 1;
    const summary = `nonce requests/h ${[...perHour].map((x) => x ?? 0).join(',')} creates/h ${[...creates].map((x) => x ?? 0).join(',')}`;
    assert.ok(nonceCalls.length >= 5, `${summary}: it keeps trying`);
    for (let h = 1; h < SIM_HOURS; h++) {
      assert.ok((perHour[h] ?? 0) <= MAX_PER_HOUR, `${summary}: hour ${h}`);
      assert.ok((creates[h] ?? 0) <= MAX_PER_HOUR, `${summary}: hour ${h}`);
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
