// Indirect POP (RFC 5272 §6.7, RFC 10002 §6.7 / Appendix B.4) with software keys: the RFC 9690 Appendix C RSA-KEM
// example opened by the agent; every challenge form of the lab (written from the texts, not with the agent's code)
// opened by the agent, and the ktri/kari forms also by `openssl cms -decrypt`, all of them decoded by pyasn1
// (rfc5652 + RFC 9629 KEMRecipientInfo); KMAC128 checked against `openssl mac KMAC128`; the 64-byte key truncation;
// bad input (KEM ciphertext size, unknown KEM/KDF/POP algorithm, bad KMAC parameters) → typed CmcPopError.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHmac, constants, createPrivateKey, createPublicKey, generateKeyPairSync, privateDecrypt, diffieHellman, type KeyObject } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CmcPopError, OID_HMAC_SHA1, OID_HMAC_SHA256, OID_KMAC_WITH_SHAKE128, OID_SHA256, OID_SHAKE128, computeThePOP, computeWitness, openPopEnvelope,
  type PopRecipient, type RsaDecryptScheme,
} from '../../agent/protocols/cmc/index.js';
import { createPopChallenge, expectedPop, type PopChallengeOptions } from '../../deploy/lab/cmc-pop.js';
import { pyDecode, requirePyasn1 } from '../harness/pydecode.js';

const fixtures = path.resolve(process.cwd(), 'test/fixtures/cmc');

/** Software stand-in for the TPM operations (the integration test uses TPM2_RSA_Decrypt / TPM2_ECDH_ZGen). */
function softwareRecipient(priv: KeyObject, extra: Partial<PopRecipient> = {}): PopRecipient & { calls: string[] } {
  const calls: string[] = [];
  const spki = new Uint8Array(createPublicKey(priv).export({ format: 'der', type: 'spki' }));
  return {
    spki,
    bodyPartID: 1,
    calls,
    decrypt: async (ct: Uint8Array, s: RsaDecryptScheme) => {
      calls.push(s.scheme === 'oaep' ? `oaep-${s.hash}` : s.scheme);
      if (s.scheme === 'raw') return new Uint8Array(privateDecrypt({ key: priv, padding: constants.RSA_NO_PADDING }, ct));
      if (s.scheme === 'rsaes') {
        // node refuses PKCS #1 v1.5 private decryption (CVE-2023-46809); EME-PKCS1-v1_5 decoding (RFC 8017 §7.2.2) by hand
        const em = privateDecrypt({ key: priv, padding: constants.RSA_NO_PADDING }, ct);
        const sep = em.indexOf(0, 2);
        if (em[0] !== 0 || em[1] !== 2 || sep < 10) throw new Error('decryption error');
        return new Uint8Array(em.subarray(sep + 1));
      }
      return new Uint8Array(privateDecrypt({ key: priv, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: s.hash }, ct));
    },
    ecdhZGen: async (peer) => {
      calls.push('ecdh');
      const pub = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: Buffer.from(peer.x).toString('base64url'), y: Buffer.from(peer.y).toString('base64url') }, format: 'jwk' });
      return new Uint8Array(diffieHellman({ privateKey: priv, publicKey: pub }));
    },
    ...extra,
  };
}

test.before(() => {
  requirePyasn1();
});

test('RFC 9690 Appendix C: the RSA-KEM KEMRecipientInfo example opens to "Hello, world!" (raw RSA, KDF3-SHA-256, AES-128-wrap, AES-128-CBC)', async () => {
  const der = new Uint8Array(Buffer.from(readFileSync(path.join(fixtures, 'rfc9690-enveloped-data.b64'), 'utf8'), 'base64'));
  // The RFC labels it "PRIVATE KEY" but the body is a PKCS #1 RSAPrivateKey.
  const pem = readFileSync(path.join(fixtures, 'rfc9690-bob-key.pem'), 'utf8');
  const bob = createPrivateKey({ key: Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64'), format: 'der', type: 'pkcs1' });
  const r = softwareRecipient(bob, { subjectKeyIdentifier: new Uint8Array(Buffer.from('9eeb67c9b95a74d44d2f16396680e801b5cba49c', 'hex')) });
  const out = await openPopEnvelope(der, r);
  assert.is(Buffer.from(out).toString('utf8'), 'Hello, world!');
  assert.equal(r.calls, ['raw'], 'one raw RSA decryption, no padding scheme');
  // Another key's identifier: the recipient is not us.
  const other = softwareRecipient(bob, { subjectKeyIdentifier: new Uint8Array(20), spki: new Uint8Array(createPublicKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey).export({ format: 'der', type: 'spki' })) });
  const e = await openPopEnvelope(der, other).catch((x: unknown) => x);
  assert.ok(e instanceof CmcPopError && e.failure === 'recipient', String(e));
  assert.equal(other.calls, []);
});

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const spkiOf = (k: KeyObject): Uint8Array => new Uint8Array(k.export({ format: 'der', type: 'spki' }));

const FORMS: Array<{ name: string; key: 'rsa' | 'ec'; o: PopChallengeOptions; openssl: boolean; calls: string[] }> = [
  { name: 'ktri RSAES-OAEP-SHA-256, AES-256-CBC, HMAC-SHA256', key: 'rsa', o: {}, openssl: true, calls: ['oaep-sha256'] },
  { name: 'ktri RSAES-OAEP-SHA-1, AES-128-CBC, HMAC-SHA1', key: 'rsa', o: { recipient: 'ktri-oaep-sha1', content: 'aes128-cbc', pop: 'hmac-sha1' }, openssl: true, calls: ['oaep-sha1'] },
  { name: 'ktri RSAES-PKCS1-v1_5, AES-256-CBC, KMAC128', key: 'rsa', o: { recipient: 'ktri-rsaes-pkcs1', pop: 'kmac128' }, openssl: true, calls: ['rsaes'] },
  { name: 'KEMRecipientInfo RSA-KEM KDF3, AES-128-CBC, KmacWithSHAKE128 (Appendix B.4)', key: 'rsa', o: { recipient: 'kem-rsa-kdf3', content: 'aes128-cbc', pop: 'kmac128' }, openssl: false, calls: ['raw'] },
  { name: 'KEMRecipientInfo RSA-KEM HKDF-SHA256, AES-256-CBC, HMAC-SHA256', key: 'rsa', o: { recipient: 'kem-rsa-hkdf' }, openssl: false, calls: ['raw'] },
  { name: 'kari ECDH P-256 X9.63-SHA256, AES-128-CBC, KMAC128', key: 'ec', o: { content: 'aes128-cbc', pop: 'kmac128' }, openssl: true, calls: ['ecdh'] },
  // RFC 10002 §6.7: "cms is an EnvelopedData or AuthEnvelopedData" (RFC 5083, AES-GCM per RFC 5084)
  { name: 'AuthEnvelopedData: ktri RSAES-OAEP-SHA-256, AES-256-GCM, HMAC-SHA256', key: 'rsa', o: { content: 'aes256-gcm' }, openssl: true, calls: ['oaep-sha256'] },
  { name: 'AuthEnvelopedData: KEMRecipientInfo RSA-KEM HKDF-SHA256, AES-128-GCM, KmacWithSHAKE128', key: 'rsa', o: { recipient: 'kem-rsa-hkdf', content: 'aes128-gcm', pop: 'kmac128' }, openssl: false, calls: ['raw'] },
  { name: 'AuthEnvelopedData: kari ECDH P-256, AES-256-GCM, HMAC-SHA256', key: 'ec', o: { content: 'aes256-gcm' }, openssl: true, calls: ['ecdh'] },
  // OpenSSL 3.0 cannot read GCMParameters whose aes-ICVlen is left out (the DER form of the DEFAULT 12): no openssl here.
  { name: 'AuthEnvelopedData: kari ECDH P-256, AES-128-GCM (12-octet ICV), HMAC-SHA1', key: 'ec', o: { content: 'aes128-gcm', pop: 'hmac-sha1' }, openssl: false, calls: ['ecdh'] },
];

test('every lab challenge form: opened by the agent, ktri/kari by openssl cms -decrypt, all decoded by pyasn1; thePOP as the lab recomputes it', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cmc-pop-'));
  try {
    for (const f of FORMS) {
      const kp = f.key === 'rsa' ? rsa : ec;
      const ch = createPopChallenge(spkiOf(kp.publicKey), { ...f.o, bodyPartID: 1 });
      const r = softwareRecipient(kp.privateKey);
      const y = await openPopEnvelope(ch.cms, r);
      assert.equal(y, ch.y, f.name);
      assert.equal(r.calls, f.calls, f.name);
      const wit = asn1Alg(ch.witnessAlgID);
      assert.equal(computeWitness(wit, y), ch.witness, `${f.name}: witness`);
      const popAlg = asn1Alg(ch.thePOPAlgID);
      const request = new Uint8Array(Buffer.from(`request for ${f.name}`));
      assert.equal(computeThePOP(popAlg, y, request), expectedPop(f.o.pop ?? 'hmac-sha256', ch.y, request), `${f.name}: thePOP`);
      // pyasn1 (rfc5652 + RFC 9629 as written out in decode_envelope.py)
      const j = pyDecode('decode_envelope.py', ch.cms);
      const ri = j.recipientInfos[0];
      const gcm = f.o.content?.endsWith('-gcm') ?? false;
      assert.is(j.type, gcm ? 'authEnvelopedData' : 'envelopedData', f.name);
      if (gcm) {
        assert.is(j.version, 0, 'RFC 5083 §2.1: version 0');
        assert.is(j.encryptedContentInfo.cipher, f.o.content === 'aes128-gcm' ? '2.16.840.1.101.3.4.1.6' : '2.16.840.1.101.3.4.1.46');
        assert.is(j.encryptedContentInfo.nonceBytes, 12);
        assert.is(j.encryptedContentInfo.icvLength, f.o.content === 'aes128-gcm' ? 12 : 16, 'RFC 10004 §5.1: the 12-octet ICV (DEFAULT) must work');
        assert.is(j.macBytes, j.encryptedContentInfo.icvLength);
        assert.is(j.encryptedContentInfo.contentBytes, ch.y.byteLength, 'GCM: no padding');
      }
      if (f.o.recipient?.startsWith('kem')) {
        if (!gcm) assert.is(j.version, 3);
        assert.is(ri.type, 'ori');
        assert.is(ri.kemri.kem.oid, '1.0.18033.2.2.4');
        assert.is(ri.kemri.kemctBytes, 256);
        assert.equal(ri.kemri.rid, { issuerRdns: 0, serial: 1 }, 'issuerAndSerialNumber <NULL, bodyPartID> (rfc5272bis §6.7)');
      } else if (f.key === 'ec') {
        assert.is(ri.type, 'kari');
        assert.is(ri.keyEncryptionAlgorithm.oid, '1.3.132.1.11.1');
        assert.is(ri.originatorPointBytes, 65);
      } else {
        assert.is(ri.type, 'ktri');
        assert.equal(ri.rid, { issuerRdns: 0, serial: 1 });
      }
      if (f.openssl) {
        writeFileSync(path.join(dir, 'env.der'), ch.cms);
        writeFileSync(path.join(dir, 'key.pem'), kp.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
        const out = execFileSync('openssl', ['cms', '-decrypt', '-inform', 'DER', '-in', path.join(dir, 'env.der'), '-inkey', path.join(dir, 'key.pem')]);
        assert.equal(new Uint8Array(out), ch.y, `${f.name}: openssl`);
      }
      const printed = execFileSync('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER'], { input: Buffer.from(ch.cms) }).toString();
      assert.match(printed, f.o.content?.endsWith('-gcm') ? /authEnvelopedData/ : /envelopedData/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('AuthEnvelopedData made by openssl cms -encrypt -aes-256-gcm (ktri OAEP-SHA-256, SKI) opens; a changed mac or bad GCMParameters are typed errors', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cmc-aed-'));
  try {
    const key = path.join(dir, 'key.pem');
    writeFileSync(key, rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
    execFileSync('openssl', ['req', '-x509', '-new', '-key', key, '-subj', '/CN=ke', '-days', '1', '-out', path.join(dir, 'cert.pem')]);
    const y = new Uint8Array(48).map((_, i) => i + 1);
    writeFileSync(path.join(dir, 'y'), y);
    const cms = new Uint8Array(execFileSync('openssl', ['cms', '-encrypt', '-binary', '-aes-256-gcm', '-keyid', '-in', path.join(dir, 'y'), '-outform', 'DER', '-recip', path.join(dir, 'cert.pem'), '-keyopt', 'rsa_padding_mode:oaep', '-keyopt', 'rsa_oaep_md:sha256', '-keyopt', 'rsa_mgf1_md:sha256']));
    assert.is(pyDecode('decode_envelope.py', cms).type, 'authEnvelopedData', 'openssl wrote an AuthEnvelopedData');
    const r = softwareRecipient(rsa.privateKey);
    assert.equal(await openPopEnvelope(cms, r), y);
    assert.equal(r.calls, ['oaep-sha256']);
    // The mac is the last OCTET STRING of the DER: change its last byte → the tag does not verify.
    const bad = new Uint8Array(cms);
    bad[bad.length - 1] ^= 1;
    const e = await openPopEnvelope(bad, softwareRecipient(rsa.privateKey)).catch((x: unknown) => x);
    assert.ok(e instanceof CmcPopError && e.failure === 'decrypt' && e.cmcFailInfo === 'popFailed', String(e));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const tagged = createPopChallenge(spkiOf(rsa.publicKey), { content: 'aes128-gcm', tamper: 'gcm-tag', bodyPartID: 1 });
  const e2 = await openPopEnvelope(tagged.cms, softwareRecipient(rsa.privateKey)).catch((x: unknown) => x);
  assert.ok(e2 instanceof CmcPopError && e2.failure === 'decrypt', String(e2));
  // GCMParameters (RFC 5084 §3.2): aes-ICVlen outside 12..16, or missing nonce → malformed
  const asn1js = await import('asn1js');
  const { GCMParameters } = await import('../../agent/protocols/cmc/index.js');
  assert.is(GCMParameters.fromSchema(new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: new Uint8Array(12) })] })).icvLength, 12, 'DEFAULT 12');
  // OpenSSL writes aes-ICVlen even when it is 12 (not DER, accepted)
  assert.is(GCMParameters.fromSchema(new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: new Uint8Array(12) }), new asn1js.Integer({ value: 12 })] })).icvLength, 12);
  assert.throws(() => GCMParameters.fromSchema(new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: new Uint8Array(12) }), new asn1js.Integer({ value: 11 })] })), (x: unknown) => x instanceof CmcPopError && x.failure === 'malformed');
  assert.throws(() => GCMParameters.fromSchema(new asn1js.Sequence({ value: [new asn1js.Integer({ value: 12 })] })), (x: unknown) => x instanceof CmcPopError && x.failure === 'malformed');
});

test('KmacWithSHAKE128 is KMAC128 (SP 800-185, 256-bit output, empty customization) as openssl computes it; keys longer than 64 bytes are truncated', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cmc-kmac-'));
  try {
    for (const len of [32, 64, 80]) {
      const y = new Uint8Array(len).map((_, i) => (i * 7 + 1) & 0xff);
      const data = new Uint8Array(Buffer.from('the certification request DER'));
      writeFileSync(path.join(dir, 'in'), data);
      const key = y.subarray(0, Math.min(64, len));
      const ossl = execFileSync('openssl', ['mac', '-macopt', `hexkey:${Buffer.from(key).toString('hex')}`, '-macopt', 'size:32', '-in', path.join(dir, 'in'), 'KMAC128']).toString().trim();
      assert.is(Buffer.from(computeThePOP({ oid: OID_KMAC_WITH_SHAKE128 }, y, data)).toString('hex').toUpperCase(), ossl.toUpperCase(), `KMAC, ${len}-byte y`);
      const hmac = computeThePOP({ oid: OID_HMAC_SHA256 }, y, data);
      assert.equal(hmac, new Uint8Array(createHmac('sha256', key).update(data).digest()));
      if (len > 64) assert.not.equal(hmac, new Uint8Array(createHmac('sha256', y).update(data).digest()), 'the full 80-byte y is not the key');
    }
    const sha = execFileSync('openssl', ['dgst', '-shake128', '-xoflen', '32', '-hex'], { input: Buffer.from('y') }).toString();
    assert.ok(sha.includes(Buffer.from(computeWitness({ oid: OID_SHAKE128 }, new Uint8Array(Buffer.from('y')))).toString('hex')), sha);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(computeWitness({ oid: OID_SHA256 }, new Uint8Array(0)).byteLength, 32);
  assert.is(computeThePOP({ oid: OID_HMAC_SHA1 }, new Uint8Array(20), new Uint8Array(1)).byteLength, 20);
});

test('bad input: KEM ciphertext of the wrong size, unknown KEM / KDF / POP / witness algorithm, bad KMAC parameters → typed CmcPopError', async () => {
  const spki = spkiOf(rsa.publicKey);
  const fail = async (o: PopChallengeOptions, failure: string, calls: string[] = []): Promise<void> => {
    const r = softwareRecipient(rsa.privateKey);
    const e = await openPopEnvelope(createPopChallenge(spki, { ...o, bodyPartID: 1 }).cms, r).catch((x: unknown) => x);
    assert.ok(e instanceof CmcPopError && e.failure === failure, `${JSON.stringify(o)}: ${String(e)}`);
    assert.equal(r.calls, calls, 'the private key was not used');
  };
  await fail({ recipient: 'kem-rsa-kdf3', tamper: 'kem-ciphertext-size' }, 'kem-ciphertext');
  await fail({ recipient: 'kem-rsa-kdf3', tamper: 'kem-unknown' }, 'unsupported-algorithm');
  await fail({ recipient: 'kem-rsa-kdf3', tamper: 'kdf-unknown' }, 'unsupported-algorithm', ['raw']);
  const pop = (() => {
    try {
      computeThePOP({ oid: '1.3.6.1.4.1.55555.3' }, new Uint8Array(32), new Uint8Array(1));
    } catch (e) {
      return e;
    }
  })();
  assert.ok(pop instanceof CmcPopError && pop.failure === 'unsupported-algorithm' && pop.cmcFailInfo === 'badAlg', String(pop));
  assert.throws(() => computeWitness({ oid: '1.2.3.4' }, new Uint8Array(1)), (e: unknown) => e instanceof CmcPopError && e.failure === 'unsupported-algorithm');
  // KMACwithSHAKE128-params with an absurd output length, and with trailing junk
  assert.throws(() => computeThePOP({ oid: OID_KMAC_WITH_SHAKE128, params: new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x07]) }, new Uint8Array(32), new Uint8Array(1)), (e: unknown) => e instanceof CmcPopError && e.failure === 'malformed');
  assert.throws(() => computeThePOP({ oid: OID_KMAC_WITH_SHAKE128, params: new Uint8Array([0x30, 0x02, 0x05, 0x00]) }, new Uint8Array(32), new Uint8Array(1)), (e: unknown) => e instanceof CmcPopError && e.failure === 'malformed');
  // A truncated envelope
  const e = await openPopEnvelope(createPopChallenge(spki, { bodyPartID: 1 }).cms.subarray(0, 40), softwareRecipient(rsa.privateKey)).catch((x: unknown) => x);
  assert.ok(e instanceof CmcPopError && e.failure === 'malformed', String(e));
  assert.is((e as CmcPopError).cmcFailInfo, 'popFailed');
});

function asn1Alg(seq: { valueBlock: { value: Array<{ valueBlock: { toString(): string } } & { toBER(): ArrayBuffer }> } }): { oid: string; params?: Uint8Array } {
  const [oid, params] = seq.valueBlock.value;
  return { oid: oid!.valueBlock.toString(), ...(params ? { params: new Uint8Array(params.toBER()) } : {}) };
}

test.run();
