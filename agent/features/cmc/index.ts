// CMC enrollment (RFC 5272/5273 over the EST server's /fullcmc, RFC 7030 §4.3): signed with the bootstrap credential
// until the device has its own; a pending request (pendToken) survives a restart, queryPending resumes it. With
// cmc.decryptionKey.enabled a decrypt-only TPM key is kept certified by indirect POP on the daemon cycle
// (decryption-key.ts); its certificate, last attempt and next attempt are part of the status snapshot (`dk`).
import { readFileSync } from 'node:fs';
import type { CmcSettings } from '../../config.js';
import { akRecordFromJson } from '../../attest/provision.js';
import { certificateToDer } from '../../pki/cert.js';
import { CmcEnrollment, isCmcPendingRecord } from '../../protocols/cmc/enrollment.js';
import { StoredPendingTransactions } from '../../protocols/pending.js';
import { stateLayout } from '../../store/layout.js';
import { readAnchors } from '../config-files.js';
import { EnrolldError } from '../../util/errors.js';
import { DecryptionKeyEnroller, decryptionKeyStatus, isDecryptionKeyStore, type DecryptionKeyState } from './decryption-key.js';
import type { Poller } from '../../lifecycle/daemon.js';
import type { FeatureContext, FeatureParts } from '../feature.js';

export async function compose(ctx: FeatureContext<CmcSettings | undefined>): Promise<FeatureParts> {
  const { est, identity, attestation, stateDir } = ctx.config;
  const bootCerts = readAnchors(identity.bootstrapCertFile!).map(certificateToDer);
  const bootKey = akRecordFromJson(readFileSync(identity.bootstrapKeyFile!, 'utf8'), identity.bootstrapKeyFile!);
  const pending = await StoredPendingTransactions.open(stateLayout(stateDir).cmcPending, 'enrolld-cmc-pending', isCmcPendingRecord);
  const protocol = new CmcEnrollment({
    baseUrl: est.url,
    ...(est.label !== undefined ? { label: est.label } : {}),
    trustAnchors: [ctx.device.trustAnchorsPem],
    ...(ctx.section?.responseTrustAnchorsFile ? { responseTrustAnchors: [readFileSync(ctx.section.responseTrustAnchorsFile, 'utf8')] } : {}),
    ...(ctx.device.basicAuth ? { basicAuth: ctx.device.basicAuth } : {}),
    bootstrap: { signer: ctx.keystore.signer(bootKey), certificate: bootCerts[0]!, chain: bootCerts.slice(1) },
    nonceControls: { request: attestation.freshnessOids.cmcNonceRequest, response: attestation.freshnessOids.cmcNonceResponse },
    keystore: ctx.keystore,
    pending,
    maxResponseBytes: est.maxResponseBytes,
    totalTimeoutMs: est.timeoutMs,
    now: () => ctx.clock.now(),
  });
  const dk = ctx.section?.decryptionKey;
  if (!dk?.enabled) return { protocol: { protocol } };
  if (!isDecryptionKeyStore(ctx.keystore)) throw new EnrolldError('config.cmc.decryption-key', 'cmc.decryptionKey needs a keystore with decrypt-only keys (the TPM)');
  const { schedule } = ctx.config;
  const decryptionKey = new DecryptionKeyEnroller({
    protocol,
    keystore: ctx.keystore,
    algorithm: dk.algorithm,
    stateDir,
    clock: ctx.clock,
    log: ctx.log,
    renewFraction: schedule.renewFraction,
    backoffMinSeconds: schedule.backoffMinSeconds,
    backoffMaxSeconds: schedule.backoffMaxSeconds,
  });
  let state: DecryptionKeyState | undefined = await decryptionKey.state().catch(() => undefined);
  const reload = async (): Promise<boolean> => {
    const next = await decryptionKey.state().catch(() => state);
    const changed = JSON.stringify(next) !== JSON.stringify(state);
    state = next;
    return changed;
  };
  // the status board hears of each change of the persisted record (enrolled, renewed, pending, failed)
  const poller: Poller = {
    async poll(agent) {
      try {
        return await decryptionKey.poll(agent);
      } finally {
        if (await reload()) void ctx.status.republish();
      }
    },
  };
  return {
    protocol: { protocol },
    poller,
    statusPart: {
      current: () => {
        const dk = decryptionKeyStatus(state);
        return dk ? { dk } : {};
      },
      refresh: async () => {
        await reload();
      },
    },
  };
}
