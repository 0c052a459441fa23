// TAMP through the composed agent (config → compose → PAL poller → TampManager): the apex TA installed from the
// config file at first start, a status query and a TA add answered over /tamp/return, signed with the device's
// current TPM credential (and with the renewed one after a renewal); the added TA lands in the agent's TA store.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { composeAgent } from '../../agent/cli/compose.js';
import { parseConfig } from '../../agent/config.js';
import { memoryLogger } from '../../agent/util/log.js';
import { certificateToDer, certificatesFromPem } from '../../agent/pki/cert.js';
import { labPal } from '../../deploy/lab/pal.js';
import { LabCa } from '../../deploy/lab/ca.js';
import { registerTampHandlers } from '../../deploy/lab/tamp.js';
import { startAgentEnv } from '../harness/agent-env.js';
import type { DeviceStatus, StatusSink } from '../../agent/status/index.js';

const HW = '1.3.6.1.4.1.32473.8.1';

test('apex from config; status query and TA add via the PAL; answers signed by the current (renewed) credential', async () => {
  const env = await startAgentEnv();
  const log = memoryLogger('info');
  const lab = await registerTampHandlers(env.lab.router, { baseUrl: env.lab.url });
  writeFileSync(path.join(env.dir, 'tamp-apex.pem'), lab.apex.root.pem);
  const doc = JSON.parse(readFileSync(path.join(env.dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  doc.tamp = { apexTrustAnchorFile: 'tamp-apex.pem', communities: ['1.3.6.1.4.1.32473.9.1'], hardware: { type: HW, serialHex: '0a0b0c' } };
  const config = parseConfig(doc, env.dir);
  const snapshots: DeviceStatus[] = [];
  const sink: StatusSink = { state: () => undefined, snapshot: (st) => void snapshots.push(st), event: () => undefined, close: async () => undefined };
  const agent = await composeAgent(config, { log, status: sink });
  try {
    assert.ok(agent.tamp, 'TAMP is composed when configured');
    const first = await agent.enroller.step();
    assert.is(first.action, 'issued');
    const pal = labPal(env.lab.router);
    const deliver = async (spec: Parameters<typeof lab.publish>[0]): Promise<void> => {
      const m = await lab.publish({ ...spec, signer: 'apex' });
      pal.setPal(config.deviceId, [m.entry, lab.returnEntry()]);
      await agent.poller.poll((await agent.state.load())!);
      assert.is(agent.poller.last!.counts.failed, 0, JSON.stringify(agent.poller.last!.codes) + log.lines.slice(-5).join('\n'));
    };
    await deliver({ kind: 'statusQuery' });
    const r1 = lab.returns.at(-1)!;
    assert.is(r1.mediaType, 'application/tamp-status-response');
    assert.ok(r1.signatureValid);
    const certOf = (pem: string): Buffer => Buffer.from(certificateToDer(certificatesFromPem(pem)[0]!));
    assert.ok(Buffer.from(r1.der).includes(certOf(first.state.credential!.certPem)), 'signed by the current device credential');

    const vendor = await LabCa.create({ name: 'vendor root', now: new Date() });
    const second = await agent.enroller.step({ force: true });
    assert.is(second.action, 'issued');
    await deliver({ kind: 'update', updates: [{ kind: 'add', ta: { kind: 'certificate', der: vendor.root.der, certificate: vendor.root.certificate } }] });
    const r2 = lab.returns.at(-1)!;
    assert.is(r2.mediaType, 'application/tamp-update-confirm');
    assert.is(r2.status, 'success');
    assert.ok(Buffer.from(r2.der).includes(certOf(second.state.credential!.certPem)), 'signed by the renewed credential');
    assert.ok(agent.taStore.find(vendor.root.certificate), 'the added TA is in the agent TA store');
    // The status snapshot reports the TA-store digest and the TAMP sequence number (docs/status-schema.md).
    const seq = Number(lab.lastSeq.apex);
    for (let i = 0; i < 50 && snapshots.at(-1)?.ta?.tampSeq !== seq; i++) await new Promise((r) => setTimeout(r, 20));
    assert.is(snapshots.at(-1)?.ta?.tampSeq, seq);
    assert.is(snapshots.at(-1)?.ta?.digest, agent.taStore.digest());
  } finally {
    await agent.close();
    await env.stop();
  }
});

test.run();
