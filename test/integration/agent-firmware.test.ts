// Firmware through the composed agent (config → compose → PAL poller → FirmwareManager): the download is
// authenticated with the device's TPM credential, the package is verified to the firmware TA seeded from config,
// the configured hook applies it, and the load receipt is signed by the TPM key of the current credential.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { composeAgent } from '../../agent/cli/compose.js';
import { parseConfig } from '../../agent/config.js';
import { memoryLogger } from '../../agent/util/log.js';
import { initialState } from '../../agent/lifecycle/state.js';
import { certificateToDer, certificatesFromPem } from '../../agent/pki/cert.js';
import { FirmwareLab } from '../../deploy/lab/firmware.js';
import { labPal } from '../../deploy/lab/pal.js';
import { startAgentEnv } from '../harness/agent-env.js';
import type { DeviceStatus, StatusSink } from '../../agent/status/index.js';

const PKG = '1.3.6.1.4.1.32473.7.1';
const HW = '1.3.6.1.4.1.32473.8.1';

test('a PAL firmware entry is downloaded as the device, verified to the configured firmware TA, applied, and receipted with the TPM key', async () => {
  const env = await startAgentEnv();
  const log = memoryLogger('info');
  const fwLab = await FirmwareLab.create(env.lab.router, { dir: path.join(env.dir, 'fwlab'), baseUrl: env.lab.url });
  writeFileSync(path.join(env.dir, 'fw-ta.pem'), fwLab.trustAnchorPem);
  const marker = path.join(env.dir, 'applied.bin');
  const hook = path.join(env.dir, 'apply.sh');
  writeFileSync(hook, `#!/bin/sh\nset -e\ncp "$1" "${marker}"\n`);
  chmodSync(hook, 0o755);
  const doc = JSON.parse(readFileSync(path.join(env.dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  doc.firmware = { trustAnchorsFile: 'fw-ta.pem', hook: { path: hook, timeoutSeconds: 20 }, hardware: { type: HW, serialHex: '00c0ffee' } };
  const config = parseConfig(doc, env.dir);
  const snapshots: DeviceStatus[] = [];
  const sink: StatusSink = { state: () => undefined, snapshot: (st) => void snapshots.push(st), event: () => undefined, close: async () => undefined };
  const agent = await composeAgent(config, { log, status: sink });
  try {
    assert.ok(agent.firmware, 'firmware is composed when configured');
    assert.is(agent.taStore.anchorsFor('firmware').length, 1, 'the firmware TA is seeded into the TA store');
    const enrolled = await agent.enroller.step();
    assert.is(enrolled.action, 'issued', log.lines.join('\n'));
    const image = new Uint8Array(randomBytes(150_000));
    const pkg = await fwLab.addPackage({ id: 'v5', image, name: { preferred: { fwPkgID: PKG, verNum: 5 } }, targetHardware: [HW] });
    const pal = labPal(env.lab.router);
    pal.setPal(config.deviceId, [
      { type: '0026', size: pkg.palSize, info: { kind: 'uri', uri: pkg.url } },
      { type: '0027', size: 0, info: { kind: 'uri', uri: `${env.lab.url}/.well-known/est/firmware/return` } },
    ]);
    await agent.poller.poll((await agent.state.load()) ?? initialState());
    const last = agent.poller.last!;
    assert.is(last.outcome, 'ok', log.lines.join('\n'));
    assert.is(last.counts.failed, 0, JSON.stringify(last.codes));
    assert.ok(existsSync(marker), 'the hook ran');
    assert.equal(new Uint8Array(readFileSync(marker)), image);
    assert.is((await agent.firmware!.state()).pending?.status, 'pending-reboot');
    assert.is(pal.requests.at(-1)!.auth, 'certificate');
    for (let i = 0; i < 50 && !snapshots.at(-1)?.fw; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(snapshots.at(-1)?.fw, { running: 'factory', pending: `${PKG}#5` }, 'the status snapshot reports the pending firmware');
    const rec = fwLab.returns.at(-1)!;
    assert.is(rec.kind, 'receipt');
    assert.is(rec.signatureValid, true);
    const certDer = certificateToDer(certificatesFromPem(enrolled.state.credential!.certPem)[0]!);
    assert.ok(Buffer.from(rec.der).indexOf(Buffer.from(certDer)) >= 0, 'the receipt carries the device certificate whose TPM key signed it');

    // The same package again is stale (no downgrade / no re-apply): rejected, nothing re-run.
    writeFileSync(marker, 'untouched');
    await agent.firmware!.confirmBoot();
    await agent.poller.poll((await agent.state.load())!);
    assert.is(readFileSync(marker, 'utf8'), 'untouched');
    assert.is(fwLab.returns.at(-1)!.kind, 'error');
  } finally {
    await agent.close();
    await env.stop();
  }
});

test('firmware config is validated: relative hook path, bad OID, bad serial', () => {
  const base = { deviceId: 'd', est: { url: 'https://127.0.0.1', trustAnchorsFile: 'ta.pem' } };
  const fw = { trustAnchorsFile: 'fw.pem', hook: { path: '/usr/lib/enrolld/apply' }, hardware: { type: '1.2.3', serialHex: '0a' } };
  assert.ok(parseConfig({ ...base, firmware: fw }, '/tmp').firmware);
  assert.throws(() => parseConfig({ ...base, firmware: { ...fw, hook: { path: 'apply.sh' } } }, '/tmp'), /firmware.hook.path/);
  assert.throws(() => parseConfig({ ...base, firmware: { ...fw, hardware: { type: 'x.y', serialHex: '0a' } } }, '/tmp'), /firmware.hardware.type/);
  assert.throws(() => parseConfig({ ...base, firmware: { ...fw, hardware: { type: '1.2.3', serialHex: 'abc' } } }, '/tmp'), /serialHex/);
});

test.run();
