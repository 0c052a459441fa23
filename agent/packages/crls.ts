// 0004 "X.509 ARL" and 0005 "X.509 CRL" (RFC 8295 §2.1.1, §4): fetch the crls-only message from the entry's /crls
// URI and offer every CRL to the CRL store, which admits only CRLs that validate to a TA authorized for CRLs and
// are newer than the stored one (agent/store/crl-store.ts). The type is a hint (§2.1.1: clients check what they
// got), so ARLs and CRLs are handled alike; the store keeps them apart by scope. Rejected CRLs are reported with the
// store's code (crl.rejected.<reason>); valid CRLs in the same message are still stored.
import type { HandlerContext, HandlerResult, PackageHandler } from '../pal/dispatch.js';
import { PackageType, type PalEntry } from '../pal/model.js';
import { EST_EXT_OPERATIONS } from '../protocols/est/constants.js';
import { getCrls } from '../protocols/est/crls.js';
import { CrlRejectedError, type CrlOfferStatus } from '../store/crl-store.js';
import { clientFor, entryUri, failed } from './common.js';
import type { PackageContext } from './context.js';

export class CrlsHandler implements PackageHandler<PackageContext> {
  readonly types = [PackageType.Arl, PackageType.Crl] as const;

  async handle(entry: PalEntry, hctx: HandlerContext<PackageContext>): Promise<HandlerResult> {
    const s = hctx.shared;
    const log = s.log.child({ pkg: entry.type });
    const resolved = entryUri(entry, s, [EST_EXT_OPERATIONS.crls]);
    const client = clientFor(s, resolved);
    const r = await getCrls(client.ctx, {
      ...(resolved ? { uri: resolved.url } : {}),
      ...(s.policy.allowedOrigins ? { allowedOrigins: s.policy.allowedOrigins } : {}),
      ...(hctx.signal ? { signal: hctx.signal } : {}),
    });
    const counts: Record<CrlOfferStatus, number> = { stored: 0, unchanged: 0, older: 0 };
    const rejected: CrlRejectedError[] = [];
    for (const crl of r.crls) {
      try {
        const res = await s.crlStore.offer(crl, { intermediates: [...s.intermediates, ...r.certificatesDer], at: s.clock.now() });
        counts[res.status]++;
        log.info('crl.offered', { issuer: res.crl.issuer, scope: res.crl.scope, crlNumber: res.crl.crlNumber?.toString(), status: res.status });
      } catch (e) {
        if (!(e instanceof CrlRejectedError)) throw e;
        rejected.push(e);
        log.warn('crl.rejected', { code: e.code, error: e.message });
      }
    }
    const detail = `${r.crls.length} CRL(s): ${counts.stored} stored, ${counts.unchanged} unchanged, ${counts.older} older`;
    if (rejected.length > 0) return failed(rejected[0]!.code, `${rejected.length} CRL(s) rejected (${rejected.map((e) => e.message).join('; ')}); ${detail}`);
    return { status: 'ok', detail };
  }
}
