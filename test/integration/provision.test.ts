// `enrolld provision` (manufacture) as a factory station runs it, against swtpm manufactured with an EK certificate
// (swtpm_setup --create-ek-cert) and the lab server: first run, the attestation CA's answer imported, a rerun that
// changes nothing and says so, kill -9 at every step boundary followed by a rerun that completes, modes, the
// written config loading with loadConfig, and the provisioned device enrolling with CSR attestation.
// Independent checks: tpm2_getcap (TPM properties and persistent handles), openssl (CSR signature, IDevID chain).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSwtpm, type Swtpm } from '../harness/swtpm.js';
import { createLabServer, type LabServer } from '../../deploy/lab/server.js';
import { createAttestationCa, labAkCertifier } from '../../deploy/lab/attestation.js';
import type { LabCa } from '../../deploy/lab/ca.js';
import { loadConfig } from '../../agent/config.js';
import { CONFIG_DIR_FILES as FILES } from '../../agent/store/layout.js';
import { certificateToPem } from '../../agent/pki/cert.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../agent/cli/main.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'enrolld-prov-'));

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; with killOn, SIGKILLs it as soon as a stdout line matches (the kill lands just after that step). */
function enrolld(args: string[], killOn?: RegExp): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000, env: { ...process.env, TSS2_LOG: 'all+none' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      if (killOn && killOn.test(stdout)) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

interface Station {
  tpm: Swtpm;
  lab: LabServer;
  attCa: LabCa;
  dir: string;
  args: string[];
  nonces: { issued: number };
}

async function station(name: string): Promise<Station> {
  const dir = path.join(tmp, name);
  const tpm = await startSwtpm({ ekCert: true });
  const attCa = await createAttestationCa();
  // The IDevID CSR carries no evidence: the lab checks evidence when present and does not require it.
  const nonces = { issued: 0 };
  const lab = await createLabServer({
    users: { 'dev-0042': 'factory-secret' },
    attestation: { trustAnchors: [attCa.root.der], requireAttestation: false, nonce: { random: (n: number) => (nonces.issued++, new Uint8Array(randomBytes(n))) } },
  });
  spawnSync('mkdir', ['-p', path.join(dir, 'in')]);
  writeFileSync(path.join(dir, 'in', 'ta.pem'), lab.trustAnchorPem);
  writeFileSync(path.join(dir, 'in', 'password'), 'factory-secret\n', { mode: 0o600 });
  const args = [
    'provision', '--device-id', 'dev-0042', '--config-dir', path.join(dir, 'etc'), '--state-dir', path.join(dir, 'var'),
    '--tcti', tpm.tcti, '--est-url', lab.url, '--est-ta', path.join(dir, 'in', 'ta.pem'), '--est-password-file', path.join(dir, 'in', 'password'),
    '--subject', 'CN=dev-0042,O=enrolld factory', '--enroll-idevid', '--require-ek-cert',
  ];
  return { tpm, lab, attCa, dir, args, nonces };
}

async function stopStation(s: Station): Promise<void> {
  await s.lab.close().catch(() => undefined);
  await s.tpm.stop().catch(() => undefined);
}

/** The attestation CA's side of the exchange: ak-request.json in, ak chain PEM out. */
async function answerAkRequest(s: Station): Promise<string> {
  const req = JSON.parse(readFileSync(path.join(s.dir, 'etc', FILES.akRequest), 'utf8')) as { spki: string; tpmtPublic: string; deviceId: string; ekCertificate?: string };
  assert.ok(req.ekCertificate, 'the request carries the EK certificate');
  const chain = await labAkCertifier(s.attCa)({ spki: new Uint8Array(Buffer.from(req.spki, 'base64')), tpmtPublic: new Uint8Array(Buffer.from(req.tpmtPublic, 'base64')), deviceId: req.deviceId });
  const file = path.join(s.dir, 'in', 'ak-chain.pem');
  writeFileSync(file, chain.map((d) => certificateToPem(d)).join(''));
  return file;
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of readdirSync(dir).sort()) {
    const st = statSync(path.join(dir, n));
    out[n] = `${(st.mode & 0o7777).toString(8)} ${st.mtimeMs} ${readFileSync(path.join(dir, n)).toString('base64')}`;
  }
  return out;
}

function persistentHandles(tpm: Swtpm): string[] {
  const r = spawnSync('tpm2_getcap', ['handles-persistent'], { encoding: 'utf8', env: { ...process.env, TPM2TOOLS_TCTI: tpm.tcti } });
  assert.is(r.status, 0, r.stderr);
  return r.stdout.split('\n').map((l) => l.replace(/^-\s*/, '').trim()).filter(Boolean);
}

test('first run, AK chain import, rerun changes nothing; modes; config loads; provisioned device enrolls with attestation', async () => {
  const s = await station('main');
  try {
    const before = persistentHandles(s.tpm);
    const r1 = await enrolld(s.args);
    assert.is(r1.status, 3, r1.stderr + r1.stdout); // done, but the AK chain is pending
    assert.match(r1.stdout, /^tpm manufacturer=IBM vendor="SW {3}TPM" firmware=\S+ banks=sha256 /m);
    // The firmware version printed equals what tpm2_getcap reads (TPM2_PT_FIRMWARE_VERSION_1/2, 16-bit halves).
    const fixed = spawnSync('tpm2_getcap', ['properties-fixed'], { encoding: 'utf8', env: { ...process.env, TPM2TOOLS_TCTI: s.tpm.tcti } }).stdout;
    const raw = (name: string): number => Number(new RegExp(`${name}:\\s*\\n\\s*raw: (0x[0-9a-fA-F]+)`).exec(fixed)![1]);
    const [fw1, fw2] = [raw('TPM2_PT_FIRMWARE_VERSION_1'), raw('TPM2_PT_FIRMWARE_VERSION_2')];
    assert.match(r1.stdout, new RegExp(`firmware=${fw1 >>> 16}\\.${fw1 & 0xffff}\\.${fw2 >>> 16}\\.${fw2 & 0xffff} `));
    assert.match(r1.stdout, /^srk created 0x81000001$/m);
    assert.match(r1.stdout, /^ek-cert created issuer=/m);
    assert.match(r1.stdout, /^ak created ak$/m);
    assert.match(r1.stdout, /^ak-chain pending /m);
    assert.match(r1.stdout, /^idevid-cert created$/m);
    assert.match(r1.stdout, /^config created /m);
    // The SRK is the one new persistent object (tpm2-tools' own view).
    const after = persistentHandles(s.tpm);
    assert.equal(after.filter((h) => !before.includes(h)), ['0x81000001']);
    let cfg = loadConfig(path.join(s.dir, 'etc', FILES.config));
    assert.is(cfg.attestation.enabled, false, 'attestation waits for the AK certificate');

    const akChain = await answerAkRequest(s);
    const r2 = await enrolld([...s.args, '--ak-chain', akChain]);
    assert.is(r2.status, 0, r2.stderr + r2.stdout);
    assert.match(r2.stdout, /^ak-chain created$/m);
    assert.match(r2.stdout, /^config updated /m);
    assert.match(r2.stdout, /^srk unchanged /m);
    assert.match(r2.stdout, /^provisioned: /m);

    const etc = path.join(s.dir, 'etc');
    const snap = snapshot(etc);
    const r3 = await enrolld([...s.args, '--ak-chain', akChain]);
    assert.is(r3.status, 0, r3.stderr + r3.stdout);
    assert.match(r3.stdout, /already provisioned, nothing changed/);
    assert.not.match(r3.stdout, /^\S+ (created|updated)/m);
    assert.equal(snapshot(etc), snap, 'no file rewritten by the rerun');
    assert.equal(persistentHandles(s.tpm), after, 'no TPM object added by the reruns');

    // Modes: directories 0700, every file 0600, nothing else in the config directory.
    for (const d of ['etc', 'var']) assert.is((statSync(path.join(s.dir, d)).mode & 0o7777).toString(8), '700', d);
    for (const [n, v] of Object.entries(snap)) assert.is(v.split(' ')[0], '600', n);
    assert.equal(Object.keys(snap).sort(), Object.values(FILES).slice().sort());

    cfg = loadConfig(path.join(etc, FILES.config));
    assert.is(cfg.deviceId, 'dev-0042');
    assert.is(cfg.attestation.enabled, true);
    assert.is(cfg.identity.bootstrapCertFile, path.join(etc, FILES.idevidCert));
    assert.is(cfg.stateDir, path.join(s.dir, 'var'));

    // openssl: the CSR's self-signature (made in the TPM) and the IDevID chain to the lab's root.
    const req = spawnSync('openssl', ['req', '-in', path.join(etc, FILES.idevidCsr), '-verify', '-noout'], { encoding: 'utf8' });
    assert.is(req.status, 0, req.stderr);
    const ver = spawnSync('openssl', ['verify', '-CAfile', path.join(s.dir, 'in', 'ta.pem'), '-untrusted', path.join(etc, FILES.idevidCert), path.join(etc, FILES.idevidCert)], { encoding: 'utf8' });
    assert.is(ver.status, 0, ver.stderr + ver.stdout);

    // The provisioned device works: enroll --now with CSR attestation (the lab verifies the evidence).
    const e = await enrolld(['enroll', '--now', '--config', path.join(etc, FILES.config)]);
    assert.is(e.status, 0, e.stderr + e.stdout);
    assert.match(e.stdout, /state:\s+enrolled/);
    // One freshness nonce issued, and every CSR the lab saw passed its evidence check (a CSR with evidence that
    // fails is refused with attest.<reason>), so the enrollment CSR carried a valid TPM2_Certify by the new AK.
    assert.is(s.nonces.issued, 1);
    assert.ok(s.lab.attestation.events.length >= 1 && s.lab.attestation.events.every((e) => e.ok));
  } finally {
    await stopStation(s);
  }
});

test('kill -9 after each step, then a rerun completes; the result equals an uninterrupted run', async () => {
  const s = await station('crash');
  try {
    const points = [/^srk /m, /^ek-cert /m, /^ak created/m, /^ak-request /m, /^idevid created/m, /^idevid-csr /m, /^idevid-cert /m, /^est-ta /m, /^est-password /m];
    let killed = 0;
    for (const p of points) {
      const r = await enrolld(s.args, p);
      if (r.signal === 'SIGKILL') killed++;
      else assert.ok(r.status === 3 || r.status === 0, `run before ${p} ended ${r.status}: ${r.stderr}`);
    }
    console.log(`provision killed with SIGKILL ${killed} times (of ${points.length} kill points)`);
    assert.ok(killed >= 3, 'the kills landed mid-run');
    const r = await enrolld(s.args);
    assert.is(r.status, 3, r.stderr + r.stdout);
    const akChain = await answerAkRequest(s);
    const r2 = await enrolld([...s.args, '--ak-chain', akChain]);
    assert.is(r2.status, 0, r2.stderr + r2.stdout);
    const r3 = await enrolld([...s.args, '--ak-chain', akChain]);
    assert.match(r3.stdout, /already provisioned, nothing changed/);
    const etc = path.join(s.dir, 'etc');
    const names = readdirSync(etc).filter((n) => !n.startsWith('.'));
    assert.equal(names.sort(), Object.values(FILES).slice().sort());
    const cfg = loadConfig(path.join(etc, FILES.config));
    assert.is(cfg.attestation.enabled, true);
    // One SRK, no stray persistent objects from the interrupted runs.
    assert.is(persistentHandles(s.tpm).filter((h) => h.startsWith('0x81000')).length, 1);
    const e = await enrolld(['enroll', '--now', '--config', path.join(etc, FILES.config)]);
    assert.is(e.status, 0, e.stderr + e.stdout);
  } finally {
    await stopStation(s);
  }
});

test('bad input: missing options, a wrong AK chain, a non-TA file — typed errors, nothing written', async () => {
  const s = await station('bad');
  try {
    const u = await enrolld(['provision', '--device-id', 'x']);
    assert.is(u.status, 2);
    assert.match(u.stderr, /missing --config-dir, --state-dir, --tcti, --est-url, --est-ta/);
    writeFileSync(path.join(s.dir, 'in', 'not-ta.pem'), 'hello\n');
    const t = await enrolld(s.args.map((a) => (a.endsWith('ta.pem') ? path.join(s.dir, 'in', 'not-ta.pem') : a)));
    assert.is(t.status, 1);
    assert.match(t.stderr, /enrolld: provision: .*not-ta\.pem holds no certificate/);
    assert.throws(() => statSync(path.join(s.dir, 'etc')), 'nothing created before inputs are valid');
    // An AK chain for another key is refused; the config is not switched to attestation.
    await enrolld(s.args);
    writeFileSync(path.join(s.dir, 'in', 'wrong-chain.pem'), s.lab.trustAnchorPem);
    const w = await enrolld([...s.args, '--ak-chain', path.join(s.dir, 'in', 'wrong-chain.pem')]);
    assert.is(w.status, 1);
    assert.match(w.stderr, /does not certify the AK/);
    assert.is(loadConfig(path.join(s.dir, 'etc', FILES.config)).attestation.enabled, false);
  } finally {
    await stopStation(s);
  }
});

test('--owner hands directories and files to the service user (as root)', async () => {
  if (process.getuid?.() !== 0) {
    console.log('not root: --owner not exercised');
    return;
  }
  const s = await station('owner');
  try {
    const r = await enrolld([...s.args, '--owner', 'nobody']);
    assert.is(r.status, 3, r.stderr + r.stdout);
    const uid = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout.trim());
    for (const d of ['etc', 'var']) assert.equal([statSync(path.join(s.dir, d)).uid, statSync(path.join(s.dir, d)).gid], [uid, gid], d);
    for (const n of readdirSync(path.join(s.dir, 'etc'))) {
      const st = statSync(path.join(s.dir, 'etc', n));
      assert.equal([st.uid, st.gid, (st.mode & 0o777).toString(8)], [uid, gid, '600'], n);
    }
    const again = await enrolld([...s.args, '--owner', 'nobody']);
    assert.match(again.stdout, /already provisioned, nothing changed/);
  } finally {
    await stopStation(s);
  }
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
