// Key packages end to end through the real PAL poller, against the lab server on 127.0.0.1 and a swtpm:
// 0024 symmetric key packages verified, sealed in the TPM (unsealed again to compare), metadata stored, and the
// signed receipt (device TPM key) returned by 0025 and verified by the lab — and by `openssl cms -verify`; 0020
// /serverkeygen (P-256 and RSA-2048) keys imported into the TPM with their certificate checked, receipt by 0023;
// 0021 (SignedData(AsymmetricKeyPackage), bare and enveloped to the TPM KEK by openssl cms) and 0022 (openssl pkcs12
// PFX under a 0600 password file, in password or public-key integrity mode) imported; legacy/weak PFX refused; encrypted 0024 packages opened with the KEK; every bad variant refused with a KeyPackageError returned and nothing stored; no transient TPM handle left.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import { ManualClock } from '../../agent/lifecycle/clock.js';
import type { AgentState } from '../../agent/lifecycle/state.js';
import type { PalEntry } from '../../agent/pal/model.js';
import { certificateToDer } from '../../agent/pki/cert.js';
import { EstClient } from '../../agent/protocols/est/client.js';
import { createHttpsTransport } from '../../agent/protocols/http/transport.js';
import { KeysStateFile } from '../../agent/packages/keys/common.js';
import { SymmetricKeyPackages } from '../../agent/packages/keys/symmetric.js';
import { ServerKeygen, type ServerKeygenConfig } from '../../agent/packages/keys/serverkeygen.js';
import { ensureKek, kekPublicKeyPem } from '../../agent/packages/keys/kek.js';
import { keyIdentifierFromSpki } from '../../agent/pki/asn1/cms-signed-data-create.js';
import { createPrivateKey, createPublicKey, verify } from 'node:crypto';
import { certificatesFromPem } from '../../agent/pki/cert.js';
import { PalPoller } from '../../agent/packages/pal-poller.js';
import { createPackageRegistry } from '../../agent/packages/registry.js';
import { CrlStore } from '../../agent/store/crl-store.js';
import { TrustAnchorStore } from '../../agent/store/ta-store.js';
import { TPM_HT } from '../../agent/tpm2/index.js';
import { memoryLogger } from '../../agent/util/log.js';
import { registerKeyPackageHandlers, type ServerKeygenVariant, type SymmetricVariant } from '../../deploy/lab/keys.js';
import { labPal } from '../../deploy/lab/pal.js';
import { createLabServer } from '../../deploy/lab/server.js';
import { startSwtpm } from '../harness/swtpm.js';
import { pyDecode } from '../harness/pydecode.js';
import type { EnvelopeTamper } from '../../deploy/lab/enveloped-data.js';

const USERS = { device: 's3cret' };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'enrolld-keys-'));
const server = await createLabServer({ users: USERS });
const pal = labPal(server.router);
const lab = await registerKeyPackageHandlers(server.router, { baseUrl: server.url, issuer: server.ca });
const swtpm = await startSwtpm();
server.router.register('GET', '/whoami', (req) => ({ status: 200, body: req.tls.peerChain[0] ? Buffer.from(req.tls.peerChain[0]).toString('hex') : 'none' }));
let store = await TpmKeyStore.open({ tcti: swtpm.tcti });
const deviceKey = await store.createKey('device-key', 'ecc-p256');
const now = new Date();
const deviceCert = await server.ca.issue({
  subject: { CN: 'device-keys-1' },
  spki: deviceKey.spki,
  notBefore: new Date(now.getTime() - 3600_000),
  notAfter: new Date(now.getTime() + 86_400_000),
  profile: 'client',
});
const deviceName = new Uint8Array(deviceCert.subject.toSchema().toBER(false));
const stateDir = path.join(tmp, 'state');
// As the composed agent passes it: the device key, its certificate and the chain stored with the credential.
const returnSigner = { signer: store.signer(deviceKey), certificate: certificateToDer(deviceCert), chain: [server.ca.issuing.der] };

// the device KEK (created once in the TPM) as the key-packages feature publishes it; the lab encrypts to it
const kek = await ensureKek(new KeysStateFile(stateDir), store, new Date());
await lab.setKek(kekPublicKeyPem(kek));
const pwFile = path.join(tmp, 'p12.pass');
writeFileSync(pwFile, `${lab.pkcs12Password}\n`, { mode: 0o600 });

const sym = () =>
  new SymmetricKeyPackages({
    keystore: store,
    stateDir,
    deviceName,
    trustAnchors: async () => [lab.trustAnchorDer],
    returnSigner,
    maxPackageBytes: 64 * 1024,
  });

const skg = (o: Partial<ServerKeygenConfig> = {}) =>
  new ServerKeygen({
    keystore: store,
    stateDir,
    deviceName,
    trustAnchors: async () => [lab.trustAnchorDer],
    returnSigner,
    subject: { CN: 'device-keys-1 tls', O: 'Acme' },
    pkcs12Password: { file: pwFile },
    ...o,
  });

async function poll(entries: PalEntry[], skgOptions: Partial<ServerKeygenConfig> = {}): Promise<PalPoller> {
  const dir = mkdtempSync(path.join(tmp, 'dev-'));
  const clock = new ManualClock(new Date());
  const ta = await TrustAnchorStore.open(path.join(dir, 'ta.json'), { now: () => clock.now() });
  await ta.add({ name: 'lab-root', source: 'config', uses: ['est-server', 'cacerts', 'crl'], certificate: server.trustAnchorPem });
  const crls = await CrlStore.open(path.join(dir, 'crls.json'), { taStore: ta, now: () => clock.now() });
  const transport = createHttpsTransport({ trustAnchors: ta.certificatesFor('est-server'), basicAuth: { username: 'device', password: USERS.device } });
  const poller = new PalPoller({
    est: new EstClient({ baseUrl: server.url, transport }),
    taStore: ta,
    crlStore: crls,
    log: memoryLogger('debug'),
    clock,
    registry: createPackageRegistry({ handlers: [sym().handler(), skg(skgOptions).handler()] }),
  });
  pal.setPal('device', entries);
  const state: AgentState = { schema: 1, phase: 'enrolled', history: [] } as unknown as AgentState;
  await poller.poll(state);
  return poller;
}

test('0024 + 0025 through the PAL poller: two keys sealed in the TPM, receipt signed by the TPM key, verified by the lab', async () => {
  const k1 = new Uint8Array(32).map((_, i) => i + 1);
  const k2 = new Uint8Array(16).fill(0xab);
  const p = await lab.addSymmetricPackage({ id: 'good-1', keys: [{ keyId: 'aes-1', key: k1, algorithm: 'http://www.w3.org/2001/04/xmlenc#aes256-cbc' }, { keyId: 'hmac-2', key: k2 }] });
  const before = lab.returns.length;
  const poller = await poll([lab.symmetricReturnEntry(), p.entry]);
  const rec = poller.last!;
  assert.equal(rec.results.map((r) => [r.type, r.status]), [['0024', 'ok'], ['0025', 'ok']], JSON.stringify(rec.results));
  const stored = (await new KeysStateFile(stateDir).load()).symmetric;
  assert.equal(stored.map((s) => s.keyId).sort(), ['aes-1', 'hmac-2']);
  assert.is(stored.find((s) => s.keyId === 'aes-1')!.algorithm, 'http://www.w3.org/2001/04/xmlenc#aes256-cbc');
  assert.is(stored[0]!.pkgId, Buffer.from(p.pkgId).toString('hex'));
  // the keys are in the TPM (unseal gives them back) and nowhere in clear on disk
  const file = readFileSync(path.join(stateDir, 'keys.json'));
  assert.is(file.indexOf(Buffer.from(k1)), -1);
  assert.is(file.indexOf(Buffer.from(k1).toString('base64')), -1);
  // nor in the store's previous-good copy
  const prev = readFileSync(path.join(stateDir, 'keys.json.prev'));
  assert.is(prev.indexOf(Buffer.from(k1)), -1);
  assert.is(prev.indexOf(Buffer.from(k1).toString('base64')), -1);
  assert.equal([...(await store.unsealSecret(stored.find((s) => s.keyId === 'aes-1')!.sealed))], [...k1]);
  assert.equal([...(await store.unsealSecret(stored.find((s) => s.keyId === 'hmac-2')!.sealed))], [...k2]);
  // the receipt
  assert.is(lab.returns.length, before + 1);
  const r = lab.returns.at(-1)!;
  assert.is(r.kind, 'receipt');
  assert.is(r.path, 'symmetrickeys');
  assert.is(r.signatureValid, true);
  assert.is(r.pkgId, Buffer.from(p.pkgId).toString('hex'));
  assert.equal([...r.by!], [...deviceName]);
  assert.match(r.contentType, 'innerContent=keyPackageReceipt');
  assert.equal((await new KeysStateFile(stateDir).load()).outbox, [], 'the outbox is empty after 204');
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
});

/** `openssl cms -verify` with only the lab root as CA file; returns the verified content and the certificates carried. */
function opensslVerifyRootOnly(der: Uint8Array): { content: string; certs: string[] } {
  const dir = mkdtempSync(path.join(tmp, 'openssl-'));
  writeFileSync(path.join(dir, 'in.der'), der);
  writeFileSync(path.join(dir, 'ca.pem'), server.ca.root.pem);
  const out = path.join(dir, 'content.der');
  const certsOut = path.join(dir, 'certs.pem');
  execFileSync('openssl', ['cms', '-verify', '-inform', 'DER', '-in', path.join(dir, 'in.der'), '-CAfile', path.join(dir, 'ca.pem'), '-purpose', 'any', '-binary', '-out', out, '-certsout', certsOut], { stdio: 'pipe' });
  const certs = certificatesFromPem(readFileSync(certsOut, 'utf8')).map((c) => Buffer.from(certificateToDer(c)).toString('hex'));
  return { content: execFileSync('openssl', ['asn1parse', '-inform', 'DER', '-in', out], { encoding: 'utf8' }), certs };
}

test('openssl cms -verify accepts the agent’s receipt with only the root as CA file (the chain is in the SignedData)', () => {
  const rec = lab.returns.find((r) => r.kind === 'receipt')!;
  const dir = path.join(tmp, 'openssl');
  execFileSync('mkdir', ['-p', dir]);
  writeFileSync(path.join(dir, 'ca.pem'), server.ca.root.pem);
  const out = path.join(dir, 'content.der');
  const v = opensslVerifyRootOnly(rec.der);
  // RFC 5652 §5.1 certificates: the device certificate and the issuing CA, not the root
  assert.equal(v.certs, [certificateToDer(deviceCert), server.ca.issuing.der].map((d) => Buffer.from(d).toString('hex')));
  const printed = v.content;
  // KeyPackageReceipt { receiptOf pkgID, receivedBy { id-dn, <device subject> } }
  assert.match(printed, 'OCTET STRING');
  assert.match(printed, '2.16.840.1.101.2.1.16.0');
  // a tampered copy must fail
  const bad = new Uint8Array(rec.der);
  bad[bad.length - 10]! ^= 0x01;
  writeFileSync(path.join(dir, 'bad.der'), bad);
  assert.throws(() => execFileSync('openssl', ['cms', '-verify', '-inform', 'DER', '-in', path.join(dir, 'bad.der'), '-CAfile', path.join(dir, 'ca.pem'), '-purpose', 'any', '-binary', '-out', out], { stdio: 'pipe' }));
});

for (const variant of ['enveloped', 'encrypted-key-package'] as const) {
  test(`0024 ${variant} (openssl cms -encrypt to the published KEK): opened in the TPM, keys sealed, receipt returned`, async () => {
    const k1 = new Uint8Array(32).fill(0x5a);
    const p = await lab.addSymmetricPackage({ id: `enc-${variant}`, keys: [{ keyId: `enc-${variant}`, key: k1 }], variant });
    // an independent reader of what the lab sends: openssl sees an EnvelopedData to one ktri
    if (variant === 'enveloped') assert.match(execFileSync('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER'], { input: p.der, encoding: 'utf8' }), /contentType: pkcs7-envelopedData[\s\S]*rsaesOaep/);
    const before = lab.returns.length;
    const poller = await poll([p.entry, lab.symmetricReturnEntry()]);
    assert.equal(poller.last!.results.map((r) => [r.type, r.status]), [['0024', 'ok'], ['0025', 'ok']], JSON.stringify(poller.last!.results));
    const st = (await new KeysStateFile(stateDir).load()).symmetric.find((s) => s.keyId === `enc-${variant}`)!;
    assert.equal([...(await store.unsealSecret(st.sealed))], [...k1]);
    assert.is(readFileSync(path.join(stateDir, 'keys.json')).indexOf(Buffer.from(k1)), -1);
    assert.is(lab.returns.length, before + 1);
    assert.is(lab.returns.at(-1)!.kind, 'receipt');
    assert.is(lab.returns.at(-1)!.pkgId, Buffer.from(p.pkgId).toString('hex'));
    assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
  });
}

const BAD: Array<{ variant: SymmetricVariant; code: string; rfc: string; withPkgId: boolean }> = [
  { variant: 'unsigned', code: 'keys.content_info', rfc: 'badContentInfo', withPkgId: false },
  { variant: 'untrusted', code: 'keys.not_authorized', rfc: 'noTrustAnchor', withPkgId: true },
  { variant: 'truncated', code: 'keys.decode', rfc: 'decodeFailure', withPkgId: false },
  { variant: 'bad-signature', code: 'keys.signature', rfc: 'signatureFailure', withPkgId: true },
  { variant: 'unknown-content-type', code: 'keys.content_type', rfc: 'badEncapContent', withPkgId: true },
  { variant: 'encrypted', code: 'keys.encrypted_data', rfc: 'noDecryptKey', withPkgId: false },
  { variant: 'wrong-kek', code: 'keys.wrong_kek', rfc: 'noMatchingRecipientInfo', withPkgId: false },
  { variant: 'oversized-key', code: 'keys.key_size', rfc: 'unsupportedKeySize', withPkgId: true },
];

for (const b of BAD) {
  test(`bad package (${b.variant}): refused with ${b.code}, KeyPackageError ${b.rfc} returned, nothing stored`, async () => {
    const secret = new Uint8Array(32).fill(0x42);
    const p = await lab.addSymmetricPackage({ id: `bad-${b.variant}`, keys: [{ keyId: `k-${b.variant}`, key: secret }], variant: b.variant });
    const storedBefore = (await new KeysStateFile(stateDir).load()).symmetric.length;
    const before = lab.returns.length;
    const poller = await poll([p.entry, lab.symmetricReturnEntry()]);
    const res = poller.last!.results;
    assert.equal(res.map((r) => [r.type, r.status]), [['0024', 'failed'], ['0025', 'ok']], JSON.stringify(res));
    assert.is(res[0]!.code, b.code, res[0]!.message);
    const st = await new KeysStateFile(stateDir).load();
    assert.is(st.symmetric.length, storedBefore, 'nothing stored');
    assert.not.ok(st.symmetric.some((s) => s.keyId === `k-${b.variant}`));
    assert.is(lab.returns.length, before + 1);
    const r = lab.returns.at(-1)!;
    assert.is(r.kind, 'error');
    assert.is(r.errorCode, b.rfc);
    assert.is(r.signatureValid, true);
    assert.is(r.pkgId, b.withPkgId ? Buffer.from(p.pkgId).toString('hex') : undefined);
  });
}

// The lab's own EnvelopedData (deploy/lab/enveloped-data.ts), each break chosen to fail the same way every run: the
// RSA-OAEP step in the TPM (a ciphertext ≥ the modulus; I2OSP(1), never a valid OAEP block), the AES-CBC step (the
// right CEK with a 0x00 pad byte; a wrong CEK the lab checked fails the padding check; a ciphertext of a partial
// block; a 16-byte CEK for AES-256), and a recipient id that names no KEK of the device.
const TAMPERED: Array<{ tamper: EnvelopeTamper; code: string; rfc: string }> = [
  { tamper: 'encrypted-key-out-of-range', code: 'keys.decrypt', rfc: 'decryptFailure' },
  { tamper: 'encrypted-key-one', code: 'keys.decrypt', rfc: 'decryptFailure' },
  { tamper: 'bad-padding', code: 'keys.decrypt', rfc: 'decryptFailure' },
  { tamper: 'wrong-cek', code: 'keys.decrypt', rfc: 'decryptFailure' },
  { tamper: 'truncated-ciphertext', code: 'keys.decrypt', rfc: 'decryptFailure' },
  { tamper: 'short-cek', code: 'keys.decrypt', rfc: 'decryptFailure' },
  { tamper: 'wrong-kek-id', code: 'keys.wrong_kek', rfc: 'noMatchingRecipientInfo' },
];

for (const form of ['enveloped', 'encrypted-key-package'] as const) {
  test(`0024 in the lab's own ${form} (ktri v2 by SKI, OAEP SHA-256, AES-256-CBC, inner id-signedData): pyasn1 decodes it, the agent opens it in the TPM`, async () => {
    const key = new Uint8Array(32).fill(0x6b);
    const p = await lab.addSymmetricPackage({ id: `hand-${form}`, keys: [{ keyId: `hand-${form}`, key }], envelope: { form } });
    if (form === 'enveloped') {
      const e = pyDecode('decode_envelope.py', p.der);
      assert.is(e.version, 2);
      assert.equal(e.recipientInfos.map((r: any) => [r.type, r.version, r.rid.ski, r.keyEncryptionAlgorithm.oid]), [['ktri', 2, Buffer.from(kek.keyId).toString('hex'), '1.2.840.113549.1.1.7']]);
      assert.equal([e.encryptedContentInfo.contentType, e.encryptedContentInfo.cipher, e.encryptedContentInfo.ivBytes], ['1.2.840.113549.1.7.2', '2.16.840.1.101.3.4.1.42', 16]);
    }
    const before = lab.returns.length;
    const poller = await poll([p.entry, lab.symmetricReturnEntry()]);
    assert.equal(poller.last!.results.map((r) => [r.type, r.status]), [['0024', 'ok'], ['0025', 'ok']], JSON.stringify(poller.last!.results));
    const st = (await new KeysStateFile(stateDir).load()).symmetric.find((s) => s.keyId === `hand-${form}`)!;
    assert.equal([...(await store.unsealSecret(st.sealed))], [...key]);
    assert.is(lab.returns.length, before + 1);
    assert.is(lab.returns.at(-1)!.kind, 'receipt');
  });
  for (const t of TAMPERED) {
    test(`0024 ${form}, ${t.tamper}: ${t.code}, KeyPackageError ${t.rfc} returned, nothing stored, no TPM handle left`, async () => {
      const keyId = `t-${form}-${t.tamper}`;
      const p = await lab.addSymmetricPackage({ id: keyId, keys: [{ keyId, key: new Uint8Array(32).fill(0x77) }], envelope: { form, tamper: t.tamper } });
      const n0 = (await new KeysStateFile(stateDir).load()).symmetric.length;
      const before = lab.returns.length;
      const poller = await poll([p.entry, lab.symmetricReturnEntry()]);
      const res = poller.last!.results;
      assert.equal(res.map((r) => [r.type, r.status]), [['0024', 'failed'], ['0025', 'ok']], JSON.stringify(res));
      assert.is(res[0]!.code, t.code, res[0]!.message);
      const st = await new KeysStateFile(stateDir).load();
      assert.is(st.symmetric.length, n0, 'nothing stored');
      assert.not.ok(st.symmetric.some((s) => s.keyId === keyId));
      assert.is(lab.returns.length, before + 1);
      const r = lab.returns.at(-1)!;
      assert.equal([r.kind, r.errorCode, r.signatureValid, r.pkgId], ['error', t.rfc, true, undefined]);
      assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
    });
  }
}

test('oversized body (larger than the PAL size allows): transport refuses, nothing stored, no error report', async () => {
  const p = await lab.addSymmetricPackage({ id: 'big', keys: [{ keyId: 'big', key: new Uint8Array(32) }], variant: 'oversized' });
  const before = lab.returns.length;
  const poller = await poll([p.entry]);
  const r = poller.last!.results[0]!;
  assert.is(r.status, 'failed');
  assert.match(String(r.code), /too_large|size|large/i, JSON.stringify(r));
  assert.not.ok((await new KeysStateFile(stateDir).load()).symmetric.some((s) => s.keyId === 'big'));
  assert.is(lab.returns.length, before);
});

test('base64 body (RFC 7030 style) is accepted; a package without a receipt request produces no receipt', async () => {
  const p = await lab.addSymmetricPackage({ id: 'b64', keys: [{ keyId: 'b64-key', key: new Uint8Array(24).fill(3) }], base64: true, receipt: false });
  const before = lab.returns.length;
  const poller = await poll([p.entry, lab.symmetricReturnEntry()]);
  assert.equal(poller.last!.results.map((r) => r.status), ['ok', 'ok'], JSON.stringify(poller.last!.results));
  assert.ok((await new KeysStateFile(stateDir).load()).symmetric.some((s) => s.keyId === 'b64-key'));
  assert.is(lab.returns.length, before);
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
});

for (const alg of ['ecc-p256', 'rsa-2048'] as const) {
  test(`0020 + 0023 (${alg}): /serverkeygen multipart answer, key imported into the TPM, certificate matches, receipt returned`, async () => {
    lab.serverKeygenVariant = 'good';
    lab.serverKeygenAlgorithm = alg;
    const before = lab.returns.length;
    const n0 = (await new KeysStateFile(stateDir).load()).serverKeys.length;
    const poller = await poll([lab.serverKeygenReturnEntry(), lab.serverKeygenEntry()]);
    assert.equal(poller.last!.results.map((r) => [r.type, r.status]), [['0020', 'ok'], ['0023', 'ok']], JSON.stringify(poller.last!.results));
    const st = await new KeysStateFile(stateDir).load();
    assert.is(st.serverKeys.length, n0 + 1);
    const k = st.serverKeys.at(-1)!;
    assert.is(k.key.algorithm, alg);
    assert.is(k.key.spki, Buffer.from(lab.generated.at(-1)!).toString('base64'), 'the imported key is the one the server generated');
    const cert = certificatesFromPem(k.certificatePem)[0]!;
    assert.match(cert.subject.typesAndValues.map((t) => t.value.valueBlock.value).join(','), 'device-keys-1 tls');
    // the TPM signs with it; the certificate's key verifies
    const rec = { id: k.key.id, algorithm: alg, spki: new Uint8Array(Buffer.from(k.key.spki, 'base64')), location: k.key.location };
    const msg = new TextEncoder().encode('server-generated key in the TPM');
    const sig = await store.signer(rec).sign(msg);
    assert.ok(verify('sha256', msg, createPublicKey({ key: Buffer.from(cert.subjectPublicKeyInfo.toSchema().toBER(false)), format: 'der', type: 'spki' }), sig));
    assert.not.ok(readFileSync(path.join(stateDir, 'keys.json'), 'utf8').includes('PRIVATE KEY'));
    // TLS client authentication with the imported key (the addon's engine signs in the TPM): the server sees the cert
    const tls = await store.tlsKeyOptions(rec);
    const t = createHttpsTransport({ trustAnchors: [server.trustAnchorPem], clientAuth: { key: tls, certChain: [k.certificatePem, ...k.chainPem] } });
    const who = await t.request({ method: 'GET', url: `${server.url}/whoami` });
    assert.is(who.status, 200);
    assert.is(Buffer.from(who.body).toString(), Buffer.from(cert.toSchema().toBER(false)).toString('hex'));
    assert.is(who.tlsProtocol, alg === 'rsa-2048' ? 'TLSv1.2' : 'TLSv1.3');
    assert.is(lab.returns.length, before + 1);
    const r = lab.returns.at(-1)!;
    assert.is(r.path, 'serverkeygen');
    assert.is(r.kind, 'receipt');
    assert.is(r.signatureValid, true);
    assert.is(r.pkgId, Buffer.from(keyIdentifierFromSpki(rec.spki)).toString('hex'));
    assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
  });
}

const BAD_SKG: Array<{ variant: ServerKeygenVariant; code: string; rfc: string }> = [
  { variant: 'mismatch', code: 'keys.cert_mismatch', rfc: 'badCertificate' },
  { variant: 'untrusted-cert', code: 'keys.cert_untrusted', rfc: 'noTrustAnchor' },
  { variant: 'truncated', code: 'keys.multipart', rfc: 'decodeFailure' },
  { variant: 'no-cert', code: 'keys.multipart', rfc: 'badKeyPackage' },
  { variant: 'encrypted', code: 'keys.enveloped_data', rfc: 'badEnvelopedData' }, // an empty EnvelopedData (RFC 5652 §6.1)
  { variant: 'bad-key', code: 'keys.bad_key', rfc: 'badKeyPackage' },
  { variant: 'p384', code: 'keys.bad_key', rfc: 'badKeyPackage' },
  { variant: 'not-multipart', code: 'keys.multipart', rfc: 'decodeFailure' },
  { variant: 'bad-pkcs1', code: 'keys.bad_key', rfc: 'badKeyPackage' },
];

for (const b of BAD_SKG) {
  test(`bad /serverkeygen answer (${b.variant}): ${b.code}, KeyPackageError ${b.rfc} returned, no credential stored`, async () => {
    lab.serverKeygenVariant = b.variant;
    lab.serverKeygenAlgorithm = 'ecc-p256';
    const before = lab.returns.length;
    const n0 = (await new KeysStateFile(stateDir).load()).serverKeys.length;
    const poller = await poll([lab.serverKeygenEntry(), lab.serverKeygenReturnEntry()]);
    const res = poller.last!.results;
    assert.equal(res.map((r) => [r.type, r.status]), [['0020', 'failed'], ['0023', 'ok']], JSON.stringify(res));
    assert.is(res[0]!.code, b.code, res[0]!.message);
    assert.is((await new KeysStateFile(stateDir).load()).serverKeys.length, n0);
    assert.is(lab.returns.length, before + 1);
    assert.is(lab.returns.at(-1)!.kind, 'error');
    assert.is(lab.returns.at(-1)!.errorCode, b.rfc);
    assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
  });
}

test('oversized /serverkeygen answer: the transport stops reading at the cap, nothing imported or stored', async () => {
  lab.serverKeygenVariant = 'oversized';
  const before = lab.returns.length;
  const n0 = (await new KeysStateFile(stateDir).load()).serverKeys.length;
  const poller = await poll([lab.serverKeygenEntry()]);
  const r = poller.last!.results[0]!;
  assert.is(r.status, 'failed');
  assert.match(String(r.code), /too_large|large/i, JSON.stringify(r));
  assert.is((await new KeysStateFile(stateDir).load()).serverKeys.length, n0);
  assert.is(lab.returns.length, before);
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
});

/** The newest stored server key: usable in the TPM (sign here, verify with its certificate's public key). */
async function assertUsableServerKey(alg: 'ecc-p256' | 'rsa-2048'): Promise<void> {
  const k = (await new KeysStateFile(stateDir).load()).serverKeys.at(-1)!;
  assert.is(k.key.algorithm, alg);
  const cert = certificatesFromPem(k.certificatePem)[0]!;
  const rec = { id: k.key.id, algorithm: alg, spki: new Uint8Array(Buffer.from(k.key.spki, 'base64')), location: k.key.location };
  const msg = new TextEncoder().encode(`server-generated ${alg} key, sent as a traditional key`);
  const sig = await store.signer(rec).sign(msg);
  assert.ok(verify('sha256', msg, createPublicKey({ key: Buffer.from(cert.subjectPublicKeyInfo.toSchema().toBER(false)), format: 'der', type: 'spki' }), sig));
}

test('0020 answered with a PKCS#1 RSAPrivateKey from `openssl genrsa -traditional` (as libest sends it): accepted with a warning, imported into the TPM, usable, receipt returned', async () => {
  const dir = mkdtempSync(path.join(tmp, 'genrsa-'));
  execFileSync('openssl', ['genrsa', '-traditional', '-out', path.join(dir, 'k.pem'), '2048'], { stdio: 'pipe' });
  const pem = readFileSync(path.join(dir, 'k.pem'), 'utf8');
  assert.match(pem, '-----BEGIN RSA PRIVATE KEY-----');
  const opensslDer = execFileSync('openssl', ['rsa', '-in', path.join(dir, 'k.pem'), '-outform', 'DER', '-traditional'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const key = createPrivateKey(pem);
  // what the lab puts in the application/pkcs8 part is byte for byte openssl's RSAPrivateKey
  assert.equal(Buffer.from(key.export({ type: 'pkcs1', format: 'der' })).toString('hex'), opensslDer.toString('hex'));
  assert.match(execFileSync('openssl', ['asn1parse', '-inform', 'DER'], { input: opensslDer, encoding: 'utf8' }).split('\n')[2]!, 'INTEGER');
  lab.serverKeygenVariant = 'pkcs1';
  lab.serverKeygenKey = key;
  const log = memoryLogger('debug');
  const before = lab.returns.length;
  const n0 = (await new KeysStateFile(stateDir).load()).serverKeys.length;
  const poller = await poll([lab.serverKeygenEntry(), lab.serverKeygenReturnEntry()], { log });
  assert.equal(poller.last!.results.map((r) => [r.type, r.status]), [['0020', 'ok'], ['0023', 'ok']], JSON.stringify(poller.last!.results));
  assert.ok(log.lines.some((l) => /keys\.serverkeygen\.not-pkcs8 .*form=pkcs1/.test(l)), log.lines.join('\n'));
  const st = await new KeysStateFile(stateDir).load();
  assert.is(st.serverKeys.length, n0 + 1);
  assert.is(st.serverKeys.at(-1)!.key.spki, Buffer.from(createPublicKey(key).export({ type: 'spki', format: 'der' })).toString('base64'), 'the key openssl generated is the one in the TPM');
  await assertUsableServerKey('rsa-2048');
  assert.not.ok(readFileSync(path.join(stateDir, 'keys.json'), 'utf8').includes('PRIVATE KEY'));
  assert.is(lab.returns.length, before + 1);
  assert.is(lab.returns.at(-1)!.kind, 'receipt');
  assert.match(opensslVerifyRootOnly(lab.returns.at(-1)!.der).content, '2.16.840.1.101.2.1.16.0');
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
});

test('0020 answered with a SEC1 ECPrivateKey: accepted with a warning, imported, usable', async () => {
  lab.serverKeygenVariant = 'pkcs1';
  lab.serverKeygenAlgorithm = 'ecc-p256';
  const log = memoryLogger('debug');
  const poller = await poll([lab.serverKeygenEntry(), lab.serverKeygenReturnEntry()], { log });
  assert.equal(poller.last!.results.map((r) => [r.type, r.status]), [['0020', 'ok'], ['0023', 'ok']], JSON.stringify(poller.last!.results));
  assert.ok(log.lines.some((l) => /keys\.serverkeygen\.not-pkcs8 .*form=sec1/.test(l)), log.lines.join('\n'));
  assert.is((await new KeysStateFile(stateDir).load()).serverKeys.at(-1)!.key.spki, Buffer.from(lab.generated.at(-1)!).toString('base64'));
  await assertUsableServerKey('ecc-p256');
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
});

test('tolerance off (acceptPkcs1: false): a PKCS#1 key part is refused with keys.not_pkcs8, KeyPackageError returned, nothing stored or imported', async () => {
  lab.serverKeygenVariant = 'pkcs1';
  lab.serverKeygenAlgorithm = 'rsa-2048';
  const log = memoryLogger('debug');
  const before = lab.returns.length;
  const n0 = (await new KeysStateFile(stateDir).load()).serverKeys.length;
  const poller = await poll([lab.serverKeygenEntry(), lab.serverKeygenReturnEntry()], { log, acceptPkcs1: false });
  const res = poller.last!.results;
  assert.equal(res.map((r) => [r.type, r.status]), [['0020', 'failed'], ['0023', 'ok']], JSON.stringify(res));
  assert.is(res[0]!.code, 'keys.not_pkcs8', res[0]!.message);
  assert.match(String(res[0]!.message), /PKCS#1 RSAPrivateKey.*RFC 7030 §4\.4\.2/);
  assert.not.ok(log.lines.some((l) => /not-pkcs8/.test(l)), 'no acceptance warning');
  assert.is((await new KeysStateFile(stateDir).load()).serverKeys.length, n0);
  assert.is(lab.returns.length, before + 1);
  assert.is(lab.returns.at(-1)!.kind, 'error');
  assert.is(lab.returns.at(-1)!.errorCode, 'badKeyPackage');
  // KeyPackageError { errorBy { id-dn, <device subject> }, errorCode ENUMERATED }, signed with the chain included
  const err = opensslVerifyRootOnly(lab.returns.at(-1)!.der).content;
  assert.match(err, '2.16.840.1.101.2.1.16.0');
  assert.match(err, 'ENUMERATED');
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
});

for (const want of ['rsa-2048', 'ecc-p256'] as const) {
  test(`the /serverkeygen CSR asks for the key type the device wants (${want}; the device key is P-256) and the server's key of that type is imported`, async () => {
    lab.serverKeygenVariant = 'good';
    lab.serverKeygenAlgorithm = 'from-csr';
    try {
      const poller = await poll([lab.serverKeygenEntry(), lab.serverKeygenReturnEntry()], { keyAlgorithm: want });
      assert.equal(poller.last!.results.map((r) => [r.type, r.status]), [['0020', 'ok'], ['0023', 'ok']], JSON.stringify(poller.last!.results));
      const spki = createPublicKey({ key: Buffer.from(lab.generated.at(-1)!), format: 'der', type: 'spki' });
      assert.is(spki.asymmetricKeyType, want === 'rsa-2048' ? 'rsa' : 'ec');
      await assertUsableServerKey(want);
      assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
    } finally {
      lab.serverKeygenAlgorithm = 'ecc-p256';
    }
  });
}

for (const [type, variant] of [['0021', 'cms'], ['0021', 'cms-signed'], ['0022', 'pkcs12'], ['0022', 'pkcs12-signed']] as const) {
  test(`${type} (${variant}): key imported into the TPM, certificate matches, receipt returned`, async () => {
    lab.serverKeygenVariant = variant;
    lab.serverKeygenAlgorithm = 'ecc-p256';
    const before = lab.returns.length;
    const n0 = (await new KeysStateFile(stateDir).load()).serverKeys.length;
    try {
      const poller = await poll([lab.serverKeygenEntry(type), lab.serverKeygenReturnEntry()]);
      assert.equal(poller.last!.results.map((r) => [r.type, r.status]), [[type, 'ok'], ['0023', 'ok']], JSON.stringify(poller.last!.results));
    } finally {
      lab.serverKeygenVariant = 'good';
    }
    const st = await new KeysStateFile(stateDir).load();
    assert.is(st.serverKeys.length, n0 + 1);
    assert.is(st.serverKeys.at(-1)!.key.spki, Buffer.from(lab.generated.at(-1)!).toString('base64'), 'the imported key is the one the server generated');
    await assertUsableServerKey('ecc-p256');
    assert.not.ok(readFileSync(path.join(stateDir, 'keys.json'), 'utf8').includes('PRIVATE KEY'));
    assert.is(lab.returns.length, before + 1);
    assert.is(lab.returns.at(-1)!.kind, 'receipt');
    assert.match(opensslVerifyRootOnly(lab.returns.at(-1)!.der).content, '2.16.840.1.101.2.1.16.0');
    assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
  });
}

test('0021 with two keys in its AsymmetricKeyPackage (RFC 5958 SIZE(1..MAX)): refused before any import, unsupportedAsymmetricKeyPackage returned with the pkgID, nothing stored', async () => {
  lab.serverKeygenVariant = 'cms-multi';
  lab.serverKeygenAlgorithm = 'ecc-p256';
  const before = lab.returns.length;
  const n0 = (await new KeysStateFile(stateDir).load()).serverKeys.length;
  const stats0 = JSON.stringify(store.stats()['op.importKey'] ?? null);
  try {
    const poller = await poll([lab.serverKeygenEntry('0021'), lab.serverKeygenReturnEntry()]);
    const res = poller.last!.results;
    assert.equal(res.map((r) => [r.type, r.status]), [['0021', 'failed'], ['0023', 'ok']], JSON.stringify(res));
    assert.is(res[0]!.code, 'keys.akp_keys', res[0]!.message);
  } finally {
    lab.serverKeygenVariant = 'good';
  }
  assert.is(JSON.stringify(store.stats()['op.importKey'] ?? null), stats0, 'no TPM import was attempted');
  assert.is((await new KeysStateFile(stateDir).load()).serverKeys.length, n0);
  assert.is(lab.returns.length, before + 1);
  const r = lab.returns.at(-1)!;
  assert.equal([r.kind, r.errorCode, r.signatureValid], ['error', 'unsupportedAsymmetricKeyPackage', true]);
  assert.match(String(r.pkgId), /^[0-9a-f]{16}$/, 'errorOf names the package');
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
});

const wrongPwFile = path.join(tmp, 'p12-wrong.pass');
writeFileSync(wrongPwFile, 'not-the-lab-password\n', { mode: 0o600 });

test('0022 public-key integrity mode as the lab sends it: openssl sees authSafe pkcs7-signedData and no MAC, and `openssl cms -verify` checks it to the key-package root', async () => {
  lab.serverKeygenVariant = 'pkcs12-signed';
  try {
    await poll([lab.serverKeygenEntry('0022'), lab.serverKeygenReturnEntry()]);
  } finally {
    lab.serverKeygenVariant = 'good';
  }
  const pfx = lab.lastPkcs12!;
  const dir = mkdtempSync(path.join(tmp, 'p12s-'));
  writeFileSync(path.join(dir, 'p.der'), pfx);
  const top = execFileSync('openssl', ['asn1parse', '-inform', 'DER', '-in', path.join(dir, 'p.der')], { encoding: 'utf8' }).split('\n');
  assert.match(top[1]!, /d=1 .*INTEGER\s+:03/);
  assert.match(top[3]!, /d=2 .*OBJECT\s+:pkcs7-signedData/);
  // the authSafe's bytes, cut by the offsets openssl printed: header at d=1 line 2, up to the end (no MacData after it)
  const off = Number(/^\s*(\d+):/.exec(top[2]!)![1]);
  writeFileSync(path.join(dir, 'authsafe.der'), pfx.subarray(off));
  writeFileSync(path.join(dir, 'ta.pem'), `-----BEGIN CERTIFICATE-----\n${Buffer.from(lab.trustAnchorDer).toString('base64')}\n-----END CERTIFICATE-----\n`);
  execFileSync('openssl', ['cms', '-verify', '-inform', 'DER', '-in', path.join(dir, 'authsafe.der'), '-CAfile', path.join(dir, 'ta.pem'), '-purpose', 'any', '-binary', '-out', path.join(dir, 'safe.der')], { stdio: 'pipe' });
  // the verified content is an AuthenticatedSafe: SEQUENCE OF ContentInfo (encrypted certificates, shrouded key)
  const safe = execFileSync('openssl', ['asn1parse', '-inform', 'DER', '-in', path.join(dir, 'safe.der')], { encoding: 'utf8' });
  assert.match(safe, /pkcs7-encryptedData/);
  assert.match(safe, /pkcs7-data/);
  assert.is(lab.returns.at(-1)!.kind, 'receipt');
});

const BAD_P12: Array<{ variant: ServerKeygenVariant; code: string; rfc: string; cfg?: Partial<ServerKeygenConfig> }> = [
  { variant: 'pkcs12-wrong-password', code: 'keys.pkcs12_password', rfc: 'invalidMAC' },
  { variant: 'pkcs12-weak', code: 'keys.pkcs12_weak_pbe', rfc: 'badMACAlgorithm' },
  // RFC 7292 Appendix C pkcs-12PbeIds and RFC 8018 §4.2 iteration counts, in files `openssl pkcs12 -export` made
  { variant: 'pkcs12-legacy', code: 'keys.pkcs12_weak_pbe', rfc: 'badMACAlgorithm' },
  { variant: 'pkcs12-rc2-40', code: 'keys.pkcs12_weak_pbe', rfc: 'badEncryptAlgorithm' },
  { variant: 'pkcs12-low-iter', code: 'keys.pkcs12_weak_pbe', rfc: 'unsupportedParameters' },
  { variant: 'pkcs12-nomaciter', code: 'keys.pkcs12_weak_pbe', rfc: 'unsupportedParameters' },
  { variant: 'pkcs12-nomac', code: 'keys.pkcs12_integrity', rfc: 'badMACAlgorithm' },
  // RFC 7292 §4 public-key integrity mode: the SignedData must verify to a key-package TA
  { variant: 'pkcs12-signed-untrusted', code: 'keys.not_authorized', rfc: 'noTrustAnchor' },
  { variant: 'pkcs12-signed-tampered', code: 'keys.signature', rfc: 'signatureFailure' },
  { variant: 'pkcs12', code: 'keys.pkcs12_password', rfc: 'noDecryptKey', cfg: { pkcs12Password: { file: path.join(tmp, 'no-such-password-file') } } },
  // public-key integrity has no MAC to catch a wrong password: the bag decryption fails instead
  { variant: 'pkcs12-signed', code: 'keys.pkcs12_decrypt', rfc: 'decryptFailure', cfg: { pkcs12Password: { file: wrongPwFile } } },
];

for (const b of BAD_P12) {
  test(`bad 0022 (${b.variant}${b.cfg ? (b.variant === 'pkcs12' ? ', no password file' : ', wrong password') : ''}): ${b.code}, KeyPackageError ${b.rfc} returned, nothing imported or stored`, async () => {
    lab.serverKeygenVariant = b.variant;
    const before = lab.returns.length;
    const n0 = (await new KeysStateFile(stateDir).load()).serverKeys.length;
    try {
      const poller = await poll([lab.serverKeygenEntry('0022'), lab.serverKeygenReturnEntry()], b.cfg ?? {});
      const res = poller.last!.results;
      assert.equal(res.map((r) => [r.type, r.status]), [['0022', 'failed'], ['0023', 'ok']], JSON.stringify(res));
      assert.is(res[0]!.code, b.code, res[0]!.message);
    } finally {
      lab.serverKeygenVariant = 'good';
    }
    assert.is((await new KeysStateFile(stateDir).load()).serverKeys.length, n0);
    assert.is(lab.returns.length, before + 1);
    assert.is(lab.returns.at(-1)!.errorCode, b.rfc);
    assert.match(opensslVerifyRootOnly(lab.returns.at(-1)!.der).content, 'ENUMERATED');
    assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
  });
}

test('0022 with the password a 0024 sealed in the TPM (pkcs12Password sealedKeyId): imported, receipt returned; an unknown sealed keyId → keys.pkcs12_password, noDecryptKey returned, nothing imported', async () => {
  // the password arrives as a symmetric key package and is kept only sealed in the TPM
  const pw = new Uint8Array(Buffer.from(lab.pkcs12Password, 'utf8'));
  const p = await lab.addSymmetricPackage({ id: 'p12-password', keys: [{ keyId: 'p12-password', key: pw }] });
  const sealed = await poll([p.entry, lab.symmetricReturnEntry()]);
  assert.equal(sealed.last!.results.map((r) => [r.type, r.status]), [['0024', 'ok'], ['0025', 'ok']], JSON.stringify(sealed.last!.results));
  assert.is(readFileSync(path.join(stateDir, 'keys.json')).indexOf(Buffer.from(pw)), -1, 'the password is not on disk in clear');
  lab.serverKeygenVariant = 'pkcs12';
  try {
    const n0 = (await new KeysStateFile(stateDir).load()).serverKeys.length;
    const before = lab.returns.length;
    const ok = await poll([lab.serverKeygenEntry('0022'), lab.serverKeygenReturnEntry()], { pkcs12Password: { sealedKeyId: 'p12-password' } });
    assert.equal(ok.last!.results.map((r) => [r.type, r.status]), [['0022', 'ok'], ['0023', 'ok']], JSON.stringify(ok.last!.results));
    assert.is((await new KeysStateFile(stateDir).load()).serverKeys.length, n0 + 1);
    await assertUsableServerKey('ecc-p256');
    assert.is(lab.returns.at(-1)!.kind, 'receipt');
    assert.is(lab.returns.length, before + 1);
    const bad = await poll([lab.serverKeygenEntry('0022'), lab.serverKeygenReturnEntry()], { pkcs12Password: { sealedKeyId: 'no-such-sealed-key' } });
    assert.equal(bad.last!.results.map((r) => [r.type, r.status, r.code]), [['0022', 'failed', 'keys.pkcs12_password'], ['0023', 'ok', undefined]], JSON.stringify(bad.last!.results));
    assert.is((await new KeysStateFile(stateDir).load()).serverKeys.length, n0 + 1, 'nothing imported');
    assert.is(lab.returns.at(-1)!.errorCode, 'noDecryptKey');
  } finally {
    lab.serverKeygenVariant = 'good';
  }
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
});

test.after(async () => {
  await store.close();
  await swtpm.stop();
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});

test.run();
