// The composed agent with protocol cmp (agent/features/cmp): enrollment by ir (MAC) with the configured certProfile,
// then the daemon's cycle carries the root CA key update — the configured CMP root is past its renewal fraction, so
// genm id-it-rootCaCert goes out and the new root lands in the agent's TA store (RFC 9483 §4.3.2, §3.1).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { composeAgent } from '../../agent/cli/compose.js';
import { parseConfig } from '../../agent/config.js';
import { ManualClock } from '../../agent/lifecycle/clock.js';
import { pemDecode } from '../../agent/pki/pem.js';
import { memoryLogger } from '../../agent/util/log.js';
import { registerCmpHandlers, CMP_WELL_KNOWN_PATH } from '../../deploy/lab/cmp.js';
import { startAgentEnv } from '../harness/agent-env.js';

test('protocol cmp: ir with certProfile, then the cycle updates the CMP root into the TA store', async () => {
  const env = await startAgentEnv();
  const log = memoryLogger('info');
  let agent: Awaited<ReturnType<typeof composeAgent>> | undefined;
  try {
    const sh = (args: string[]): void => void execFileSync('openssl', args, { cwd: env.dir, stdio: 'ignore' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    const ca = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];
    sh(['req', '-x509', ...ec, '-keyout', 'old.key', '-out', 'cmp-ta.pem', '-subj', '/CN=CMP Root G1', '-days', '6', ...ca]);
    sh(['req', '-x509', ...ec, '-keyout', 'new.key', '-out', 'new.pem', '-subj', '/CN=CMP Root G2', '-days', '60', ...ca]);
    sh(['req', '-new', '-key', 'new.key', '-subj', '/CN=CMP Root G2', '-out', 'new.csr']);
    sh(['x509', '-req', '-in', 'new.csr', '-CA', 'cmp-ta.pem', '-CAkey', 'old.key', '-CAcreateserial', '-days', '6', '-out', 'nwo.pem']);
    const der = (f: string): Uint8Array => pemDecode(readFileSync(path.join(env.dir, f), 'utf8'), 'CERTIFICATE');
    writeFileSync(path.join(env.dir, 'cmp-secret'), 'lab-cmp-secret', { mode: 0o600 });
    const records = registerCmpHandlers(env.lab.router, {
      ca: env.lab.ca, reference: 'dev-0001', secret: new TextEncoder().encode('lab-cmp-secret'), certValiditySeconds: 30 * 86400,
      certProfiles: ['device'], rootCaKeyUpdate: { newWithNew: der('new.pem'), newWithOld: der('nwo.pem') },
    });
    const config = parseConfig({
      ...env.configDoc, protocol: 'cmp',
      cmp: { url: `${env.lab.url}${CMP_WELL_KNOWN_PATH}`, trustAnchorsFile: 'cmp-ta.pem', tlsTrustAnchorsFile: 'est-ta.pem', mac: { reference: 'dev-0001', secretFile: 'cmp-secret' }, certProfile: 'device' },
    }, env.dir);
    // 4.5 of the CMP root's 6 days lived: past the renewal fraction (2/3)
    const clock = new ManualClock(new Date(Date.now() + 4.5 * 86400_000));
    agent = await composeAgent(config, { clock, log });
    const first = await agent.enroller.step();
    assert.is(first.action, 'issued', `${first.error?.message}\n${log.lines.join('\n')}`);
    assert.equal(records.find((r) => r.outcome === 'issued')!.certProfile, ['device']);
    assert.equal(agent.taStore.anchorsFor('cmp'), []);
    const daemon = agent.daemon();
    await daemon.iterate(first.state, { pollNow: true });
    const stored = agent.taStore.anchorsFor('cmp');
    assert.is(stored.length, 1, log.lines.join('\n'));
    assert.equal(stored[0]!.der, der('new.pem'));
    assert.ok(records.some((r) => r.body === 'genm'));
    assert.ok(existsSync(path.join(config.stateDir, 'cmp-root-update.json')));
  } finally {
    await agent?.close();
    await env.stop();
  }
});

test.run();
