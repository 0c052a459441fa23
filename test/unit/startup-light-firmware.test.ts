// A device with `firmware` configured loads pkijs/asn1js only at its first package run (ARCHITECTURE.md §Start-up
// path): a child process composes the firmware feature on a later start (the TA store already holds the firmware
// anchor; a package waits for the reboot), reads its status, confirms the boot and returns a queued report, while a
// module hook records every pkijs/asn1js module loaded. Then a package run loads them (verify, the load error).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { asn1LoadsOf as loadsOf } from '../harness/asn1-loads.js';
import { saveState } from '../../agent/packages/firmware/state.js';
import { stateLayout } from '../../agent/store/layout.js';
import { TrustAnchorStore } from '../../agent/store/ta-store.js';
import { LabCa } from '../../deploy/lab/ca.js';

const NOW = new Date('2026-04-01T00:00:00Z');
const ca = await LabCa.create({ now: NOW });
const dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-light-fw-'));
const stateDir = path.join(dir, 'state');
const fwDir = stateLayout(stateDir).firmwareDir;
const taFile = path.join(dir, 'trust-anchors.json');
const anchorsPem = path.join(dir, 'firmware-ta.pem');
writeFileSync(anchorsPem, ca.root.pem);
// what the first start left: the firmware anchor in the store, a package applied and waiting for the reboot
await (await TrustAnchorStore.open(taFile, { now: () => NOW })).add({ name: 'firmware-0', source: 'config', uses: ['firmware'], certificate: ca.root.der });

const agent = (p: string): string => new URL(`../../agent/${p}`, import.meta.url).href;

const asn1LoadsOf = (body: string): string[] => loadsOf(dir, body);

const pending = { name: { preferred: { fwPkgID: '1.3.6.1.4.1.99999.1', verNum: '7' } }, imageSha256: '00'.repeat(32), at: NOW.toISOString() };

const startUp = () => `
const { TrustAnchorStore } = await import(${JSON.stringify(agent('store/ta-store.js'))});
const { compose } = await import(${JSON.stringify(agent('features/firmware/index.js'))});
const { Outbox } = await import(${JSON.stringify(agent('packages/firmware/outbox.js'))});
const ta = await TrustAnchorStore.open(${JSON.stringify(taFile)});
const log = { debug() {}, info() {}, warn() {}, error() {}, child() { return log; } };
const posted = [];
const transport = { request: async (r) => { posted.push(r); return { status: 204, headers: {}, body: new Uint8Array() }; } };
const ctx = {
  section: { trustAnchorsFile: ${JSON.stringify(anchorsPem)}, hook: { path: '/bin/true', args: [], timeoutSeconds: 60 }, hardware: { type: '1.3.6.1.4.1.99999.2', altTypes: [], serialHex: '00c0ffee', communities: [] }, maxPackageBytes: 1024 * 1024, signReturns: true },
  config: { stateDir: ${JSON.stringify(stateDir)}, keyPackages: {} },
  clock: { now: () => new Date() },
  log,
  keystore: { importKey() {}, sealSecret() {}, unsealSecret: async () => new Uint8Array(16) },
  identity: { current: async () => undefined, returnSigner: async () => undefined },
  stores: { ta, outcomes: { success() {}, failure() {} } },
  device: { trustAnchorsPem: ${JSON.stringify(ca.root.pem)}, transport },
  status: { republish: async () => {} },
};
const parts = await compose(ctx);
const fw = parts.firmware;
if (parts.statusPart.current().fw?.pending !== '1.3.6.1.4.1.99999.1#7') throw new Error('status ' + JSON.stringify(parts.statusPart.current()));
if ((await fw.confirmBoot()).installed?.name.preferred?.verNum !== '7') throw new Error('confirmBoot');
await parts.statusPart.refresh();
if (parts.statusPart.current().fw?.running !== '1.3.6.1.4.1.99999.1#7') throw new Error('status after boot');
if (await fw.hasPartialDownload()) throw new Error('partial');
await new Outbox(fw.files.outbox).add('receipt', { der: new Uint8Array([0x30, 0x00]), signed: false }, 'queued before the restart');
const [h] = parts.handlers;
const r = await h.handle({ type: '0027', info: { kind: 'uri', uri: 'https://est.example/.well-known/est/firmware/return' }, size: 0 }, {});
if (r.status !== 'ok' || posted.length !== 1 || (await fw.outbox.list()).length !== 0) throw new Error('return ' + JSON.stringify(r));
`;

test('composition, status, boot confirmation and a report return of the firmware feature load no pkijs/asn1js', async () => {
  await saveState(fwDir, { version: 1, stale: [], pending: { ...pending, status: 'pending-reboot' } });
  assert.equal(asn1LoadsOf(startUp()), []);
});

test('a package run loads them: the package is verified (and rejected) and a load error queued', async () => {
  await saveState(fwDir, { version: 1, stale: [], pending: { ...pending, status: 'pending-reboot' } });
  const loads = asn1LoadsOf(`${startUp()}
const { FirmwareManager } = await import(${JSON.stringify(agent('packages/firmware/manager.js'))});
const junk = Buffer.from('not a firmware package');
const http = { get: async () => ({ status: 200, headers: { 'content-length': String(junk.length) }, body: Object.assign((async function* () { yield junk; })(), { destroy() {} }) }) };
const m = new FirmwareManager({ ...fw.cfg, http });
const out = await m.processPackage('https://est.example/.well-known/est/firmware', 0);
if (out.status !== 'rejected') throw new Error('outcome ' + JSON.stringify(out));
const queued = await m.outbox.list();
if (queued.length !== 1 || queued[0].kind !== 'error') throw new Error('outbox ' + JSON.stringify(queued.map((q) => q.kind)));
`);
  assert.ok(loads.some((u) => u.includes('/pkijs/')), loads.join('\n'));
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
