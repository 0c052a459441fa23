// TLS session resumption in the HTTPS transport (agent/protocols/http/transport.ts): the second connection with a
// TLS setup (any transport with the same anchors and identity) resumes the first one's session (TLS 1.3 ticket /
// TLS 1.2 session ticket), also with TLS client auth through the TPM engine — and the lab server still sees the TPM-held client certificate on the resumed session.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { composeAgent } from '../../agent/cli/compose.js';
import { memoryLogger } from '../../agent/util/log.js';
import { createHttpsTransport } from '../../agent/protocols/http/transport.js';
import { fromStoredKey } from '../../agent/lifecycle/state.js';
import { pemDecode } from '../../agent/pki/pem.js';
import { text } from '../../deploy/lab/router.js';
import { loadAddon } from '../../agent/keystore/addon.js';
import { startAgentEnv } from '../harness/agent-env.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('sessions resume per TLS setup: Basic-only, TPM-engine client auth (TLS 1.3 and 1.2), and never when disabled', async () => {
  const env = await startAgentEnv();
  const agent = await composeAgent(env.config, { log: memoryLogger('warn') });
  // Echo what the server authenticated: the client certificate's SHA-256, or "none".
  env.lab.router.register('GET', '/whoami', (req) => text(200, req.tls.peerChain[0] ? sha256(req.tls.peerChain[0]) : 'none'));
  const whoami = env.lab.url + '/whoami';
  try {
    const basic = createHttpsTransport({ trustAnchors: [env.lab.trustAnchorPem] });
    const b1 = await basic.request({ method: 'GET', url: whoami });
    const b2 = await basic.request({ method: 'GET', url: whoami });
    assert.is(b1.tlsSessionReused, false);
    assert.is(b2.tlsSessionReused, true, 'second connection resumed');
    assert.is(Buffer.from(b2.body).toString().trim(), 'none');

    const cred = (await agent.enroller.step()).state.credential!;
    const certHash = sha256(pemDecode(cred.certPem, 'CERTIFICATE'));
    const key = await agent.keystore.tlsKeyOptions(fromStoredKey(cred.key));
    for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
      const t = createHttpsTransport({ trustAnchors: [env.lab.trustAnchorPem], clientAuth: { key, certChain: [cred.certPem, ...cred.chainPem] }, maxVersion });
      const r1 = await t.request({ method: 'GET', url: whoami });
      const r2 = await t.request({ method: 'GET', url: whoami });
      const r3 = await t.request({ method: 'GET', url: whoami });
      assert.is(r1.tlsProtocol, maxVersion);
      assert.is(r1.tlsSessionReused, false, `${maxVersion}: first is a full handshake`);
      assert.is(r2.tlsSessionReused, true, `${maxVersion}: second resumed`);
      assert.is(r3.tlsSessionReused, true, `${maxVersion}: third resumed`);
      for (const r of [r1, r2, r3]) assert.is(Buffer.from(r.body).toString().trim(), certHash, `${maxVersion}: server sees the TPM-held client certificate`);
      // Another transport with the same TLS setup (anchors, chain, TPM key, versions) resumes it: a re-enrollment's
      // csrattrs and nonce requests, or a poller rebuilt with the same credential.
      const same = createHttpsTransport({ trustAnchors: [env.lab.trustAnchorPem], clientAuth: { key, certChain: [cred.certPem, ...cred.chainPem] }, maxVersion });
      const s1 = await same.request({ method: 'GET', url: whoami });
      assert.is(s1.tlsSessionReused, true, `${maxVersion}: the same TLS setup in another transport resumes`);
      assert.is(Buffer.from(s1.body).toString().trim(), certHash);
      // A transport with another identity never offers this one's session: the server sees no client certificate.
      const other = createHttpsTransport({ trustAnchors: [env.lab.trustAnchorPem], maxVersion });
      const o1 = await other.request({ method: 'GET', url: whoami });
      assert.is(Buffer.from(o1.body).toString().trim(), 'none', `${maxVersion}: an anonymous transport was given the client-auth session`);
      // ... nor does one with the same key but another certificate chain (a renewal, a different set-up).
      const otherChain = createHttpsTransport({ trustAnchors: [env.lab.trustAnchorPem], clientAuth: { key, certChain: [cred.certPem, ...cred.chainPem, env.lab.trustAnchorPem] }, maxVersion });
      assert.is((await otherChain.request({ method: 'GET', url: whoami })).tlsSessionReused, false, `${maxVersion}: another chain resumed`);
    }

    const off = createHttpsTransport({ trustAnchors: [env.lab.trustAnchorPem], sessionReuse: false });
    for (let i = 0; i < 3; i++) assert.is((await off.request({ method: 'GET', url: whoami })).tlsSessionReused, false);

    // deleteKey also drops the key's blobs from the TLS engine (no per-renewal entry left behind in the addon).
    await agent.keystore.tlsKeyOptions(fromStoredKey(cred.key));
    await agent.keystore.deleteKey(fromStoredKey(cred.key));
    assert.is(loadAddon().unregisterTlsKey(cred.key.id), false, 'the engine still held the deleted key');
  } finally {
    await agent.close();
    await env.stop();
  }
});

test.run();
