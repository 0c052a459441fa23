// EST enrollment (RFC 7030) and, with est.csrattrs, the /csrattrs plan (§4.5) that decides key type, hash,
// extensions and attributes of every request.
import type { EstConfig } from '../../config.js';
import { EstEnrollment } from '../../protocols/est/enrollment.js';
import { applyCsrPlan, fetchCsrPlan, isCsrPlan } from '../../protocols/est/csrattrs.js';
import type { FeatureContext, FeatureParts } from '../feature.js';

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
  return {
    protocol: {
      protocol,
      // RFC 7030 §4.5: /csrattrs before every (re)enrollment.
      prepare: async () => {
        const plan = await fetchCsrPlan(ctx.device.est, ctx.config.identity.keyAlgorithm, ctx.log);
        if (plan.error) ctx.status.error('csrattrs.unusable');
        return { ...(plan.keyAlgorithm ? { keyAlgorithm: plan.keyAlgorithm } : {}), detail: plan };
      },
      refineCsr: (options, key, rctx) => {
        const plan = rctx.plan.detail;
        if (!isCsrPlan(plan)) return options;
        const applied = applyCsrPlan(plan, options, rctx.operation);
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
