// Key packages and firmware decryption through the composed agent: a symmetric key package (RFC 6031, 0024) is
// verified to the key-package TA from config and sealed in the TPM; a firmware package encrypted under that key
// (RFC 4108 §2.1.3, decrypt-key-identifier = the key's id) is then decrypted with the key unsealed from the TPM,
// applied, and receipted with decryptKeyID. The key never appears in the clear in the state directory.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { composeAgent } from '../../agent/cli/compose.js';
import { parseConfig } from '../../agent/config.js';
import { memoryLogger } from '../../agent/util/log.js';
import { pemEncode } from '../../agent/pki/pem.js';
import { FirmwareLab } from '../../deploy/lab/firmware.js';
import { registerKeyPackageHandlers } from '../../deploy/lab/keys.js';
import { labPal } from '../../deploy/lab/pal.js';
import { startAgentEnv } from '../harness/agent-env.js';

const HW = '1.3.6.1.4.1.32473.8.1';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

test('symmetric key package sealed in the TPM, then an encrypted firmware package decrypted with it', async () => {
  const env = await startAgentEnv();
  const log = memoryLogger('info');
  const keysLab = await registerKeyPackageHandlers(env.lab.router, { baseUrl: env.lab.url, issuer: env.lab.ca });
  const fwLab = await FirmwareLab.create(env.lab.router, { dir: path.join(env.dir, 'fwlab'), baseUrl: env.lab.url });
  writeFileSync(path.join(env.dir, 'keys-ta.pem'), pemEncode('CERTIFICATE', keysLab.trustAnchorDer));
  writeFileSync(path.join(env.dir, 'fw-ta.pem'), fwLab.trustAnchorPem);
  const marker = path.join(env.dir, 'slot.img');
  const hook = path.join(env.dir, 'apply.sh');
  writeFileSync(hook, `#!/bin/sh\nset -e\ncp "$1" "${marker}"\n`);
  chmodSync(hook, 0o755);
  const doc = JSON.parse(readFileSync(path.join(env.dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  doc.keyPackages = { trustAnchorsFile: 'keys-ta.pem' };
  doc.firmware = { trustAnchorsFile: 'fw-ta.pem', hook: { path: hook }, hardware: { type: HW, serialHex: '01' } };
  const config = parseConfig(doc, env.dir);
  const agent = await composeAgent(config, { log });
  try {
    assert.is((await agent.enroller.step()).action, 'issued');
    const key = new Uint8Array(randomBytes(16));
    const keyHex = Buffer.from(key).toString('hex');
    const pkg = await keysLab.addSymmetricPackage({ id: 'fw-key-pkg', keys: [{ keyId: 'fw-key-7', key, algorithm: '2.16.840.1.101.3.4.1.2' }] });
    const pal = labPal(env.lab.router);
    pal.setPal(config.deviceId, [pkg.entry, keysLab.symmetricReturnEntry()]);
    await agent.poller.poll((await agent.state.load())!);
    assert.is(agent.poller.last!.counts.failed, 0, JSON.stringify(agent.poller.last!.codes) + log.lines.slice(-5).join('\n'));
    for (const f of filesUnder(config.stateDir)) {
      assert.not.ok(readFileSync(f).includes(Buffer.from(key)), `${f} holds the key bytes`);
      assert.not.ok(readFileSync(f, 'latin1').includes(keyHex), `${f} holds the key in hex`);
      assert.is(statSync(f).mode & 0o077, 0, `${f} is private`);
    }
    const image = new Uint8Array(randomBytes(80_000));
    const fw = await fwLab.addPackage({ id: 'enc', image, name: { preferred: { fwPkgID: '1.3.6.1.4.1.32473.7.1', verNum: 3 } }, targetHardware: [HW], encrypt: { keyId: new Uint8Array(Buffer.from('fw-key-7')), key } });
    pal.setPal(config.deviceId, [
      { type: '0026', size: fw.palSize, info: { kind: 'uri', uri: fw.url } },
      { type: '0027', size: 0, info: { kind: 'uri', uri: `${env.lab.estUrl()}/firmware/return` } },
    ]);
    await agent.poller.poll((await agent.state.load())!);
    assert.is(agent.poller.last!.counts.failed, 0, JSON.stringify(agent.poller.last!.codes) + log.lines.slice(-5).join('\n'));
    assert.equal(new Uint8Array(readFileSync(marker)), image, 'decrypted with the TPM-sealed key and applied');
    const rec = fwLab.returns.at(-1)!;
    assert.is(rec.kind, 'receipt');
    assert.is(rec.receipt!.decryptKeyID, Buffer.from('fw-key-7').toString('hex'));
  } finally {
    await agent.close();
    await env.stop();
  }
});

test.run();
