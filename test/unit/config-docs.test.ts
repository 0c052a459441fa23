import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../agent/config.js';
import { configArtefacts, fieldRows } from '../../agent/config/docs.js';
import { PROTOCOLS } from '../../agent/config/schema.js';

test('the generated config documents (man page, docs table, examples) match the schema', () => {
  for (const a of configArtefacts()) {
    let onDisk = '';
    try {
      onDisk = readFileSync(a.path, 'utf8');
    } catch {
      // reported below
    }
    assert.ok(onDisk === a.text, `${a.path} differs from the schema: run \`npm run -s build && node deploy/man/generate-config.mjs\``);
  }
});

test('every example config loads, as its protocol, without warnings', () => {
  const examples = configArtefacts().filter((a) => a.path.startsWith('deploy/examples/'));
  assert.is(examples.length, PROTOCOLS.length);
  for (const a of examples) {
    const c = parseConfig(JSON.parse(a.text), '/etc/enrolld');
    assert.ok(a.path.endsWith(c.protocol === 'est' ? '/config.json' : `/config-${c.protocol}.json`), a.path);
    assert.equal(c.warnings, [], a.path);
  }
});

test('the field table names every field once, with its text', () => {
  const rows = fieldRows();
  const paths = rows.map((r) => r.path);
  assert.is(new Set(paths).size, paths.length);
  for (const p of ['deviceId', 'protocol', 'est.timeoutMs', 'acme.timeoutMs', 'cmp.mac.secretFile', 'tamp.hardware', 'keyPackages.serverKeygen.acceptPkcs1', 'attestation.freshnessOids.cmcNonceResponse']) assert.ok(paths.includes(p), p);
  for (const r of rows) assert.ok(r.doc.doc.length > 0, r.path);
});

const minimal = () => ({ deviceId: 'dev-1', est: { url: 'https://est.example:8443/', trustAnchorsFile: 'ta.pem' } });
const acme = { directoryUrl: 'https://acme.example/dir', trustAnchorsFile: 'acme-ta.pem' };

test('acme.timeoutMs: own field; absent, est.timeoutMs (warned about when that is not its default)', () => {
  const own = parseConfig({ ...minimal(), protocol: 'acme', acme: { ...acme, timeoutMs: 5000 } });
  assert.is(own.protocol === 'acme' && own.acme.timeoutMs, 5000);
  assert.equal(own.warnings, []);
  const plain = parseConfig({ ...minimal(), protocol: 'acme', acme });
  assert.is(plain.acme?.timeoutMs, 30_000);
  assert.equal(plain.warnings, []);
  const old = parseConfig({ ...minimal(), est: { ...minimal().est, timeoutMs: 7000 }, protocol: 'acme', acme });
  assert.is(old.acme?.timeoutMs, 7000);
  assert.is(old.est.timeoutMs, 7000);
  assert.equal(old.warnings.map((w) => w.field), ['acme.timeoutMs']);
});

test('tamp.hardware: explicit, or firmware.hardware with a warning, or an error naming it', () => {
  const fw = { trustAnchorsFile: 'f.pem', hook: { path: '/bin/true' }, hardware: { type: '1.2.3', serialHex: 'AB' } };
  const fallback = parseConfig({ ...minimal(), firmware: fw, tamp: { apexTrustAnchorFile: 'apex.pem' } });
  assert.equal(fallback.tamp?.hardware, { type: '1.2.3', serialHex: 'ab' });
  assert.equal(fallback.warnings.map((w) => w.field), ['tamp.hardware']);
  const own = parseConfig({ ...minimal(), firmware: fw, tamp: { apexTrustAnchorFile: 'apex.pem', hardware: { type: '1.2.4', serialHex: '01' } } });
  assert.equal(own.tamp?.hardware, { type: '1.2.4', serialHex: '01' });
  assert.equal(own.warnings, []);
  assert.throws(() => parseConfig({ ...minimal(), tamp: { apexTrustAnchorFile: 'apex.pem' } }), (e: unknown) => /^tamp\.hardware: required unless firmware\.hardware/.test((e as Error).message));
});

test("another protocol's section is validated, then dropped with a warning", () => {
  const c = parseConfig({ ...minimal(), cmp: { url: 'https://ca.example/cmp', trustAnchorsFile: 'x' } });
  assert.is(c.protocol, 'est');
  assert.is(c.cmp, undefined);
  assert.equal(c.warnings.map((w) => w.field), ['cmp']);
  assert.throws(() => parseConfig({ ...minimal(), cmp: { url: 'ftp://ca.example/cmp', trustAnchorsFile: 'x' } }), /^cmp\.url: must use https/);
});

test.run();
