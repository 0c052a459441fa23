// Kept connections in the HTTPS transport (agent/protocols/http/transport.ts `keepConnection`): a request sequence of
// one TLS setup (/csrattrs, then the /simple(re)enroll it plans) rides one connection, across transports; another
// identity never rides it; a kept connection the server has closed is not ridden; and a re-enrollment of the
// composed agent opens one TLS connection, not two.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { composeAgent } from '../../agent/cli/compose.js';
import { memoryLogger } from '../../agent/util/log.js';
import { createHttpsTransport } from '../../agent/protocols/http/transport.js';
import { fromStoredKey } from '../../agent/lifecycle/state.js';
import { pemDecode } from '../../agent/pki/pem.js';
import { text } from '../../deploy/lab/router.js';
import { startRelay } from '../../bench/relay.js';
import { startAgentEnv } from '../harness/agent-env.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('a sequence of one TLS setup rides one connection across transports; another identity does not', async () => {
  const env = await startAgentEnv();
  const agent = await composeAgent(env.config, { log: memoryLogger('warn') });
  env.lab.router.register('GET', '/whoami', (req) => text(200, `${req.tls.connectionId} ${req.tls.peerChain[0] ? sha256(req.tls.peerChain[0]) : 'none'}`));
  env.lab.router.register('POST', '/whoami', (req) => text(200, `${req.tls.connectionId} ${req.tls.peerChain[0] ? sha256(req.tls.peerChain[0]) : 'none'}`));
  const url = env.lab.url + '/whoami';
  const who = (r: { body: Uint8Array }): [string, string] => Buffer.from(r.body).toString().trim().split(' ') as [string, string];
  try {
    const anchors = [env.lab.trustAnchorPem];
    const a = createHttpsTransport({ trustAnchors: anchors });
    const b = createHttpsTransport({ trustAnchors: anchors });
    const [c1] = who(await a.request({ method: 'GET', url, keepConnection: 'open' }));
    const [c2] = who(await b.request({ method: 'POST', url, body: 'x', keepConnection: 'close' }));
    assert.is(c2, c1, 'the second request of the sequence rode the first one\'s connection');
    const [c3] = who(await b.request({ method: 'POST', url, body: 'x', keepConnection: 'close' }));
    assert.is.not(c3, c1, "'close' closed it: the next request has a connection of its own");
    const [c4] = who(await a.request({ method: 'GET', url }));
    const [c5] = who(await a.request({ method: 'GET', url }));
    assert.is.not(c4, c5, 'without keepConnection every request has its own connection');

    // another identity (TPM client auth) never rides the anonymous setup's kept connection, nor the reverse
    const cred = (await agent.enroller.step()).state.credential!;
    const certHash = sha256(pemDecode(cred.certPem, 'CERTIFICATE'));
    const key = await agent.keystore.tlsKeyOptions(fromStoredKey(cred.key));
    const device = createHttpsTransport({ trustAnchors: anchors, clientAuth: { key, certChain: [cred.certPem, ...cred.chainPem] } });
    const [o1, none] = who(await a.request({ method: 'GET', url, keepConnection: 'open' }));
    assert.is(none, 'none');
    const [d1, h1] = who(await device.request({ method: 'POST', url, body: 'x', keepConnection: 'close' }));
    assert.is.not(d1, o1, 'a client-auth request rode an anonymous connection');
    assert.is(h1, certHash, 'the server sees the TPM-held client certificate');
    const [d2, h2] = who(await device.request({ method: 'GET', url, keepConnection: 'open' }));
    const [d3, h3] = who(await device.request({ method: 'POST', url, body: 'x', keepConnection: 'close' }));
    assert.is(d3, d2, 'the client-auth sequence rode one connection');
    assert.is(h2, certHash);
    assert.is(h3, certHash);
    const [o2, none2] = who(await a.request({ method: 'POST', url, body: 'x', keepConnection: 'close' }));
    assert.is(o2, o1, 'the anonymous kept connection is still its own');
    assert.is(none2, 'none');
  } finally {
    await agent.close();
    await env.stop();
  }
});

test('a kept connection the server closed (its keep-alive timeout) is not ridden: the next request opens a new one', async () => {
  const env = await startAgentEnv({ lab: { keepAliveTimeoutMs: 1 } });
  env.lab.router.register('POST', '/echo', (req) => text(200, `${req.tls.connectionId} ${req.body.toString()}`));
  try {
    const t = createHttpsTransport({ trustAnchors: [env.lab.trustAnchorPem] });
    const first = Buffer.from((await t.request({ method: 'POST', url: env.lab.url + '/echo', body: 'one', keepConnection: 'open' })).body).toString();
    await new Promise((r) => setTimeout(r, 100)); // the server's keep-alive timeout (1 ms) closes it
    const res = await t.request({ method: 'POST', url: env.lab.url + '/echo', body: 'two', keepConnection: 'close' });
    assert.is(res.status, 200);
    const [conn, body] = Buffer.from(res.body).toString().trim().split(' ');
    assert.is(body, 'two');
    assert.is.not(conn, first.split(' ')[0]);
  } finally {
    await env.stop();
  }
});

test('a re-enrollment (with /csrattrs) opens one TLS connection', async () => {
  const env = await startAgentEnv();
  const relay = await startRelay(env.lab.port);
  const agent = await composeAgent({ ...env.config, est: { ...env.config.est, url: relay.url } }, { log: memoryLogger('warn') });
  try {
    assert.ok(env.config.est.csrattrs, 'the lab config fetches /csrattrs');
    const c0 = relay.snapshot().connections;
    assert.is((await agent.enroller.step()).action, 'issued');
    const c1 = relay.snapshot().connections;
    assert.is(c1 - c0, 1, 'initial enrollment: /csrattrs and /simpleenroll on one connection');
    for (let i = 0; i < 2; i++) {
      const before = relay.snapshot().connections;
      assert.is((await agent.enroller.step({ force: true })).action, 'issued');
      assert.is(relay.snapshot().connections - before, 1, 're-enrollment: /csrattrs and /simplereenroll on one connection');
    }
  } finally {
    await agent.close();
    await relay.close();
    await env.stop();
  }
});

test.run();
