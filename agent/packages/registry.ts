// The registry the PAL poller dispatches with: one handler per package kind (cacerts 0002, eecerts 0003, crls
// 0004/0005, the enrollment family 0006–0019), and placeholders for 0020–0037 (server-generated keys, symmetric
// keys, firmware, TAMP and their receipts) until their handlers exist. A placeholder does nothing and reports the
// entry as skipped (the poller records it as skipped-unhandled with code pal.package.unhandled). Handlers passed
// in `handlers` take their types over from the placeholders (and may not collide with the built-in handlers).
// The built-in handlers decode DER (the ASN.1 stack): each is loaded at the first entry of its types, so a poll
// that dispatches nothing loads none of them.
import { PackageHandlerRegistry, type HandlerContext, type HandlerResult, type PackageHandler } from '../pal/dispatch.js';
import { describePackageType, PackageType, type PalEntry } from '../pal/model.js';
import type { PackageContext } from './context.js';
import { lazyModule } from '../util/lazy-import.js';

/** A built-in handler registered by its types; its module is loaded (once) at its first entry (module.load if not). */
export class LazyPackageHandler implements PackageHandler<PackageContext> {
  private readonly handler: () => Promise<PackageHandler<PackageContext>>;
  constructor(
    readonly types: readonly string[],
    load: () => Promise<PackageHandler<PackageContext>>,
  ) {
    this.handler = lazyModule(`the package handler of ${types.map(describePackageType).join(', ')}`, load);
  }
  async handle(entry: PalEntry, hctx: HandlerContext<PackageContext>): Promise<HandlerResult> {
    return (await this.handler()).handle(entry, hctx);
  }
}

/** The types of the enrollment family (enrollment.ts ENROLLMENT_ACTIONS): 0006–0019. */
export const ENROLLMENT_TYPES: readonly string[] = Array.from({ length: 14 }, (_, i) => String(6 + i).padStart(4, '0'));

/** The built-in handlers: cacerts 0002, eecerts 0003, crls 0004/0005, the enrollment family 0006–0019. */
export function builtinHandlers(): Array<PackageHandler<PackageContext>> {
  return [
    new LazyPackageHandler([PackageType.CaCertificate], async () => new (await import('./cacerts.js')).CaCertsHandler()),
    new LazyPackageHandler([PackageType.EeCertificate], async () => new (await import('./eecerts.js')).EeCertsHandler()),
    new LazyPackageHandler([PackageType.Arl, PackageType.Crl], async () => new (await import('./crls.js')).CrlsHandler()),
    new LazyPackageHandler(ENROLLMENT_TYPES, async () => new (await import('./enrollment.js')).EnrollmentHandler()),
  ];
}

/** The detail placeholders return; the poller turns results carrying it into skipped-unhandled. */
export const PLACEHOLDER_DETAIL = 'skipped: no handler for this package type yet';
export const PLACEHOLDER_CODE = 'pal.package.unhandled';

/** Package types registered as placeholders by default (0020–0037). */
export const PLACEHOLDER_TYPES: readonly string[] = Array.from({ length: 18 }, (_, i) => String(20 + i).padStart(4, '0'));

export class PlaceholderHandler implements PackageHandler<PackageContext> {
  constructor(readonly types: readonly string[]) {}
  async handle(entry: PalEntry, hctx: { shared: PackageContext }): Promise<HandlerResult> {
    hctx.shared.log.info('pal.entry.placeholder', { type: describePackageType(entry.type) });
    return { status: 'ok', detail: PLACEHOLDER_DETAIL };
  }
}

export interface PackageRegistryOptions {
  /** Further handlers (e.g. firmware 0026); their types are removed from the placeholders. */
  handlers?: ReadonlyArray<PackageHandler<PackageContext>>;
}

export function createPackageRegistry(opts: PackageRegistryOptions = {}): PackageHandlerRegistry<PackageContext> {
  const registry = new PackageHandlerRegistry<PackageContext>();
  for (const h of builtinHandlers()) registry.register(h);
  const extra = opts.handlers ?? [];
  for (const h of extra) registry.register(h);
  const taken = new Set(extra.flatMap((h) => [...h.types]));
  const rest = PLACEHOLDER_TYPES.filter((t) => !taken.has(t));
  if (rest.length > 0) registry.register(new PlaceholderHandler(rest));
  return registry;
}
