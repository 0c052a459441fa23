// A TPM without a resource manager whose three transient object slots (swtpm) a crashed process left full:
// foreign objects loaded by tpm2-tools (tpm2_createprimary), then `enrolld once` against the lab. With
// tpm.flushStaleTransients the agent flushes them before anything needs a slot (the SRK check), warns, enrolls,
// and leaves no transient object behind (tpm2_getcap handles-transient). Without the flush the open fails with
// TPM_RC_OBJECT_MEMORY — the condition is real, not assumed.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import { TpmCommandError } from '../../agent/tpm2/errors.js';
import { startAgentEnv, type AgentEnv } from '../harness/agent-env.js';
import { runCli } from '../harness/cli.js';

const TPM_RC_OBJECT_MEMORY = 0x902;

function tools(env: AgentEnv, tool: string, ...args: string[]): string {
  return execFileSync(tool, args, { encoding: 'utf8', env: { ...process.env, TPM2TOOLS_TCTI: env.tpm.tcti }, cwd: env.dir, stdio: ['ignore', 'pipe', 'pipe'] });
}

function transients(env: AgentEnv): string[] {
  return tools(env, 'tpm2_getcap', 'handles-transient').match(/0x80[0-9a-f]{6}/gi) ?? [];
}

/** Three primaries under the owner hierarchy; without a resource manager they stay loaded after the tool exits. */
function fillTransientSlots(env: AgentEnv): void {
  for (let i = 0; i < 3; i++) tools(env, 'tpm2_createprimary', '-C', 'o', '-G', 'ecc256', '-c', path.join(env.dir, `foreign-${i}.ctx`));
  assert.is(transients(env).length, 3, 'three foreign transient objects are loaded');
}

async function openFails(env: AgentEnv): Promise<void> {
  const err = await TpmKeyStore.open({ tcti: env.tpm.tcti }).then(
    async (ks) => {
      await ks.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  assert.instance(err, TpmCommandError, `open without the flush must fail, got ${String(err)}`);
  assert.is((err as TpmCommandError).tpmRc, TPM_RC_OBJECT_MEMORY, String(err));
}

test('all transient slots taken: `enrolld once` flushes the foreign objects first, enrolls, leaves 0 transients; again with the SRK present', async () => {
  const env = await startAgentEnv();
  try {
    const cfg = path.join(env.dir, 'config.json');
    assert.ok(env.config.tpm.flushStaleTransients);
    // 1. fresh TPM (no SRK yet: creating it needs a slot too)
    fillTransientSlots(env);
    await openFails(env);
    const first = await runCli('once', '--config', cfg);
    assert.is(first.status, 0, first.stderr + first.stdout);
    assert.match(first.stderr + first.stdout, /tpm\.stale-transients-flushed.*count=3/);
    assert.equal(transients(env), [], 'no transient object left');
    assert.is(env.lab.issued.length, 1, 'enrolled');
    assert.is(env.lab.issued[0]!.operation, 'simpleenroll');
    // 2. the crash again, now with the SRK persisted (its TR_FromTPMPublic is what needed the slot)
    fillTransientSlots(env);
    await openFails(env);
    const second = await runCli('enroll', '--now', '--config', cfg);
    assert.is(second.status, 0, second.stderr + second.stdout);
    assert.match(second.stderr + second.stdout, /tpm\.stale-transients-flushed.*count=3/);
    assert.equal(transients(env), []);
    assert.is(env.lab.issued.length, 2);
    assert.is(env.lab.issued[1]!.operation, 'simplereenroll', 'the credential from the first run was kept and renewed');
  } finally {
    await env.stop();
  }
});

test.run();
