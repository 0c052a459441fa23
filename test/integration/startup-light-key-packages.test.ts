// A device with `keyPackages` configured loads pkijs/asn1js only at its first key package (ARCHITECTURE.md §Start-up
// path): a child process composes the key-packages feature against a swtpm — the KEK created in the TPM and
// published on the first start (its key identifier computed with pki/cert.ts), read from keys.json and published
// again on a later one without the ASN.1 stack, the handlers registered,
// a sealed firmware-decryption key looked up, the queued reports returned (0023, 0025) — while a module hook records
// every pkijs/asn1js module loaded. Then a key package loads them, and a handler module that fails to load fails
// its entry with module.load and loads at the next one. The published key: the key identifier is pki/cert.ts's
// (RFC 5280 §4.2.1.2 method 1) and openssl's, the PEM the earlier encoder's and one `openssl pkey -pubin` reads.
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KeysStateFile } from '../../agent/packages/keys/state.js';
import { keyIdentifierFromSpki } from '../../agent/pki/cert.js';
import { stateLayout } from '../../agent/store/layout.js';
import { TrustAnchorStore } from '../../agent/store/ta-store.js';
import { LabCa } from '../../deploy/lab/ca.js';
import { asn1LoadsOf as loadsOf } from '../harness/asn1-loads.js';
import { opensslKeyId, opensslText } from '../harness/pydecode.js';
import { startSwtpm } from '../harness/swtpm.js';

const ca = await LabCa.create();
const swtpm = await startSwtpm();
const dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-light-kp-'));
const stateDir = path.join(dir, 'state');
const keysDir = stateLayout(stateDir).keysDir;
const pemFile = stateLayout(stateDir).kekPublicKey;
const taFile = path.join(dir, 'trust-anchors.json');
const anchorsPem = path.join(dir, 'key-packages-ta.pem');
const failFlag = path.join(dir, 'fail-symmetric-load');
const result = path.join(dir, 'result.json');
writeFileSync(anchorsPem, ca.root.pem);
// what an earlier start (or the TA provisioning) left: the key-package anchor in the store
await (await TrustAnchorStore.open(taFile)).add({ name: 'key-packages-0', source: 'config', uses: ['key-packages'], certificate: ca.root.der });

const agent = (p: string): string => new URL(`../../agent/${p}`, import.meta.url).href;
const asn1LoadsOf = (body: string): string[] => loadsOf(dir, body);

// Composition as enrolld run does it, a firmware decryption-key lookup, the return entries; then the keystore is
// closed (one swtpm client at a time) and what start-up produced is written to result.json.
const startUp = (more = '') => `
import { writeFileSync as __write } from 'node:fs';
const { TrustAnchorStore } = await import(${JSON.stringify(agent('store/ta-store.js'))});
const { TpmKeyStore } = await import(${JSON.stringify(agent('keystore/tpm.js'))});
const { compose, sealedKeyLookup } = await import(${JSON.stringify(agent('features/key-packages/index.js'))});
const ta = await TrustAnchorStore.open(${JSON.stringify(taFile)});
const keystore = await TpmKeyStore.open({ tcti: ${JSON.stringify(swtpm.tcti)} });
const log = { debug() {}, info() {}, warn() {}, error() {}, child() { return log; } };
const posted = [];
const transport = { request: async (r) => { posted.push(r.url.pathname); return { status: 204, headers: {}, body: new Uint8Array() }; } };
const ctx = {
  section: { trustAnchorsFile: ${JSON.stringify(anchorsPem)}, kek: { enabled: true }, serverKeygen: { acceptPkcs1: true }, maxPackageBytes: 65536 },
  config: { stateDir: ${JSON.stringify(stateDir)}, identity: { subject: 'CN=dev-light-kp,O=Example Devices' }, keyPackages: {} },
  clock: { now: () => new Date() },
  log,
  keystore,
  identity: { current: async () => undefined, returnSigner: async () => undefined },
  stores: { ta },
};
try {
  const parts = await compose(ctx);
  const types = parts.handlers.map((h) => h.types.join(','));
  if (types.join(' ') !== '0024,0025 0020,0021,0022,0023') throw new Error('types ' + types.join(' '));
  const lookup = sealedKeyLookup(${JSON.stringify(stateDir)}, keystore);
  if ((await lookup(new Uint8Array(Buffer.from('fw-key-1')))) !== undefined) throw new Error('a sealed key out of nowhere');
  const shared = { policy: {}, est: { ctx: { baseUrl: 'https://est.example/.well-known/est', transport } } };
  const hctx = { index: 0, position: 0, kind: 'package', log, shared };
  for (const [h, type] of [[parts.handlers[0], '0025'], [parts.handlers[1], '0023']]) {
    const r = await h.handle({ type, info: { kind: 'none' }, size: 0 }, hctx);
    if (r.status !== 'ok') throw new Error(type + ' ' + JSON.stringify(r));
  }
  const [sym, skg] = parts.handlers;
  ${more}
  __write(${JSON.stringify(result)}, JSON.stringify({ posted }));
} finally {
  await keystore.close();
}
`;

interface Published {
  keyId: string;
  spki: Uint8Array;
  pem: string;
}

async function published(): Promise<Published> {
  const keks = (await new KeysStateFile(keysDir).load()).keks ?? [];
  assert.is(keks.length, 1, 'one KEK in keys.json');
  return { keyId: keks[0]!.keyId, spki: new Uint8Array(Buffer.from(keks[0]!.key.spki, 'base64')), pem: readFileSync(pemFile, 'utf8') };
}

/** The PEM as kek.ts wrote it before it used pki/pem.ts. */
const earlierPem = (spki: Uint8Array): string =>
  `-----BEGIN PUBLIC KEY-----\n${Buffer.from(spki).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END PUBLIC KEY-----\n`;

test('first start: the KEK is created in the TPM and published, the handlers registered, reports returned — only the certificate decoder for the key id', async () => {
  // creating the KEK computes its key identifier with pki/cert.ts (a first start enrolls, which loads it anyway)
  assert.ok(asn1LoadsOf(startUp()).some((u) => u.includes('/asn1js/')));
  const kek = await published();
  assert.equal((JSON.parse(readFileSync(result, 'utf8')) as { posted: string[] }).posted, [], 'nothing was queued');
  assert.is(kek.keyId, Buffer.from(keyIdentifierFromSpki(kek.spki)).toString('hex'), 'the key identifier pki/cert.ts computes');
  assert.is(kek.keyId, opensslKeyId(kek.pem), "openssl's SHA-1 of the subjectPublicKey");
  assert.is(kek.pem, earlierPem(kek.spki));
  const text = opensslText(['pkey', '-pubin', '-in', '{dir}/kek.pub.pem', '-noout', '-text'], { 'kek.pub.pem': kek.pem });
  assert.match(text, /Public-Key: \(2048 bit\)/);
  opensslText(['pkey', '-pubin', '-in', pemFile, '-noout']);
});

test('a later start: the KEK read from keys.json and published again (same key), queued reports returned — no pkijs/asn1js', async () => {
  const before = await published();
  unlinkSync(pemFile);
  await new KeysStateFile(keysDir).update((s) => {
    s.outbox.push({ kind: 'receipt', path: 'symmetrickeys', der: Buffer.from([0x30, 0x00]).toString('base64'), pkgId: '01' });
    // the same bytes on both paths: each POST removes only its own item
    s.outbox.push({ kind: 'error', path: 'serverkeygen', der: Buffer.from([0x30, 0x00]).toString('base64') });
  });
  assert.equal(asn1LoadsOf(startUp()), []);
  assert.equal(await published(), before);
  assert.equal((JSON.parse(readFileSync(result, 'utf8')) as { posted: string[] }).posted, ['/.well-known/est/symmetrickeys/return', '/.well-known/est/serverkeygen/return']);
  assert.equal((await new KeysStateFile(keysDir).load()).outbox, []);
});

test('the first key package loads them; a handler module that fails to load fails its entry (module.load), the next loads it', async () => {
  const loads = asn1LoadsOf(
    startUp(`
const { register } = await import('node:module');
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(`import { existsSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  if (specifier === './symmetric.js' && existsSync(${JSON.stringify(failFlag)})) throw new Error('injected load failure');
  return next(specifier, context);
}`)}));
transport.request = async () => ({ status: 200, headers: { 'content-type': 'application/cms' }, body: new Uint8Array(Buffer.from('not a key package')) });
const entry = { type: '0024', info: { kind: 'uri', uri: 'https://est.example/.well-known/est/symmetrickeys' }, size: 0 };
__write(${JSON.stringify(failFlag)}, '');
const err = await sym.handle(entry, hctx).then(() => undefined, (e) => e);
if (err?.code !== 'module.load' || !/symmetric key package handler/.test(err.message)) throw new Error('load failure: ' + (err?.stack ?? 'none'));
(await import('node:fs')).unlinkSync(${JSON.stringify(failFlag)});
// loaded now: the body is refused (not DER), and the error report needs the device key, which is not there yet
const again = await sym.handle(entry, hctx).then((r) => r, (e) => ({ thrown: e.code }));
if (again.thrown !== 'keys.no_credential') throw new Error('second try: ' + JSON.stringify(again));
`),
  );
  assert.ok(loads.some((u) => u.includes('/pkijs/')), loads.join('\n'));
});

test.after(async () => {
  await swtpm.stop();
  rmSync(dir, { recursive: true, force: true });
});

test.run();
