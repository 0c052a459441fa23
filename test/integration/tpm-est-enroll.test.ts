// The foundation slice end to end: a TPM-resident key (swtpm) enrolled over EST with the lab server, re-enrolled
// with TLS client authentication signed inside the TPM (the addon's OpenSSL engine), state persisted on disk.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { composeAgent } from '../../agent/cli/compose.js';
import { memoryLogger } from '../../agent/util/log.js';
import { buildCsr } from '../../agent/pki/csr.js';
import { pemEncode } from '../../agent/pki/pem.js';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import { loadAddon } from '../../agent/keystore/addon.js';
import { createHttpsTransport } from '../../agent/protocols/http/transport.js';
import { TlsError } from '../../agent/protocols/http/errors.js';
import { fromStoredKey, initialState } from '../../agent/lifecycle/state.js';
import { createLabServer } from '../../deploy/lab/server.js';
import { startAgentEnv } from '../harness/agent-env.js';
import { labPal } from '../../deploy/lab/pal.js';

test('enroll a TPM key, then re-enroll over TLS client auth signed by the TPM; state files 0600', async () => {
  const env = await startAgentEnv();
  const log = memoryLogger('info');
  const agent = await composeAgent(env.config, { log });
  try {
    const first = await agent.enroller.step();
    assert.is(first.action, 'issued', log.lines.join('\n'));
    const cred1 = first.state.credential!;
    assert.is(env.lab.issued[0]!.operation, 'simpleenroll');
    assert.match(env.lab.issued[0]!.authenticatedAs, /^basic:/);
    const cert1 = new X509Certificate(cred1.certPem);
    assert.match(cert1.subject, /CN=dev-0001/);
    assert.is(cred1.key.location.parent, 0x81000001, 'the key lives under the SRK');

    const second = await agent.enroller.step({ force: true });
    assert.is(second.action, 'issued', log.lines.join('\n'));
    const rec = env.lab.issued[1]!;
    assert.is(rec.operation, 'simplereenroll');
    assert.match(rec.authenticatedAs, /^cert:/, 'authenticated by the TPM-held key');
    assert.is.not(second.state.credential!.serial, cred1.serial);
    assert.is.not(second.state.credential!.key.id, cred1.key.id, 'renewal rotates the key');

    const st = statSync(path.join(env.config.stateDir, 'state.json'));
    assert.is(st.mode & 0o777, 0o600);
    assert.is(statSync(env.config.stateDir).mode & 0o777, 0o700);
    const ks = agent.keystore as TpmKeyStore;
    assert.is((await ks.listHandles()).length, 0, 'no transient object left in the TPM');
  } finally {
    await agent.close();
    await env.stop();
  }
});

test('PAL polls authenticate with Basic before enrollment, then with the current TPM credential (switching at renewal)', async () => {
  const env = await startAgentEnv();
  const log = memoryLogger('info');
  const agent = await composeAgent(env.config, { log });
  try {
    const pal = labPal(env.lab.router);
    const poll = async (): Promise<void> => {
      await agent.poller.poll((await agent.state.load()) ?? initialState());
      assert.is(agent.poller.last?.outcome, 'ok', log.lines.join('\n'));
    };
    await poll();
    assert.equal(pal.requests.map((r) => r.auth), ['basic']);
    const first = await agent.enroller.step();
    assert.is(first.action, 'issued');
    // An /eecerts package (RFC 8295 §3) lands in the persistent peer store.
    pal.setEeCerts('dev-0001', [await pal.issuePeerCertificate('peer.example')]);
    pal.setPal('dev-0001', [{ type: '0003', size: 0, info: { kind: 'uri', uri: `${env.lab.estUrl()}/eecerts` } }]);
    await poll();
    assert.is(pal.requests[1]!.auth, 'certificate', 'a TLS client certificate, not the factory password');
    assert.is(agent.poller.last!.counts.failed, 0, JSON.stringify(agent.poller.last!.codes));
    const peers = (JSON.parse(readFileSync(path.join(env.config.stateDir, 'peer-certificates.json'), 'utf8')) as { data: { sources: Record<string, Array<{ subject: string }>> } }).data;
    assert.match(JSON.stringify(peers.sources), /peer\.example/);
    assert.is(statSync(path.join(env.config.stateDir, 'peer-certificates.json')).mode & 0o777, 0o600);
    assert.not.ok(log.lines.some((l) => /factory-secret/.test(l)));
    const second = await agent.enroller.step({ force: true });
    assert.is(second.action, 'issued');
    await poll();
    assert.is(pal.requests[2]!.auth, 'certificate');
    // The renewed key signed that handshake: the old key is gone from the state, and the lab saw the new serial.
    const ks = agent.keystore as TpmKeyStore;
    assert.is((await ks.listHandles()).length, 0);
    assert.is.not(second.state.credential!.serial, first.state.credential!.serial);
  } finally {
    await agent.close();
    await env.stop();
  }
});

test('a CSR signed in the TPM verifies with openssl req -verify (ECC and RSA)', async () => {
  const env = await startAgentEnv();
  const ks = await TpmKeyStore.open({ tcti: env.tpm.tcti });
  try {
    for (const alg of ['ecc-p256', 'rsa-2048'] as const) {
      const key = await ks.createKey(`csr-${alg}`, alg);
      const { der } = await buildCsr({ subject: 'CN=dev-0001,O=enrolld', signer: ks.signer(key), san: { dns: ['dev-0001.example'] } });
      const file = path.join(env.dir, `${alg}.csr.pem`);
      writeFileSync(file, pemEncode('CERTIFICATE REQUEST', der));
      // openssl 3.0 prints "verify OK"/"verify failure" on stderr and exits 0 either way: read the text.
      const both = execFileSync('sh', ['-c', `openssl req -in '${file}' -noout -verify 2>&1`]).toString();
      assert.match(both, /verify OK/i);
      assert.not.match(both, /fail/i);
    }
  } finally {
    await ks.close();
    await env.stop();
  }
});

test('TLS 1.3 client auth through the engine: the server sees a TPM-signed CertificateVerify', async () => {
  const env = await startAgentEnv();
  const agent = await composeAgent(env.config, { log: memoryLogger('warn') });
  try {
    const issued = await agent.enroller.step();
    const cred = issued.state.credential!;
    const opts = await agent.keystore.tlsKeyOptions(fromStoredKey(cred.key));
    assert.is(opts.privateKeyEngine, loadAddon().tlsEngineId);
    const transport = createHttpsTransport({ trustAnchors: [env.lab.trustAnchorPem], clientAuth: { key: opts, certChain: [cred.certPem, ...cred.chainPem] } });
    const res = await transport.request({ method: 'GET', url: env.lab.estUrl() + '/cacerts' });
    assert.is(res.status, 200);
    assert.is(res.tlsProtocol, 'TLSv1.3');
    // The lab authenticated the client by its TPM-held certificate: re-enrollment over this transport works too.
    const before = env.lab.issued.length;
    assert.is((await agent.enroller.step({ force: true })).action, 'issued');
    assert.match(env.lab.issued[before]!.authenticatedAs, /^cert:/);
  } finally {
    await agent.close();
    await env.stop();
  }
});

test('an EST server that does not chain to the configured TA is refused before anything is sent', async () => {
  const env = await startAgentEnv();
  const other = await createLabServer({ users: { 'dev-0001': 'factory-secret' } });
  const log = memoryLogger('info');
  const agent = await composeAgent({ ...env.config, est: { ...env.config.est, url: other.url } }, { log });
  try {
    const out = await agent.enroller.step();
    assert.is(out.action, 'failed');
    assert.instance(out.error, TlsError);
    assert.is(other.issued.length, 0);
    assert.is(out.state.credential, undefined);
    // The first request (GET /csrattrs, RFC 7030 §4.5) already fails the TLS check: no key is made, the retry is backed off.
    assert.is(out.state.pending, undefined);
    assert.ok(out.state.retry, 'the failure is backed off');
  } finally {
    await agent.close();
    await other.close();
    await env.stop();
  }
});

test.run();
