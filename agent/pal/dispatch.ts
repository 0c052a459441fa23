// Dispatch of PAL entries to package handlers (agent/packages/ registers them), one entry at a time in §2.3
// precedence order (see precedence.ts). A bad entry never stops the run: a handler that returns a failure or
// throws is recorded with its error code and the next entry runs — unless the failure is marked fatal, or the
// caller's AbortSignal fires; then the remaining entries are recorded as not-run. Unknown and reserved types are
// logged and skipped.
import { EnrolldError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { PalUsageError } from './errors.js';
import { describePackageType, type PackageKind, type PalEntry } from './model.js';
import { orderByPrecedence } from './precedence.js';

export interface HandlerContext<C = unknown> {
  /** Position of the entry in the list given to the dispatcher. */
  readonly index: number;
  /** 0-based position in processing order. */
  readonly position: number;
  readonly kind: Exclude<PackageKind, 'pal'>;
  readonly log: Logger | undefined;
  readonly signal: AbortSignal | undefined;
  /** Whatever the caller passed as `context` (stores, transports, clock …). */
  readonly shared: C;
}

export type HandlerResult =
  | { status: 'ok'; detail?: string }
  | {
      status: 'failed';
      /** Stable error code (e.g. 'firmware.stale_version'); reported in logs and status. */
      code: string;
      message?: string;
      /** Stop processing the rest of the PAL (e.g. a trust anchor failure that makes later entries unsafe). */
      fatal?: boolean;
    };

export interface PackageHandler<C = unknown> {
  /** The 4-digit package types this handler processes. */
  readonly types: readonly string[];
  handle(entry: PalEntry, ctx: HandlerContext<C>): Promise<HandlerResult>;
}

/** Maps package types to handlers; a type has at most one handler. */
export class PackageHandlerRegistry<C = unknown> {
  private readonly byType = new Map<string, PackageHandler<C>>();

  register(handler: PackageHandler<C>): this {
    if (!handler || typeof handler.handle !== 'function' || !Array.isArray(handler.types) || handler.types.length === 0) {
      throw new PalUsageError('a package handler needs a non-empty types list and a handle function');
    }
    for (const t of handler.types) {
      if (!/^[0-9]{4}$/.test(t)) throw new PalUsageError(`package type ${JSON.stringify(t)} is not a 4-digit string`);
      if (t === '0001') throw new PalUsageError('type 0001 (Additional PAL value present) is followed by chain.ts, not by a handler');
      if (this.byType.has(t)) throw new PalUsageError(`package type ${describePackageType(t)} already has a handler`);
    }
    for (const t of handler.types) this.byType.set(t, handler);
    return this;
  }

  get(type: string): PackageHandler<C> | undefined {
    return this.byType.get(type);
  }

  types(): string[] {
    return [...this.byType.keys()].sort();
  }
}

export type EntryStatus = 'ok' | 'failed' | 'skipped-unknown' | 'skipped-unhandled' | 'not-run';

export interface EntryResult {
  /** Position in the input list. */
  index: number;
  type: string;
  status: EntryStatus;
  /** Set for failed and skipped entries. */
  code?: string;
  message?: string;
  fatal?: boolean;
  detail?: string;
  durationMs?: number;
}

export interface DispatchReport {
  /** Skipped entries first (input order), then processed/not-run entries in processing order. */
  results: EntryResult[];
  counts: Record<EntryStatus, number>;
  /** True when a fatal failure or the abort signal stopped processing early. */
  stopped: boolean;
}

export interface DispatchOptions<C> {
  log?: Logger;
  signal?: AbortSignal;
  context?: C;
  /** Milliseconds clock for durations (injected in tests; default performance.now). */
  now?: () => number;
}

function errorCode(err: unknown): string {
  return err instanceof EnrolldError ? err.code : 'pal.handler.exception';
}

function normalizeResult(r: unknown): HandlerResult {
  if (r && typeof r === 'object' && (r as HandlerResult).status === 'ok') return r as HandlerResult;
  if (r && typeof r === 'object' && (r as HandlerResult).status === 'failed' && typeof (r as { code?: unknown }).code === 'string') return r as HandlerResult;
  return { status: 'failed', code: 'pal.handler.bad_result', message: 'handler returned neither {status:"ok"} nor {status:"failed", code}' };
}

/**
 * Runs the entries through their handlers in §2.3 order, sequentially. Never throws for an entry; only caller
 * misuse (no registry) throws.
 */
export async function dispatchPal<C = unknown>(
  entries: readonly PalEntry[],
  registry: PackageHandlerRegistry<C>,
  opts: DispatchOptions<C> = {},
): Promise<DispatchReport> {
  if (!(registry instanceof PackageHandlerRegistry)) throw new PalUsageError('dispatchPal needs a PackageHandlerRegistry');
  const log = opts.log;
  const now = opts.now ?? (() => performance.now());
  const results: EntryResult[] = [];
  const { ordered, setAside } = orderByPrecedence(entries);

  for (const s of setAside) {
    const code = s.reason === 'chain-pointer' ? 'pal.dispatch.chain_pointer' : s.reason === 'reserved-type' ? 'pal.dispatch.reserved_type' : 'pal.dispatch.unknown_type';
    const message =
      s.reason === 'chain-pointer' ? 'type 0001 is followed by the chain loader before dispatch' : `package type ${describePackageType(s.entry.type)} is not processed`;
    if (s.reason !== 'chain-pointer') log?.warn('pal.entry.skipped', { index: s.index, type: s.entry.type, reason: s.reason });
    results.push({ index: s.index, type: s.entry.type, status: s.reason === 'chain-pointer' ? 'skipped-unhandled' : 'skipped-unknown', code, message });
  }

  let stopped = false;
  for (let position = 0; position < ordered.length; position++) {
    const { index, entry, kind } = ordered[position]!;
    if (stopped || opts.signal?.aborted) {
      stopped = true;
      results.push({ index, type: entry.type, status: 'not-run', code: 'pal.dispatch.not_run' });
      continue;
    }
    const handler = registry.get(entry.type);
    if (!handler) {
      log?.info('pal.entry.unhandled', { index, type: entry.type });
      results.push({ index, type: entry.type, status: 'skipped-unhandled', code: 'pal.dispatch.no_handler', message: `no handler for ${describePackageType(entry.type)}` });
      continue;
    }
    const started = now();
    let outcome: HandlerResult;
    try {
      outcome = normalizeResult(await handler.handle(entry, { index, position, kind, log, signal: opts.signal, shared: opts.context as C }));
    } catch (err) {
      outcome = {
        status: 'failed',
        code: errorCode(err),
        message: err instanceof Error ? err.message : String(err),
        fatal: (err as { fatal?: unknown } | null)?.fatal === true,
      };
    }
    const durationMs = Math.max(0, now() - started);
    if (outcome.status === 'ok') {
      log?.info('pal.entry.ok', { index, type: entry.type, ms: Math.round(durationMs) });
      results.push({ index, type: entry.type, status: 'ok', detail: outcome.detail, durationMs });
    } else {
      const fatal = outcome.fatal === true;
      log?.[fatal ? 'error' : 'warn']('pal.entry.failed', { index, type: entry.type, code: outcome.code, fatal, error: outcome.message });
      results.push({ index, type: entry.type, status: 'failed', code: outcome.code, message: outcome.message, fatal, durationMs });
      if (fatal) stopped = true;
    }
  }

  const counts: Record<EntryStatus, number> = { ok: 0, failed: 0, 'skipped-unknown': 0, 'skipped-unhandled': 0, 'not-run': 0 };
  for (const r of results) counts[r.status]++;
  return { results, counts, stopped };
}
