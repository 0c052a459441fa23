// ACME request signing (RFC 8555 §6.2, RFC 7515/7518/7638) and the client's handling of bad server answers, with a
// stub Transport (the interface boundary the design names): malformed JSON, problem documents, missing
// Replay-Nonce, wrong content types → typed errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPublicKey, verify } from 'node:crypto';
import { SoftwareSigner } from '../../agent/keystore/software.js';
import { b64u, ecdsaDerToJose, jwkFromSpki, jwkThumbprint, keyAuthorization, signJws } from '../../agent/protocols/acme/jws.js';
import { AcmeClient } from '../../agent/protocols/acme/client.js';
import { AcmeProblemError, AcmeProtocolError } from '../../agent/protocols/acme/errors.js';
import type { Transport, TransportRequest, TransportResponse } from '../../agent/protocols/http/transport.js';

test('RFC 7638 thumbprint: required members only, lexicographic order (independent of the JWK member order)', () => {
  const jwk = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' } as const;
  const reordered = { y: jwk.y, x: jwk.x, kty: jwk.kty, crv: jwk.crv } as unknown as typeof jwk;
  assert.is(jwkThumbprint(jwk), jwkThumbprint(reordered));
  assert.match(jwkThumbprint(jwk), /^[A-Za-z0-9_-]{43}$/);
  assert.is(keyAuthorization('tok', jwk), `tok.${jwkThumbprint(jwk)}`);
});

test('ES256 JWS from a Signer verifies with node:crypto (R||S, protected header with jwk, then kid)', async () => {
  const signer = SoftwareSigner.generate();
  const jws = await signJws(signer, { url: 'https://acme.example/new-acct', nonce: 'n1', payload: { termsOfServiceAgreed: true } });
  const header = JSON.parse(Buffer.from(jws.protected, 'base64url').toString()) as { alg: string; jwk: object; nonce: string; url: string };
  assert.is(header.alg, 'ES256');
  assert.is(header.nonce, 'n1');
  const key = createPublicKey({ key: header.jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
  assert.ok(verify('sha256', Buffer.from(`${jws.protected}.${jws.payload}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(jws.signature, 'base64url')));
  const kid = await signJws(signer, { url: 'https://acme.example/order/1', nonce: 'n2', kid: 'https://acme.example/acct/1', payload: undefined });
  const h2 = JSON.parse(Buffer.from(kid.protected, 'base64url').toString()) as Record<string, unknown>;
  assert.is(h2.kid, 'https://acme.example/acct/1');
  assert.not.ok('jwk' in h2);
  assert.is(kid.payload, '', 'POST-as-GET has an empty payload');
  assert.equal(jwkFromSpki(signer.spki), { kty: 'EC', crv: 'P-256', x: (header.jwk as { x: string }).x, y: (header.jwk as { y: string }).y });
});

test('ecdsaDerToJose: strips the sign byte, left-pads short integers, refuses garbage', () => {
  const r = new Uint8Array(32).fill(0x80);
  const s = new Uint8Array(31).fill(0x01);
  // SEQUENCE { INTEGER 00 80.. (33 bytes), INTEGER 01.. (31 bytes) }
  const der = new Uint8Array([0x30, 2 + 33 + 2 + 31, 0x02, 33, 0x00, ...r, 0x02, 31, ...s]);
  const out = ecdsaDerToJose(der);
  assert.equal(out.subarray(0, 32), r);
  assert.equal(out.subarray(32), new Uint8Array([0, ...s]));
  assert.throws(() => ecdsaDerToJose(new Uint8Array([1, 2, 3])), (e: unknown) => e instanceof AcmeProtocolError);
});

function stub(answers: Array<Partial<TransportResponse> & { status: number }>): Transport & { seen: TransportRequest[] } {
  const seen: TransportRequest[] = [];
  return {
    seen,
    async request(req) {
      seen.push(req);
      const a = answers.shift();
      if (!a) throw new Error('no more stub answers');
      return { headers: {}, body: new Uint8Array(), peerCertificates: [], tlsProtocol: 'TLSv1.3', ...a } as TransportResponse;
    },
  };
}
const json = (v: unknown, type = 'application/json'): Partial<TransportResponse> => ({ headers: { 'content-type': type }, body: new Uint8Array(Buffer.from(JSON.stringify(v))) });
const DIR = { newNonce: 'https://a.example/nonce', newAccount: 'https://a.example/acct', newOrder: 'https://a.example/order' };

test('bad server answers are typed errors: non-JSON directory, directory without URLs, missing Replay-Nonce, problem documents', async () => {
  const signer = SoftwareSigner.generate();
  const notJson = new AcmeClient({ directoryUrl: 'https://a.example/dir', transport: stub([{ status: 200, headers: { 'content-type': 'application/json' }, body: new Uint8Array(Buffer.from('<html>')) }]), signer });
  await notJson.directory().then(() => assert.unreachable(), (e: unknown) => assert.instance(e, AcmeProtocolError));
  const noUrls = new AcmeClient({ directoryUrl: 'https://a.example/dir', transport: stub([{ status: 200, ...json({ newNonce: 'http://insecure.example/' }) }]), signer });
  await noUrls.directory().then(() => assert.unreachable(), (e: unknown) => assert.match(String((e as Error).message), /newNonce\/newAccount\/newOrder/));
  const noNonce = new AcmeClient({ directoryUrl: 'https://a.example/dir', transport: stub([{ status: 200, ...json(DIR) }, { status: 200 }]), signer });
  await noNonce.post(DIR.newAccount, {}).then(() => assert.unreachable(), (e: unknown) => assert.match(String((e as Error).message), /without a Replay-Nonce/));
  const problem = new AcmeClient({
    directoryUrl: 'https://a.example/dir',
    transport: stub([{ status: 200, ...json(DIR) }, { status: 200, headers: { 'replay-nonce': 'abc' } }, { status: 429, ...json({ type: 'urn:ietf:params:acme:error:rateLimited', detail: 'slow down' }, 'application/problem+json'), headers: { 'content-type': 'application/problem+json', 'retry-after': '120' } }]),
    signer,
  });
  const e = await problem.post(DIR.newOrder, {}).then(() => undefined, (x: unknown) => x);
  assert.instance(e, AcmeProblemError);
  assert.is((e as AcmeProblemError).acmeType, 'rateLimited');
  assert.is((e as AcmeProblemError).retryAfterSeconds, 120);
  assert.is((e as AcmeProblemError).code, 'acme.problem.rateLimited');
  const garbage = new AcmeClient({
    directoryUrl: 'https://a.example/dir',
    transport: stub([{ status: 200, ...json(DIR) }, { status: 200, headers: { 'replay-nonce': 'abc' } }, { status: 500, headers: { 'content-type': 'application/problem+json' }, body: new Uint8Array(Buffer.from('{not json')) }]),
    signer,
  });
  await garbage.post(DIR.newOrder, {}).then(() => assert.unreachable(), (x: unknown) => assert.instance(x, AcmeProtocolError));
  assert.is(b64u('hi'), 'aGk');
});

test.run();
