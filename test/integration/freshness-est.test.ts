// Freshness nonce bound to the request over EST (draft-ietf-lamps-attestation-freshness-08 §6.1): the agent fetches
// /nonce and sends the attested CSR on one HttpSession (keep-alive TLS connection + cookie jar) with the identity of
// that request; the lab binds each nonce to client identity + TLS connection / cookie and refuses it elsewhere.
// swtpm + lab, the agent as composed for the daemon.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AgentParts } from '../../agent/cli/compose.js';
import { buildCsr } from '../../agent/pki/csr.js';
import type { TpmKeyStore } from '../../agent/keystore/tpm.js';
import type { KeyRecord } from '../../agent/keystore/keystore.js';
import { EstClient } from '../../agent/protocols/est/client.js';
import { EstEnrollment } from '../../agent/protocols/est/enrollment.js';
import { HttpSession, createHttpsTransport } from '../../agent/protocols/http/transport.js';
import { buildCertifyEvidence, CERTIFY_NONCE_REQUEST } from '../../agent/attest/evidence.js';
import { nonceHttpRequest, parseNonceResponse } from '../../agent/attest/nonce.js';
import type { ProvisionedAk } from '../../agent/attest/provision.js';
import type { LabServerOptions } from '../../deploy/lab/server.js';
import type { LabAttestationOptions } from '../../deploy/lab/attestation.js';
import type { AgentEnv } from '../harness/agent-env.js';
import { estRefusal, startAttestedAgent } from '../harness/attested-agent.js';

interface Ctx {
  env: AgentEnv;
  ks: TpmKeyStore;
  agent: AgentParts;
  ak: ProvisionedAk;
}

async function start(lab: LabServerOptions = {}, attestation: Partial<LabAttestationOptions> = {}): Promise<Ctx> {
  return startAttestedAgent({ users: { 'dev-0001': 'factory-secret', intruder: 'intruder-secret' }, ...lab }, attestation);
}

async function stop(c: Ctx): Promise<void> {
  await c.agent.close();
  await c.env.stop();
}

async function attestedCsr(c: Ctx, key: KeyRecord, nonce: Uint8Array): Promise<Uint8Array> {
  const ev = await buildCertifyEvidence({ keystore: c.ks, key, ak: c.ak.ak, akChain: c.ak.chain, nonce });
  return (await buildCsr({ subject: 'CN=dev-0001,O=enrolld demo', signer: c.ks.signer(key), attributes: [ev.attribute] })).der;
}


test('enroll and re-enroll: nonce and CSR on the same TLS connection, cookie sent back, same identity per request', async () => {
  const c = await start();
  try {
    assert.is((await c.agent.enroller.step()).action, 'issued', JSON.stringify(c.env.lab.attestation.events));
    assert.is((await c.agent.enroller.step({ force: true })).action, 'issued', JSON.stringify(c.env.lab.attestation.events));
    const { issued, checked } = c.env.lab.attestation.bindings;
    assert.is(issued.length, 2);
    assert.is(checked.length, 2);
    for (let i = 0; i < 2; i++) {
      assert.is(checked[i]!.connection, issued[i]!.connection, `request ${i}: same TLS connection`);
      assert.ok(issued[i]!.cookie, 'the lab set a nonce-session cookie');
      assert.is(checked[i]!.cookie, issued[i]!.cookie, `request ${i}: the cookie came back`);
      assert.is(checked[i]!.identity, issued[i]!.identity, `request ${i}: same client identity`);
    }
    assert.is(issued[0]!.identity, 'basic:dev-0001');
    assert.match(issued[1]!.identity ?? '', /^cert:/, 're-enrollment nonce fetched with the TLS client certificate being renewed');
    assert.is.not(issued[0]!.connection, issued[1]!.connection, 'each request has its own session');
    assert.equal(c.env.lab.attestation.events, [{ ok: true }, { ok: true }]);
  } finally {
    await stop(c);
  }
});

test('reqTypeInfo.reqInfo reaches the lab\'s /nonce and its respTypeInfo.respInfo comes back; the attested CSR on that session is issued', async () => {
  const seen: unknown[] = [];
  const type = CERTIFY_NONCE_REQUEST.type!;
  const c = await start({}, {
    nonce: { ttlSeconds: 120, types: { [type]: { responseType: type, acceptReqInfo: (x) => (seen.push(x), typeof x === 'object' && x !== null), respInfo: (x) => ({ echo: x, 'certificate-name': 'aik-1' }) } } },
  });
  try {
    const est = c.agent.protocol as EstEnrollment;
    const reqInfo = { 'certificate-name': ['aik-1', 'aik-2'] };
    const n = await est.nonce({ ...CERTIFY_NONCE_REQUEST, reqInfo });
    assert.equal(seen, [reqInfo], 'the lab saw the reqInfo as sent');
    assert.is(n.type, type);
    assert.equal(n.respInfo, { echo: reqInfo, 'certificate-name': 'aik-1' }, 'respInfo passed through to the caller');
    const key = await c.ks.createKey('req-info', 'ecc-p256');
    const r = await est.enroll({ operation: 'enroll', csr: await attestedCsr(c, key, n.nonce) });
    assert.is(r.kind, 'issued');
    assert.equal(c.env.lab.attestation.events, [{ ok: true }]);
  } finally {
    await stop(c);
  }
});

test('the server closed the idle connection: the cookie alone binds the CSR to the nonce', async () => {
  const c = await start({ keepAliveTimeoutMs: 1 });
  try {
    assert.is((await c.agent.enroller.step()).action, 'issued', JSON.stringify(c.env.lab.attestation.events));
    const { issued, checked } = c.env.lab.attestation.bindings;
    assert.is.not(checked[0]!.connection, issued[0]!.connection, 'a new TLS connection for the CSR');
    assert.is(checked[0]!.cookie, issued[0]!.cookie);
  } finally {
    await stop(c);
  }
});

test('a nonce from another session is refused (403 attest.nonce-other-session), not consumed, nothing issued', async () => {
  const c = await start();
  try {
    const est = c.agent.protocol as EstEnrollment;
    const key = await c.ks.createKey('other-session', 'ecc-p256');
    const n = await est.nonce(CERTIFY_NONCE_REQUEST);
    est.closeSession(); // the CSR now goes on a new connection without the cookie
    const csr = await attestedCsr(c, key, n.nonce);
    assert.match(await estRefusal(est.enroll({ operation: 'enroll', csr }), 403), /^attest\.nonce-other-session:/);
    assert.is(c.env.lab.issued.length, 0);
    // not consumed by the refusal: a second try elsewhere is refused the same way, not as a replay
    assert.match(await estRefusal(est.enroll({ operation: 'enroll', csr }), 403), /^attest\.nonce-other-session:/);
    assert.equal(c.env.lab.attestation.events.map((e) => e.reason), ['attest.nonce-other-session', 'attest.nonce-other-session']);
  } finally {
    await stop(c);
  }
});

test('same connection and cookie, another client identity: refused', async () => {
  const c = await start();
  try {
    const session = new HttpSession();
    const anchors = [c.env.lab.trustAnchorPem];
    const intruder = createHttpsTransport({ trustAnchors: anchors, session, basicAuth: { username: 'intruder', password: 'intruder-secret' } });
    const device = createHttpsTransport({ trustAnchors: anchors, session, basicAuth: { username: 'dev-0001', password: 'factory-secret' } });
    try {
      const http = nonceHttpRequest(CERTIFY_NONCE_REQUEST);
      assert.is(http.method, 'POST');
      const res = await intruder.request({ method: 'POST', url: c.env.lab.estUrl() + '/nonce', headers: { 'content-type': (http as { contentType: string }).contentType }, body: (http as { body: string }).body });
      assert.is(res.status, 200);
      const n = parseNonceResponse(Buffer.from(res.body).toString('utf8'), CERTIFY_NONCE_REQUEST, new Date());
      const key = await c.ks.createKey('other-identity', 'ecc-p256');
      const csr = await attestedCsr(c, key, n.nonce);
      const client = new EstClient({ baseUrl: c.env.lab.url, transport: device });
      assert.match(await estRefusal(client.simpleEnroll(csr), 403), /^attest\.nonce-other-session:/);
      const { issued, checked } = c.env.lab.attestation.bindings;
      assert.is(checked[0]!.connection, issued[0]!.connection);
      assert.is(checked[0]!.cookie, issued[0]!.cookie);
      assert.is(session.connections, 1, 'both requests on one TLS connection');
      assert.is(c.env.lab.issued.length, 0);
    } finally {
      session.close();
    }
  } finally {
    await stop(c);
  }
});

test('lifecycle: a server binding to the connection only, which the agent could not keep → typed failure, persisted backoff, key dropped, no hot loop', async () => {
  const c = await start({ keepAliveTimeoutMs: 1 }, { nonceCookie: false });
  try {
    const before = (await c.ks.listHandles()).length;
    const r = await c.agent.enroller.step();
    assert.is(r.action, 'abandoned');
    assert.is((r as { error?: { code: string } }).error?.code, 'est.unauthorized', JSON.stringify(r));
    assert.match(String((r as { error?: { serverText?: string } }).error?.serverText), /^attest\.nonce-other-session:/);
    const s = await c.agent.enroller.loadState();
    assert.ok(s.retry, 'backoff persisted');
    assert.ok(Date.parse(s.retry!.until) > Date.now());
    assert.is(s.pending, undefined, 'the refused request is not kept');
    assert.is(s.credential, undefined, 'nothing stored');
    assert.is(c.env.lab.issued.length, 0);
    assert.is((await c.agent.enroller.step()).action, 'none', 'no second attempt before the backoff ends');
    assert.is(c.env.lab.attestation.bindings.issued.length, 1, 'one nonce fetched');
    assert.is((await c.ks.listHandles()).length, before);
  } finally {
    await stop(c);
  }
});

test.run();
