// The composition root: builds the agent from a validated Config — the shared context (TPM keystore, stores, device
// identity, status), the enabled features (agent/features/index.ts), and routes their parts into the enroller, the
// PAL poller, the daemon and the status board. Layers meet only here.
import type { Config } from '../config.js';
import type { KeyStore } from '../keystore/keystore.js';
import { SystemClock, type Clock } from '../lifecycle/clock.js';
import { Enroller } from '../lifecycle/enroller.js';
import { Daemon, type Poller } from '../lifecycle/daemon.js';
import { CronSchedule, RENEW_SPREAD } from '../lifecycle/schedule.js';
import type { AgentState } from '../lifecycle/state.js';
import type { EnrollmentProtocol } from '../protocols/protocol.js';
import type { EstClient } from '../protocols/est/client.js';
import type { PalPoller } from '../packages/pal-poller.js';
import type { FirmwareManager } from '../packages/firmware/manager.js';
import type { TampManager } from '../packages/tamp/manager.js';
import type { FileStateStore } from '../store/state-store.js';
import type { TrustAnchorStore } from '../store/ta-store.js';
import type { CrlStore } from '../store/crl-store.js';
import type { StatusSink } from '../status/index.js';
import { createLogger, type Logger } from '../util/log.js';
import { EnrolldError } from '../util/errors.js';
import { composeFeatures } from '../features/index.js';
import { createSharedContext, openKeystore } from '../features/context.js';
import { composePal } from '../features/pal/index.js';
import { csrBuilder } from '../identity/csr-content.js';
import { issuedVerifier } from '../identity/issued.js';

export { PAL_STATUS_FILE, type PalPollSummary } from '../features/pal/index.js';

export interface AgentParts {
  config: Config;
  log: Logger;
  clock: Clock;
  keystore: KeyStore;
  state: FileStateStore<AgentState>;
  taStore: TrustAnchorStore;
  crlStore: CrlStore;
  /** The enrollment protocol selected by config.protocol. */
  protocol: EnrollmentProtocol;
  enroller: Enroller;
  poller: PalPoller;
  /** Firmware packages (RFC 4108), when configured. */
  firmware?: FirmwareManager;
  /** TAMP trust-anchor management (RFC 5934), when configured. */
  tamp?: TampManager;
  /** Where status goes: the journal always, MQTT when configured. Never blocks or throws. */
  status: StatusSink;
  /** EST client for the RFC 8295 extension endpoints (PAL, eecerts, crls). */
  est: EstClient;
  /** Builds the daemon (owns a cron matcher: close() releases it). */
  daemon(hooks?: { onReady?(s: AgentState): void; onIdle?(s: AgentState, next: Date): void }): Daemon;
  /** Resolves when the background status writes queued so far (PAL summary, per-feature outcomes) are on disk. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export interface ComposeOptions {
  clock?: Clock;
  log?: Logger;
  /** Another KeyStore (tests of the software path); default: the TPM named by config.tpm. */
  keystore?: KeyStore;
  /** Another status sink; default: createStatusSink(config). */
  status?: StatusSink;
  /** Minimum time between firmware download progress reports, ms (default 30 s; tests shorten it). */
  progressIntervalMs?: number;
  /** MQTT status connects only at `status.start()` (the daemon: after READY=1); default: at composition. */
  deferStatusConnect?: boolean;
}

export async function composeAgent(config: Config, opts: ComposeOptions = {}): Promise<AgentParts> {
  const clock = opts.clock ?? new SystemClock();
  const log = opts.log ?? createLogger({ level: config.log.level, fields: { device: config.deviceId } });
  for (const w of config.warnings) log.warn('config.warning', { field: w.field, message: w.message });
  const keystore = await openKeystore(config, log, opts.keystore);
  const closers: Array<() => Promise<void>> = [() => keystore.close()];
  const close = async (): Promise<void> => {
    for (const c of closers.splice(0).reverse()) await c();
  };
  try {
    const ctx = await createSharedContext(config, keystore, {
      clock,
      log,
      ...(opts.status ? { status: opts.status } : {}),
      ...(opts.progressIntervalMs !== undefined ? { progressIntervalMs: opts.progressIntervalMs } : {}),
      ...(opts.deferStatusConnect ? { deferStatusConnect: true } : {}),
    });
    const { identity, stores, status } = ctx;
    closers.push(() => ctx.sink.close(), () => identity.settled());
    const features = await composeFeatures(ctx);
    for (const f of features) if (f.close) closers.push(f.close);
    for (const f of features) if (f.statusPart) status.add(f.statusPart);
    const part = features.find((f) => f.protocol)?.protocol;
    if (!part) throw new EnrolldError('config.protocol', `protocol ${config.protocol} is not available in this build`);
    const enroller = new Enroller({
      onTransition: (s, event) => {
        if (event.type === 'fail') status.error(event.reason);
        if (event.type === 'fail') stores.outcomes.failure('enroll', event.reason, clock.now());
        if (event.type === 'issued') stores.outcomes.success('enroll', clock.now());
        if (event.type === 'issued' && s.credential) identity.use(s.credential);
        ctx.sink.event(`lifecycle.${event.type}`, { phase: s.phase });
        status.publish(s);
      },
      clock,
      log,
      keystore,
      retire: (key) => identity.retire(key),
      protocol: part.protocol,
      state: stores.state,
      ...(part.prepare ? { prepare: part.prepare } : {}),
      buildCsr: csrBuilder(config.identity, part, ctx.attestation),
      // the factory anchors are parsed only when the TA store and the protocol have no anchor to check against
      verifyIssued: issuedVerifier(stores.ta, part.issuerAnchors ?? [], ctx.factoryAnchors),
      policy: {
        keyAlgorithm: config.identity.keyAlgorithm,
        renewFraction: config.schedule.renewFraction,
        // Jitter on: renewal times spread below the fraction, so a fleet enrolled together does not renew together.
        renewSpread: config.schedule.jitterSeconds > 0 ? RENEW_SPREAD : 0,
        backoffMinSeconds: config.schedule.backoffMinSeconds,
        backoffMaxSeconds: config.schedule.backoffMaxSeconds,
        renewAuthRetries: config.schedule.renewAuthRetries,
      },
    });
    const pal = await composePal({ ...ctx, section: config.est }, features.flatMap((f) => f.handlers ?? []));
    const settled = async (): Promise<void> => {
      await pal.settled();
      await stores.outcomes.flushed();
    };
    closers.push(settled);
    // the PAL cycle, then the features' periodic work (each keeps its own persisted schedule)
    const extraPollers = features.flatMap((f) => (f.poller ? [f.poller] : []));
    const cyclePoller: Poller = extraPollers.length === 0 ? pal.poller : {
      async poll(state) {
        try {
          return await pal.poller.poll(state);
        } finally {
          // a failed PAL poll (backed off by the daemon) does not hold the features' own schedules up
          for (const p of extraPollers) await p.poll(state).catch(() => undefined);
        }
      },
    };
    const firmware = features.find((f) => f.firmware)?.firmware;
    const tamp = features.find((f) => f.tamp)?.tamp;
    return {
      config,
      log,
      clock,
      keystore,
      state: stores.state,
      taStore: stores.ta,
      crlStore: stores.crl,
      protocol: part.protocol,
      enroller,
      poller: pal.poller,
      ...(firmware ? { firmware } : {}),
      ...(tamp ? { tamp } : {}),
      status: ctx.sink,
      est: ctx.device.est,
      daemon(hooks = {}) {
        const schedule = new CronSchedule(config.schedule.cron);
        closers.push(async () => schedule.close());
        return new Daemon({
          clock,
          log,
          enroller,
          schedule,
          poller: cyclePoller,
          jitterSeconds: config.schedule.jitterSeconds,
          backoffMinSeconds: config.schedule.backoffMinSeconds,
          backoffMaxSeconds: config.schedule.backoffMaxSeconds,
          ...hooks,
        });
      },
      settled,
      close,
    };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
