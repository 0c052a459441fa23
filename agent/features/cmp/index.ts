// CMP enrollment (RFC 9483 profile): a waiting transaction survives a restart (pollReq resumes it),
// persisted next to the lifecycle state.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { CmpSettings } from '../../config.js';
import { certificateToDer } from '../../pki/cert.js';
import type { CmpPendingTransaction } from '../../protocols/cmp/client.js';
import { CmpEnrollment } from '../../protocols/cmp/enrollment.js';
import { writeFileAtomic } from '../../store/atomic-file.js';
import { readAnchors, readJsonIfExists, readSecret } from '../config-files.js';
import type { FeatureContext, FeatureParts } from '../feature.js';

export async function compose(ctx: FeatureContext<CmpSettings>): Promise<FeatureParts> {
  const c = ctx.section;
  const { freshnessOids } = ctx.config.attestation;
  const pendingFile = path.join(ctx.config.stateDir, 'cmp-pending.json');
  const pending = readJsonIfExists<Record<string, CmpPendingTransaction>>(pendingFile) ?? {};
  let writes: Promise<void> = Promise.resolve();
  const protocol = new CmpEnrollment({
    url: c.url,
    trustAnchors: readAnchors(c.trustAnchorsFile).map(certificateToDer),
    ...(c.tlsTrustAnchorsFile ? { tlsTrustAnchors: [readFileSync(c.tlsTrustAnchorsFile, 'utf8')] } : {}),
    ...(c.mac ? { mac: { reference: c.mac.reference, secret: new Uint8Array(Buffer.from(readSecret(c.mac.secretFile), 'utf8')) } } : {}),
    implicitConfirm: c.implicitConfirm,
    allowLoopbackHttp: c.allowLoopbackHttp,
    request: c.request,
    keystore: ctx.keystore,
    pending,
    nonceInfoTypes: { request: freshnessOids.cmpNonceRequest, response: freshnessOids.cmpNonceResponse },
    onPendingChange: (p) => {
      writes = writes.then(() => writeFileAtomic(pendingFile, JSON.stringify(p) + '\n')).catch(() => undefined);
    },
    now: () => ctx.clock.now(),
  });
  return { protocol: { protocol }, close: () => writes };
}
