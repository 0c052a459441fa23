// The lab server's attestation-freshness nonce logic (draft-ietf-lamps-attestation-freshness-08), without HTTP:
// the lab server wires handleRequest() to GET/POST /.well-known/est/nonce and calls consume() when a CSR's
// evidence carries a nonce. Nonces are random, single use, expire after a TTL, and outstanding state is bounded
// (freshness-08 §9: unique, never reused, bounded outstanding state, short lifetimes). A nonce is bound to what it
// was issued on (§6.1 EST: the TLS session or an HTTP cookie, and the client identity; §5 CMP and §7 CMC: the
// transaction identifier) and refused on any other request.
import { createHash, randomBytes } from 'node:crypto';
import type { LabRequest } from './router.js';

/** freshness-08 §6.1 media type of the JSON nonce request/response. */
export const MEDIA_TYPE_NONCE_JSON = 'application/est-attestation-freshness+json';
/** freshness-08 §3.1 / §4: a nonce is 8..64 bytes. */
export const NONCE_MIN_BYTES = 8;
export const NONCE_MAX_BYTES = 64;
/** TCG tcg-attest-tpm-certify (2.23.133.20.1), the attestation statement type the lab asks nonces for. */
export const OID_TCG_ATTEST_TPM_CERTIFY = '2.23.133.20.1';

// --- freshness-08 §4 CDDL, JSON form:
//   nonce-request = { ? len: uint .ge 8 .le 64, ? reqTypeInfo: { type: oid, ? reqInfo: any } }
//   nonce-response-json = { nonce: base64url-text, ? expiry: uint, ? respTypeInfo: { type: oid, ? respInfo: any } }

const OID_RE = /^[0-2](\.(0|[1-9]\d*))+$/;

/** A request that breaks freshness-08 §4 (the lab answers 400 with the code). */
class NonceRequestRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface NonceRequestFields {
  len?: number;
  type?: string;
  reqInfo?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isLen = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= NONCE_MIN_BYTES && v <= NONCE_MAX_BYTES;

/** Unpadded base64url (RFC 4648 §5). */
export const base64url = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');

/** A GET (no body) is the empty request; members the CDDL does not define are refused. */
function readNonceRequest(body: string | undefined): NonceRequestFields {
  if (body === undefined || body.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch (e) {
    throw new NonceRequestRefused('nonce.malformed-json', `nonce request is not JSON: ${(e as Error).message}`);
  }
  if (!isObject(v)) throw new NonceRequestRefused('nonce.not-object', Array.isArray(v) ? 'nonce request is a JSON array (the draft-06 form); -08 uses one object' : 'nonce request is not a JSON object');
  const out: NonceRequestFields = {};
  for (const k of Object.keys(v)) if (k !== 'len' && k !== 'reqTypeInfo') throw new NonceRequestRefused('nonce.unknown-field', `member "${k}" is not defined in a nonce request`);
  if ('len' in v) {
    if (!isLen(v.len)) throw new NonceRequestRefused('nonce.bad-len', `len must be an integer ${NONCE_MIN_BYTES}..${NONCE_MAX_BYTES}`);
    out.len = v.len;
  }
  if ('reqTypeInfo' in v) {
    const t = v.reqTypeInfo;
    if (!isObject(t)) throw new NonceRequestRefused('nonce.bad-field', 'reqTypeInfo must be an object');
    if (!('type' in t)) throw new NonceRequestRefused('nonce.missing-field', 'reqTypeInfo.type is missing');
    if (typeof t.type !== 'string' || !OID_RE.test(t.type)) throw new NonceRequestRefused('nonce.bad-field', 'reqTypeInfo.type must be a dotted-decimal OID');
    for (const k of Object.keys(t)) if (k !== 'type' && k !== 'reqInfo') throw new NonceRequestRefused('nonce.unknown-field', `reqTypeInfo.${k} is not defined`);
    out.type = t.type;
    if ('reqInfo' in t) out.reqInfo = t.reqInfo;
  }
  return out;
}

function nonceResponseJson(r: { nonce: Uint8Array; expirySeconds?: number; type?: string; respInfo?: unknown }): string {
  const o: Record<string, unknown> = { nonce: base64url(r.nonce) };
  if (r.expirySeconds !== undefined) o.expiry = r.expirySeconds;
  if (r.type !== undefined) o.respTypeInfo = r.respInfo === undefined ? { type: r.type } : { type: r.type, respInfo: r.respInfo };
  return JSON.stringify(o);
}

/** How the service treats one requested type (reqTypeInfo.type). */
export interface NonceTypePolicy {
  /** respTypeInfo.type to answer with; no respTypeInfo when unset. */
  responseType?: string;
  /** Accepts a reqInfo for this type; without it any reqInfo is a 400. */
  acceptReqInfo?: (reqInfo: unknown) => boolean;
  /** respInfo to return (only with responseType). */
  respInfo?: (reqInfo: unknown) => unknown;
}

export interface NonceServiceOptions {
  /** Validity of an issued nonce in seconds (default 300). */
  ttlSeconds?: number;
  /** Most nonces remembered at once, outstanding and recently consumed (default 1024). */
  maxOutstanding?: number;
  /** Length used when the request has no len (default 32). */
  defaultLen?: number;
  /** Supported request types (default: tcg-attest-tpm-certify with no type-specific info). */
  types?: Record<string, NonceTypePolicy>;
  /** When false, answers "" (no freshness proof required) and keeps no state. Default true. */
  freshnessRequired?: boolean;
  /** Randomness source (tests inject a deterministic one). */
  random?: (n: number) => Uint8Array;
}

export interface IssuedNonce {
  nonce: Uint8Array;
  issuedAt: Date;
  expiresAt: Date;
  ttlSeconds: number;
  type?: string;
}

export type ConsumeResult = 'ok' | 'unknown' | 'expired' | 'replayed' | 'wrong-type' | 'other-session';

/** What a nonce is bound to. At redemption the identity must be the same and one of the other members must match. */
export interface NonceBinding {
  /** The authenticated client: its TLS client certificate, else its Basic user-id. */
  identity?: string;
  /** The TLS connection (keep-alive) the nonce was issued on. */
  connection?: number;
  /** The HTTP state cookie (RFC 6265) the nonce was issued under. */
  cookie?: string;
  /** CMP transactionID / CMC transactionId, hex. */
  transaction?: string;
}

/** The cookie the lab's EST /nonce sets to bind a nonce to the CSR request that follows (freshness-08 §6.1). */
export const NONCE_SESSION_COOKIE = 'est-nonce-session';

function requestCookie(req: Pick<LabRequest, 'headers'>, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The authenticated client of an EST request: the TLS client certificate, else the Basic user-id. */
function clientIdentity(req: Pick<LabRequest, 'headers' | 'tls'>): string | undefined {
  const leaf = req.tls.peerChain[0];
  if (leaf) return 'cert:' + createHash('sha256').update(leaf).digest('hex');
  const m = /^Basic\s+(\S+)/i.exec(String(req.headers.authorization ?? ''));
  if (!m) return undefined;
  const user = Buffer.from(m[1]!, 'base64').toString('utf8').split(':')[0];
  return user ? 'basic:' + user : undefined;
}

/** The binding of an EST request: client identity, TLS connection and the nonce-session cookie it carries. */
export function estNonceBinding(req: Pick<LabRequest, 'headers' | 'tls'>, cookie = requestCookie(req, NONCE_SESSION_COOKIE)): NonceBinding {
  const identity = clientIdentity(req);
  return { ...(identity ? { identity } : {}), ...(req.tls.connectionId !== undefined ? { connection: req.tls.connectionId } : {}), ...(cookie ? { cookie } : {}) };
}

/** True when a redemption on `at` may use a nonce issued on `issued`. */
export function bindingMatches(issued: NonceBinding, at: NonceBinding): boolean {
  if (issued.identity !== at.identity) return false;
  const same = (k: 'connection' | 'cookie' | 'transaction'): boolean => issued[k] !== undefined && issued[k] === at[k];
  return same('connection') || same('cookie') || same('transaction');
}

export type NonceServiceErrorCode = 'nonce-service.bad-len' | 'nonce-service.unknown-type' | 'nonce-service.bad-req-info' | 'nonce-service.full';

export class NonceServiceError extends Error {
  constructor(
    readonly code: NonceServiceErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface NonceHttpResult {
  status: 200 | 400 | 503;
  contentType: string;
  body: string;
  /** Error code for 400/503 (also in the text body). */
  reason?: string;
  issued?: IssuedNonce;
}

interface Entry {
  expiresAtMs: number;
  type: string | undefined;
  consumed: boolean;
  binding: NonceBinding | undefined;
}

export class NonceService {
  readonly ttlSeconds: number;
  readonly maxOutstanding: number;
  readonly defaultLen: number;
  private readonly types: Record<string, NonceTypePolicy>;
  private readonly freshnessRequired: boolean;
  private readonly random: (n: number) => Uint8Array;
  /** Keyed by base64url nonce; Map keeps issue order, so with one TTL the oldest expiry is first. */
  private readonly entries = new Map<string, Entry>();

  constructor(opts: NonceServiceOptions = {}) {
    this.ttlSeconds = opts.ttlSeconds ?? 300;
    this.maxOutstanding = opts.maxOutstanding ?? 1024;
    this.defaultLen = opts.defaultLen ?? 32;
    this.types = opts.types ?? { [OID_TCG_ATTEST_TPM_CERTIFY]: {} };
    this.freshnessRequired = opts.freshnessRequired ?? true;
    this.random = opts.random ?? ((n) => new Uint8Array(randomBytes(n)));
    if (!Number.isSafeInteger(this.ttlSeconds) || this.ttlSeconds < 1) throw new RangeError('ttlSeconds must be a positive integer');
    if (!Number.isSafeInteger(this.maxOutstanding) || this.maxOutstanding < 1) throw new RangeError('maxOutstanding must be a positive integer');
    if (!Number.isInteger(this.defaultLen) || this.defaultLen < NONCE_MIN_BYTES || this.defaultLen > NONCE_MAX_BYTES) throw new RangeError('defaultLen must be 8..64');
  }

  /** Entries currently remembered (outstanding plus consumed-but-unexpired). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Forgets entries expired at `now`; returns how many were dropped. Entries are in issue order and share one
   * TTL, so the quick sweep stops at the first live one; `full` checks every entry (used before refusing as full,
   * in case a test clock moved backwards and left the order unsorted).
   */
  sweep(now: Date, full = false): number {
    const t = now.getTime();
    let dropped = 0;
    for (const [k, e] of this.entries) {
      if (e.expiresAtMs <= t) {
        this.entries.delete(k);
        dropped++;
      } else if (!full) break;
    }
    return dropped;
  }

  /** Issues and remembers a nonce. Throws NonceServiceError (bad len, unknown type, full). */
  issue(req: { len?: number; type?: string }, now: Date, binding?: NonceBinding): IssuedNonce {
    const len = req.len ?? this.defaultLen;
    if (!Number.isInteger(len) || len < NONCE_MIN_BYTES || len > NONCE_MAX_BYTES) throw new NonceServiceError('nonce-service.bad-len', `len must be ${NONCE_MIN_BYTES}..${NONCE_MAX_BYTES}, got ${len}`);
    if (req.type !== undefined && !Object.hasOwn(this.types, req.type)) throw new NonceServiceError('nonce-service.unknown-type', `unsupported type ${req.type}`);
    this.sweep(now);
    if (this.entries.size >= this.maxOutstanding) this.sweep(now, true);
    if (this.entries.size >= this.maxOutstanding) throw new NonceServiceError('nonce-service.full', `${this.entries.size} nonces outstanding (cap ${this.maxOutstanding})`);
    let nonce: Uint8Array;
    let key: string;
    let tries = 0;
    do {
      nonce = this.random(len);
      if (nonce.byteLength !== len) throw new RangeError('random source returned the wrong length');
      key = base64url(nonce);
      if (++tries > 4) throw new Error('random source keeps repeating itself');
    } while (this.entries.has(key));
    const expiresAtMs = now.getTime() + this.ttlSeconds * 1000;
    this.entries.set(key, { expiresAtMs, type: req.type, consumed: false, binding });
    const issued: IssuedNonce = { nonce, issuedAt: new Date(now.getTime()), expiresAt: new Date(expiresAtMs), ttlSeconds: this.ttlSeconds };
    if (req.type !== undefined) issued.type = req.type;
    return issued;
  }

  /**
   * Redeems a nonce found in evidence: 'ok' the first time within its TTL; 'replayed' afterwards (until it would
   * have expired, then 'unknown'); 'expired' past its TTL; 'unknown' if never issued (or long forgotten);
   * 'wrong-type' (not consumed) when `expectedType` is given and the nonce was issued for another type;
   * 'other-session' (not consumed) when the nonce was issued bound and `at` does not match that binding.
   * A redemption without `at` skips the binding check (callers that cannot see the request, e.g. a CMC /fullcmc).
   */
  consume(nonce: Uint8Array, now: Date, expectedType?: string, at?: NonceBinding): ConsumeResult {
    const key = base64url(nonce);
    const e = this.entries.get(key);
    if (!e) return 'unknown';
    if (e.expiresAtMs <= now.getTime()) {
      this.entries.delete(key);
      return 'expired';
    }
    if (e.consumed) return 'replayed';
    if (expectedType !== undefined && e.type !== expectedType) return 'wrong-type';
    if (e.binding && at && !bindingMatches(e.binding, at)) return 'other-session';
    e.consumed = true;
    return 'ok';
  }

  /**
   * Server side of EST /nonce: `body` is the POST body, or undefined for a GET. 200 with the JSON response,
   * 400 (text reason, no nonce content) for a bad request, 503 when the request is fine but no nonce can be given.
   */
  handleRequest(body: string | undefined, now: Date, binding?: NonceBinding): NonceHttpResult {
    const fail = (status: 400 | 503, reason: string, message: string): NonceHttpResult => ({ status, contentType: 'text/plain; charset=utf-8', body: `${reason}: ${message}\n`, reason });
    let req;
    try {
      req = readNonceRequest(body);
    } catch (e) {
      if (e instanceof NonceRequestRefused) return fail(400, e.code, e.message);
      throw e;
    }
    const policy = req.type !== undefined ? this.types[req.type] : undefined;
    if (req.type !== undefined && (!policy || !Object.hasOwn(this.types, req.type))) return fail(400, 'nonce-service.unknown-type', `unsupported type ${req.type}`);
    if (req.reqInfo !== undefined && !(policy?.acceptReqInfo?.(req.reqInfo) ?? false)) return fail(400, 'nonce-service.bad-req-info', `reqInfo not accepted for type ${req.type}`);
    const respType = policy?.responseType;
    const respInfo = respType !== undefined && policy?.respInfo ? policy.respInfo(req.reqInfo) : undefined;
    const typeFields = respType !== undefined ? { type: respType, ...(respInfo !== undefined ? { respInfo } : {}) } : {};
    if (!this.freshnessRequired) {
      return { status: 200, contentType: MEDIA_TYPE_NONCE_JSON, body: nonceResponseJson({ nonce: new Uint8Array(), ...typeFields }) };
    }
    let issued: IssuedNonce;
    try {
      issued = this.issue({ ...(req.len !== undefined ? { len: req.len } : {}), ...(req.type !== undefined ? { type: req.type } : {}) }, now, binding);
    } catch (e) {
      if (e instanceof NonceServiceError) return fail(e.code === 'nonce-service.full' ? 503 : 400, e.code, e.message);
      throw e;
    }
    return {
      status: 200,
      contentType: MEDIA_TYPE_NONCE_JSON,
      body: nonceResponseJson({ nonce: issued.nonce, expirySeconds: issued.ttlSeconds, ...typeFields }),
      issued,
    };
  }
}
