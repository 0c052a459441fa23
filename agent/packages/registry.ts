// The registry the PAL poller dispatches with: one handler per package kind (cacerts 0002, eecerts 0003, crls
// 0004/0005, the enrollment family 0006–0019), and placeholders for 0020–0037 (server-generated keys, symmetric
// keys, firmware, TAMP and their receipts) until their handlers exist. A placeholder does nothing and reports the
// entry as skipped (the poller records it as skipped-unhandled with code pal.package.unhandled). Handlers passed
// in `handlers` take their types over from the placeholders (and may not collide with the built-in handlers).
import { PackageHandlerRegistry, type HandlerResult, type PackageHandler } from '../pal/dispatch.js';
import { describePackageType, type PalEntry } from '../pal/model.js';
import { CaCertsHandler } from './cacerts.js';
import type { PackageContext } from './context.js';
import { CrlsHandler } from './crls.js';
import { EeCertsHandler } from './eecerts.js';
import { EnrollmentHandler } from './enrollment.js';

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
  registry.register(new CaCertsHandler()).register(new EeCertsHandler()).register(new CrlsHandler()).register(new EnrollmentHandler());
  const extra = opts.handlers ?? [];
  for (const h of extra) registry.register(h);
  const taken = new Set(extra.flatMap((h) => [...h.types]));
  const rest = PLACEHOLDER_TYPES.filter((t) => !taken.has(t));
  if (rest.length > 0) registry.register(new PlaceholderHandler(rest));
  return registry;
}
