// The lifecycle's CMP root CA key update (agent/features/cmp/root-ca-key-update.ts, RFC 9483 §4.3.2) against the lab:
// nothing is asked while the current root has life left; once under the renewal threshold, genm id-it-rootCaCert →
// genp id-it-rootCaKeyUpdate, the new root stored in the TA store only when newWithOld verifies with the old root;
// a delayed genp resumed by pollReq from the persisted transaction; failures back off (persisted).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '../../agent/lifecycle/clock.js';
import type { AgentState } from '../../agent/lifecycle/state.js';
import { pemDecode } from '../../agent/pki/pem.js';
import { CmpClient } from '../../agent/protocols/cmp/client.js';
import { RootCaKeyUpdater } from '../../agent/features/cmp/root-ca-key-update.js';
import { TrustAnchorStore } from '../../agent/store/ta-store.js';
import { memoryLogger } from '../../agent/util/log.js';
import { createLabServer, type LabServer } from '../../deploy/lab/server.js';
import { registerCmpHandlers, type LabCmpOptions, type LabCmpRecord } from '../../deploy/lab/cmp.js';

const SECRET = new TextEncoder().encode('lab-cmp-secret');
const DAY = 86400_000;
let lab: LabServer;
let dir: string;
let n = 0;
const agent = { phase: 'enrolled' } as unknown as AgentState;

const sh = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
const der = (f: string): Uint8Array => pemDecode(readFileSync(path.join(dir, f), 'utf8'), 'CERTIFICATE');

test.before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-cmp-root-'));
  lab = await createLabServer();
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const ca = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];
  sh(['req', '-x509', ...ec, '-keyout', 'old.key', '-out', 'old.pem', '-subj', '/CN=Root G1', '-days', '6', ...ca]);
  sh(['req', '-x509', ...ec, '-keyout', 'new.key', '-out', 'new.pem', '-subj', '/CN=Root G2', '-days', '60', ...ca]);
  sh(['req', '-new', '-key', 'new.key', '-subj', '/CN=Root G2', '-out', 'new.csr']);
  sh(['x509', '-req', '-in', 'new.csr', '-CA', 'old.pem', '-CAkey', 'old.key', '-CAcreateserial', '-days', '6', '-out', 'nwo.pem']);
});

test.after(async () => {
  await lab?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function setup(extra: Partial<LabCmpOptions>, start: Date): Promise<{ u: RootCaKeyUpdater; ta: TrustAnchorStore; records: LabCmpRecord[]; c: CmpClient; anchors: Uint8Array[]; clock: ManualClock; stateDir: string }> {
  const p = `/cmp-root-${++n}`;
  const records = registerCmpHandlers(lab.router, { ca: lab.ca, reference: 'dev-0001', secret: SECRET, path: p, ...extra });
  const stateDir = mkdtempSync(path.join(dir, 'state-'));
  const ta = await TrustAnchorStore.open(path.join(stateDir, 'trust-anchors.json'));
  const anchors = [der('old.pem')];
  const c = new CmpClient({
    url: `${lab.url}${p}`, tlsTrustAnchors: [lab.trustAnchorPem], trustAnchors: anchors, mac: { reference: 'dev-0001', secret: SECRET, iterations: 1000 },
    delayedDelivery: { inlineWaitSeconds: 0, maxPolls: 5 }, sleep: async () => undefined,
  });
  const clock = new ManualClock(start);
  const u = new RootCaKeyUpdater({
    client: c, anchors, ta, stateDir, clock, log: memoryLogger('warn'), protection: () => ({ kind: 'mac' }),
    renewFraction: 2 / 3, backoffMinSeconds: 60, backoffMaxSeconds: 3600, random: () => 0.5,
  });
  return { u, ta, records, c, anchors, clock, stateDir };
}

test('not asked while the root has life left; under the threshold: genm, newWithOld verified, the new root stored in the TA store and trusted for CMP', async () => {
  const { u, ta, records, c, anchors, clock, stateDir } = await setup({ rootCaKeyUpdate: { newWithNew: der('new.pem'), newWithOld: der('nwo.pem') } }, new Date(Date.now() + DAY));
  assert.is(await u.check(agent), 'not-due');
  assert.equal(c.sent, []);
  await clock.advance(3.5 * DAY); // 4.5 of 6 days lived: past 2/3
  assert.is(await u.check(agent), 'updated', JSON.stringify(records));
  assert.equal(c.sent, ['genm']);
  const stored = ta.anchorsFor('cmp');
  assert.is(stored.length, 1);
  assert.equal(stored[0]!.der, der('new.pem'));
  assert.equal([...stored[0]!.uses], ['cacerts', 'cmp']);
  assert.is(anchors.length, 2, 'the client trusts the new root at once');
  assert.is(statSync(path.join(stateDir, 'cmp-root-update.json')).mode & 0o777, 0o600);
  // the new root (60 days) is now the current one: nothing due
  assert.is(await u.check(agent), 'not-due');
  assert.equal(c.sent, ['genm']);
});

test('a delayed genp: waiting persisted, resumed by pollReq -1 after checkAfter (a new updater, as after a restart)', async () => {
  const { u, ta, c, clock, stateDir } = await setup({ rootCaKeyUpdate: { newWithNew: der('new.pem'), newWithOld: der('nwo.pem') }, waiting: { polls: 0, checkAfterSeconds: 120, bodies: ['genm'] } }, new Date(Date.now() + 4.5 * DAY));
  assert.is(await u.check(agent), 'waiting');
  const s = await u.state();
  assert.is(s.pending?.request, 'genm');
  assert.is(s.pending?.certReqId, -1);
  assert.is(await u.check(agent), 'not-due', 'waits the clamped checkAfter');
  await clock.advance(121_000);
  const again = new RootCaKeyUpdater({ client: c, anchors: [der('old.pem')], ta, stateDir, clock, log: memoryLogger('warn'), protection: () => ({ kind: 'mac' }), renewFraction: 2 / 3, backoffMinSeconds: 60, backoffMaxSeconds: 3600 });
  assert.is(await again.check(agent), 'updated');
  assert.equal(c.sent, ['genm', 'pollReq']);
  assert.is(ta.anchorsFor('cmp').length, 1);
});

test('newWithOld not signed by the current root → nothing stored, a persisted backoff (no second genm before it)', async () => {
  const { u, ta, c, clock } = await setup({ rootCaKeyUpdate: { newWithNew: der('new.pem'), newWithOld: der('new.pem') } }, new Date(Date.now() + 4.5 * DAY));
  assert.is(await u.check(agent), 'failed');
  assert.equal(ta.anchorsFor('cmp'), []);
  const s = await u.state();
  assert.equal([s.failures, s.last?.code], [1, 'cmp.protection']);
  assert.is(await u.check(agent), 'not-due');
  await clock.advance(61_000);
  assert.is(await u.check(agent), 'failed');
  assert.equal(c.sent, ['genm', 'genm']);
  assert.is((await u.state()).failures, 2);
});

test('an HTTP 503 with Retry-After 7200: the next genm waits the 2 h, not the 60 s backoff; then the update', async () => {
  const { u, ta, c, clock } = await setup({ rootCaKeyUpdate: { newWithNew: der('new.pem'), newWithOld: der('nwo.pem') } }, new Date(Date.now() + 4.5 * DAY));
  const match = lab.router.match.bind(lab.router);
  lab.router.match = () => ({ handler: async () => ({ status: 503, headers: { 'content-type': 'text/plain', 'retry-after': '7200' }, body: 'maintenance' }), params: {} });
  try {
    const t0 = clock.now().getTime();
    assert.is(await u.check(agent), 'failed');
    const s = await u.state();
    assert.equal([s.failures, s.last?.code], [1, 'cmp.protocol']);
    assert.is(Date.parse(s.nextCheck!), t0 + 7200_000);
  } finally {
    lab.router.match = match;
  }
  await clock.advance(3600_000);
  assert.is(await u.check(agent), 'not-due', 'the backoff alone (60 s) would have asked again');
  await clock.advance(3600_000);
  assert.is(await u.check(agent), 'updated');
  assert.equal(c.sent, ['genm', 'genm']);
  assert.is(ta.anchorsFor('cmp').length, 1);
});

test('no update on the server: "no-update", looked at again a day later only', async () => {
  const { u, c, clock } = await setup({}, new Date(Date.now() + 4.5 * DAY));
  assert.is(await u.check(agent), 'no-update');
  await clock.advance(3600_000);
  assert.is(await u.check(agent), 'not-due');
  assert.equal(c.sent, ['genm']);
});

test.run();
