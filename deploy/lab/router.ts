// A tiny router for the lab server: handlers registered per method + path pattern, so later features (PAL, nonce,
// packages) add endpoints without touching the server core. Patterns: literal segments, ":name" and optional
// ":name?" parameters. Routes with fewer parameters win (exact paths before parameterised ones), then
// registration order.
import type { IncomingHttpHeaders } from 'node:http';

export interface LabRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  params: Record<string, string>;
  /** TLS details: negotiated protocol and the client certificate chain as DER, leaf first (empty: no client cert). */
  tls: { protocol: string | undefined; peerChain: Uint8Array[]; tlsUnique?: Uint8Array; connectionId?: number };
  remoteAddress: string | undefined;
}

export interface LabResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

export type LabHandler = (req: LabRequest) => LabResponse | Promise<LabResponse>;

interface Route {
  method: string;
  segments: Array<{ literal: string } | { param: string; optional: boolean }>;
  handler: LabHandler;
  order: number;
}

export type RouteMatch = { handler: LabHandler; params: Record<string, string> } | { allow: string[] };

export class Router {
  private routes: Route[] = [];

  register(method: string, pattern: string, handler: LabHandler): this {
    const segments = pattern
      .split('/')
      .filter((s) => s.length > 0)
      .map((s) => (s.startsWith(':') ? { param: s.replace(/^:|\?$/g, ''), optional: s.endsWith('?') } : { literal: s }));
    this.routes.push({ method: method.toUpperCase(), segments, handler, order: this.routes.length });
    const params = (r: Route): number => r.segments.filter((s) => 'param' in s).length;
    this.routes.sort((a, b) => params(a) - params(b) || a.order - b.order);
    return this;
  }

  /** The handler for method+path, `{allow}` when only the method is wrong, undefined when nothing matches. */
  match(method: string, path: string): RouteMatch | undefined {
    let parts: string[];
    try {
      parts = path.split('/').filter((s) => s.length > 0).map(decodeURIComponent);
    } catch {
      return undefined;
    }
    const allow = new Set<string>();
    for (const r of this.routes) {
      const params = matchSegments(r.segments, parts);
      if (!params) continue;
      if (r.method === method.toUpperCase()) return { handler: r.handler, params };
      allow.add(r.method);
    }
    return allow.size > 0 ? { allow: [...allow] } : undefined;
  }
}

function matchSegments(segs: Route['segments'], parts: string[]): Record<string, string> | undefined {
  if (segs.length === 0) return parts.length === 0 ? {} : undefined;
  const [s, ...rest] = segs;
  if ('literal' in s!) {
    if (parts[0] !== s.literal) return undefined;
    return matchSegments(rest, parts.slice(1));
  }
  if (parts.length > 0) {
    const withParam = matchSegments(rest, parts.slice(1));
    if (withParam) return { ...withParam, [s!.param]: parts[0]! };
  }
  return s!.optional ? matchSegments(rest, parts) : undefined;
}

/** Plain-text response helper. */
export function text(status: number, body: string, headers: Record<string, string> = {}): LabResponse {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers }, body: body.endsWith('\n') ? body : body + '\n' };
}
