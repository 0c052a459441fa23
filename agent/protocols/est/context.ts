// Where an EST client talks to: server base URL + optional label (§3.2.2), the shared Transport, an injected clock.
import type { Transport } from '../http/transport.js';
import { EST_LABEL_PATTERN, EST_OPERATIONS, EST_WELL_KNOWN_PATH, type EstOperation } from './constants.js';
import { EstUsageError } from './errors.js';

export interface EstContext {
  /** "https://host[:port]" (a path ending in /.well-known/est is accepted too). */
  baseUrl: string;
  /** §3.2.2 additional path segment, e.g. "arbitraryLabel1" → /.well-known/est/arbitraryLabel1/cacerts. */
  label?: string;
  transport: Transport;
  /** Injected clock (Retry-After HTTP-dates, validation time). Defaults to the system time. */
  now?: () => Date;
  /** Response-size limit for EST bodies (default: the transport's). */
  maxResponseBytes?: number;
  signal?: AbortSignal;
}

export function checkLabel(label: string): void {
  if (!EST_LABEL_PATTERN.test(label) || (Object.values(EST_OPERATIONS) as string[]).includes(label)) {
    throw new EstUsageError(`invalid EST label "${label}" (RFC 3986 unreserved characters, not an operation name)`);
  }
}

/** The URL of an EST operation (§3.2.2). */
export function estUrl(ctx: Pick<EstContext, 'baseUrl' | 'label'>, op: EstOperation): URL {
  let base: URL;
  try {
    base = new URL(ctx.baseUrl);
  } catch {
    throw new EstUsageError(`invalid EST server URL "${ctx.baseUrl}"`);
  }
  if (base.protocol !== 'https:') throw new EstUsageError('EST requires https (RFC 7030 §3.3)');
  let path = base.pathname.replace(/\/+$/, '');
  if (!path.endsWith(EST_WELL_KNOWN_PATH)) path += EST_WELL_KNOWN_PATH;
  if (ctx.label !== undefined) {
    checkLabel(ctx.label);
    path += `/${ctx.label}`;
  }
  return new URL(`${path}/${op}`, base.origin);
}

export const nowOf = (ctx: Pick<EstContext, 'now'>): Date => (ctx.now ? ctx.now() : new Date());
