// URIs taken from PAL entries (RFC 8295 §2.1 info.uri) name where a package is fetched. They come from the server,
// so before anything is sent to one it must (1) be https, (2) carry no userinfo, (3) be on the EST server's own
// origin (or an origin the configuration allows) — the transport would otherwise present our Basic credentials /
// TLS client certificate to whatever host the PAL names — and (4) name the expected operation path component under
// /.well-known/est[/label]/ (§2.1.1: "pointing to a /crls URI", …). Anything after the operation segment (e.g.
// .../eecerts/1234 in §2.1.3) is kept: the server identifies the package with it.
import { EST_LABEL_PATTERN, EST_WELL_KNOWN_PATH } from './constants.js';
import { estUrl, type EstContext } from './context.js';
import { EstProtocolError } from './errors.js';
import type { EstOperation } from './constants.js';

export interface PackageUriOptions {
  /** Further origins ("https://host:port") PAL URIs may point to. Default: only the EST server's origin. */
  allowedOrigins?: readonly string[];
}

export interface ResolvedPackageUri {
  url: URL;
  /** §3.2.2 label segment, when the URI has one. */
  label: string | undefined;
  /** The operation segment that matched. */
  operation: string;
  /** Segments after the operation (package identifiers). */
  rest: string[];
}

function originOf(u: string): string | undefined {
  try {
    return new URL(u).origin;
  } catch {
    return undefined;
  }
}

/**
 * Resolves the URI a PAL entry gives for `operations` (the first entry is the default when `uri` is undefined).
 * Throws EstProtocolError('est.protocol.package_uri') when the URI may not be used.
 */
export function resolvePackageUri(
  ctx: Pick<EstContext, 'baseUrl' | 'label'>,
  uri: string | URL | undefined,
  operations: readonly string[],
  opts: PackageUriOptions = {},
): ResolvedPackageUri {
  if (uri === undefined) {
    // estUrl only types RFC 7030 operations; the extension segments are plain path components all the same.
    const url = estUrl(ctx, operations[0]! as EstOperation);
    return { url, label: ctx.label, operation: operations[0]!, rest: [] };
  }
  const bad = (why: string): EstProtocolError => new EstProtocolError('package_uri', `PAL package URI ${JSON.stringify(String(uri).slice(0, 200))} refused: ${why}`);
  let url: URL;
  try {
    url = new URL(String(uri));
  } catch {
    throw bad('not an absolute URI');
  }
  if (url.protocol !== 'https:') throw bad('not https (RFC 7030 §3.3)');
  if (url.username || url.password) throw bad('credentials in the URI');
  const allowed = new Set([originOf(ctx.baseUrl), ...(opts.allowedOrigins ?? []).map(originOf)].filter((o): o is string => o !== undefined));
  if (!allowed.has(url.origin)) throw bad(`origin ${url.origin} is not the EST server's`);
  const path = url.pathname;
  if (!path.startsWith(`${EST_WELL_KNOWN_PATH}/`)) throw bad(`path is not under ${EST_WELL_KNOWN_PATH}/`);
  let segs: string[];
  try {
    segs = path.slice(EST_WELL_KNOWN_PATH.length + 1).split('/').map(decodeURIComponent);
  } catch {
    throw bad('malformed percent-encoding in the path');
  }
  if (segs.some((s) => s === '.' || s === '..')) throw bad('dot segments in the path');
  let label: string | undefined;
  let idx = 0;
  if (!operations.includes(segs[0] ?? '')) {
    label = segs[0];
    idx = 1;
    if (label === undefined || !EST_LABEL_PATTERN.test(label)) throw bad('invalid label segment (RFC 7030 §3.2.2)');
  }
  const operation = segs[idx] ?? '';
  if (!operations.includes(operation)) throw bad(`expected a /${operations.join(' or /')} URI`);
  return { url, label, operation, rest: segs.slice(idx + 1).filter((s) => s.length > 0) };
}
