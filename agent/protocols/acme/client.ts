// RFC 8555 client core: the directory (§7.1.1), the Replay-Nonce pool (§7.2, §6.5), signed POST and POST-as-GET
// (§6.2, §6.3) with one retry on badNonce (§6.5), problem documents (§6.7) and Retry-After as typed results.
import type { Signer } from '../../pki/signer.js';
import type { Transport, TransportResponse } from '../http/transport.js';
import { headerValue } from '../http/transport.js';
import { parseRetryAfter } from '../http/retry-after.js';
import { JOSE_JSON, PROBLEM_JSON } from './constants.js';
import { AcmeProblemError, AcmeProtocolError, type AcmeProblem } from './errors.js';
import { signJws } from './jws.js';

export interface AcmeDirectory {
  newNonce: string;
  newAccount: string;
  newOrder: string;
  revokeCert?: string;
  keyChange?: string;
  meta?: { termsOfService?: string; externalAccountRequired?: boolean };
}

export interface AcmeResponse {
  status: number;
  /** Parsed JSON body (undefined for non-JSON bodies such as the certificate chain). */
  json: unknown;
  body: Uint8Array;
  contentType: string | undefined;
  location: string | undefined;
  retryAfterSeconds: number | undefined;
}

export interface AcmeClientOptions {
  directoryUrl: string;
  transport: Transport;
  /** The account key (TPM); may be set later (the directory is read without it). */
  signer?: Signer;
  now?: () => Date;
}

const MAX_POOL = 8;

function mediaType(res: TransportResponse): string | undefined {
  return headerValue(res, 'content-type')?.split(';')[0]?.trim().toLowerCase();
}

function parseJson(res: TransportResponse, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(res.body).toString('utf8'));
  } catch (cause) {
    throw new AcmeProtocolError(`${what}: the response body is not JSON`, { cause });
  }
}

function asProblem(v: unknown): AcmeProblem | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const p = v as Record<string, unknown>;
  if (typeof p.type !== 'string') return undefined;
  return { type: p.type, ...(typeof p.detail === 'string' ? { detail: p.detail } : {}), ...(typeof p.status === 'number' ? { status: p.status } : {}) };
}

function isUrl(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  try {
    return new URL(v).protocol === 'https:';
  } catch {
    return false;
  }
}

export class AcmeClient {
  private dir: AcmeDirectory | undefined;
  private readonly nonces: string[] = [];
  /** The account URL (§7.3), used as the JWS kid once known. */
  kid: string | undefined;

  signer: Signer | undefined;

  constructor(private readonly o: AcmeClientOptions) {
    this.signer = o.signer;
  }

  async directory(): Promise<AcmeDirectory> {
    if (this.dir) return this.dir;
    const res = await this.o.transport.request({ method: 'GET', url: this.o.directoryUrl, headers: { accept: 'application/json' } });
    if (res.status !== 200) throw new AcmeProtocolError(`directory ${this.o.directoryUrl} answered ${res.status}`);
    const d = parseJson(res, 'directory') as Record<string, unknown>;
    if (typeof d !== 'object' || d === null || !isUrl(d.newNonce) || !isUrl(d.newAccount) || !isUrl(d.newOrder)) {
      throw new AcmeProtocolError('directory lacks newNonce/newAccount/newOrder https URLs');
    }
    this.dir = d as unknown as AcmeDirectory;
    return this.dir;
  }

  private keepNonce(res: TransportResponse): void {
    const n = headerValue(res, 'replay-nonce');
    // §6.5.1: base64url characters only.
    if (n && /^[A-Za-z0-9_-]{1,256}$/.test(n)) {
      this.nonces.push(n);
      if (this.nonces.length > MAX_POOL) this.nonces.shift();
    }
  }

  private async nonce(): Promise<string> {
    const pooled = this.nonces.pop();
    if (pooled) return pooled;
    const dir = await this.directory();
    const res = await this.o.transport.request({ method: 'HEAD', url: dir.newNonce });
    if (res.status !== 200 && res.status !== 204) throw new AcmeProtocolError(`newNonce answered ${res.status}`);
    this.keepNonce(res);
    const n = this.nonces.pop();
    if (!n) throw new AcmeProtocolError('newNonce answered without a Replay-Nonce header');
    return n;
  }

  /**
   * Signed POST (payload object) or POST-as-GET (payload undefined). Problem documents become AcmeProblemError;
   * a badNonce is retried once with the fresh nonce the error carried (§6.5).
   */
  async post(url: string, payload: unknown, o: { useJwk?: boolean; accept?: string } = {}): Promise<AcmeResponse> {
    const signer = this.signer;
    if (!signer) throw new AcmeProtocolError('no account key to sign the request with');
    for (let attempt = 0; ; attempt++) {
      const jws = await signJws(signer, { url, nonce: await this.nonce(), ...(o.useJwk || !this.kid ? {} : { kid: this.kid }), payload });
      const res = await this.o.transport.request({
        method: 'POST',
        url,
        headers: { 'content-type': JOSE_JSON, ...(o.accept ? { accept: o.accept } : {}) },
        body: JSON.stringify(jws),
      });
      this.keepNonce(res);
      const type = mediaType(res);
      const retryAfterSeconds = parseRetryAfter(headerValue(res, 'retry-after'), this.o.now?.() ?? new Date());
      if (res.status >= 400) {
        const problem = type === PROBLEM_JSON || type === 'application/json' ? asProblem(parseJson(res, url)) : undefined;
        const err = new AcmeProblemError(res.status, problem ?? { type: 'about:blank', detail: `HTTP ${res.status} without a problem document` }, retryAfterSeconds);
        if (err.acmeType === 'badNonce' && attempt === 0) continue;
        throw err;
      }
      const json = type === 'application/json' ? parseJson(res, url) : undefined;
      return { status: res.status, json, body: res.body, contentType: type, location: headerValue(res, 'location'), retryAfterSeconds };
    }
  }
}
