// The PKCS #12 and encrypted-key-package openers against files made by an independent peer (`openssl pkcs12
// -export`, `openssl cms -encrypt`): a good PFX opens to its key and certificate; a wrong password fails as `openssl
// pkcs12 -info` does; a 3DES/SHA-1 PFX, -legacy (RC2-40), and iteration counts below 2048 are refused as weak before
// any decryption; a password file readable by others
// is refused. EnvelopedData to an RSA KEK (rid = subjectKeyIdentifier, RSAES-OAEP SHA-256) opens; another KEK is
// noMatchingRecipientInfo. (The RSA step is node's here; in the agent it is the TPM's, tpm-decrypt covers it.)
import { execFileSync } from 'node:child_process';
import { constants, createPrivateKey, createPublicKey, privateDecrypt } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KeyPackageRefused } from '../../agent/packages/keys/common.js';
import { openEncryptedKeyPackage } from '../../agent/packages/keys/enveloped-data.js';
import { openPkcs12, readPasswordFile } from '../../agent/packages/keys/pkcs12.js';
import { keyIdentifierFromSpki } from '../../agent/pki/asn1/cms-signed-data-create.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-p12-'));
const at = (f: string): string => path.join(dir, f);
const ossl = (...a: string[]): Buffer => execFileSync('openssl', a, { stdio: ['ignore', 'pipe', 'pipe'] });
ossl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', at('k.pem'));
ossl('req', '-x509', '-key', at('k.pem'), '-out', at('c.pem'), '-subj', '/CN=p12 peer', '-days', '1');
ossl('pkcs12', '-export', '-inkey', at('k.pem'), '-in', at('c.pem'), '-passout', 'pass:correct horse', '-out', at('good.p12'));
ossl('pkcs12', '-export', '-inkey', at('k.pem'), '-in', at('c.pem'), '-passout', 'pass:correct horse', '-keypbe', 'PBE-SHA1-3DES', '-certpbe', 'PBE-SHA1-3DES', '-macalg', 'sha1', '-out', at('weak.p12'));
for (const [name, opts] of [['legacy', ['-legacy']], ['rc2-40', ['-legacy', '-macalg', 'sha256']], ['iter-1000', ['-iter', '1000']], ['iter-2048', ['-iter', '2048']], ['nomaciter', ['-nomaciter']]] as const) {
  ossl('pkcs12', '-export', '-inkey', at('k.pem'), '-in', at('c.pem'), '-passout', 'pass:correct horse', ...opts, '-out', at(`${name}.p12`));
}
const pw = new TextEncoder().encode('correct horse');

const refused = async (p: Promise<unknown>, code: string, rfc: string): Promise<void> => {
  try {
    await p;
    assert.unreachable('must be refused');
  } catch (e) {
    assert.ok(e instanceof KeyPackageRefused, String(e));
    assert.is((e as KeyPackageRefused).code, code, (e as Error).message);
    assert.is((e as KeyPackageRefused).rfc, rfc);
  }
};

test('openssl pkcs12 -export (PBES2/AES-256/SHA-256 MAC) opens to its key and certificate', async () => {
  const r = await openPkcs12(new Uint8Array(readFileSync(at('good.p12'))), pw);
  assert.is(r.keys.length, 1);
  const want = createPrivateKey(readFileSync(at('k.pem'))).export({ type: 'pkcs8', format: 'der' });
  assert.is(createPublicKey(createPrivateKey({ key: Buffer.from(r.keys[0]!), format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'der' }).toString('hex'), createPublicKey(createPrivateKey({ key: want, format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'der' }).toString('hex'));
  assert.is(r.certificates.length, 1);
  assert.is(Buffer.from(r.certificates[0]!).toString('hex'), ossl('x509', '-in', at('c.pem'), '-outform', 'DER').toString('hex'));
});

test('wrong password: refused (invalidMAC), as openssl pkcs12 -info fails too', async () => {
  assert.throws(() => ossl('pkcs12', '-info', '-in', at('good.p12'), '-passin', 'pass:wrong', '-noout'));
  await refused(openPkcs12(new Uint8Array(readFileSync(at('good.p12'))), new TextEncoder().encode('wrong')), 'keys.pkcs12_password', 'invalidMAC');
});

test('weak PBE (SHA-1 3DES, SHA-1 MAC) is refused before decryption, with the right password', async () => {
  await refused(openPkcs12(new Uint8Array(readFileSync(at('weak.p12'))), pw), 'keys.pkcs12_weak_pbe', 'badMACAlgorithm');
  await refused(openPkcs12(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x03]), pw), 'keys.pkcs12_decode', 'decodeFailure');
});

test('RFC 7292 Appendix C / RFC 8018 §4.2 weak files from openssl pkcs12 -export: -legacy, RC2-40, 1000 iterations, MAC iteration 1 refused; 2048 iterations open', async () => {
  const file = (n: string) => new Uint8Array(readFileSync(at(`${n}.p12`)));
  await refused(openPkcs12(file('legacy'), pw), 'keys.pkcs12_weak_pbe', 'badMACAlgorithm');
  await refused(openPkcs12(file('rc2-40'), pw), 'keys.pkcs12_weak_pbe', 'badEncryptAlgorithm');
  await refused(openPkcs12(file('iter-1000'), pw), 'keys.pkcs12_weak_pbe', 'unsupportedParameters');
  await refused(openPkcs12(file('nomaciter'), pw), 'keys.pkcs12_weak_pbe', 'unsupportedParameters');
  assert.is((await openPkcs12(file('iter-2048'), pw)).keys.length, 1);
});

test('password file: 0600 read (trailing newline dropped), 0644 refused', async () => {
  writeFileSync(at('pw'), 'correct horse\n', { mode: 0o600 });
  assert.equal([...(await readPasswordFile(at('pw')))], [...pw]);
  chmodSync(at('pw'), 0o644);
  await refused(readPasswordFile(at('pw')), 'keys.pkcs12_password', 'noDecryptKey');
});

test('openssl cms -encrypt (ktri by SKI, RSAES-OAEP SHA-256, AES-256-CBC) opens with the KEK; another KEK is refused', async () => {
  ossl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', at('kek.pem'), '-out', at('kek.crt'), '-subj', '/CN=kek', '-days', '1');
  const inner = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x07]); // stands for the ContentInfo openssl cannot type
  writeFileSync(at('inner.der'), inner);
  ossl('cms', '-encrypt', '-binary', '-in', at('inner.der'), '-recip', at('kek.crt'), '-keyid', '-aes256', '-keyopt', 'rsa_padding_mode:oaep', '-keyopt', 'rsa_oaep_md:sha256', '-keyopt', 'rsa_mgf1_md:sha256', '-outform', 'DER', '-out', at('env.der'));
  const priv = createPrivateKey(readFileSync(at('kek.pem')));
  const spki = new Uint8Array(createPublicKey(priv).export({ type: 'spki', format: 'der' }));
  const kek = { name: 'k', record: { id: 'k', algorithm: 'rsa-2048' as const, spki, location: {} }, keyId: keyIdentifierFromSpki(spki) };
  const decrypt = async (_k: unknown, ek: Uint8Array) => new Uint8Array(privateDecrypt({ key: priv, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, ek));
  const env = new Uint8Array(readFileSync(at('env.der')));
  assert.equal([...(await openEncryptedKeyPackage(env, [kek], decrypt))], [...inner]);
  await refused(openEncryptedKeyPackage(env, [{ ...kek, keyId: new Uint8Array(20) }], decrypt), 'keys.wrong_kek', 'noMatchingRecipientInfo');
  await refused(openEncryptedKeyPackage(env, [], decrypt), 'keys.no_kek', 'noDecryptKey');
  await refused(openEncryptedKeyPackage(env.subarray(0, 100), [kek], decrypt), 'keys.decode', 'decodeFailure');
});

test.run();
