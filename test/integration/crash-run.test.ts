// kill -9 of `enrolld run` at random points during enrollment and re-enrollment (issue #4): after every kill the
// next start loads a valid state, and at the end the device holds a usable credential (valid now, its key signs in
// the TPM, the certificate certifies that key) with no TPM object left behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate, verify } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { startAgentEnv } from '../harness/agent-env.js';
import { FileStateStore } from '../../agent/store/state-store.js';
import { STATE_SCHEMA, isAgentState, fromStoredKey, type AgentState } from '../../agent/lifecycle/state.js';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../agent/cli/main.js');
// `npm run prove:crash -- --iterations 1000` runs the long form; CI runs 50.
const argIdx = process.argv.indexOf('--iterations');
const ITERATIONS = Number(argIdx > 0 ? process.argv[argIdx + 1] : (process.env.CRASH_ITERATIONS ?? 50));

function start(cfg: string): ChildProcess {
  return spawn(process.execPath, [MAIN, 'run', '--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
}
const exited = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));

test(`SIGKILL of enrolld run at ${ITERATIONS} random points, then recovery to a usable credential`, async () => {
  // 5 s certificates (the lab backdates notBefore by 60 s) renewed at 95 % of their life: a renewal every ~2 s.
  const env = await startAgentEnv({ lab: { certValiditySeconds: 5 }, config: { schedule: { renewFraction: 0.95, backoffMinSeconds: 1, backoffMaxSeconds: 2, jitterSeconds: 0 } } });
  const cfg = path.join(env.dir, 'config.json');
  const store = new FileStateStore<AgentState>({ dir: env.config.stateDir, version: STATE_SCHEMA, validate: isAgentState });
  const phases = new Map<string, number>();
  let seed = 0x2545f491;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  try {
    for (let i = 0; i < ITERATIONS; i++) {
      const child = start(cfg);
      await new Promise((r) => setTimeout(r, 150 + Math.floor(rand() * 1800)));
      child.kill('SIGKILL');
      await exited(child);
      const s = await store.load(); // throws on a corrupt/unrecoverable state
      const phase = s?.phase ?? 'none';
      phases.set(phase, (phases.get(phase) ?? 0) + 1);
      if (s) assert.ok(isAgentState(s), `iteration ${i}: invalid state`);
    }
    // Let it run to completion once: it must end enrolled with a fresh credential.
    const child = start(cfg);
    const deadline = Date.now() + 20_000;
    let final: AgentState | undefined;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      final = await store.load();
      if (final?.phase === 'enrolled' && Date.parse(final.credential!.notAfter) > Date.now() + 1000) break;
    }
    child.kill('SIGTERM');
    await exited(child);
    final = await store.load();
    assert.is(final?.phase, 'enrolled');
    const cred = final!.credential!;
    const cert = new X509Certificate(cred.certPem);
    // Usable: the TPM key signs and the certificate's public key verifies it.
    const ks = await TpmKeyStore.open({ tcti: env.tpm.tcti });
    try {
      await ks.flushStaleTransients();
      const msg = new Uint8Array(Buffer.from('usable?'));
      const sig = await ks.signer(fromStoredKey(cred.key)).sign(msg);
      assert.ok(verify('sha256', msg, cert.publicKey, Buffer.from(sig)));
      assert.is((await ks.listHandles()).length, 0);
    } finally {
      await ks.close();
    }
    const summary = [...phases].map(([k, v]) => `${k}=${v}`).join(' ');
    writeFileSync(path.join(env.dir, 'summary'), summary);
    console.log(`kill points landed in: ${summary}; certificates issued by the lab: ${env.lab.issued.length}`);
    assert.ok((phases.get('renewing') ?? 0) + (phases.get('enrolling') ?? 0) > 0, `no kill landed mid-enrollment: ${summary}`);
  } finally {
    await env.stop();
  }
});

test.run();
