// EST enrollment (RFC 7030) and, with est.csrattrs, the /csrattrs plan (§4.5) that decides key type, hash,
// extensions and attributes of every request. The /csrattrs code (ASN.1) is loaded by the first prepare().
import type { EstConfig } from '../../config.js';
import { EstEnrollment } from '../../protocols/est/enrollment.js';
import { isCsrPlan } from '../../protocols/est/csr-plan.js';
import { lazyModule } from '../../util/lazy-import.js';
import type { FeatureContext, FeatureParts } from '../feature.js';

const csrattrsModule = lazyModule('the EST /csrattrs decoder', () => import('../../protocols/est/csrattrs.js'));

export async function compose(ctx: FeatureContext<EstConfig>): Promise<FeatureParts> {
  const est = ctx.section;
  const protocol = new EstEnrollment({
    baseUrl: est.url,
    ...(est.label !== undefined ? { label: est.label } : {}),
    trustAnchors: [ctx.device.trustAnchorsPem],
    ...(ctx.device.basicAuth ? { basicAuth: ctx.device.basicAuth } : {}),
    keystore: ctx.keystore,
    maxResponseBytes: est.maxResponseBytes,
    totalTimeoutMs: est.timeoutMs,
    now: () => ctx.clock.now(),
  });
  if (!est.csrattrs) return { protocol: { protocol } };
  // Set by prepare(), which made the plan refineCsr() applies (refineCsr is synchronous).
  let csrattrs: Awaited<ReturnType<typeof csrattrsModule>> | undefined;
  return {
    protocol: {
      protocol,
      // RFC 7030 §4.5: /csrattrs before every (re)enrollment.
      prepare: async () => {
        csrattrs = await csrattrsModule();
        const plan = await csrattrs.fetchCsrPlan(ctx.device.est, ctx.config.identity.keyAlgorithm, ctx.log);
        if (plan.error) ctx.status.error('csrattrs.unusable');
        return { ...(plan.keyAlgorithm ? { keyAlgorithm: plan.keyAlgorithm } : {}), detail: plan };
      },
      refineCsr: (options, key, rctx) => {
        const plan = rctx.plan.detail;
        if (!isCsrPlan(plan)) return options;
        // a CsrPlan is only ever made by prepare() above, after the module loaded
        if (!csrattrs) throw new Error('csrattrs: a CSR plan without the /csrattrs module loaded');
        const applied = csrattrs.applyCsrPlan(plan, options, rctx.operation);
        const unsatisfied = [...plan.unsatisfied, ...applied.unsatisfied];
        if (unsatisfied.length) {
          ctx.log.warn('csrattrs.not-honoured', { items: unsatisfied, keyAlgorithm: key.algorithm, hash: applied.options.hash ?? 'sha256' });
          ctx.status.error('csrattrs.unsatisfied');
        }
        return applied.options;
      },
    },
  };
}
