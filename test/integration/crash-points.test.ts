// Crash injection at named points: `enrolld once` is started with ENROLLD_CRASHPOINT=<point> and must die
// by SIGKILL exactly there (agent/util/crashpoint.ts); a second `enrolld once` without it must then complete. After
// each recovery: the state loads, the device is enrolled with a usable credential (the TPM key signs, the
// certificate certifies it), no TPM transient object is left, and the firmware from the PAL is applied.
// The random-time kills of `enrolld run` are test/integration/crash-run.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { X509Certificate, randomBytes, verify } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAgentEnv, type AgentEnv } from '../harness/agent-env.js';
import { FileStateStore } from '../../agent/store/state-store.js';
import { STATE_SCHEMA, isAgentState, fromStoredKey, type AgentState } from '../../agent/lifecycle/state.js';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import { provisionAttestationKey } from '../../agent/attest/provision.js';
import { loadState as loadFirmwareState } from '../../agent/packages/firmware/state.js';
import { CRASH_POINTS } from '../../agent/util/crashpoint.js';
import { createAttestationCa, labAkCertifier } from '../../deploy/lab/attestation.js';
import { FirmwareLab } from '../../deploy/lab/firmware.js';
import { labPal } from '../../deploy/lab/pal.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../agent/cli/main.js');
const HW = '1.3.6.1.4.1.32473.8.1';

function once(cfg: string, crashpoint?: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.ENROLLD_CRASHPOINT;
    if (crashpoint) env.ENROLLD_CRASHPOINT = crashpoint;
    const child = spawn(process.execPath, [MAIN, 'once', '--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

async function device(): Promise<{ env: AgentEnv; cfg: string; marker: string }> {
  const attCa = await createAttestationCa();
  const env = await startAgentEnv({ lab: { attestation: { trustAnchors: [attCa.root.der] } } });
  const ks = await TpmKeyStore.open({ tcti: env.tpm.tcti });
  const akKeyFile = path.join(env.dir, 'ak.json');
  const akCertFile = path.join(env.dir, 'ak.pem');
  try {
    await provisionAttestationKey({ keystore: ks, certifier: labAkCertifier(attCa), deviceId: env.config.deviceId, akKeyFile, akCertFile });
  } finally {
    await ks.close();
  }
  const fw = await FirmwareLab.create(env.lab.router, { dir: path.join(env.dir, 'fwlab'), baseUrl: env.lab.url });
  writeFileSync(path.join(env.dir, 'fw-ta.pem'), fw.trustAnchorPem);
  const pkg = await fw.addPackage({ id: 'v3', image: new Uint8Array(randomBytes(400_000)), name: { preferred: { fwPkgID: '1.3.6.1.4.1.32473.7.1', verNum: 3 } }, targetHardware: [HW] });
  labPal(env.lab.router).setPal(env.config.deviceId, [{ type: '0026', size: pkg.palSize, info: { kind: 'uri', uri: pkg.url } }]);
  const marker = path.join(env.dir, 'slot-b.img');
  const hook = path.join(env.dir, 'apply.sh');
  writeFileSync(hook, `#!/bin/sh\nset -e\ncp "$1" "${marker}"\n`);
  chmodSync(hook, 0o755);
  const cfg = path.join(env.dir, 'config.json');
  const doc = JSON.parse(readFileSync(cfg, 'utf8')) as Record<string, unknown>;
  doc.attestation = { enabled: true, akKeyFile, akCertFile };
  doc.firmware = { trustAnchorsFile: 'fw-ta.pem', hook: { path: hook, timeoutSeconds: 30 }, hardware: { type: HW, serialHex: '0a0b' } };
  writeFileSync(cfg, JSON.stringify(doc));
  return { env, cfg, marker };
}

const POINTS = [...CRASH_POINTS.filter((p) => p !== 'atomic.before-rename'), 'atomic.before-rename:state.json', 'atomic.before-rename:trust-anchors.json', 'atomic.before-rename:firmware-state.json'];

for (const point of POINTS) {
  test(`SIGKILL at ${point}, then recovery`, async () => {
    const { env, cfg, marker } = await device();
    try {
      const crashed = await once(cfg, point);
      assert.is(crashed.signal, 'SIGKILL', `the process did not reach ${point}: exit ${crashed.code}\n${crashed.stderr.slice(-1500)}`);
      const store = new FileStateStore<AgentState>({ dir: env.config.stateDir, version: STATE_SCHEMA, validate: isAgentState });
      const mid = await store.load(); // a corrupt state throws here
      if (mid) assert.ok(isAgentState(mid));
      const recovered = await once(cfg);
      assert.is(recovered.code, 0, recovered.stderr.slice(-2000));
      const s = await store.load();
      assert.is(s?.phase, 'enrolled', JSON.stringify(s?.retry));
      const cert = new X509Certificate(s!.credential!.certPem);
      const ks = await TpmKeyStore.open({ tcti: env.tpm.tcti });
      try {
        assert.is((await ks.listHandles()).length, 0, 'no orphaned TPM transient objects after the recovery run');
        const msg = new Uint8Array(Buffer.from(`usable after ${point}`));
        assert.ok(verify('sha256', msg, cert.publicKey, Buffer.from(await ks.signer(fromStoredKey(s!.credential!.key)).sign(msg))), 'the credential is usable');
      } finally {
        await ks.close();
      }
      assert.is(env.lab.attestation.events.at(-1)?.ok, true, 'the issued request carried verified evidence');
      const fws = await loadFirmwareState(path.join(env.config.stateDir, 'firmware'));
      assert.is(fws.pending?.status, 'pending-reboot', `firmware applied after ${point}`);
      assert.ok(existsSync(marker));
    } finally {
      await env.stop();
    }
  });
}

test.run();
