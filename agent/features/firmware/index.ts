// RFC 4108 firmware over RFC 8295 §6: signers from the TA store (seeded once from config), downloads authenticated
// with the device identity, receipts signed with it; what runs, what waits for the reboot and the download's
// progress in the status snapshot.
import { stateLayout } from '../../store/layout.js';
import type { FirmwareSettings } from '../../config.js';
import type { StreamingHttpClient } from '../../packages/firmware/download.js';
import type { FirmwareManager } from '../../packages/firmware/manager.js';
import type { DownloadProgressReport } from '../../packages/firmware/progress.js';
import type { FirmwarePackageNameJson } from '../../pki/asn1/firmware-package-name.js';
import { credentialScoped } from '../../protocols/http/credential-transport.js';
import type { DeviceStatus, FirmwareProgress } from '../../status/schema.js';
import type { FeatureContext, FeatureParts } from '../feature.js';
import { sealedKeyLookup } from '../key-packages/index.js';

const fwName = (n: FirmwarePackageNameJson): string => ('preferred' in n ? `${n.preferred.fwPkgID}#${n.preferred.verNum}` : `legacy:${n.legacy}`);

/** What runs (confirmed after boot) and what waits for the reboot. */
async function firmwareStatus(fw: FirmwareManager): Promise<DeviceStatus['fw']> {
  const st = await fw.state();
  if (!st.installed && !st.pending) return undefined;
  return { running: st.installed ? fwName(st.installed.name) : 'factory', ...(st.pending ? { pending: fwName(st.pending.name) } : {}) };
}

export async function compose(ctx: FeatureContext<FirmwareSettings>): Promise<FeatureParts> {
  const { FirmwareManager } = await import('../../packages/firmware/manager.js');
  const { createStreamingHttpsClient } = await import('../../packages/firmware/download.js');
  const fw = ctx.section;
  const { ta, outcomes } = ctx.stores;
  // first start only (no firmware anchor in the store yet): the anchors file is decoded with pki/cert.ts
  if (ta.anchorsFor('firmware').length === 0) {
    const { readAnchors } = await import('../config-files.js');
    await ta.seed(readAnchors(fw.trustAnchorsFile).map((c, i) => ({ name: `firmware-${i}`, source: 'config', uses: ['firmware'] as const, certificate: c })));
  }
  const { trustAnchorsPem, basicAuth } = ctx.device;
  const streaming = credentialScoped(
    () => ctx.identity.current(),
    (clientAuth) => createStreamingHttpsClient({ trustAnchors: [trustAnchorsPem], ...(clientAuth ? { clientAuth } : basicAuth ? { basicAuth } : {}) }),
  );
  const http: StreamingHttpClient = { get: async (url, o) => (await streaming()).client.get(url, o) };
  const decryptKey = ctx.config.keyPackages ? sealedKeyLookup(ctx.config.stateDir, ctx.keystore) : undefined;
  let running: DeviceStatus['fw'];
  let progress: FirmwareProgress | undefined;
  // Download progress into the status snapshot (at the progress reporter's cadence, not per chunk).
  const onDownloadProgress = (r: DownloadProgressReport): void => {
    progress = r.phase === 'downloading' ? { bytes: r.bytes, rate: r.rate, ...(r.total !== undefined ? { total: r.total } : {}), ...(r.etaSeconds !== undefined ? { eta: r.etaSeconds } : {}) } : undefined;
    if (r.phase === 'done') outcomes.success('firmware', r.at);
    if (r.phase === 'failed') outcomes.failure('firmware', r.error ?? 'internal', r.at);
    void ctx.status.republish();
  };
  const firmware = new FirmwareManager({
    workDir: stateLayout(ctx.config.stateDir).firmwareDir,
    device: {
      hwType: fw.hardware.type,
      ...(fw.hardware.altTypes.length ? { altHwTypes: fw.hardware.altTypes } : {}),
      hwSerialNum: new Uint8Array(Buffer.from(fw.hardware.serialHex, 'hex')),
      ...(fw.hardware.communities.length ? { communities: fw.hardware.communities } : {}),
    },
    trustAnchors: async (purpose) => (purpose === 'firmware' ? ta.certificatesFor('firmware') : ta.list().map((a) => a.der)),
    hook: { path: fw.hook.path, args: fw.hook.args, timeoutMs: fw.hook.timeoutSeconds * 1000 },
    http,
    transport: ctx.device.transport,
    ...(fw.signReturns ? { returnSigner: () => ctx.identity.returnSigner() } : {}),
    ...(decryptKey ? { decryptKey } : {}),
    maxPackageBytes: fw.maxPackageBytes,
    now: () => ctx.clock.now(),
    log: ctx.log,
    onDownloadProgress,
    ...(ctx.progressIntervalMs !== undefined ? { progressIntervalMs: ctx.progressIntervalMs } : {}),
  });
  running = await firmwareStatus(firmware);
  return {
    firmware,
    handlers: [firmware.handler()],
    statusPart: {
      current: () => (running || progress ? { fw: { ...(running ?? { running: 'factory' }), ...(progress ? { progress } : {}) } } : {}),
      refresh: async () => {
        running = await firmwareStatus(firmware).catch(() => running);
      },
    },
  };
}
