// ACME enrollment (RFC 8555), with device attestation (remote-attest-01) when attestation is enabled; issued
// certificates may chain to the configured issuer anchors.
import { readFileSync } from 'node:fs';
import type { AcmeSettings } from '../../config.js';
import { AcmeEnrollment, isAcmePendingOrder } from '../../protocols/acme/enrollment.js';
import { StoredPendingTransactions } from '../../protocols/pending.js';
import { stateLayout } from '../../store/layout.js';
import { readAnchors } from '../config-files.js';
import type { FeatureContext, FeatureParts } from '../feature.js';

export async function compose(ctx: FeatureContext<AcmeSettings>): Promise<FeatureParts> {
  const a = ctx.section;
  const attest = ctx.attestation;
  const protocol = new AcmeEnrollment({
    directoryUrl: a.directoryUrl,
    trustAnchors: [readFileSync(a.trustAnchorsFile, 'utf8')],
    keystore: ctx.keystore,
    accountFile: stateLayout(ctx.config.stateDir).acmeAccount,
    pending: await StoredPendingTransactions.open(stateLayout(ctx.config.stateDir).acmePending, 'enrolld-acme-pending', isAcmePendingOrder),
    contact: a.contact,
    challengePreference: a.challengePreference,
    remoteAttestation: a.remoteAttestation,
    ...(attest ? { attest: (key, qd) => attest.evidence(key, qd) } : {}),
    maxPollMs: a.maxPollSeconds * 1000,
    totalTimeoutMs: a.timeoutMs,
    now: () => ctx.clock.now(),
  });
  return { protocol: { protocol, ...(a.issuerTrustAnchorsFile ? { issuerAnchors: readAnchors(a.issuerTrustAnchorsFile) } : {}) } };
}
