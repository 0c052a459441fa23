// The PAL cycle (RFC 8295 §2.2, or RFC 7030 /cacerts refresh for servers without a PAL) over the device-authenticated
// EST client, dispatching to the package handlers the features contribute; each poll's summary is kept for
// `enrolld status`, its outcome in the status snapshot.
import type { EstConfig } from '../../config.js';
import { FilePeerCertificateStore } from '../../store/peer-store.js';
import { PalPoller, type PalPollRecord } from '../../packages/pal-poller.js';
import { createPackageRegistry } from '../../packages/registry.js';
import type { PackageContext } from '../../packages/context.js';
import type { PackageHandler } from '../../pal/dispatch.js';
import type { DeviceStatus } from '../../status/schema.js';
import { stateLayout } from '../../store/layout.js';
import { palSummaryWriter, type PalPollSummary } from '../../status/pal-summary.js';
import type { FeatureContext } from '../feature.js';

export { PAL_STATUS_FILE, type PalPollSummary } from '../../status/pal-summary.js';

/**
 * A no-change poll rewrites only the summary (its `at` is the exact lastSuccess readFeatureStatus reports); the
 * feature-status document gets the PAL's lastSuccess at most once a day (and at shutdown), its fallback when the
 * summary is unreadable.
 */
export const PAL_SUCCESS_PERSIST_MS = 24 * 3600_000;

export interface PalParts {
  poller: PalPoller;
  /** Resolves when the summaries written so far are on disk. */
  settled(): Promise<void>;
}

export async function composePal(ctx: FeatureContext<EstConfig>, handlers: PackageHandler<PackageContext>[]): Promise<PalParts> {
  const { config, log, stores, status, section: est } = ctx;
  let last: DeviceStatus['pal'];
  let writes: Promise<void> = Promise.resolve();
  const files = stateLayout(config.stateDir);
  const saveSummary = palSummaryWriter(config.stateDir);
  status.add({ current: () => (last ? { pal: last } : {}) });
  const onRecord = (r: PalPollRecord): void => {
    last = { lastPoll: r.at, result: r.outcome === 'error' ? 'error' : r.entries === 0 ? 'none' : 'ok', ...(r.error ? { code: r.error.code } : {}) };
    if (r.error) {
      status.error(r.error.code, r.at);
      stores.outcomes.failure('pal', r.error.code, r.at);
    } else stores.outcomes.success('pal', r.at, { persistAfterMs: PAL_SUCCESS_PERSIST_MS });
    // One small atomic write per poll; never fails the poll.
    const summary: PalPollSummary = { at: r.at, outcome: r.outcome, pages: r.pages, entries: r.entries, counts: r.counts, codes: r.codes, renew: r.renew, ...(r.error ? { error: r.error.code } : {}) };
    writes = writes.then(() => saveSummary(summary)).catch((err) => log.warn('pal.status-write-failed', { err }));
    void status.refresh();
  };
  const poller = new PalPoller({
    est: ctx.device.est,
    // RFC 7030 servers without a PAL (§4.1.3 /cacerts refresh by the agent itself); probe memory in the state dir
    pal: est.pal,
    stateFile: files.palProbe,
    cacertsRefreshMs: est.cacertsRefreshHours * 3600_000,
    peers: await FilePeerCertificateStore.open(files.peerCertificates),
    registry: createPackageRegistry({ handlers }),
    taStore: stores.ta,
    crlStore: stores.crl,
    log,
    clock: ctx.clock,
    onRecord,
  });
  return { poller, settled: () => writes };
}
