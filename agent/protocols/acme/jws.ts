// RFC 8555 §6.2 request signing: flattened JWS (RFC 7515 §7.2.2) with the account key held by the KeyStore (the
// TPM), JWK (RFC 7517) of its public key, and the JWK thumbprint (RFC 7638) used in key authorizations (§8.1).
import { createHash, createPublicKey } from 'node:crypto';
import * as asn1js from 'asn1js';
import type { Signer } from '../../pki/signer.js';
import { AcmeProtocolError } from './errors.js';

export type Jwk = { kty: 'EC'; crv: 'P-256'; x: string; y: string } | { kty: 'RSA'; n: string; e: string };

export const b64u = (b: Uint8Array | string): string => Buffer.from(typeof b === 'string' ? Buffer.from(b, 'utf8') : b).toString('base64url');

/** The public JWK of a DER SubjectPublicKeyInfo (only the members RFC 7638 hashes). */
export function jwkFromSpki(spki: Uint8Array): Jwk {
  const j = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({ format: 'jwk' }) as Record<string, string>;
  if (j.kty === 'EC' && j.crv === 'P-256') return { kty: 'EC', crv: 'P-256', x: j.x!, y: j.y! };
  if (j.kty === 'RSA') return { kty: 'RSA', n: j.n!, e: j.e! };
  throw new AcmeProtocolError(`account key type ${j.kty}/${j.crv ?? ''} is not supported (P-256 or RSA)`);
}

/** RFC 7638 §3: SHA-256 over the required members in lexicographic order, no whitespace. */
export function jwkThumbprint(jwk: Jwk): string {
  const canonical = jwk.kty === 'EC' ? JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }) : JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n });
  return createHash('sha256').update(canonical).digest('base64url');
}

/** RFC 8555 §8.1: keyAuthorization = token || '.' || base64url(Thumbprint(accountKey)). */
export function keyAuthorization(token: string, jwk: Jwk): string {
  return `${token}.${jwkThumbprint(jwk)}`;
}

/** RFC 7518 §3.4: ES256 signatures are R || S (32 bytes each), not the DER ECDSA-Sig-Value a Signer returns. */
export function ecdsaDerToJose(der: Uint8Array, size = 32): Uint8Array {
  const parsed = asn1js.fromBER(der);
  const seq = parsed.result;
  if (parsed.offset === -1 || !(seq instanceof asn1js.Sequence) || seq.valueBlock.value.length !== 2) throw new AcmeProtocolError('signer returned a malformed ECDSA signature');
  const out = new Uint8Array(2 * size);
  seq.valueBlock.value.forEach((n, i) => {
    if (!(n instanceof asn1js.Integer)) throw new AcmeProtocolError('signer returned a malformed ECDSA signature');
    let v = new Uint8Array(n.valueBlock.valueHexView);
    while (v.length > size && v[0] === 0) v = v.subarray(1);
    if (v.length > size) throw new AcmeProtocolError('ECDSA signature integer too long');
    out.set(v, i * size + size - v.length);
  });
  return out;
}

export interface FlattenedJws {
  protected: string;
  payload: string;
  signature: string;
}

/**
 * Signs one ACME request. `payload` undefined is POST-as-GET (§6.3: empty payload); `kid` is the account URL once
 * the account exists, otherwise the JWK is embedded (newAccount, §6.2).
 */
export async function signJws(signer: Signer, o: { url: string; nonce: string; kid?: string; payload: unknown }): Promise<FlattenedJws> {
  const alg = signer.algorithm === 'ecc-p256' ? 'ES256' : 'RS256';
  const header = { alg, nonce: o.nonce, url: o.url, ...(o.kid ? { kid: o.kid } : { jwk: jwkFromSpki(signer.spki) }) };
  const protectedB64 = b64u(JSON.stringify(header));
  // A Uint8Array is sent as is (a remote-attest-01 CMW or JWE is the payload byte for byte), anything else as JSON.
  const payloadB64 = o.payload === undefined ? '' : o.payload instanceof Uint8Array ? b64u(o.payload) : b64u(JSON.stringify(o.payload));
  const sig = await signer.sign(new Uint8Array(Buffer.from(`${protectedB64}.${payloadB64}`, 'ascii')));
  return { protected: protectedB64, payload: payloadB64, signature: b64u(alg === 'ES256' ? ecdsaDerToJose(sig) : sig) };
}
