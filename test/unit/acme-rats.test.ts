// remote-attest-01 (draft-ietf-acme-rats-01) pieces without a TPM: the freshness_nonce rules, which
// verifierEncryptionCredential keys are usable, the JSON CMW record and its JWE (decrypted here with jose and the
// recipient's private key); and the lab's own CMW decoder on the CBOR record form and on refusals.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { encode as cborEncode } from 'cbor-x';
import { compactDecrypt } from 'jose';
import { AcmeRatsError, challengeResponse, cmwJsonRecord, freshnessNonce, jweRecipient, jweRecipientFromCertificate } from '../../agent/protocols/acme/remote-attest-01.js';
import { decodeAnswer, labEncryptionKey, RatsRefusal } from '../../deploy/lab/acme-rats.js';

const code = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return e instanceof AcmeRatsError ? e.code : `other: ${(e as Error).message}`;
  }
};

test('freshness_nonce: base64url bytes; missing, padded, non-base64url, empty or > 64 bytes are typed errors', () => {
  const n = randomBytes(32);
  assert.equal(Buffer.from(freshnessNonce({ freshness_nonce: n.toString('base64url') })), n);
  assert.equal(Buffer.from(freshnessNonce({ freshness_nonce: 'yoW1RL2zPBzYEHBQ06Jy' })).length, 15, 'the draft example');
  for (const bad of [undefined, 42, '', 'abc=', 'a+b/', 'a', randomBytes(65).toString('base64url')]) {
    assert.is(code(() => freshnessNonce(bad === undefined ? {} : { freshness_nonce: bad })), 'acme.rats.freshness-nonce', String(bad));
  }
});

test('verifierEncryptionCredential: RSA ≥ 2048, EC P-256/384/521, X25519 accepted (public members only); Ed448, X448, Ed25519, use=sig, wrong alg refused', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'jwk' });
  const r = jweRecipient({ ...ec, use: 'enc', kid: 'k1' });
  assert.equal(r, { jwk: { kty: 'EC', crv: 'P-384', x: ec.x, y: ec.y, kid: 'k1' }, alg: 'ECDH-ES+A256KW' }, 'the private "d" is dropped');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
  assert.is(jweRecipient(rsa).alg, 'RSA-OAEP-256');
  assert.is(jweRecipient({ ...rsa, alg: 'RSA-OAEP' }).alg, 'RSA-OAEP');
  const x25519 = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' });
  assert.is(jweRecipient(x25519).alg, 'ECDH-ES+A256KW');
  const refused = [
    generateKeyPairSync('ed448').publicKey.export({ format: 'jwk' }),
    generateKeyPairSync('x448').publicKey.export({ format: 'jwk' }),
    generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }),
    generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' }),
    { ...rsa, use: 'sig' },
    { ...rsa, alg: 'ECDH-ES' },
    { kty: 'oct', k: 'AAAA' },
    { kty: 'EC', crv: 'secp256k1', x: 'AA', y: 'AA' },
    'not a jwk',
    null,
  ];
  for (const j of refused) assert.is(code(() => jweRecipient(j)), 'acme.rats.encryption-credential', JSON.stringify(j));
});

test('verifierEncryptionCredential as a PEM certificate: its key (openssl-made EC P-256 certificate); garbage is a typed error', () => {
  const pem = execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=verifier', '-days', '1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const r = jweRecipientFromCertificate(pem);
  assert.is(r.jwk.kty, 'EC');
  assert.is(r.jwk.crv, 'P-256');
  assert.is(r.alg, 'ECDH-ES+A256KW');
  assert.is(code(() => jweRecipientFromCertificate('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')), 'acme.rats.encryption-credential');
});

test('the answer: the JSON CMW record; with a recipient a compact JWE (cty application/cmw+json) that decrypts to it', async () => {
  const der = new Uint8Array(randomBytes(100));
  const plain = Buffer.from(await challengeResponse(der)).toString('utf8');
  assert.equal(JSON.parse(plain), cmwJsonRecord(der));
  assert.equal(JSON.parse(plain), ['application/vnd.enrolld.attestation-bundle+der', Buffer.from(der).toString('base64url'), 4]);
  for (const kp of [generateKeyPairSync('ec', { namedCurve: 'P-256' }), generateKeyPairSync('rsa', { modulusLength: 2048 }), generateKeyPairSync('x25519')]) {
    const jwe = Buffer.from(await challengeResponse(der, jweRecipient(kp.publicKey.export({ format: 'jwk' })))).toString('ascii');
    assert.is(jwe.split('.').length, 5);
    const out = await compactDecrypt(jwe, kp.privateKey);
    assert.is(out.protectedHeader.cty, 'application/cmw+json');
    assert.is(out.protectedHeader.enc, 'A256GCM');
    assert.is(Buffer.from(out.plaintext).toString('utf8'), plain);
  }
});

test('lab decoder: CBOR record accepted, plaintext refused when a credential was offered, JWE to another key refused', async () => {
  const der = new Uint8Array(randomBytes(40));
  const cbor = new Uint8Array(cborEncode(['application/vnd.enrolld.attestation-bundle+der', Buffer.from(der), 4]));
  const d = await decodeAnswer(cbor, undefined);
  assert.is(d.record.type, 'application/vnd.enrolld.attestation-bundle+der');
  assert.equal(Buffer.from(d.record.value), Buffer.from(der));
  const key = labEncryptionKey();
  const plain = await challengeResponse(der);
  await decodeAnswer(plain, key).then(() => assert.unreachable(), (e: unknown) => assert.match(String((e as RatsRefusal).message), /sent unencrypted/));
  const other = labEncryptionKey();
  const jwe = await challengeResponse(der, jweRecipient(other.jwk));
  await decodeAnswer(jwe, key).then(() => assert.unreachable(), (e: unknown) => assert.match(String((e as RatsRefusal).message), /does not decrypt/));
  assert.equal(Buffer.from((await decodeAnswer(jwe, other)).record.value), Buffer.from(der));
});

test.run();
