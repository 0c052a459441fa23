// CMP enrollment (RFC 9483 profile): a waiting transaction survives a restart (pollReq resumes it),
// persisted next to the lifecycle state; the CMP root is kept current by root CA key update (root-ca-key-update.ts),
// looked at on the PAL cycle.
import { readFileSync } from 'node:fs';
import type { CmpSettings } from '../../config.js';
import { certificatesFromPem, certificateToDer } from '../../pki/cert.js';
import { fromStoredKey } from '../../lifecycle/state.js';
import { CmpEnrollment, isCmpPendingTransaction } from '../../protocols/cmp/enrollment.js';
import { StoredPendingTransactions } from '../../protocols/pending.js';
import { stateLayout } from '../../store/layout.js';
import { readAnchors, readSecret } from '../config-files.js';
import type { FeatureContext, FeatureParts } from '../feature.js';
import { RootCaKeyUpdater } from './root-ca-key-update.js';

export async function compose(ctx: FeatureContext<CmpSettings>): Promise<FeatureParts> {
  const c = ctx.section;
  const { freshnessOids } = ctx.config.attestation;
  const pending = await StoredPendingTransactions.open(stateLayout(ctx.config.stateDir).cmpPending, 'enrolld-cmp-pending', isCmpPendingTransaction);
  // the configured anchors and roots a root CA key update stored (one live list: an update extends it)
  const anchors = [...readAnchors(c.trustAnchorsFile).map(certificateToDer), ...ctx.stores.ta.certificatesFor('cmp')];
  const protocol = new CmpEnrollment({
    url: c.url,
    trustAnchors: anchors,
    ...(c.tlsTrustAnchorsFile ? { tlsTrustAnchors: [readFileSync(c.tlsTrustAnchorsFile, 'utf8')] } : {}),
    ...(c.mac ? { mac: { reference: c.mac.reference, secret: new Uint8Array(Buffer.from(readSecret(c.mac.secretFile), 'utf8')) } } : {}),
    implicitConfirm: c.implicitConfirm,
    allowLoopbackHttp: c.allowLoopbackHttp,
    ...(c.certProfile !== undefined ? { certProfile: c.certProfile } : {}),
    request: c.request,
    keystore: ctx.keystore,
    pending,
    nonceInfoTypes: { request: freshnessOids.cmpNonceRequest, response: freshnessOids.cmpNonceResponse },
    now: () => ctx.clock.now(),
  });
  const { schedule } = ctx.config;
  const rootUpdate = new RootCaKeyUpdater({
    client: protocol.client,
    anchors,
    ta: ctx.stores.ta,
    stateDir: ctx.config.stateDir,
    clock: ctx.clock,
    log: ctx.log,
    renewFraction: schedule.renewFraction,
    backoffMinSeconds: schedule.backoffMinSeconds,
    backoffMaxSeconds: schedule.backoffMaxSeconds,
    // RFC 9483 §4.3: MAC with the shared secret, else signed by the current credential (none yet: wait for it)
    protection: (state) => {
      if (c.mac) return { kind: 'mac' };
      const cred = state.credential;
      const leaf = cred && certificatesFromPem(cred.certPem)[0];
      if (!cred || !leaf) return undefined;
      return { kind: 'signature', signer: ctx.keystore.signer(fromStoredKey(cred.key)), certDer: certificateToDer(leaf), chainDer: cred.chainPem.flatMap((p) => certificatesFromPem(p)).map(certificateToDer) };
    },
  });
  return { protocol: { protocol }, poller: rootUpdate };
}
