// EST attestation-freshness nonce codec, draft-ietf-lamps-attestation-freshness-08 §4 (CDDL) and §6.1 (EST over
// HTTPS). Transport-free: the EST client and the lab server both use it. See constants.ts for how -08 differs from
// the -06 array/hint/RFC 3339 format.
import { EnrolldError } from '../util/errors.js';
import { MEDIA_TYPE_NONCE_JSON, NONCE_MAX_BYTES, NONCE_MIN_BYTES } from './constants.js';

export type NonceErrorCode =
  | 'nonce.malformed-json' // body is not JSON
  | 'nonce.not-object' // JSON, but not one object (e.g. the -06 array form)
  | 'nonce.missing-field' // a required member is absent
  | 'nonce.bad-field' // a member has the wrong JSON type or an unusable value (e.g. expiry as a timestamp string)
  | 'nonce.unknown-field' // (requests only) a member the CDDL does not define
  | 'nonce.bad-len' // (requests only) len not an integer in 8..64
  | 'nonce.bad-encoding' // nonce not canonical unpadded base64url
  | 'nonce.bad-length' // decoded nonce not 8..64 bytes
  | 'nonce.too-short' // decoded nonce shorter than the requested len
  | 'nonce.expired' // expiry says the nonce is already unusable
  | 'nonce.type-mismatch'; // respTypeInfo present without a requested type, or not the expected response type

/** A nonce message that breaks the protocol; `field` names the JSON member when there is one. */
export class NonceProtocolError extends EnrolldError {
  declare readonly code: NonceErrorCode;
  readonly field: string | undefined;
  constructor(code: NonceErrorCode, message: string, field?: string) {
    super(code, message);
    this.field = field;
  }
}

/** What an EST client asks for (all optional). */
export interface NonceRequestParams {
  /** Wanted nonce length in bytes, 8..64. */
  len?: number;
  /** Dotted OID of the nonce-request type (reqTypeInfo.type), e.g. the attestation statement type. */
  type?: string;
  /** Type-specific request information (reqTypeInfo.reqInfo); only with `type`. */
  reqInfo?: unknown;
}

/** What the server answers. */
export interface NonceResponseParams {
  /** 8..64 bytes, or empty when no freshness proof is needed. */
  nonce: Uint8Array;
  /** Validity in seconds. */
  expirySeconds?: number;
  /** respTypeInfo.type */
  type?: string;
  /** respTypeInfo.respInfo; only with `type`. */
  respInfo?: unknown;
}

/** A nonce as the client received it. */
export interface ReceivedNonce {
  nonce: Uint8Array;
  /** False when the server sent "" (no freshness proof required). */
  freshnessRequired: boolean;
  receivedAt: Date;
  /** receivedAt + expiry seconds; null when the server gave no expiry. */
  expiry: Date | null;
  expirySeconds: number | null;
  /** respTypeInfo.type, if any. */
  type?: string;
  respInfo?: unknown;
}

const OID_RE = /^[0-2](\.(0|[1-9]\d*))+$/;
const B64URL_RE = /^[A-Za-z0-9_-]*$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isLen(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= NONCE_MIN_BYTES && v <= NONCE_MAX_BYTES;
}

/** Unpadded base64url (RFC 4648 §5) of bytes. */
export function encodeBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** Strict unpadded base64url decode: only the URL-safe alphabet, no padding, canonical trailing bits. */
export function decodeBase64urlStrict(s: string): Uint8Array | undefined {
  if (!B64URL_RE.test(s) || s.length % 4 === 1) return undefined;
  const bytes = new Uint8Array(Buffer.from(s, 'base64url'));
  return encodeBase64url(bytes) === s ? bytes : undefined;
}

function checkRequestParams(req: NonceRequestParams): void {
  if (req.len !== undefined && !isLen(req.len)) throw new NonceProtocolError('nonce.bad-len', `len must be an integer ${NONCE_MIN_BYTES}..${NONCE_MAX_BYTES}, got ${req.len}`, 'len');
  if (req.type !== undefined && (typeof req.type !== 'string' || !OID_RE.test(req.type))) throw new NonceProtocolError('nonce.bad-field', `type must be a dotted-decimal OID, got ${String(req.type)}`, 'reqTypeInfo.type');
  if (req.reqInfo !== undefined && req.type === undefined) throw new NonceProtocolError('nonce.missing-field', 'reqInfo needs a type', 'reqTypeInfo.type');
}

/** The JSON request object (freshness-08 `nonce-request`); "{}" when nothing is asked for. */
export function buildNonceRequest(req: NonceRequestParams = {}): string {
  checkRequestParams(req);
  const o: Record<string, unknown> = {};
  if (req.len !== undefined) o.len = req.len;
  if (req.type !== undefined) o.reqTypeInfo = req.reqInfo === undefined ? { type: req.type } : { type: req.type, reqInfo: req.reqInfo };
  return JSON.stringify(o);
}

/** How to send the request: GET when there is no content (freshness-08 §6 "MUST"), else POST with the JSON body. */
export function nonceHttpRequest(req: NonceRequestParams = {}): { method: 'GET' } | { method: 'POST'; contentType: string; body: string } {
  checkRequestParams(req);
  if (req.len === undefined && req.type === undefined) return { method: 'GET' };
  return { method: 'POST', contentType: MEDIA_TYPE_NONCE_JSON, body: buildNonceRequest(req) };
}

function parseJsonObject(body: string, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch (e) {
    throw new NonceProtocolError('nonce.malformed-json', `${what} is not JSON: ${(e as Error).message}`);
  }
  if (Array.isArray(v)) throw new NonceProtocolError('nonce.not-object', `${what} is a JSON array (the draft-06 form); -08 uses one object`);
  if (!isPlainObject(v)) throw new NonceProtocolError('nonce.not-object', `${what} is not a JSON object`);
  return v;
}

function parseTypeInfo(v: unknown, member: 'reqTypeInfo' | 'respTypeInfo', strict: boolean): { type: string; info?: unknown } {
  const infoKey = member === 'reqTypeInfo' ? 'reqInfo' : 'respInfo';
  if (!isPlainObject(v)) throw new NonceProtocolError('nonce.bad-field', `${member} must be an object`, member);
  if (!('type' in v)) throw new NonceProtocolError('nonce.missing-field', `${member}.type is missing`, `${member}.type`);
  if (typeof v.type !== 'string' || !OID_RE.test(v.type)) throw new NonceProtocolError('nonce.bad-field', `${member}.type must be a dotted-decimal OID`, `${member}.type`);
  if (strict) {
    for (const k of Object.keys(v)) if (k !== 'type' && k !== infoKey) throw new NonceProtocolError('nonce.unknown-field', `${member}.${k} is not defined`, `${member}.${k}`);
  }
  return infoKey in v ? { type: v.type, info: v[infoKey] } : { type: v.type };
}

/**
 * Server side: parses a request body. `undefined`/empty (a GET) is the empty request. Strict: unknown members,
 * the -06 array form and out-of-range len are refused (the server answers 400).
 */
export function parseNonceRequest(body: string | undefined | null): NonceRequestParams {
  if (body === undefined || body === null || body.trim() === '') return {};
  const o = parseJsonObject(body, 'nonce request');
  for (const k of Object.keys(o)) {
    if (k !== 'len' && k !== 'reqTypeInfo') throw new NonceProtocolError('nonce.unknown-field', `member "${k}" is not defined in a nonce request`, k);
  }
  const out: NonceRequestParams = {};
  if ('len' in o) {
    if (!isLen(o.len)) throw new NonceProtocolError('nonce.bad-len', `len must be an integer ${NONCE_MIN_BYTES}..${NONCE_MAX_BYTES}`, 'len');
    out.len = o.len;
  }
  if ('reqTypeInfo' in o) {
    const t = parseTypeInfo(o.reqTypeInfo, 'reqTypeInfo', true);
    out.type = t.type;
    if ('info' in t) out.reqInfo = t.info;
  }
  return out;
}

/** Server side: the JSON response object (freshness-08 `nonce-response-json`). */
export function buildNonceResponse(resp: NonceResponseParams): string {
  const n = resp.nonce.byteLength;
  if (n !== 0 && (n < NONCE_MIN_BYTES || n > NONCE_MAX_BYTES)) throw new NonceProtocolError('nonce.bad-length', `nonce must be 0 or ${NONCE_MIN_BYTES}..${NONCE_MAX_BYTES} bytes, got ${n}`, 'nonce');
  const o: Record<string, unknown> = { nonce: encodeBase64url(resp.nonce) };
  if (resp.expirySeconds !== undefined) {
    if (!Number.isSafeInteger(resp.expirySeconds) || resp.expirySeconds < 0) throw new NonceProtocolError('nonce.bad-field', 'expiry must be a non-negative integer', 'expiry');
    o.expiry = resp.expirySeconds;
  }
  if (resp.type !== undefined) {
    if (!OID_RE.test(resp.type)) throw new NonceProtocolError('nonce.bad-field', 'respTypeInfo.type must be a dotted-decimal OID', 'respTypeInfo.type');
    o.respTypeInfo = resp.respInfo === undefined ? { type: resp.type } : { type: resp.type, respInfo: resp.respInfo };
  } else if (resp.respInfo !== undefined) {
    throw new NonceProtocolError('nonce.missing-field', 'respInfo needs a type', 'respTypeInfo.type');
  }
  return JSON.stringify(o);
}

export interface ParseNonceResponseOptions {
  /**
   * The respTypeInfo.type the requested type maps to. When set, the response must carry exactly this type.
   * When unset, any respTypeInfo is accepted if a type was requested (the mapping is type-specific).
   */
  expectedRespType?: string;
}

/**
 * Client side: validates a 200 response body against the request it answers. Unknown top-level members are
 * ignored (forward compatibility); everything the draft defines is checked, each failure a NonceProtocolError.
 */
export function parseNonceResponse(body: string, request: NonceRequestParams, now: Date, options: ParseNonceResponseOptions = {}): ReceivedNonce {
  if (typeof body !== 'string') throw new NonceProtocolError('nonce.malformed-json', 'nonce response body is not text');
  const o = parseJsonObject(body, 'nonce response');

  if (!('nonce' in o)) throw new NonceProtocolError('nonce.missing-field', 'nonce response has no "nonce"', 'nonce');
  if (typeof o.nonce !== 'string') throw new NonceProtocolError('nonce.bad-field', '"nonce" must be a string', 'nonce');
  const nonce = decodeBase64urlStrict(o.nonce);
  if (!nonce) throw new NonceProtocolError('nonce.bad-encoding', '"nonce" is not canonical unpadded base64url', 'nonce');
  const freshnessRequired = nonce.byteLength > 0;
  if (freshnessRequired) {
    if (nonce.byteLength < NONCE_MIN_BYTES || nonce.byteLength > NONCE_MAX_BYTES) throw new NonceProtocolError('nonce.bad-length', `nonce is ${nonce.byteLength} bytes, not ${NONCE_MIN_BYTES}..${NONCE_MAX_BYTES}`, 'nonce');
    if (request.len !== undefined && nonce.byteLength < request.len) throw new NonceProtocolError('nonce.too-short', `nonce is ${nonce.byteLength} bytes, ${request.len} were requested`, 'nonce');
  }

  let expirySeconds: number | null = null;
  if ('expiry' in o) {
    if (typeof o.expiry !== 'number' || !Number.isSafeInteger(o.expiry) || o.expiry < 0) {
      throw new NonceProtocolError('nonce.bad-field', `"expiry" must be a non-negative integer number of seconds${typeof o.expiry === 'string' ? ' (a timestamp string is the draft-06 form)' : ''}`, 'expiry');
    }
    expirySeconds = o.expiry;
  }
  const expiry = expirySeconds === null ? null : new Date(now.getTime() + expirySeconds * 1000);
  if (freshnessRequired && expiry !== null && expiry.getTime() <= now.getTime()) throw new NonceProtocolError('nonce.expired', 'nonce expiry is 0 seconds: already expired', 'expiry');

  const out: ReceivedNonce = { nonce, freshnessRequired, receivedAt: new Date(now.getTime()), expiry, expirySeconds };
  if ('respTypeInfo' in o) {
    const t = parseTypeInfo(o.respTypeInfo, 'respTypeInfo', false);
    if (request.type === undefined) throw new NonceProtocolError('nonce.type-mismatch', `respTypeInfo.type ${t.type} answers a request that named no type`, 'respTypeInfo.type');
    if (options.expectedRespType !== undefined && t.type !== options.expectedRespType) {
      throw new NonceProtocolError('nonce.type-mismatch', `respTypeInfo.type is ${t.type}, expected ${options.expectedRespType}`, 'respTypeInfo.type');
    }
    out.type = t.type;
    if ('info' in t) out.respInfo = t.info;
  } else if (options.expectedRespType !== undefined) {
    throw new NonceProtocolError('nonce.type-mismatch', `no respTypeInfo, expected type ${options.expectedRespType}`, 'respTypeInfo');
  }
  return out;
}

/** A nonce without an expiry is trusted for this long after receipt. */
export const DEFAULT_MAX_AGE_WITHOUT_EXPIRY_MS = 5 * 60_000;

/**
 * True when `n` can still be put into evidence at `now`, keeping `marginMs` in hand for producing the evidence
 * and sending the CSR: expiry - margin must be in the future (or, without expiry, receipt + maxAge - margin).
 * A "no freshness required" answer is usable under the same time rule.
 */
export function isUsable(n: ReceivedNonce, now: Date, marginMs = 0, maxAgeWithoutExpiryMs = DEFAULT_MAX_AGE_WITHOUT_EXPIRY_MS): boolean {
  if (now.getTime() < n.receivedAt.getTime() - 60_000) return false; // clock went backwards a lot: don't trust it
  const deadline = effectiveExpiry(n, maxAgeWithoutExpiryMs).getTime();
  return now.getTime() + Math.max(0, marginMs) < deadline;
}

/** The moment `n` stops being usable: its expiry, or receipt + maxAge when the server gave none. */
export function effectiveExpiry(n: ReceivedNonce, maxAgeWithoutExpiryMs = DEFAULT_MAX_AGE_WITHOUT_EXPIRY_MS): Date {
  return n.expiry ?? new Date(n.receivedAt.getTime() + maxAgeWithoutExpiryMs);
}

/**
 * Holds received nonces by key (usually the requested type, '' for none) until they are used. `take` hands a
 * nonce out once (nonces are single-use) and drops unusable ones.
 */
export class NonceCache {
  private readonly entries = new Map<string, ReceivedNonce>();
  constructor(private readonly maxAgeWithoutExpiryMs = DEFAULT_MAX_AGE_WITHOUT_EXPIRY_MS) {}

  put(key: string, n: ReceivedNonce): void {
    this.entries.set(key, n);
  }

  /** The cached nonce if usable at `now` with `marginMs` to spare, without removing it. */
  peek(key: string, now: Date, marginMs = 0): ReceivedNonce | undefined {
    const n = this.entries.get(key);
    if (n && !isUsable(n, now, marginMs, this.maxAgeWithoutExpiryMs)) {
      this.entries.delete(key);
      return undefined;
    }
    return n;
  }

  /** Removes and returns the nonce for `key` if usable; a nonce is never handed out twice. */
  take(key: string, now: Date, marginMs = 0): ReceivedNonce | undefined {
    const n = this.peek(key, now, marginMs);
    this.entries.delete(key);
    return n;
  }

  /** Drops every unusable entry; returns how many remain. */
  prune(now: Date): number {
    for (const [k, n] of this.entries) if (!isUsable(n, now, 0, this.maxAgeWithoutExpiryMs)) this.entries.delete(k);
    return this.entries.size;
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}
