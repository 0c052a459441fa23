// The no-hot-loop invariant, shared by test/integration/no-hot-loop-*.test.ts (one file per protocol, so each stays
// bounded): for each way the server can fail for good (404, 500, connection reset, timeout, TLS failure: a server
// certificate not under the configured TA), the daemon runs 24 simulated hours on a ManualClock against the lab
// (through a fault proxy) with keys in swtpm. Invariants: after the first hour at most 6 attempts (connections,
// requests) and 6 TPM2_Create calls per hour, no transient TPM object left, every key created either persisted
// (credential or pending request) or deleted, and the current credential kept.
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import type { KeyRecord, KeyStore } from '../../agent/keystore/keystore.js';
import { Enroller, type RequestContext, type RequestPlan } from '../../agent/lifecycle/enroller.js';
import { Daemon, type Poller } from '../../agent/lifecycle/daemon.js';
import { ManualClock } from '../../agent/lifecycle/clock.js';
import { CronSchedule } from '../../agent/lifecycle/schedule.js';
import { FileStateStore } from '../../agent/store/state-store.js';
import { STATE_SCHEMA, isAgentState, type AgentState } from '../../agent/lifecycle/state.js';
import { buildCsr } from '../../agent/pki/csr.js';
import { validateChain } from '../../agent/pki/chain.js';
import { certificateToDer, certificatesFromPem } from '../../agent/pki/cert.js';
import type { Signer } from '../../agent/pki/signer.js';
import { memoryLogger } from '../../agent/util/log.js';
import { buildCertifyEvidence } from '../../agent/attest/evidence.js';
import { provisionAttestationKey, type ProvisionedAk } from '../../agent/attest/provision.js';
import type { EnrollmentProtocol } from '../../agent/protocols/protocol.js';
import { EstEnrollment } from '../../agent/protocols/est/enrollment.js';
import { EstClient } from '../../agent/protocols/est/client.js';
import { reenrollIdentity } from '../../agent/protocols/est/simplereenroll.js';
import { CmpEnrollment } from '../../agent/protocols/cmp/enrollment.js';
import { CmcEnrollment } from '../../agent/protocols/cmc/index.js';
import { AcmeEnrollment } from '../../agent/protocols/acme/enrollment.js';
import { createHttpsTransport } from '../../agent/protocols/http/transport.js';
import { LabCa } from '../../deploy/lab/ca.js';
import { createLabServer, type LabServer } from '../../deploy/lab/server.js';
import { createAttestationCa, labAkCertifier } from '../../deploy/lab/attestation.js';
import { registerAcmeHandlers } from '../../deploy/lab/acme.js';
import { registerCmpHandlers, CMP_WELL_KNOWN_PATH } from '../../deploy/lab/cmp.js';
import { registerCmcHandlers } from '../../deploy/lab/cmc.js';
import type { LabResponse } from '../../deploy/lab/router.js';
import { startSwtpm, type Swtpm } from './swtpm.js';
import { startFaultProxy, type Fault, type FaultProxy } from './fault-proxy.js';

export const HOUR = 3600_000;
export const SIM_HOURS = 24;
export const MAX_PER_HOUR = 6;
/** Transport timeout for the stalled-server case (real time; everything else runs on the simulated clock). */
const TIMEOUT_MS = 150;
export const DEVICE = 'dev-0001';
export const DNS = 'dev-0001.devices.example';
const SECRET = new TextEncoder().encode('lab-cmp-secret');

export type ProtocolName = 'est' | 'cmp' | 'cmc' | 'acme';
type FaultName = '404' | '500' | 'reset' | 'timeout' | 'tls';

let clock = new ManualClock(new Date());
let tpm: Swtpm;
let ks: TpmKeyStore;
let lab: LabServer;
let proxy: FaultProxy;
let attCa: Awaited<ReturnType<typeof createAttestationCa>>;
let ak: ProvisionedAk;
let idevid: { key: KeyRecord; der: Uint8Array; chain: Uint8Array[] };
let foreignTaPem: string;
let dir: string;
/** While set, every request reaching the lab is answered with it. */
let httpFault: (() => LabResponse) | undefined;
let labRequests = 0;

const proxyUrl = (): string => `https://127.0.0.1:${proxy.port}`;

async function setup(): Promise<void> {
  dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-no-hot-loop-'));
  attCa = await createAttestationCa();
  lab = await createLabServer({
    users: { [DEVICE]: 'factory-secret' },
    certValiditySeconds: 30 * 86_400,
    now: () => clock.now(),
    attestation: { trustAnchors: [attCa.root.der], requireAttestation: false },
  });
  proxy = await startFaultProxy({ host: '127.0.0.1', port: lab.port });
  // Every URL a protocol follows (ACME directory, order, finalize) goes through the proxy.
  registerAcmeHandlers(lab.router, { baseUrl: proxyUrl(), ca: lab.ca, attestation: lab.attestation!, now: () => clock.now() });
  registerCmpHandlers(lab.router, { ca: lab.ca, reference: DEVICE, secret: SECRET, now: () => clock.now() });
  tpm = await startSwtpm();
  ks = await TpmKeyStore.open({ tcti: tpm.tcti });
  ak = await provisionAttestationKey({ keystore: ks, certifier: labAkCertifier(attCa), deviceId: DEVICE, akKeyFile: path.join(dir, 'ak.json'), akCertFile: path.join(dir, 'ak.pem') });
  const mfg = await LabCa.create({ name: 'enrolld manufacturer' });
  const idevidKey = await ks.createKey('idevid', 'ecc-p256');
  const idevidDer = certificateToDer(
    await mfg.issue({ subject: { CN: `${DEVICE} IDevID`, O: 'enrolld manufacturer' }, spki: ks.signer(idevidKey).spki, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 30 * 86_400_000), profile: 'client' }),
  );
  idevid = { key: idevidKey, der: idevidDer, chain: [mfg.issuing.der] };
  registerCmcHandlers(lab.router, { ca: lab.ca, users: { [DEVICE]: 'factory-secret' }, idevidCaDers: [mfg.root.der], now: () => clock.now() });
  foreignTaPem = (await LabCa.create({ name: 'not the configured trust anchor' })).root.pem;
  const match = lab.router.match.bind(lab.router);
  lab.router.match = (method, p) => {
    labRequests++;
    const f = httpFault;
    return f ? { handler: async () => f(), params: {} } : match(method, p);
  };
}

async function teardown(): Promise<void> {
  await ks?.close().catch(() => undefined);
  await tpm?.stop().catch(() => undefined);
  await proxy?.stop().catch(() => undefined);
  await lab?.close().catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** The protocol client, with the given TLS trust anchors, all traffic through the fault proxy. */
function protocolFor(name: ProtocolName, tlsTa: string, scenario: string, timeoutMs: number): EnrollmentProtocol {
  const now = (): Date => clock.now();
  switch (name) {
    case 'est':
      return new EstEnrollment({ baseUrl: proxyUrl(), trustAnchors: [tlsTa], basicAuth: { username: DEVICE, password: 'factory-secret' }, keystore: ks, totalTimeoutMs: timeoutMs, now });
    case 'cmp':
      return new CmpEnrollment({
        url: `${proxyUrl()}${CMP_WELL_KNOWN_PATH}`,
        trustAnchors: [lab.ca.root.der],
        transport: createHttpsTransport({ trustAnchors: [tlsTa], totalTimeoutMs: timeoutMs }),
        mac: { reference: DEVICE, secret: SECRET, iterations: 1000 },
        keystore: ks,
        now,
      });
    case 'cmc':
      return new CmcEnrollment({
        baseUrl: proxyUrl(),
        trustAnchors: [tlsTa],
        issuerTrustAnchors: [lab.trustAnchorPem],
        basicAuth: { username: DEVICE, password: 'factory-secret' },
        bootstrap: { signer: ks.signer(idevid.key), certificate: idevid.der, chain: idevid.chain },
        keystore: ks,
        totalTimeoutMs: timeoutMs,
        now,
      });
    case 'acme':
      return new AcmeEnrollment({
        directoryUrl: `${proxyUrl()}/acme/directory`,
        trustAnchors: [tlsTa],
        keystore: ks,
        accountFile: path.join(dir, `acme-${scenario}.json`),
        attest: async (key, qd) => (await buildCertifyEvidence({ keystore: ks, key, ak: ak.ak, akChain: ak.chain, nonce: qd })).bundle.toDER(),
        pollIntervalMs: 20,
        maxPollMs: 5000,
        totalTimeoutMs: timeoutMs,
        now,
      });
  }
}

/** The keystore as the enroller sees it, recording which keys it created and deleted. */
function trackingKeystore(): { keystore: KeyStore; created: Set<string>; deleted: Set<string> } {
  const created = new Set<string>();
  const deleted = new Set<string>();
  const keystore = Object.create(ks, {
    createKey: { value: async (id: string, alg: Parameters<KeyStore['createKey']>[1]) => { const k = await ks.createKey(id, alg); created.add(k.id); return k; } },
    deleteKey: { value: async (r: KeyRecord) => { deleted.add(r.id); await ks.deleteKey(r); } },
  }) as KeyStore;
  return { keystore, created, deleted };
}

function createCount(): number {
  return ks.stats()['op.createKey']?.count ?? 0;
}

/**
 * Runs a daemon sleeping on `sim` until `end`, charging the growth of each counter to the simulated hour of the
 * wake-up that caused it. Returns per-hour deltas.
 */
export async function simulateByHour<K extends string>(sim: ManualClock, end: number, counters: Record<K, () => number>): Promise<Record<K, number[]>> {
  const keys = Object.keys(counters) as K[];
  const start = sim.now().getTime();
  const out = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  const read = (): Record<K, number> => Object.fromEntries(keys.map((k) => [k, counters[k]()])) as Record<K, number>;
  let at = start;
  let last = read();
  for (let steps = 0; steps < 10_000; steps++) {
    const deadline = Date.now() + 20_000;
    while (sim.pending < 1) {
      if (Date.now() > deadline) throw new Error('the daemon did not go back to sleep');
      await new Promise((r) => setTimeout(r, 2));
    }
    const h = Math.floor((at - start) / HOUR);
    const now = read();
    for (const k of keys) out[k][h] = (out[k][h] ?? 0) + now[k] - last[k];
    last = now;
    const next = sim.nextWake();
    if (!next || next.getTime() > end) break;
    at = next.getTime();
    await sim.advanceTo(next);
  }
  for (const k of keys) out[k] = Array.from(out[k], (x) => x ?? 0);
  return out;
}

function applyFault(f: FaultName | undefined): void {
  httpFault = undefined;
  proxy.fault = { kind: 'pass' };
  if (f === '404') httpFault = () => ({ status: 404, headers: { 'content-type': 'text/plain' }, body: 'not found' });
  if (f === '500') httpFault = () => ({ status: 500, headers: { 'content-type': 'text/plain' }, body: 'internal error' });
  if (f === 'reset') proxy.fault = { kind: 'reset-after', bytes: 0 } as Fault;
  if (f === 'timeout') proxy.fault = { kind: 'stall' };
}

async function scenario(protocol: ProtocolName, fault: FaultName, operation: 'enroll' | 'reenroll'): Promise<void> {
  const name = `${protocol}-${fault}-${operation}`;

  clock = new ManualClock(new Date());
  applyFault(undefined);
  const log = memoryLogger('warn');
  const good = protocolFor(protocol, lab.trustAnchorPem, name, 20_000);
  let active: EnrollmentProtocol = good;
  const delegating: EnrollmentProtocol = { name: good.name, enroll: (r) => active.enroll(r), ...(good.nonce ? { nonce: (r) => active.nonce!(r) } : {}) };
  const tracked = trackingKeystore();
  const state = new FileStateStore<AgentState>({ dir: path.join(dir, name), version: STATE_SCHEMA, validate: isAgentState, now: () => clock.now(), log });
  const subject = protocol === 'acme' ? `CN=${DNS}` : `CN=${DEVICE},O=enrolld demo`;
  const enroller = new Enroller({
    clock,
    log,
    keystore: tracked.keystore,
    protocol: delegating,
    state,
    prepare: async (_ctx: RequestContext): Promise<RequestPlan> => ({ keyAlgorithm: 'ecc-p256' }),
    buildCsr: async (_key: KeyRecord, signer: Signer, ctx) => {
      const renewed = ctx.current ? reenrollIdentity(certificatesFromPem(ctx.current.certPem)[0]!) : undefined;
      return (await buildCsr({ subject: renewed?.subject ?? subject, signer, ...(renewed ? { extensions: renewed.extensions } : { san: { dns: [DNS] } }) })).der;
    },
    verifyIssued: async (cert, chain, at) => {
      await validateChain({ leaf: cert, intermediates: chain, trustAnchors: [lab.ca.root.der], at });
    },
    // The worst case for the bound: every backoff draws its shortest wait.
    policy: { keyAlgorithm: 'ecc-p256', renewFraction: 2 / 3, backoffMinSeconds: 60, backoffMaxSeconds: 6 * 3600 },
    random: () => 0,
  });
  // The daemon's own periodic work against the same server: /cacerts through the same (failing) path.
  let tlsTa = lab.trustAnchorPem;
  const poller: Poller = {
    async poll() {
      const est = new EstClient({ baseUrl: proxyUrl(), transport: createHttpsTransport({ trustAnchors: [tlsTa], totalTimeoutMs: fault === 'timeout' ? TIMEOUT_MS : 5000 }), now: () => clock.now() });
      await est.cacerts();
      return {};
    },
  };
  const schedule = new CronSchedule('0 * * * *');
  const daemon = new Daemon({ clock, log, enroller, schedule, jitterSeconds: 0, backoffMinSeconds: 60, backoffMaxSeconds: 6 * 3600, poller, random: () => 0 });
  const ac = new AbortController();
  let running: Promise<void> | undefined;
  try {
    let serial: string | undefined;
    if (operation === 'reenroll') {
      const first = await enroller.step();
      assert.is(first.action, 'issued', `${name}: initial enrollment: ${first.error?.message} ${log.lines.join('\n')}`);
      serial = first.state.credential!.serial;
    }
    // From here on the client gives up on a silent server after TIMEOUT_MS (real time).
    applyFault(fault);
    if (fault === 'tls') tlsTa = foreignTaPem;
    active = protocolFor(protocol, tlsTa, name, fault === 'timeout' ? TIMEOUT_MS : 5000);
    const start = clock.now().getTime();
    running = daemon.run(ac.signal);
    if (operation === 'reenroll') daemon.requestRenewal();
    const counts = await simulateByHour(clock, start + SIM_HOURS * HOUR, { connections: () => proxy.connections, requests: () => labRequests, creates: createCount });
    ac.abort();
    await running;
    const summary = `${name}: connections/h ${counts.connections.join(',')} requests/h ${counts.requests.join(',')} creates/h ${counts.creates.join(',')}`;
    for (let h = 1; h < SIM_HOURS; h++) {
      assert.ok((counts.connections[h] ?? 0) <= MAX_PER_HOUR, `${summary}: hour ${h}`);
      assert.ok((counts.requests[h] ?? 0) <= MAX_PER_HOUR, `${summary}: hour ${h}`);
      assert.ok((counts.creates[h] ?? 0) <= MAX_PER_HOUR, `${summary}: hour ${h}`);
    }
    const total = counts.connections.reduce((a, b) => a + b, 0);
    // It kept trying all day (backoff, not surrender): attempts in the last six hours too.
    assert.ok(total >= 10, `${summary}: only ${total} connections`);
    assert.ok(counts.connections.slice(18).reduce((a, b) => a + b, 0) >= 1, `${summary}: gave up`);
    if (fault === '404' && protocol === 'est') assert.ok(counts.creates.reduce((a, b) => a + b, 0) >= 2, `${summary}: a refused request is replaced by a fresh key`);
    const s = (await state.load())!;
    assert.ok(s.retry, `${name}: a persisted backoff`);
    assert.ok(s.pollRetry && s.pollRetry.attempt >= 2, `${name}: the failing poll's backoff is persisted too`);
    assert.ok(log.lines.some((l) => l.includes('enroll.failed')), `${name}: failures logged`);
    assert.equal(await ks.listHandles(), [], `${name}: no transient TPM object left`);
    const kept = new Set([s.credential?.key.id, s.pending?.key.id].filter((x): x is string => !!x));
    const orphans = [...tracked.created].filter((id) => !tracked.deleted.has(id) && !kept.has(id));
    assert.equal(orphans, [], `${name}: every key created is persisted or deleted`);
    if (serial) assert.is(s.credential?.serial, serial, `${name}: the current credential is kept`);
    else assert.is(s.credential, undefined);
  } finally {
    ac.abort();
    await running?.catch(() => undefined);
    schedule.close();
    applyFault(undefined);
  }
}

const FAULTS: FaultName[] = ['404', '500', 'reset', 'timeout', 'tls'];

/** Registers the invariant for one protocol on `test`: renewal under each fault, first enrollment under 404 and 500. */
export function noHotLoopTests(test: Test, protocol: ProtocolName): void {
  test.before(setup);
  test.after(teardown);
  for (const f of FAULTS) {
    test(`${protocol}: renewal against a server failing with ${f} for 24 h — bounded attempts and TPM2_Create, no leak, credential kept`, () => scenario(protocol, f, 'reenroll'));
  }
  for (const f of ['404', '500'] as FaultName[]) {
    test(`${protocol}: first enrollment against a server failing with ${f} for 24 h — bounded attempts and TPM2_Create, no leak`, () => scenario(protocol, f, 'enroll'));
  }
}
