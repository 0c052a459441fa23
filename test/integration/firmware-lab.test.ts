// Firmware packages end to end against the lab server on 127.0.0.1: good packages (plain and zlib-compressed)
// applied through a test hook that writes a marker file, receipts returned and recorded; every bad variant
// rejected with a load error returned and the hook NOT run; failing and hanging hooks; the PAL dispatcher driving
// 0026 + 0027; the agent's receipt/error CMS checked with `openssl cms`, the lab's package too. Servers are closed
// and temp dirs removed at the end.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SoftwareSigner } from '../../agent/keystore/software.js';
import { dispatchPal, PackageHandlerRegistry } from '../../agent/pal/dispatch.js';
import { certificateToDer } from '../../agent/pki/cert.js';
import { createHttpsTransport } from '../../agent/protocols/http/transport.js';
import { FirmwareManager, type FirmwareConfig } from '../../agent/packages/firmware/manager.js';
import { createStreamingHttpsClient } from '../../agent/packages/firmware/download.js';
import { loadState } from '../../agent/packages/firmware/state.js';
import { FirmwareLab, type FirmwarePackageSpec } from '../../deploy/lab/firmware.js';
import { createLabServer } from '../../deploy/lab/server.js';
import { PREV_SUFFIX, firmwareLayout, outboxItemFiles } from '../../agent/store/layout.js';

const PKG = '1.3.6.1.4.1.32473.7.1';
const HW = '1.3.6.1.4.1.32473.8.1';
const SERIAL = '00c0ffee';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'enrolld-fw-'));
const server = await createLabServer({ users: { device: 'pw' } });
const lab = await FirmwareLab.create(server.router, { dir: path.join(tmp, 'lab'), baseUrl: server.url });
const deviceSigner = SoftwareSigner.generate();
const now = new Date();
const deviceCert = await server.ca.issue({
  subject: { CN: 'device-fw-1' },
  spki: deviceSigner.spki,
  notBefore: new Date(now.getTime() - 3600_000),
  notAfter: new Date(now.getTime() + 86_400_000),
  profile: 'client',
});
const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

// Test hooks: write a marker (applied.bin + name), fail, or hang.
const markerDir = path.join(tmp, 'markers');
const hookOk = path.join(tmp, 'hook-ok.sh');
const hookFail = path.join(tmp, 'hook-fail.sh');
const hookHang = path.join(tmp, 'hook-hang.sh');
writeFileSync(hookOk, '#!/bin/sh\nset -e\nmkdir -p "$MARKER_DIR"\ncp "$1" "$MARKER_DIR/applied-$ENROLLD_FW_VERSION.bin"\nprintf "%s %s" "$2" "$ENROLLD_FW_IMAGE_SHA256" > "$MARKER_DIR/name"\n');
writeFileSync(hookFail, '#!/bin/sh\necho "installer: slot B write failed" >&2\nexit 3\n');
writeFileSync(hookHang, '#!/bin/sh\nsleep 30\n');
for (const h of [hookOk, hookFail, hookHang]) chmodSync(h, 0o755);
const markers = (): string[] => (existsSync(markerDir) ? readdirSync(markerDir).filter((f) => f.startsWith('applied-')) : []);

// A firmware-decryption key "delivered earlier" (RFC 4108 §2.2.5 names it by decrypt-key-identifier).
const FW_KEY_ID = new Uint8Array(Buffer.from('fw-key-2026', 'utf8'));
const FW_KEY = new Uint8Array(randomBytes(16));
const decryptKey = async (id: Uint8Array): Promise<Uint8Array | undefined> => (Buffer.from(id).equals(Buffer.from(FW_KEY_ID)) ? new Uint8Array(FW_KEY) : undefined);

function manager(workDir: string, over: Partial<FirmwareConfig> = {}): FirmwareManager {
  return new FirmwareManager({
    workDir,
    device: { hwType: HW, hwSerialNum: new Uint8Array(Buffer.from(SERIAL, 'hex')) },
    trustAnchors: async (purpose) => (purpose === 'firmware' ? [lab.trustAnchorDer] : [lab.trustAnchorDer, server.ca.root.der, lab.rogueTrustAnchorDer]),
    hook: { path: hookOk, env: { MARKER_DIR: markerDir }, timeoutMs: 10_000 },
    http: createStreamingHttpsClient({ trustAnchors: [server.trustAnchorPem] }),
    transport: createHttpsTransport({ trustAnchors: [server.trustAnchorPem] }),
    returnSigner: { signer: deviceSigner, certificate: certificateToDer(deviceCert) },
    decryptKey,
    ...over,
  });
}

const image = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const spec = (id: string, verNum: number, over: Partial<FirmwarePackageSpec> = {}): FirmwarePackageSpec => ({
  id,
  image: image(200_000),
  name: { preferred: { fwPkgID: PKG, verNum } },
  targetHardware: ['1.3.6.1.4.1.32473.8.99', HW],
  ...over,
});

const work = path.join(tmp, 'device');

test('good package: downloaded, verified, applied by the hook, pending-reboot recorded, signed receipt returned (204)', async () => {
  const img = image(300_000);
  const p = await lab.addPackage({ ...spec('v10', 10, { stale: { preferredStaleVerNum: 7 } }), image: img });
  const m = manager(work);
  const r = await m.processPackage(p.url, p.palSize);
  assert.is(r.status, 'applied', JSON.stringify(r));
  assert.equal(new Uint8Array(readFileSync(path.join(markerDir, 'applied-10.bin'))), img);
  assert.match(readFileSync(path.join(markerDir, 'name'), 'utf8'), `${PKG}#10 `);
  const st = await loadState(work);
  assert.is(st.pending?.status, 'pending-reboot');
  assert.equal(st.pending?.name, { preferred: { fwPkgID: PKG, verNum: '10' } });
  assert.equal(st.stale, [{ fwPkgID: PKG, staleVerNum: '7' }]);
  assert.is((statSync(work).mode & 0o777).toString(8), '700');
  assert.not.ok(existsSync(path.join(work, 'image.bin')));
  // every file the run left is one store/layout.ts names (DocumentStores may keep their .prev)
  assert.equal(m.files, firmwareLayout(work));
  const named = new Set(Object.values(m.files).map((f) => path.basename(f)));
  for (const n of readdirSync(work)) assert.ok(named.has(n) || named.has(n.slice(0, -PREV_SUFFIX.length)), `${n} in the work dir is not named by firmwareLayout`);
  for (const n of readdirSync(m.files.outbox)) {
    const id = n.replace(/\.(der|json)$/, '');
    assert.ok(Object.values(outboxItemFiles(m.files.outbox, id)).includes(path.join(m.files.outbox, n)), n);
  }
  const ret = await m.returnReports();
  assert.is(ret.sent.length, 1);
  const rec = lab.returns.at(-1)!;
  assert.is(rec.kind, 'receipt');
  assert.ok(rec.signed);
  assert.is(rec.signatureValid, true);
  assert.equal(rec.receipt!.fwPkgName, { preferred: { fwPkgID: PKG, verNum: '10' } });
  assert.is(rec.receipt!.hwType, HW);
  assert.is(rec.receipt!.hwSerialNum, SERIAL);
  assert.ok(rec.receipt!.trustAnchorKeyID && rec.receipt!.trustAnchorKeyID.length === 40);
  assert.match(String(rec.contentType), 'innerContent=firmwareLoadReceipt');
  await m.confirmBoot();
  assert.equal((await loadState(work)).installed?.name, { preferred: { fwPkgID: PKG, verNum: '10' } });
});

test('PAL dispatch: 0026 (compressed, base64 body) then 0027 → applied and receipt returned', async () => {
  const p = await lab.addPackage(spec('v11z', 11, { compress: true, base64: true, image: new Uint8Array(500_000).fill(0x5a), packageInfo: { fwPkgType: 1 } }));
  const m = manager(work);
  const reg = new PackageHandlerRegistry().register(m.handler());
  const before = lab.returns.length;
  const report = await dispatchPal(
    [
      { type: '0027', size: 0, info: { kind: 'uri', uri: `${server.url}/.well-known/est/firmware/return` } },
      { type: '0026', size: p.palSize * 2, info: { kind: 'uri', uri: p.url } },
    ],
    reg,
  );
  assert.equal(report.results.map((x) => [x.type, x.status]), [['0026', 'ok'], ['0027', 'ok']], JSON.stringify(report.results));
  assert.ok(markers().includes('applied-11.bin'));
  assert.is(statSync(path.join(markerDir, 'applied-11.bin')).size, 500_000);
  assert.is(lab.returns.length, before + 1);
  assert.is(lab.returns.at(-1)!.kind, 'receipt');
  assert.is((await loadState(work)).pending?.fwPkgType, '1');
  await m.confirmBoot();
});

test('encrypted packages (AES-128-CBC plain, AES-128-CBC around CompressedData) are decrypted with the named key; the receipt names it', async () => {
  for (const [id, ver, compress] of [['enc-plain', 12, false], ['enc-z', 13, true]] as const) {
    const img = image(120_000 + ver);
    const p = await lab.addPackage({ ...spec(id, ver, { compress }), image: img, encrypt: { keyId: FW_KEY_ID, key: FW_KEY } });
    const m = manager(path.join(tmp, 'device-enc')); // its own state: the other tests' installed versions stay as they are
    const r = await m.processPackage(p.url, p.palSize);
    assert.is(r.status, 'applied', JSON.stringify(r));
    assert.equal(new Uint8Array(readFileSync(path.join(markerDir, `applied-${ver}.bin`))), img);
    await m.returnReports();
    const rec = lab.returns.at(-1)!;
    assert.is(rec.kind, 'receipt');
    assert.is(rec.receipt!.decryptKeyID, Buffer.from(FW_KEY_ID).toString('hex'));
    await m.confirmBoot();
  }
});

const BAD: Array<{ what: string; spec: () => FirmwarePackageSpec; code: string; rfc: string }> = [
  { what: 'wrong signer (chains only to a non-firmware TA)', spec: () => spec('bad-signer', 20, { variant: 'wrong-signer' }), code: 'firmware.not_authorized', rfc: 'notAuthorized' },
  { what: 'stale version (not newer than installed 11)', spec: () => spec('bad-stale', 11), code: 'firmware.stale_package', rfc: 'stalePackage' },
  { what: 'wrong hardware', spec: () => spec('bad-hw', 21, { targetHardware: ['1.3.6.1.4.1.32473.8.2'] }), code: 'firmware.wrong_hardware', rfc: 'wrongHardware' },
  { what: 'truncated DER', spec: () => spec('bad-trunc', 22, { variant: 'truncated' }), code: 'firmware.decode_failure', rfc: 'decodeFailure' },
  { what: 'oversized (larger than the PAL size)', spec: () => spec('bad-big', 23, { variant: 'oversized' }), code: 'firmware.too_large', rfc: 'insufficientMemory' },
  { what: 'unknown content type', spec: () => spec('bad-ct', 24, { variant: 'unknown-content-type' }), code: 'firmware.bad_encap_content', rfc: 'badEncapContent' },
  { what: 'corrupted signature', spec: () => spec('bad-sig', 25, { variant: 'bad-signature' }), code: 'firmware.signature_failure', rfc: 'signatureFailure' },
  { what: 'encrypted content without a decrypt-key-identifier', spec: () => spec('bad-enc', 26, { variant: 'encrypted' }), code: 'firmware.no_decrypt_key', rfc: 'noDecryptKey' },
  { what: 'encrypted to a key the device does not hold', spec: () => spec('bad-enc-key', 26, { encrypt: { keyId: new Uint8Array([9, 9]), key: new Uint8Array(16).fill(7) } }), code: 'firmware.no_decrypt_key', rfc: 'noDecryptKey' },
  { what: 'encrypted with AES-256 while the key under that id is a 128-bit key', spec: () => spec('bad-enc-wrong', 26, { encrypt: { keyId: FW_KEY_ID, key: new Uint8Array(32).fill(0x42) }, compress: true }), code: 'firmware.decrypt_failure', rfc: 'decryptFailure' },
  { what: 'not in community', spec: () => spec('bad-comm', 27, { communities: [{ communityOID: '1.3.6.1.4.1.32473.9.9' }] }), code: 'firmware.not_in_community', rfc: 'notInCommunity' },
  { what: 'missing dependency', spec: () => spec('bad-dep', 28, { packageInfo: { dependencies: [{ preferred: { fwPkgID: '1.3.6.1.4.1.32473.7.5', verNum: 1 } }] } }), code: 'firmware.missing_dependency', rfc: 'missingDependency' },
];

for (const b of BAD) {
  test(`rejected, hook not run, load error returned: ${b.what}`, async () => {
    const p = await lab.addPackage(b.spec());
    const m = manager(work);
    const stateBefore = JSON.stringify(await loadState(work));
    const markersBefore = markers().length;
    const r = await m.processPackage(p.url, p.palSize);
    assert.is(r.status, 'rejected', JSON.stringify(r));
    assert.is((r as { code: string }).code, b.code, JSON.stringify(r));
    assert.is((r as { rfcCode: string }).rfcCode, b.rfc);
    assert.is(markers().length, markersBefore);
    assert.is(JSON.stringify(await loadState(work)), stateBefore);
    const ret = await m.returnReports();
    assert.is(ret.sent.length, 1);
    const rec = lab.returns.at(-1)!;
    assert.is(rec.kind, 'error');
    assert.is(rec.error!.errorName, b.rfc);
    assert.equal(rec.error!.config, [{ fwPkgType: '1', fwPkgName: { preferred: { fwPkgID: PKG, verNum: '11' } } }]);
    assert.not.ok(existsSync(path.join(work, 'package.der.part')));
    await lab.removePackage(p.id);
  });
}

test('hook fails → otherError (vendor 1) returned, state unchanged; hook hangs → killed, otherError (vendor 2)', async () => {
  for (const [hookPath, vendor, code] of [
    [hookFail, '1', 'firmware.hook_failed'],
    [hookHang, '2', 'firmware.hook_timeout'],
  ] as const) {
    const p = await lab.addPackage(spec(`hook-${vendor}`, 40));
    const m = manager(work, { hook: { path: hookPath, timeoutMs: 500 } });
    const before = JSON.stringify(await loadState(work));
    const t0 = Date.now();
    const r = await m.processPackage(p.url, p.palSize);
    assert.ok(Date.now() - t0 < 10_000);
    assert.is(r.status, 'rejected');
    assert.is((r as { code: string }).code, code);
    assert.is(JSON.stringify(await loadState(work)), before);
    await m.returnReports();
    const rec = lab.returns.at(-1)!;
    assert.is(rec.error!.errorName, 'otherError');
    assert.is(rec.error!.vendorErrorCode, vendor);
    assert.equal(rec.error!.fwPkgName, { preferred: { fwPkgID: PKG, verNum: '40' } });
    await lab.removePackage(p.id);
  }
});

test('openssl: signed receipt verifies (cms -verify), unsigned load error prints (cms -cmsout -print), lab package verifies', async () => {
  if (!hasOpenssl) return console.log('  (openssl not installed: skipped)');
  const dir = path.join(tmp, 'openssl');
  rmSync(dir, { recursive: true, force: true });
  execFileSync('mkdir', ['-p', dir]);
  const receipt = lab.returns.find((r) => r.kind === 'receipt' && r.signed)!;
  writeFileSync(path.join(dir, 'receipt.der'), receipt.der);
  writeFileSync(path.join(dir, 'ca.pem'), server.ca.root.pem + server.ca.issuing.pem);
  const out = path.join(dir, 'receipt-content.der');
  execFileSync('openssl', ['cms', '-verify', '-inform', 'DER', '-in', path.join(dir, 'receipt.der'), '-CAfile', path.join(dir, 'ca.pem'), '-purpose', 'any', '-binary', '-out', out], { stdio: 'pipe' });
  const printed = execFileSync('openssl', ['asn1parse', '-inform', 'DER', '-in', out], { encoding: 'utf8' });
  assert.match(printed, '1.3.6.1.4.1.32473.8.1');
  // An unsigned load error from a manager without a return signer.
  const p = await lab.addPackage(spec('unsigned-err', 41, { targetHardware: ['1.3.6.1.4.1.32473.8.3'] }));
  const m = manager(path.join(tmp, 'device-unsigned'), { returnSigner: undefined });
  await m.processPackage(p.url, p.palSize);
  await m.returnReports(`${server.url}/.well-known/est/firmware/return`);
  const unsigned = lab.returns.at(-1)!;
  assert.not.ok(unsigned.signed);
  assert.is(unsigned.error!.errorName, 'wrongHardware');
  writeFileSync(path.join(dir, 'error.der'), unsigned.der);
  const dump = execFileSync('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', path.join(dir, 'error.der')], { encoding: 'utf8' });
  assert.match(dump, /contentType: .*1\.2\.840\.113549\.1\.9\.16\.1\.18/);
  assert.match(dump, /ENUMERATED\s+:1B/); // wrongHardware (27)
  // The lab's streamed package is a valid CMS SignedData over the image.
  const img = image(70_000);
  const good = await lab.addPackage({ ...spec('ossl', 42), image: img });
  writeFileSync(path.join(dir, 'fwta.pem'), lab.trustAnchorPem);
  execFileSync('openssl', ['cms', '-verify', '-inform', 'DER', '-in', good.path, '-CAfile', path.join(dir, 'fwta.pem'), '-purpose', 'any', '-binary', '-out', path.join(dir, 'img.bin')], { stdio: 'pipe' });
  assert.equal(new Uint8Array(readFileSync(path.join(dir, 'img.bin'))), img);
});

test('download failures are not load errors: 404 → download-failed, nothing queued', async () => {
  const m = manager(path.join(tmp, 'device-404'));
  const r = await m.processPackage(`${server.url}/.well-known/est/firmware/nope`, 1000);
  assert.is(r.status, 'download-failed');
  assert.is((await m.outbox.list()).length, 0);
});

test.after(async () => {
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});

test.run();
