// A device with `tamp` configured loads pkijs/asn1js only at its first TAMP package run (ARCHITECTURE.md §Start-up
// path): a child process composes the TAMP feature on a later start (the TAMP state already holds the apex TA, a
// sequence number and a queued response), reads the status part (ta.digest, tampSeq) and returns the queued response
// (an odd PAL type), while a module hook records every pkijs/asn1js module loaded. Then a package run loads them
// (the message is refused with a signed TAMPError). The apex file is decoded at the first start only, where a bad
// file is still an error of composition; a processor that fails to load fails that run as module.load (transient).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { asn1LoadsOf as loadsOf } from '../harness/asn1-loads.js';
import { compose } from '../../agent/features/tamp/index.js';
import type { FeatureContext } from '../../agent/features/feature.js';
import type { TampSettings } from '../../agent/config.js';
import { TampStateFile } from '../../agent/packages/tamp/state.js';
import { TrustAnchorStore } from '../../agent/store/ta-store.js';
import { LabCa } from '../../deploy/lab/ca.js';

const NOW = new Date('2026-04-01T00:00:00Z');
const ca = await LabCa.create({ now: NOW });
const other = await LabCa.create({ name: 'other root', now: NOW });
const dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-light-tamp-'));
const stateDir = path.join(dir, 'state');
const taFile = path.join(dir, 'trust-anchors.json');
const apexPem = path.join(dir, 'tamp-apex.pem');
writeFileSync(apexPem, ca.root.pem);
const KEY_ID = 'ab'.repeat(20);
await (await TrustAnchorStore.open(taFile, { now: () => NOW })).add({ name: 'est-root', source: 'config', uses: ['est-server', 'cacerts'], certificate: ca.root.der });

/** What the first start and earlier runs left: the apex installed, a sequence number, a response still queued. */
async function laterStartState(): Promise<void> {
  await new TampStateFile(stateDir).update((d) => {
    d.apex = Buffer.from(ca.root.der).toString('base64');
    d.communities = ['1.3.6.1.4.1.99999.50.1'];
    d.seq = { [KEY_ID]: '5' };
    d.outbox = [{ contentType: '2.16.840.1.101.2.1.2.77.9', der: Buffer.from([0x30, 0x00]).toString('base64'), answers: '2.16.840.1.101.2.1.2.77.1' }];
  });
}

const agent = (p: string): string => new URL(`../../agent/${p}`, import.meta.url).href;

const asn1LoadsOf = (body: string): string[] => loadsOf(dir, body);

const section = { apexTrustAnchorFile: apexPem, communities: ['1.3.6.1.4.1.99999.50.1'], hardware: { type: '1.3.6.1.4.1.99999.2', serialHex: '00c0ffee' } };

const startUp = () => `
const { generateKeyPairSync, sign } = await import('node:crypto');
const { TrustAnchorStore } = await import(${JSON.stringify(agent('store/ta-store.js'))});
const { compose } = await import(${JSON.stringify(agent('features/tamp/index.js'))});
const ta = await TrustAnchorStore.open(${JSON.stringify(taFile)});
const log = { debug() {}, info() {}, warn() {}, error() {}, child() { return log; } };
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer = { algorithm: 'ecc-p256', spki: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })), sign: async (m) => new Uint8Array(sign('sha256', m, privateKey)) };
const requests = [];
let body = new Uint8Array();
const transport = { request: async (r) => { requests.push(r); return r.method === 'GET' ? { status: 200, headers: {}, body } : { status: 204, headers: {}, body: new Uint8Array() }; } };
const ctx = {
  section: ${JSON.stringify(section)},
  config: { stateDir: ${JSON.stringify(stateDir)} },
  clock: { now: () => new Date() },
  log,
  identity: { returnSigner: async () => ({ signer }) },
  stores: { ta },
};
const parts = await compose(ctx);
const tamp = parts.tamp;
const expect = JSON.stringify({ ta: { digest: ta.digest(), tampSeq: 5 } });
if (JSON.stringify(parts.statusPart.current()) !== expect) throw new Error('status ' + JSON.stringify(parts.statusPart.current()));
await parts.statusPart.refresh();
if (JSON.stringify(parts.statusPart.current()) !== expect) throw new Error('status after refresh');
const [h] = parts.handlers;
const shared = { policy: {}, est: { ctx: { baseUrl: 'https://est.example', transport } }, taStore: ta, log };
const entry = (type) => ({ type, info: { kind: 'uri', uri: 'https://est.example/.well-known/est/tamp' }, size: 0 });
const r = await h.handle(entry('0029'), { shared });
if (r.status !== 'ok' || requests.length !== 1 || requests[0].url.pathname !== '/.well-known/est/tamp/return' || (await tamp.state.load()).outbox.length !== 0) throw new Error('return ' + JSON.stringify(r));
`;

test('composition, the status part and returning a queued response of the TAMP feature load no pkijs/asn1js', async () => {
  await laterStartState();
  assert.equal(asn1LoadsOf(startUp()), []);
});

test('a package run loads them: the message is refused with a signed TAMPError, returned at once', async () => {
  await laterStartState();
  const loads = asn1LoadsOf(`${startUp()}
body = new Uint8Array(Buffer.from('not a TAMP message'));
const out = await h.handle(entry('0028'), { shared });
if (out.status !== 'failed' || out.code !== 'tamp.decodeFailure') throw new Error('outcome ' + JSON.stringify(out));
const posted = requests.slice(1).map((q) => q.method + ' ' + q.headers['content-type']);
if (JSON.stringify(posted) !== JSON.stringify(['GET undefined', 'POST application/tamp-error'])) throw new Error('requests ' + JSON.stringify(posted));
if ((await tamp.state.load()).seq[${JSON.stringify(KEY_ID)}] !== '5') throw new Error('sequence number changed');
`);
  assert.ok(loads.some((u) => u.includes('/pkijs/')), loads.join('\n'));
});

test('a processor that fails to load fails that run as module.load: nothing fetched, queued or returned', async () => {
  await laterStartState();
  // a second load hook refuses the processor module
  const refuseProcessor = `export async function load(url, context, next) {
  if (url.endsWith('/packages/tamp/process-message.js')) throw new Error('simulated broken installation');
  return next(url, context);
}`;
  asn1LoadsOf(`${startUp()}
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(refuseProcessor)}));
body = new Uint8Array(Buffer.from('not a TAMP message'));
let err;
try { await h.handle(entry('0028'), { shared }); } catch (e) { err = e; }
if (err?.code !== 'module.load' || !/TAMP message processor.*simulated broken installation/.test(err.message)) throw new Error('error ' + (err?.code + ' ' + err?.message));
if (requests.length !== 1 || (await tamp.state.load()).outbox.length !== 0) throw new Error('touched ' + requests.length);
`);
});

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

const firstStart = (file: string) =>
  compose({
    section: { ...section, apexTrustAnchorFile: file } as unknown as TampSettings,
    config: { stateDir: path.join(dir, `first-${path.basename(file)}`) },
    clock: { now: () => NOW },
    identity: { returnSigner: async () => undefined },
    stores: { ta: { digest: () => '' } },
  } as unknown as FeatureContext<TampSettings>);

test('the first start decodes the apex file: installed with the communities; a bad file is an error of composition', async () => {
  const parts = await firstStart(apexPem);
  const d = await parts.tamp!.state.load();
  assert.is(d.apex, Buffer.from(ca.root.der).toString('base64'));
  assert.equal(d.communities, section.communities);
  assert.equal((await parts.tamp!.apex())?.certificateDer(), ca.root.der);
  const two = path.join(dir, 'two.pem');
  writeFileSync(two, ca.root.pem + other.root.pem);
  const e1 = await rejection(firstStart(two));
  assert.is(e1.code, 'tamp.other');
  assert.match(e1.message, `${two}: expected exactly one certificate, found 2`);
  const junk = path.join(dir, 'junk.der');
  writeFileSync(junk, Buffer.from([0x04, 0x01, 0x00]));
  assert.match((await rejection(firstStart(junk))).message, /./);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
