// The remote-attest-01 challenge (draft-ietf-acme-rats-01, unchanged in -02 §2.2): the challenge's freshness_nonce becomes the TPM
// qualifyingData, the answer is a JSON CMW record (draft-ietf-rats-msg-wrap-23), JWE-encrypted (RFC 7516, `jose`)
// to the verifierEncryptionCredential when the challenge names one. Everything here that can be refused is checked
// before any evidence is built, so a refusal never costs a TPM2_Certify and never sends evidence in the clear.
import { X509Certificate } from 'node:crypto';
import { CompactEncrypt, importJWK, type JWK } from 'jose';
import { EnrolldError } from '../../util/errors.js';
import { CMW_ATTESTATION_BUNDLE, CMW_IND_EVIDENCE, CMW_JSON, FRESHNESS_NONCE_MAX_BYTES, JWE_ALG_ECDH, JWE_ALG_RSA, JWE_ENC } from './constants.js';
import { b64u } from './jws.js';

export type AcmeRatsErrorCode = 'acme.rats.freshness-nonce' | 'acme.rats.encryption-credential';

/** A remote-attest-01 challenge the agent will not answer. Not permanent: the next order brings a new challenge. */
export class AcmeRatsError extends EnrolldError {
  readonly permanent = false;
  constructor(code: AcmeRatsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** freshness_nonce (required): unpadded base64url, 1..64 bytes decoded (TPM2B_DATA). */
export function freshnessNonce(challenge: Record<string, unknown>): Uint8Array {
  const n = challenge.freshness_nonce;
  if (n === undefined) throw new AcmeRatsError('acme.rats.freshness-nonce', 'the remote-attest-01 challenge has no freshness_nonce (required by draft-ietf-acme-rats-01); evidence without the server\'s nonce would not be fresh');
  if (typeof n !== 'string' || !/^[A-Za-z0-9_-]+$/.test(n) || n.length % 4 === 1) throw new AcmeRatsError('acme.rats.freshness-nonce', 'freshness_nonce is not an unpadded base64url string');
  const bytes = new Uint8Array(Buffer.from(n, 'base64url'));
  if (bytes.length === 0 || bytes.length > FRESHNESS_NONCE_MAX_BYTES) throw new AcmeRatsError('acme.rats.freshness-nonce', `freshness_nonce decodes to ${bytes.length} bytes; TPM qualifyingData holds 1..${FRESHNESS_NONCE_MAX_BYTES}`);
  return bytes;
}

/** A public JWE recipient key: its JWK (public members only) and the key-management algorithm used with it. */
export interface JweRecipient {
  jwk: JWK;
  alg: string;
}

const EC_CURVES = new Set(['P-256', 'P-384', 'P-521']);
const ECDH_ALGS = new Set(['ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A192KW', 'ECDH-ES+A256KW']);
const RSA_ALGS = new Set(['RSA-OAEP-256', 'RSA-OAEP']);

/** Checks a verifierEncryptionCredential JWK (RFC 7517) for a key the agent can encrypt to. */
export function jweRecipient(v: unknown): JweRecipient {
  const bad = (why: string): never => {
    throw new AcmeRatsError('acme.rats.encryption-credential', `verifierEncryptionCredential: ${why}; the evidence is not sent`);
  };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad('not a JWK object');
  const j = v as Record<string, unknown>;
  const s = (k: string): string => (typeof j[k] === 'string' && (j[k] as string).length > 0 ? (j[k] as string) : bad(`"${k}" missing`));
  if (j.use !== undefined && j.use !== 'enc') bad(`"use" is ${String(j.use)}, not "enc"`);
  let jwk: JWK;
  let allowed: Set<string>;
  let alg: string;
  if (j.kty === 'RSA') {
    jwk = { kty: 'RSA', n: s('n'), e: s('e') };
    if (Buffer.from(jwk.n!, 'base64url').length < 256) bad('RSA modulus shorter than 2048 bits');
    [allowed, alg] = [RSA_ALGS, JWE_ALG_RSA];
  } else if (j.kty === 'EC' && EC_CURVES.has(String(j.crv))) {
    jwk = { kty: 'EC', crv: String(j.crv), x: s('x'), y: s('y') };
    [allowed, alg] = [ECDH_ALGS, JWE_ALG_ECDH];
  } else if (j.kty === 'OKP' && j.crv === 'X25519') {
    jwk = { kty: 'OKP', crv: 'X25519', x: s('x') };
    [allowed, alg] = [ECDH_ALGS, JWE_ALG_ECDH];
  } else {
    return bad(`unsupported key type ${String(j.kty)}${j.crv !== undefined ? `/${String(j.crv)}` : ''} (supported: RSA, EC P-256/P-384/P-521, OKP X25519)`);
  }
  if (j.alg !== undefined) {
    if (typeof j.alg !== 'string' || !allowed.has(j.alg)) bad(`"alg" ${String(j.alg)} is not usable with a ${String(j.kty)} key (supported: ${[...allowed].join(', ')})`);
    alg = j.alg as string;
  }
  if (typeof j.kid === 'string') jwk.kid = j.kid;
  return { jwk, alg };
}

/** The credential as a PEM X.509 certificate (the draft's "MAY be … a DER or PEM encoded X.509 certificate"): its key. */
export function jweRecipientFromCertificate(pem: string): JweRecipient {
  let jwk: unknown;
  try {
    jwk = new X509Certificate(pem).publicKey.export({ format: 'jwk' });
  } catch (cause) {
    throw new AcmeRatsError('acme.rats.encryption-credential', `verifierEncryptionCredential is not a usable PEM certificate: ${(cause as Error).message}; the evidence is not sent`, { cause });
  }
  return jweRecipient(jwk);
}

/** msg-wrap-23 json-record: [media type, base64url(value), ind = evidence]. */
export function cmwJsonRecord(bundleDer: Uint8Array): [string, string, number] {
  return [CMW_ATTESTATION_BUNDLE, b64u(bundleDer), CMW_IND_EVIDENCE];
}

/** The JWS payload answering the challenge: the JSON CMW itself, or its compact JWE (cty application/cmw+json). */
export async function challengeResponse(bundleDer: Uint8Array, recipient?: JweRecipient): Promise<Uint8Array> {
  const cmw = new Uint8Array(Buffer.from(JSON.stringify(cmwJsonRecord(bundleDer)), 'utf8'));
  if (!recipient) return cmw;
  let key: Awaited<ReturnType<typeof importJWK>>;
  try {
    key = await importJWK(recipient.jwk, recipient.alg);
  } catch (cause) {
    throw new AcmeRatsError('acme.rats.encryption-credential', `verifierEncryptionCredential does not import: ${(cause as Error).message}; the evidence is not sent`, { cause });
  }
  const header = { alg: recipient.alg, enc: JWE_ENC, cty: CMW_JSON, ...(recipient.jwk.kid ? { kid: recipient.jwk.kid } : {}) };
  try {
    return new Uint8Array(Buffer.from(await new CompactEncrypt(cmw).setProtectedHeader(header).encrypt(key), 'ascii'));
  } catch (cause) {
    throw new AcmeRatsError('acme.rats.encryption-credential', `JWE encryption to the verifierEncryptionCredential failed: ${(cause as Error).message}; the evidence is not sent`, { cause });
  }
}
