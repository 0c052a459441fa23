// Typed PAL failures. Every error names the offending place as a path: `pal.entry[3].date` (0-based entry index in
// document order), `pal.page[2].entry[0].info` once a chain (type 0001) is being followed.
import { EnrolldError } from '../util/errors.js';

/** The body is not a PAL as RFC 8295 §2.1 / §2.1.2 / §2.1.3 define it (syntax, schema, or a §2.1.1 rule). */
export class PalFormatError extends EnrolldError {
  constructor(
    /** Short machine reason; the code is `pal.format.<reason>`. */
    readonly reason: string,
    /** Where: `pal`, `pal.entry[3]`, `pal.entry[3].info.iasn.serial`, … */
    readonly path: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`pal.format.${reason}`, `${path}: ${detail}`, options);
  }
}

/** An implementation bound was exceeded (input bytes, entries per page, nesting); the code is `pal.limit.<what>`. */
export class PalLimitError extends EnrolldError {
  constructor(
    readonly limit: 'bytes' | 'entries' | 'depth',
    readonly path: string,
    readonly max: number,
    detail: string,
  ) {
    super(`pal.limit.${limit}`, `${path}: ${detail}`);
  }
}

/** Following "Additional PAL value present" (0001) failed: loop, depth, total entries, URI or fetch failure. */
export class PalChainError extends EnrolldError {
  constructor(
    readonly reason: 'loop' | 'depth' | 'entries' | 'uri' | 'fetch' | 'aborted',
    readonly path: string,
    /** URI of the page concerned, when known. */
    readonly uri: string | undefined,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`pal.chain.${reason}`, `${path}: ${detail}`, options);
  }
}

/** Caller misuse of the PAL API (bad handler registration, bad options). */
export class PalUsageError extends EnrolldError {
  constructor(message: string) {
    super('pal.usage', message);
  }
}

/** Rewrites the path of a page-level error to name the page: `pal.entry[1]` → `pal.page[2].entry[1]`. */
export function withPagePath(err: unknown, page: number, uri: string | undefined): unknown {
  const prefix = `pal.page[${page}]`;
  const rebase = (p: string): string => (p === 'pal' ? prefix : p.startsWith('pal.') ? prefix + p.slice(3) : `${prefix}.${p}`);
  if (err instanceof PalFormatError) {
    const detail = err.message.slice(err.path.length + 2);
    return new PalFormatError(err.reason, rebase(err.path), uri ? `${detail} (page ${uri})` : detail, { cause: err });
  }
  if (err instanceof PalLimitError) {
    const detail = err.message.slice(err.path.length + 2);
    return new PalLimitError(err.limit, rebase(err.path), err.max, uri ? `${detail} (page ${uri})` : detail);
  }
  return err;
}
