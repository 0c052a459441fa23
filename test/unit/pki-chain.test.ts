import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateChain } from '../../agent/pki/chain.js';
import { ChainValidationError } from '../../agent/pki/errors.js';
import { buildCsr } from '../../agent/pki/csr.js';
import { SoftwareSigner } from '../../agent/keystore/software.js';
import { webcrypto } from 'node:crypto';
import { LabCa, signCertificate } from '../../deploy/lab/ca.js';
import { chainCrypto } from '../../agent/pki/remembered-signatures.js';
import { certificateToDer } from '../../agent/pki/cert.js';
import { generateKeyPairSync } from 'node:crypto';
import { basicConstraints, keyUsage } from '../../deploy/lab/pki/issue.js';
import { buildName } from '../../agent/pki/name.js';

const NOW = new Date('2026-04-01T00:00:00Z');
const DAY = 86_400_000;

async function leafFrom(ca: LabCa, notAfter = new Date(NOW.getTime() + 30 * DAY)) {
  const signer = SoftwareSigner.generate();
  const { csr } = await buildCsr({ subject: 'CN=leaf', signer });
  return ca.issue({ subject: csr.subject, spki: csr.subjectPublicKeyInfo, notBefore: new Date(NOW.getTime() - DAY), notAfter, profile: 'client' });
}

async function rejects(p: Promise<unknown>, reason: string): Promise<void> {
  await p.then(
    () => assert.unreachable('validation should fail'),
    (e) => {
      assert.ok(e instanceof ChainValidationError, String(e));
      assert.is((e as ChainValidationError).reason, reason, (e as Error).message);
      assert.is((e as ChainValidationError).code, `pki.chain.${reason}`);
    },
  );
}

test('leaf → issuing → root validates (intermediates in any order, extra certs ignored)', async () => {
  const ca = await LabCa.create({ now: NOW });
  const other = await LabCa.create({ now: NOW, name: 'other' });
  const leaf = await leafFrom(ca);
  const { path } = await validateChain({ leaf, intermediates: [other.issuing.der, ca.issuing.der], trustAnchors: [ca.root.der], at: NOW });
  assert.is(path.length, 3);
  // the issuing CA as the TA also works (shorter path)
  await validateChain({ leaf, trustAnchors: [ca.issuing.certificate], at: NOW });
  // a TA validates as itself
  await validateChain({ leaf: ca.root.der, trustAnchors: [ca.root.der], at: NOW });
});

test('untrusted: other CA, or missing intermediate', async () => {
  const ca = await LabCa.create({ now: NOW });
  const other = await LabCa.create({ now: NOW, name: 'other' });
  const leaf = await leafFrom(ca);
  await rejects(validateChain({ leaf, intermediates: [ca.issuing.der], trustAnchors: [other.root.der], at: NOW }), 'untrusted');
  await rejects(validateChain({ leaf, trustAnchors: [ca.root.der], at: NOW }), 'untrusted');
  await rejects(validateChain({ leaf, trustAnchors: [], at: NOW }), 'no-trust-anchor');
});

test('a leaf that is also listed among the intermediates is still the certificate validated', async () => {
  const ca = await LabCa.create({ now: NOW });
  const other = await LabCa.create({ now: NOW, name: 'other' });
  const foreign = await leafFrom(other);
  const good = await leafFrom(ca);
  await rejects(validateChain({ leaf: foreign, intermediates: [foreign, ca.issuing.der, good], trustAnchors: [ca.root.der], at: NOW }), 'untrusted');
  const { path } = await validateChain({ leaf: good, intermediates: [good, ca.issuing.der], trustAnchors: [ca.root.der], at: NOW });
  assert.is(path.length, 3);
});

test('validity: injected time before notBefore / after notAfter', async () => {
  const ca = await LabCa.create({ now: NOW });
  const leaf = await leafFrom(ca, new Date(NOW.getTime() + DAY));
  await validateChain({ leaf, intermediates: [ca.issuing.der], trustAnchors: [ca.root.der], at: NOW });
  await rejects(validateChain({ leaf, intermediates: [ca.issuing.der], trustAnchors: [ca.root.der], at: new Date(NOW.getTime() + 2 * DAY) }), 'validity');
  await rejects(validateChain({ leaf, intermediates: [ca.issuing.der], trustAnchors: [ca.root.der], at: new Date(NOW.getTime() - 2 * DAY) }), 'validity');
  await rejects(validateChain({ leaf: ca.root.der, trustAnchors: [ca.root.der], at: new Date(NOW.getTime() + 4000 * DAY) }), 'validity');
});

test('an end-entity certificate cannot act as an issuer (not a CA / no keyCertSign)', async () => {
  const ca = await LabCa.create({ now: NOW });
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', keys.publicKey));
  const ee = await ca.issue({ subject: 'CN=end-entity', spki, notBefore: NOW, notAfter: new Date(NOW.getTime() + DAY), profile: 'client' });
  const s = SoftwareSigner.generate();
  const { csr } = await buildCsr({ subject: 'CN=grandchild', signer: s });
  const grandchild = await signCertificate({
    issuer: ee.subject,
    subject: csr.subject,
    spki: csr.subjectPublicKeyInfo,
    notBefore: NOW,
    notAfter: new Date(NOW.getTime() + DAY),
    extensions: [],
    signingKey: keys.privateKey,
  });
  const at = new Date(NOW.getTime() + 1000);
  await validateChain({ leaf: ee, intermediates: [ca.issuing.der], trustAnchors: [ca.root.der], at });
  await validateChain({ leaf: grandchild, intermediates: [ee, ca.issuing.der], trustAnchors: [ca.root.der], at }).then(
    () => assert.unreachable('must not validate'),
    (e) => assert.ok(e instanceof ChainValidationError && ['not-ca', 'key-usage'].includes(e.reason), String(e)),
  );
});

test('a signature check that passed is remembered; a new or altered certificate is always checked, a failure never kept', async () => {
  const ca = await LabCa.create({ now: NOW });
  const opts = { intermediates: [ca.issuing.der], trustAnchors: [ca.root.der], at: NOW };
  const leaf1 = await leafFrom(ca);
  let n = chainCrypto.checked;
  await validateChain({ leaf: leaf1, ...opts });
  assert.is(chainCrypto.checked - n, 2, 'first path: the leaf and the issuing CA are checked');
  n = chainCrypto.checked;
  await validateChain({ leaf: leaf1, ...opts });
  assert.is(chainCrypto.checked - n, 0, 'the same path again: both remembered');
  const leaf2 = await leafFrom(ca);
  n = chainCrypto.checked;
  await validateChain({ leaf: leaf2, ...opts });
  assert.is(chainCrypto.checked - n, 1, 'a renewal: only the new leaf is checked');
  // The same certificate with one byte of its to-be-signed part changed ("CN=leaf" → "CN=leag"): refused, each time.
  const der = Buffer.from(certificateToDer(leaf2));
  const at = der.indexOf(Buffer.from('leaf'));
  assert.ok(at > 0);
  der[at + 3] = 'g'.charCodeAt(0);
  for (let i = 0; i < 2; i++) {
    n = chainCrypto.checked;
    await rejects(validateChain({ leaf: new Uint8Array(der), ...opts }), 'untrusted');
    assert.is(chainCrypto.checked - n, 1, 'the altered leaf reached the signature check');
  }
});

test('RSA issuers: PKCS#1 v1.5 signatures are checked (a 2048-bit key by OpenSSL, a 1024-bit one by pkijs as before)', async () => {
  for (const modulusLength of [2048, 1024]) {
    const root = generateKeyPairSync('rsa', { modulusLength });
    const rootName = buildName(`CN=RSA root ${modulusLength}`);
    const rootSpki = new Uint8Array(root.publicKey.export({ type: 'spki', format: 'der' }));
    const anchor = await signCertificate({ issuer: rootName, subject: rootName, spki: rootSpki, notBefore: new Date(NOW.getTime() - DAY), notAfter: new Date(NOW.getTime() + 30 * DAY), extensions: [basicConstraints(true), keyUsage([5, 6])], signingKey: root.privateKey, hash: 'sha384' });
    const { csr } = await buildCsr({ subject: 'CN=rsa-issued leaf', signer: SoftwareSigner.generate() });
    const leaf = await signCertificate({ issuer: rootName, subject: csr.subject, spki: csr.subjectPublicKeyInfo, notBefore: new Date(NOW.getTime() - DAY), notAfter: new Date(NOW.getTime() + DAY), extensions: [basicConstraints(false), keyUsage([0])], signingKey: root.privateKey });
    const { path } = await validateChain({ leaf, trustAnchors: [anchor], at: NOW });
    assert.is(path.length, 2);
    const bad = certificateToDer(leaf);
    bad[bad.length - 3]! ^= 1;
    await rejects(validateChain({ leaf: bad, trustAnchors: [anchor], at: NOW }), 'untrusted');
  }
});

test.run();
