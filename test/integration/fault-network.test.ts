// Network faults between the agent and the lab: a loopback TCP proxy (test/harness/fault-proxy.ts) in
// front of the lab for stream faults — reset inside the response body, truncation, a stalled server, a slow drip,
// accept-then-close — and answers injected at the lab's router for HTTP faults — oversized bodies, a wrong content
// type, a 503 storm. For each: a typed error, a bounded number of connections/requests, no hang (the configured
// timeout fires), the old credential stays and the state loads; the agent recovers when the fault clears.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { composeAgent, type AgentParts } from '../../agent/cli/compose.js';
import { parseConfig } from '../../agent/config.js';
import { initialState } from '../../agent/lifecycle/state.js';
import { memoryLogger } from '../../agent/util/log.js';
import { startAgentEnv, type AgentEnv } from '../harness/agent-env.js';
import { startFaultProxy, type Fault, type FaultProxy } from '../harness/fault-proxy.js';
import { startSimAgent, cronEvery } from '../harness/sim-agent.js';

const TIMEOUT_MS = 1500;
let env: AgentEnv;
let proxy: FaultProxy;
let agent: AgentParts;

test.before(async () => {
  env = await startAgentEnv();
  proxy = await startFaultProxy({ host: '127.0.0.1', port: env.lab.port });
  const doc = JSON.parse(readFileSync(path.join(env.dir, 'config.json'), 'utf8')) as { est: Record<string, unknown> };
  doc.est = { ...doc.est, url: `https://127.0.0.1:${proxy.port}`, timeoutMs: TIMEOUT_MS };
  agent = await composeAgent(parseConfig(doc, env.dir), { log: memoryLogger('info') });
});
test.after(async () => {
  await agent?.close();
  await proxy?.stop();
  await env?.stop();
});

test('stream faults during a renewal: typed error, one connection per request, bounded time, old credential kept; then recovery', async () => {
  const first = await agent.enroller.step();
  assert.is(first.action, 'issued');
  const serial = first.state.credential!.serial;
  // Size of a healthy renewal exchange (server→client bytes), to aim a reset inside the response body.
  const probe = await agent.enroller.step({ force: true });
  assert.is(probe.action, 'issued');
  assert.is.not(probe.state.credential!.serial, serial);
  const full = proxy.lastServerBytes;
  // A failed renewal keeps its request pending and the next step resends it alone, on a connection of its own; a
  // fresh one sends /csrattrs and the request on one connection: the healthy size of both shapes.
  proxy.fault = { kind: 'reset-after', bytes: full - 300 };
  assert.is((await agent.enroller.step({ force: true })).action, 'failed');
  proxy.fault = { kind: 'pass' };
  const resent = await agent.enroller.step({ force: true });
  assert.is(resent.action, 'issued');
  const kept = resent.state.credential!.serial;
  const fullResend = proxy.lastServerBytes;
  const faults: Array<[string, (size: number) => Fault]> = [
    ['reset inside the response body', (size) => ({ kind: 'reset-after', bytes: size - 300 })],
    ['truncated inside the response body', (size) => ({ kind: 'truncate-after', bytes: size - 300 })],
    ['reset during the TLS handshake', () => ({ kind: 'reset-after', bytes: 100 })],
    ['stalled server', () => ({ kind: 'stall' })],
    ['slow drip (slowloris)', () => ({ kind: 'slow', slowMs: 40 })],
    ['accept then close', () => ({ kind: 'close' })],
  ];
  try {
    for (const [what, fault] of faults) {
      proxy.fault = fault((await agent.state.load())?.pending ? fullResend : full);
      const before = proxy.connections;
      const t0 = Date.now();
      const r = await agent.enroller.step({ force: true });
      const ms = Date.now() - t0;
      assert.is(r.action, 'failed', `${what}: ${r.action} ${r.error?.code}`);
      assert.match(r.error!.code, /^(transport|est)\./, `${what}: ${r.error!.code}`);
      assert.ok(ms < TIMEOUT_MS + 2000, `${what}: took ${ms} ms`);
      // At most the /csrattrs GET (RFC 7030 §4.5, read before every request) and the request itself (on one
      // connection when both go through): no retry storm.
      assert.ok(proxy.connections - before <= 2, `${what}: ${proxy.connections - before} connections`);
      const s = await agent.state.load();
      assert.is(s!.credential!.serial, kept, `${what}: the old credential stays`);
      assert.is(s!.retry?.kind, 'failed');
    }
  } finally {
    proxy.fault = { kind: 'pass' }; // a failed case must not break the suites after it
  }
  const ok = await agent.enroller.step({ force: true });
  assert.is(ok.action, 'issued', 'recovers once the network is healthy');
});

test('HTTP faults on the PAL poll: oversized body and wrong content type are typed errors; nothing stored', async () => {
  const state = (await agent.state.load()) ?? initialState();
  const digest = agent.taStore.digest();
  const match = env.lab.router.match.bind(env.lab.router);
  const inject = (body: string | Uint8Array, type: string): void => {
    env.lab.router.match = () => ({ handler: async () => ({ status: 200, headers: { 'content-type': type }, body }), params: {} });
  };
  try {
    inject(new Uint8Array(3 * 1024 * 1024), 'application/xml');
    await agent.poller.poll(state).then(() => assert.unreachable('oversized accepted'), (e: { code?: string; message?: string }) => assert.match(`${e.code} ${e.message}`, /^pal\.\S+ .*(exceeds|too large|limit)/i));
    inject('<html>maintenance</html>', 'text/html');
    await agent.poller.poll(state).then(() => assert.unreachable('html accepted'), (e: { code?: string }) => assert.match(String(e.code), /^pal\./));
  } finally {
    env.lab.router.match = match;
  }
  assert.is(agent.taStore.digest(), digest, 'trust anchors untouched');
  assert.is((await agent.state.load())!.credential!.serial, state.credential!.serial);
});

test('a 503 storm for 6 simulated hours: jittered backoff, bounded requests, credential kept, recovery after', async () => {
  const sim = await startSimAgent({ certValiditySeconds: 30 * 86_400, cron: cronEvery(60), log: memoryLogger('warn'), backoffMinSeconds: 60, backoffMaxSeconds: 3600 });
  try {
    const first = await sim.agent.enroller.step();
    assert.is(first.action, 'issued');
    const enrolled = first.state;
    sim.fault = () => ({ status: 503, headers: { 'retry-after': '30', 'content-type': 'text/plain' }, body: 'down' });
    const delays: number[] = [];
    let last = sim.clock.now().getTime();
    const before = sim.requests;
    // A renewal is forced (as a PAL re-enroll request would); each failure schedules the next try by backoff.
    const end = sim.clock.now().getTime() + 6 * 3600_000;
    while (sim.clock.now().getTime() < end) {
      const r = await sim.agent.enroller.step({ force: true });
      assert.is(r.action, 'failed');
      const next = r.nextDue!.getTime();
      delays.push(next - last);
      await sim.clock.advanceTo(new Date(next));
      last = next;
    }
    const storm = sim.requests - before;
    assert.ok(storm <= 40, `requests during the storm: ${storm}`);
    assert.ok(new Set(delays.map((d) => Math.round(d / 1000))).size > 3, `backoff delays are jittered: ${delays.map((d) => d / 1000).join(',')}`);
    assert.is((await sim.agent.state.load())!.credential!.serial, enrolled!.credential!.serial, 'the credential survives the storm');
    sim.fault = undefined;
    const ok = await sim.agent.enroller.step({ force: true });
    assert.is(ok.action, 'issued');
  } finally {
    await sim.stop();
  }
});

test('a 503 with a Retry-After longer than the backoff: the next try waits for it (never sooner, never a shorter wait)', async () => {
  const sim = await startSimAgent({ certValiditySeconds: 30 * 86_400, cron: cronEvery(60), log: memoryLogger('warn'), backoffMinSeconds: 60, backoffMaxSeconds: 3600 });
  try {
    assert.is((await sim.agent.enroller.step()).action, 'issued');
    sim.fault = () => ({ status: 503, headers: { 'retry-after': '7200', 'content-type': 'text/plain' }, body: 'maintenance' });
    const t0 = sim.clock.now().getTime();
    const r = await sim.agent.enroller.step({ force: true });
    assert.is(r.action, 'failed');
    assert.is(r.error?.code, 'est.server_error');
    assert.is(r.nextDue!.getTime() - t0, 7200_000, 'Retry-After (2 h) outranks the first backoff (≈ 60 s)');
    const persisted = (await sim.agent.state.load())!;
    assert.is(Date.parse(persisted.retry!.until), t0 + 7200_000, 'the wait is in the persisted backoff');
    // Above the 24 h ceiling: held to it (a hostile or broken server cannot park the device for a year).
    sim.fault = () => ({ status: 503, headers: { 'retry-after': String(365 * 86_400), 'content-type': 'text/plain' }, body: 'down' });
    await sim.clock.advanceTo(r.nextDue!);
    const t1 = sim.clock.now().getTime();
    const r2 = await sim.agent.enroller.step({ force: true });
    assert.is(r2.nextDue!.getTime() - t1, 24 * 3600_000);
    sim.fault = undefined;
    await sim.clock.advanceTo(r2.nextDue!);
    assert.is((await sim.agent.enroller.step({ force: true })).action, 'issued');
  } finally {
    await sim.stop();
  }
});

test.run();
