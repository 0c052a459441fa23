// The idle path of the PAL cycle loads no ASN.1: a child process with a loader hook that reports every pkijs/asn1js
// module builds the EST feature, the PAL feature's poller and its registry, and polls an empty PAL (204, then 200
// "[]") and a not-yet-due RFC 7030 /cacerts refresh — none of them is loaded. The first operation that reads DER
// (/cacerts) then loads them, which shows the hook sees them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-pal-idle-'));

const LOADER = `export async function load(url, ctx, next) {
  if (/\\/node_modules\\/(pkijs|asn1js)\\//.test(url)) process.stderr.write('HEAVY ' + url + '\\n');
  return next(url, ctx);
}
`;

const SCRIPT = `const dist = ${JSON.stringify(pathToFileURL(dist).href)};
await import(dist + '/agent/features/est/index.js');
await import(dist + '/agent/features/pal/index.js');
const { EstClient } = await import(dist + '/agent/protocols/est/client.js');
const { PalPoller } = await import(dist + '/agent/packages/pal-poller.js');
const { createPackageRegistry } = await import(dist + '/agent/packages/registry.js');
const { memoryLogger } = await import(dist + '/agent/util/log.js');
const { writeFileSync } = await import('node:fs');
let answer = { status: 204, headers: {}, body: new Uint8Array() };
const transport = { request: async () => answer };
const est = new EstClient({ baseUrl: 'https://est.example', transport });
const clock = { now: () => new Date(), sleepUntil: async () => {} };
const taStore = { certificatesFor: () => [], digest: () => 'ta' };
const state = { schema: 1, phase: 'enrolled', credential: { certPem: '-----BEGIN CERTIFICATE-----\\nMAA=\\n-----END CERTIFICATE-----\\n', chainPem: [] }, history: [] };
const base = { est, taStore, crlStore: {}, log: memoryLogger(), clock, registry: createPackageRegistry() };
const pal = new PalPoller({ ...base, pal: true });
const out = [];
out.push(await pal.poll(state));
answer = { status: 200, headers: { 'content-type': 'application/json' }, body: new Uint8Array(Buffer.from('[]')) };
out.push(await pal.poll(state));
const stateFile = process.argv[2];
writeFileSync(stateFile, JSON.stringify({ cacertsAt: new Date().toISOString() }));
const rfc7030 = new PalPoller({ ...base, pal: false, stateFile });
out.push(await rfc7030.poll(state));
process.stderr.write('IDLE DONE ' + JSON.stringify(out) + ' ' + pal.last.entries + ' ' + rfc7030.last.mode + '\\n');
answer = { status: 500, headers: {}, body: new Uint8Array() };
await est.cacerts().then(() => process.stderr.write('UNEXPECTED\\n'), (err) => process.stderr.write('CACERTS ' + err.status + '\\n'));
`;

test('an idle PAL poll and a not-due /cacerts refresh load neither pkijs nor asn1js', () => {
  writeFileSync(path.join(dir, 'loader.mjs'), LOADER);
  writeFileSync(path.join(dir, 'idle.mjs'), SCRIPT);
  const r = spawnSync(process.execPath, ['--no-warnings', '--loader', pathToFileURL(path.join(dir, 'loader.mjs')).href, path.join(dir, 'idle.mjs'), path.join(dir, 'probe.json')], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  const lines = r.stderr.split('\n');
  const done = lines.findIndex((l) => l.startsWith('IDLE DONE'));
  assert.ok(done >= 0, r.stderr);
  assert.is(lines[done], 'IDLE DONE [{},{},{}] 0 rfc7030');
  assert.equal(lines.slice(0, done).filter((l) => l.startsWith('HEAVY')), [], 'loaded before the first DER operation');
  const after = lines.slice(done + 1);
  assert.ok(after.some((l) => l.startsWith('HEAVY')), 'the hook sees the ASN.1 stack once /cacerts loads it');
  assert.ok(after.includes('CACERTS 500'), r.stderr);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
