// TAMP (RFC 5934) end to end through the real PAL poller, against the lab server on 127.0.0.1 over TLS and a
// swtpm: every response is signed by the device's TPM key and verified by the lab (and once by `openssl cms
// -verify`). Status query (verbose/terse), TA add (a chain that only validates after the add), change, remove, apex
// update (old apex no longer accepted, new one is), community update (then a community-targeted message), sequence
// number adjust, an apex update signed with the contingency key; every bad input answered by a TAMPError with the RFC 5934 status, the TA store and the sequence
// numbers unchanged; sequence numbers survive a restart (new objects on the same state directory) and a replay after
// the restart is refused.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import { ManualClock } from '../../agent/lifecycle/clock.js';
import type { AgentState } from '../../agent/lifecycle/state.js';
import type { PalEntry } from '../../agent/pal/model.js';
import { certificateSpki, certificateToDer } from '../../agent/pki/cert.js';
import { EstClient } from '../../agent/protocols/est/client.js';
import { createHttpsTransport } from '../../agent/protocols/http/transport.js';
import { PalPoller } from '../../agent/packages/pal-poller.js';
import { createPackageRegistry } from '../../agent/packages/registry.js';
import { FirmwareLoadFailure } from '../../agent/packages/firmware/errors.js';
import { emptyState } from '../../agent/packages/firmware/state.js';
import { verifyFirmwarePackage } from '../../agent/packages/firmware/verify.js';
import { TampManager } from '../../agent/packages/tamp/manager.js';
import { TampStateFile } from '../../agent/packages/tamp/state.js';
import { CrlStore } from '../../agent/store/crl-store.js';
import { TrustAnchorStore } from '../../agent/store/ta-store.js';
import { TPM_HT } from '../../agent/tpm2/index.js';
import { memoryLogger } from '../../agent/util/log.js';
import { LabCa } from '../../deploy/lab/ca.js';
import { FirmwareLab } from '../../deploy/lab/firmware.js';
import { labPal } from '../../deploy/lab/pal.js';
import { createLabServer } from '../../deploy/lab/server.js';
import { contingencyApex, registerTampHandlers, type TampReturnRecord } from '../../deploy/lab/tamp.js';
// The responses are decoded by the lab's own RFC 5934 module, not the agent's.
import {
  SequenceNumberAdjustConfirm,
  TAMPApexUpdateConfirm,
  TAMPCommunityUpdateConfirm,
  TAMPError,
  TAMPStatusResponse,
  TAMPUpdateConfirm,
  taTitleChange,
} from '../../deploy/lab/asn1/tamp.js';
import { startSwtpm } from '../harness/swtpm.js';

const USERS = { device: 's3cret' };
const HW_TYPE = '1.3.6.1.4.1.99999.7';
const HW_SERIAL = new Uint8Array([0x15]);
const COMMUNITY = '1.3.6.1.4.1.99999.50.1';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'enrolld-tamp-'));
const server = await createLabServer({ users: USERS });
const pal = labPal(server.router);
const lab = await registerTampHandlers(server.router, { baseUrl: server.url });
const swtpm = await startSwtpm();
const store = await TpmKeyStore.open({ tcti: swtpm.tcti });
const deviceKey = await store.createKey('device-key', 'ecc-p256');
const t0 = new Date();
const deviceCert = await server.ca.issue({ subject: { CN: 'device-tamp-1' }, spki: deviceKey.spki, notBefore: new Date(t0.getTime() - 3600_000), notAfter: new Date(t0.getTime() + 86_400_000), profile: 'client' });
const stateDir = path.join(tmp, 'state');
const taFile = path.join(stateDir, 'ta.json');
const apexFile = path.join(tmp, 'apex.pem');
writeFileSync(apexFile, lab.apex.root.pem);

// the device's TA store: the lab root for TLS/cacerts/crl and the lab TAMP manager's root authorized for 'tamp'
const ta0 = await TrustAnchorStore.open(taFile);
await ta0.add([
  { name: 'lab-root', source: 'config', uses: ['est-server', 'cacerts', 'crl'], certificate: server.trustAnchorPem },
  { name: 'tamp-manager', source: 'config', uses: ['tamp'], certificate: lab.manager.root.der },
]);

const manager = (): TampManager =>
  new TampManager({
    stateDir,
    apexTaFile: apexFile,
    module: { hwType: HW_TYPE, hwSerialNum: HW_SERIAL },
    returnSigner: { signer: store.signer(deviceKey), certificate: certificateToDer(deviceCert), chain: [server.ca.issuing.der] },
  });

/** One PAL poll with fresh agent objects on the same state directory (a restart each time). */
async function poll(entries: PalEntry[]): Promise<{ results: Array<{ type: string; status: string; code?: string; message?: string; detail?: string }>; ta: TrustAnchorStore }> {
  const clock = new ManualClock(new Date());
  const ta = await TrustAnchorStore.open(taFile);
  const crls = await CrlStore.open(path.join(tmp, 'crls.json'), { taStore: ta, now: () => clock.now() });
  const transport = createHttpsTransport({ trustAnchors: ta.certificatesFor('est-server'), basicAuth: { username: 'device', password: USERS.device } });
  const poller = new PalPoller({
    est: new EstClient({ baseUrl: server.url, transport }),
    taStore: ta,
    crlStore: crls,
    log: memoryLogger('debug'),
    clock,
    registry: createPackageRegistry({ handlers: [manager().handler()] }),
  });
  pal.setPal('device', entries);
  await poller.poll({ schema: 1, phase: 'enrolled', history: [] } as unknown as AgentState);
  return { results: poller.last!.results as never, ta };
}

const seqState = async (): Promise<Record<string, string>> => (await new TampStateFile(stateDir).load()).seq;
const digest = async (): Promise<string> => (await TrustAnchorStore.open(taFile)).digest();
const lastReturn = (): TampReturnRecord => lab.returns.at(-1)!;

test('status query (verbose, then terse): TAMPStatusResponse signed by the TPM key lists the apex and the installed TAs', async () => {
  const m = await lab.publish({ kind: 'statusQuery' });
  const before = lab.returns.length;
  const { results } = await poll([m.entry]);
  assert.equal(results.map((r) => [r.type, r.status]), [['0028', 'ok']], JSON.stringify(results));
  assert.is(lab.returns.length, before + 1);
  const r = lastReturn();
  assert.is(r.mediaType, 'application/tamp-status-response');
  assert.ok(r.signatureValid);
  const sr = r.message as TAMPStatusResponse;
  assert.instance(sr, TAMPStatusResponse);
  assert.is(sr.query.seqNum, m.seqNum);
  assert.is(sr.usesApex, true);
  assert.ok(sr.response.kind === 'verbose');
  if (sr.response.kind !== 'verbose') return;
  assert.is(sr.response.taInfo.length, 3, 'apex + lab-root + tamp-manager');
  assert.ok(sr.response.taInfo[0]!.kind === 'certificate' && Buffer.from(sr.response.taInfo[0]!.der).equals(Buffer.from(lab.apex.root.der)));
  assert.is(sr.response.tampSeqNumbers![0]!.seqNumber, m.seqNum);
  const t = await lab.publish({ kind: 'statusQuery', terse: 'terse' });
  await poll([t.entry]);
  const tr = lastReturn().message as TAMPStatusResponse;
  assert.ok(tr.response.kind === 'terse' && tr.response.taKeyIds.length === 3);
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
});

test('openssl cms -verify accepts a TAMP response signed by the TPM key (device chain from the lab CA)', () => {
  const rec = lab.returns.find((r) => r.mediaType === 'application/tamp-status-response')!;
  const dir = path.join(tmp, 'openssl');
  execFileSync('mkdir', ['-p', dir]);
  writeFileSync(path.join(dir, 'resp.der'), rec.der);
  writeFileSync(path.join(dir, 'ca.pem'), server.ca.root.pem);
  const out = path.join(dir, 'content.der');
  execFileSync('openssl', ['cms', '-verify', '-inform', 'DER', '-in', path.join(dir, 'resp.der'), '-CAfile', path.join(dir, 'ca.pem'), '-purpose', 'any', '-binary', '-out', out], { stdio: 'pipe' });
  const parsed = TAMPStatusResponse.fromDer(readFileSync(out));
  assert.is(parsed.response.kind, 'verbose');
  const bad = new Uint8Array(rec.der);
  bad[bad.length - 10]! ^= 0x01;
  writeFileSync(path.join(dir, 'bad.der'), bad);
  assert.throws(() => execFileSync('openssl', ['cms', '-verify', '-inform', 'DER', '-in', path.join(dir, 'bad.der'), '-CAfile', path.join(dir, 'ca.pem'), '-purpose', 'any', '-binary', '-out', out], { stdio: 'pipe' }));
});

// The TA a TAMP update adds is the firmware lab's signer root: a real RFC 4108 package verification
// (verifyFirmwarePackage, TAs from the device's TrustAnchorStore) fails before the add and passes after it.
const fwLab = await FirmwareLab.create(server.router, { dir: path.join(tmp, 'fwlab'), baseUrl: server.url });
const vendor = fwLab.ca;
const fwPkg = await fwLab.addPackage({ id: 'tamp-fw', image: new Uint8Array(randomBytes(4096)), name: { preferred: { fwPkgID: '1.3.6.1.4.1.32473.7.9', verNum: 1 } }, targetHardware: [HW_TYPE] });
const chainsForFirmware = async (): Promise<boolean> => {
  const ta = await TrustAnchorStore.open(taFile);
  const workDir = mkdtempSync(path.join(tmp, 'fw-'));
  return verifyFirmwarePackage(fwPkg.path, {
    device: { hwType: HW_TYPE, hwSerialNum: HW_SERIAL },
    trustAnchors: async (purpose) => (purpose === 'firmware' ? ta.certificatesFor('firmware') : ta.list().map((a) => a.der)),
    state: emptyState(),
    workDir,
  }).then(
    () => true,
    (e: unknown) => {
      if (!(e instanceof FirmwareLoadFailure)) throw e;
      return false;
    },
  );
};

test('TA update add: the firmware signer root is installed (firmware use); an RFC 4108 package verifies only afterwards; change renames it', async () => {
  assert.is(await chainsForFirmware(), false, 'the firmware package is refused before the add');
  const m = await lab.publish({ kind: 'update', updates: [{ kind: 'add', ta: { kind: 'certificate', der: vendor.root.der, certificate: vendor.root.certificate } }] });
  const { results } = await poll([m.entry]);
  assert.equal(results.map((r) => r.status), ['ok'], JSON.stringify(results));
  const c = lastReturn().message as TAMPUpdateConfirm;
  assert.instance(c, TAMPUpdateConfirm);
  assert.ok(c.confirm.kind === 'verbose' && c.confirm.status.join() === 'success' && c.confirm.taInfo.length === 4);
  const ta = await TrustAnchorStore.open(taFile);
  const added = ta.find(vendor.root.der)!;
  assert.ok(added, 'vendor root in the TA store');
  assert.equal([added.source, [...added.uses]], ['tamp', ['cacerts', 'crl', 'firmware']]);
  assert.is(await chainsForFirmware(), true, 'the firmware package verifies after the add');
  const spki = certificateSpki(vendor.root.certificate);
  const ch = await lab.publish({ kind: 'update', terse: 'terse', updates: [{ kind: 'change', change: taTitleChange(spki, 'vendor-root') }] });
  await poll([ch.entry]);
  assert.is(lastReturn().status, 'success');
  assert.is((await TrustAnchorStore.open(taFile)).find(vendor.root.der)!.name, 'vendor-root');
});

interface BadCase {
  name: string;
  status: string;
  make: () => ReturnType<typeof lab.publish>;
  setup?: () => Promise<void>;
}
const extra = await LabCa.create({ name: 'never installed' });
const rogueAsCacerts = async (): Promise<void> => {
  const ta = await TrustAnchorStore.open(taFile);
  if (!ta.find(lab.rogue.root.der)) await ta.add({ name: 'rogue-as-cacerts', source: 'config', uses: ['cacerts'], certificate: lab.rogue.root.der });
};
const BAD: BadCase[] = [
  { name: 'signer under no installed TA', status: 'noTrustAnchor', make: () => lab.publish({ kind: 'update', signer: 'rogue', updates: [{ kind: 'remove', pubKey: certificateSpki(vendor.root.certificate) }] }) },
  { name: 'signer under a TA not authorized for TAMP', status: 'notAuthorized', setup: rogueAsCacerts, make: () => lab.publish({ kind: 'update', signer: 'rogue', updates: [{ kind: 'remove', pubKey: certificateSpki(vendor.root.certificate) }] }) },
  { name: 'replayed sequence number', status: 'seqNumFailure', make: () => lab.publish({ kind: 'update', seqNum: lab.lastSeq.manager, updates: [{ kind: 'remove', pubKey: certificateSpki(vendor.root.certificate) }] }) },
  { name: 'lower sequence number', status: 'seqNumFailure', make: () => lab.publish({ kind: 'update', seqNum: 1n, updates: [{ kind: 'remove', pubKey: certificateSpki(vendor.root.certificate) }] }) },
  { name: 'wrong target (another serial number)', status: 'incorrectTarget', make: () => lab.publish({ kind: 'update', target: { kind: 'hwModules', modules: [{ hwType: HW_TYPE, serials: [{ single: new Uint8Array([0x16]) }] }] }, updates: [{ kind: 'remove', pubKey: certificateSpki(vendor.root.certificate) }] }) },
  { name: 'truncated DER', status: 'decodeFailure', make: () => lab.publish({ kind: 'update', variant: 'truncated', updates: [{ kind: 'remove', pubKey: certificateSpki(vendor.root.certificate) }] }) },
  { name: 'bad signature', status: 'signatureFailure', make: () => lab.publish({ kind: 'update', variant: 'bad-signature', updates: [{ kind: 'remove', pubKey: certificateSpki(vendor.root.certificate) }] }) },
  { name: 'unknown content type', status: 'unsupportedTAMPMsgType', make: () => lab.publish({ kind: 'update', variant: 'unknown-content-type', updates: [{ kind: 'remove', pubKey: certificateSpki(vendor.root.certificate) }] }) },
  { name: 'oversized message', status: 'insufficientMemory', make: () => lab.publish({ kind: 'update', variant: 'oversized', updates: [{ kind: 'remove', pubKey: certificateSpki(vendor.root.certificate) }] }) },
  { name: 'TAMP version 1', status: 'versionNumberMismatch', make: () => lab.publish({ kind: 'update', variant: 'v1', updates: [{ kind: 'remove', pubKey: certificateSpki(vendor.root.certificate) }] }) },
  { name: 'remove of the apex key', status: 'apexTAMPAnchor', make: () => lab.publish({ kind: 'update', updates: [{ kind: 'remove', pubKey: certificateSpki(lab.apex.root.certificate) }] }) },
  { name: 'add + remove of an unknown key (all-or-nothing)', status: 'trustAnchorNotFound', make: () => lab.publish({ kind: 'update', updates: [{ kind: 'add', ta: { kind: 'certificate', der: extra.root.der, certificate: extra.root.certificate } }, { kind: 'remove', pubKey: new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' })) }] }) },
  { name: 'apex update signed by the manager', status: 'notAuthorized', make: () => lab.publish({ kind: 'apexUpdate', signer: 'manager', apexTA: { kind: 'certificate', der: vendor.root.der, certificate: vendor.root.certificate } }) },
];

for (const b of BAD) {
  test(`bad input (${b.name}): TAMPError ${b.status} returned, TA store and sequence numbers unchanged`, async () => {
    await b.setup?.();
    const m = await b.make();
    const d0 = await digest();
    const s0 = await seqState();
    const before = lab.returns.length;
    const { results } = await poll([m.entry]);
    assert.equal(results.map((r) => [r.status, r.code]), [['failed', `tamp.${b.status}`]], JSON.stringify(results));
    assert.is(lab.returns.length, before + 1, 'one TAMPError returned');
    const r = lastReturn();
    assert.is(r.mediaType, 'application/tamp-error');
    assert.instance(r.message, TAMPError);
    assert.is(r.status, b.status);
    assert.is(await digest(), d0, 'TA store unchanged');
    assert.equal(await seqState(), s0, 'sequence numbers unchanged');
  });
}

test('TA update remove: the firmware signer root is gone; the package is refused again', async () => {
  const m = await lab.publish({ kind: 'update', updates: [{ kind: 'remove', pubKey: certificateSpki(vendor.root.certificate) }] });
  const { results } = await poll([m.entry]);
  assert.equal(results.map((r) => r.status), ['ok'], JSON.stringify(results));
  assert.is(lastReturn().status, 'success');
  assert.not.ok((await TrustAnchorStore.open(taFile)).find(vendor.root.der));
  assert.is(await chainsForFirmware(), false);
});

test('community update: membership added; a message targeted at that community is accepted, another community is incorrectTarget', async () => {
  const m = await lab.publish({ kind: 'communityUpdate', updates: { add: [COMMUNITY] } });
  await poll([m.entry]);
  const c = lastReturn().message as TAMPCommunityUpdateConfirm;
  assert.instance(c, TAMPCommunityUpdateConfirm);
  assert.equal(c.commConfirm, { kind: 'verbose', status: 'success', communities: [COMMUNITY] });
  const q = await lab.publish({ kind: 'statusQuery', target: { kind: 'communities', communities: [COMMUNITY] } });
  assert.equal((await poll([q.entry])).results.map((r) => r.status), ['ok']);
  const other = await lab.publish({ kind: 'statusQuery', target: { kind: 'communities', communities: ['1.3.6.1.4.1.99999.50.2'] } });
  assert.equal((await poll([other.entry])).results.map((r) => r.code), ['tamp.incorrectTarget']);
});

test('sequence number adjust: the number jumps; a message between the old and the new number is refused', async () => {
  const s0 = BigInt(Object.values(await seqState()).map(BigInt).reduce((a, b) => (a > b ? a : b)));
  const m = await lab.publish({ kind: 'seqAdjust', seqNum: lab.lastSeq.manager + 100n });
  await poll([m.entry]);
  const c = lastReturn().message as SequenceNumberAdjustConfirm;
  assert.instance(c, SequenceNumberAdjustConfirm);
  assert.is(c.status, 'success');
  assert.ok(m.seqNum > s0);
  const between = await lab.publish({ kind: 'statusQuery', seqNum: m.seqNum - 50n });
  assert.equal((await poll([between.entry])).results.map((r) => r.code), ['tamp.seqNumFailure']);
});

test('apex update: the new apex is installed; the old apex is no longer accepted, the new one is', async () => {
  const apex2 = await LabCa.create({ name: 'enrolld lab TAMP apex 2' });
  const m = await lab.publish({ kind: 'apexUpdate', apexTA: { kind: 'certificate', der: apex2.root.der, certificate: apex2.root.certificate }, newApexSeq: 10n });
  const d0 = await digest();
  const { results } = await poll([m.entry]);
  assert.equal(results.map((r) => r.status), ['ok'], JSON.stringify(results));
  const c = lastReturn().message as TAMPApexUpdateConfirm;
  assert.instance(c, TAMPApexUpdateConfirm);
  assert.ok(c.apexConfirm.kind === 'verbose' && c.apexConfirm.status === 'success');
  assert.is(await digest(), d0, 'clearTrustAnchors false: the other TAs stay');
  const apex = await manager().apex();
  assert.ok(apex?.value.kind === 'certificate' && Buffer.from(apex.value.der).equals(Buffer.from(apex2.root.der)));
  const old = await lab.publish({ kind: 'statusQuery', signer: 'apex' });
  assert.equal((await poll([old.entry])).results.map((r) => r.code), ['tamp.noTrustAnchor']);
  lab.rotateApex(apex2, 10n);
  const low = await lab.publish({ kind: 'statusQuery', signer: 'apex', seqNum: 10n });
  assert.equal((await poll([low.entry])).results.map((r) => r.code), ['tamp.seqNumFailure'], 'seqNumber from the apex update is the new apex’s starting point');
  const ok = await lab.publish({ kind: 'statusQuery', signer: 'apex' });
  assert.equal((await poll([ok.entry])).results.map((r) => r.status), ['ok']);
});

test('contingency key (§2.2.4.1/§4.5): wrong decrypt key and wrong signer refused, nothing changed; the right key replaces the apex', async () => {
  const apex3 = await LabCa.create({ name: 'enrolld lab TAMP apex 3' });
  const c = contingencyApex(apex3);
  const inst = await lab.publish({ kind: 'apexUpdate', apexTA: c.apexTA, newApexSeq: 0n });
  assert.equal((await poll([inst.entry])).results.map((r) => r.status), ['ok']);
  const held = await manager().apex();
  assert.ok(held?.value.kind === 'taInfo' && held.value.info.exts !== undefined, 'the apex TrustAnchorInfo keeps its contingency extension');
  lab.rotateApex(apex3, 0n);
  const apex4 = await LabCa.create({ name: 'enrolld lab TAMP apex 4' });
  const newTA = { kind: 'certificate' as const, der: apex4.root.der, certificate: apex4.root.certificate };
  const refusals: Array<[string, { key: typeof c.contingency.key; decryptKey: Uint8Array }]> = [
    ['contingencyPublicKeyDecrypt', { key: c.contingency.key, decryptKey: new Uint8Array(randomBytes(32)) }],
    ['notAuthorized', { key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, decryptKey: c.contingency.decryptKey }],
  ];
  for (const [status, contingency] of refusals) {
    const d0 = await digest();
    const s0 = await seqState();
    const bad = await lab.publish({ kind: 'apexUpdate', apexTA: newTA, contingency });
    assert.equal((await poll([bad.entry])).results.map((r) => r.code), [`tamp.${status}`]);
    assert.is(lastReturn().status, status);
    assert.is(await digest(), d0);
    assert.equal(await seqState(), s0);
    const still = await manager().apex();
    assert.ok(still?.kind === 'taInfo', 'apex unchanged');
  }
  const good = await lab.publish({ kind: 'apexUpdate', apexTA: newTA, contingency: c.contingency, newApexSeq: 0n });
  assert.equal((await poll([good.entry])).results.map((r) => r.status), ['ok']);
  assert.instance(lastReturn().message, TAMPApexUpdateConfirm);
  const now4 = await manager().apex();
  assert.ok(now4?.value.kind === 'certificate' && Buffer.from(now4.value.der).equals(Buffer.from(apex4.root.der)));
  lab.rotateApex(apex4, 0n);
  const q = await lab.publish({ kind: 'statusQuery', signer: 'apex' });
  assert.equal((await poll([q.entry])).results.map((r) => r.status), ['ok']);
});

test('restart: sequence numbers persist (new manager + TA store on the same state dir); a replay after restart is refused', async () => {
  const m = await lab.publish({ kind: 'statusQuery' });
  await poll([m.entry]);
  const s0 = await seqState();
  // a fresh manager and TA store (poll() builds new ones every time) see the same numbers
  assert.equal((await new TampStateFile(stateDir).load()).seq, s0);
  const before = lab.returns.length;
  const { results } = await poll([m.entry]); // the very same message again
  assert.equal(results.map((r) => r.code), ['tamp.seqNumFailure']);
  assert.is(lab.returns.length, before + 1);
  assert.equal(await seqState(), s0);
  assert.equal((await new TampStateFile(stateDir).load()).outbox, [], 'every response was returned (204)');
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
});

test('odd PAL type (0031) returns responses still queued (lab down for the first attempt)', async () => {
  const m = await lab.publish({ kind: 'statusQuery' });
  const orig = lab.acceptReturn.bind(lab);
  (lab as unknown as { acceptReturn: unknown }).acceptReturn = async () => ({ status: 503, body: 'busy' });
  const r1 = await poll([m.entry]);
  (lab as unknown as { acceptReturn: unknown }).acceptReturn = orig;
  assert.match(String(r1.results[0]!.detail ?? r1.results[0]!.message), 'return failed');
  assert.is((await new TampStateFile(stateDir).load()).outbox.length, 1);
  const before = lab.returns.length;
  const r2 = await poll([lab.returnEntry('0029')]);
  assert.equal(r2.results.map((r) => r.status), ['ok'], JSON.stringify(r2.results));
  assert.is(lab.returns.length, before + 1);
  assert.equal((await new TampStateFile(stateDir).load()).outbox, []);
});

test('apex update with clearTrustAnchors + clearCommunities: every other TA and every community removed in one write', async () => {
  const apex5 = await LabCa.create({ name: 'enrolld lab TAMP apex 5' });
  const m = await lab.publish({ kind: 'apexUpdate', apexTA: { kind: 'certificate', der: apex5.root.der, certificate: apex5.root.certificate }, clearTrustAnchors: true, clearCommunities: true });
  const { results } = await poll([m.entry]); // the confirm still goes out over this poll's TLS session set-up
  assert.equal(results.map((r) => r.status), ['ok'], JSON.stringify(results));
  const c = lastReturn().message as TAMPApexUpdateConfirm;
  assert.ok(c.apexConfirm.kind === 'verbose' && c.apexConfirm.taInfo.length === 1 && c.apexConfirm.communities === undefined);
  assert.is((await TrustAnchorStore.open(taFile)).size, 0);
  assert.equal((await new TampStateFile(stateDir).load()).communities, []);
});

test.after(async () => {
  await store.close();
  await swtpm.stop();
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});

test.run();
