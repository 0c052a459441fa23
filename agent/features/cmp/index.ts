// CMP enrollment (RFC 9483 profile): a waiting transaction survives a restart (pollReq resumes it),
// persisted next to the lifecycle state.
import { readFileSync } from 'node:fs';
import type { CmpSettings } from '../../config.js';
import { certificateToDer } from '../../pki/cert.js';
import { CmpEnrollment, isCmpPendingTransaction } from '../../protocols/cmp/enrollment.js';
import { StoredPendingTransactions } from '../../protocols/pending.js';
import { stateLayout } from '../../store/layout.js';
import { readAnchors, readSecret } from '../config-files.js';
import type { FeatureContext, FeatureParts } from '../feature.js';

export async function compose(ctx: FeatureContext<CmpSettings>): Promise<FeatureParts> {
  const c = ctx.section;
  const { freshnessOids } = ctx.config.attestation;
  const pending = await StoredPendingTransactions.open(stateLayout(ctx.config.stateDir).cmpPending, 'enrolld-cmp-pending', isCmpPendingTransaction);
  const protocol = new CmpEnrollment({
    url: c.url,
    trustAnchors: readAnchors(c.trustAnchorsFile).map(certificateToDer),
    ...(c.tlsTrustAnchorsFile ? { tlsTrustAnchors: [readFileSync(c.tlsTrustAnchorsFile, 'utf8')] } : {}),
    ...(c.mac ? { mac: { reference: c.mac.reference, secret: new Uint8Array(Buffer.from(readSecret(c.mac.secretFile), 'utf8')) } } : {}),
    implicitConfirm: c.implicitConfirm,
    allowLoopbackHttp: c.allowLoopbackHttp,
    coap: { blockSize: c.coap.blockSize, totalTimeoutMs: c.coap.timeoutMs, maxResponseBytes: c.coap.maxResponseBytes },
    request: c.request,
    keystore: ctx.keystore,
    pending,
    nonceInfoTypes: { request: freshnessOids.cmpNonceRequest, response: freshnessOids.cmpNonceResponse },
    now: () => ctx.clock.now(),
  });
  return { protocol: { protocol } };
}
