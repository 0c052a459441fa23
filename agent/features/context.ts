// The one context every feature is composed over: keystore, stores, the device identity, the device-authenticated
// EST client, the status board (over the configured sinks), and attestation when enabled.
import { readFileSync } from 'node:fs';
import { stateLayout } from '../store/layout.js';
import type * as pkijs from 'pkijs';
import type { Config } from '../config.js';
import { DeviceIdentity } from '../identity/device-identity.js';
import type { KeyStore } from '../keystore/keystore.js';
import { TpmKeyStore } from '../keystore/tpm.js';
import type { Clock } from '../lifecycle/clock.js';
import { STATE_SCHEMA, isAgentState, type AgentState } from '../lifecycle/state.js';
import { EstClient } from '../protocols/est/client.js';
import { createCredentialTransport } from '../protocols/http/credential-transport.js';
import { DeviceStatusBoard } from '../status/device-status.js';
import { FeatureStatusStore } from '../status/feature-status.js';
import type { StatusSink } from '../status/status-sink.js';
import { removeDeadWritersTemps } from '../store/atomic-file.js';
import { CrlStore } from '../store/crl-store.js';
import { FileStateStore } from '../store/state-store.js';
import { TrustAnchorStore } from '../store/ta-store.js';
import { lazyModule } from '../util/lazy-import.js';
import type { Logger } from '../util/log.js';
import { createAttestation } from './attestation/index.js';
import { checkAnchorsPem, readSecret } from './config-checks.js';
import type { DeviceHttp, FeatureContext } from './feature.js';
import { composeStatusSink } from './mqtt/index.js';

/** The pkijs parse of trust-anchor files: the seed of a first start, the last resort for issued certificates. */
const configFiles = lazyModule('the trust-anchor file parser', () => import('./config-files.js'));

export type SharedContext = Omit<FeatureContext, 'section'> & {
  sink: StatusSink;
  /** The EST server's anchors from config (the TA store's seed, and the last resort for issued certificates), parsed on first use. */
  factoryAnchors(): Promise<pkijs.Certificate[]>;
};

export interface ContextOptions {
  clock: Clock;
  log: Logger;
  status?: StatusSink;
  progressIntervalMs?: number;
  deferStatusConnect?: boolean;
}

/** Opens the TPM named by config.tpm (or takes `keystore`), reporting stale transients flushed. */
export async function openKeystore(config: Config, log: Logger, given?: KeyStore): Promise<KeyStore> {
  // The stale-transient flush runs inside open(), before the SRK check needs an object slot.
  const { flushStaleTransients } = config.tpm;
  const keystore = given ?? (await TpmKeyStore.open({ tcti: config.tpm.tcti, srkHandle: config.tpm.srkHandle, flushStaleTransients }));
  try {
    if (flushStaleTransients && keystore instanceof TpmKeyStore) {
      const n = given ? await keystore.flushStaleTransients() : keystore.staleTransientsFlushed;
      if (n > 0) log.warn('tpm.stale-transients-flushed', { count: n });
    }
    return keystore;
  } catch (err) {
    await keystore.close().catch(() => undefined);
    throw err;
  }
}

/** Builds the shared context over an open keystore (the caller closes the keystore if this throws). */
export async function createSharedContext(config: Config, keystore: KeyStore, o: ContextOptions): Promise<SharedContext> {
  const { clock, log } = o;
  const trustAnchorsPem = readFileSync(config.est.trustAnchorsFile, 'utf8');
  checkAnchorsPem(trustAnchorsPem, config.est.trustAnchorsFile);
  let anchors: pkijs.Certificate[] | undefined;
  const factoryAnchors = async (): Promise<pkijs.Certificate[]> => (anchors ??= (await configFiles()).anchorsFromPem(trustAnchorsPem, config.est.trustAnchorsFile));
  const state = new FileStateStore<AgentState>({ dir: config.stateDir, version: STATE_SCHEMA, validate: isAgentState, now: () => clock.now(), log });
  const swept = await removeDeadWritersTemps(config.stateDir).catch(() => []);
  if (swept.length) log.info('state.stale-temps-removed', { count: swept.length });
  const ta = await TrustAnchorStore.open(stateLayout(config.stateDir).trustAnchors, { now: () => clock.now(), log });
  if (ta.list().length === 0) {
    // First start: the manufacture-time TA file seeds the TA database (RFC 7030 §4.1.1 explicit TA).
    await ta.seed((await factoryAnchors()).map((c, i) => ({ name: `factory-${i}`, source: 'config', uses: ['est-server', 'cacerts', 'crl'] as const, certificate: c })));
  }
  const crl = await CrlStore.open(stateLayout(config.stateDir).crls, { taStore: ta, now: () => clock.now(), log });
  const basicAuth = config.est.basicAuth ? { username: config.est.basicAuth.username, password: readSecret(config.est.basicAuth.passwordFile) } : undefined;
  const identity = new DeviceIdentity({ keystore, log, load: async () => (await state.load())?.credential });
  // RFC 8295 requests authenticate as the device: TLS client auth with the identity once there is one (asked per
  // request, so a renewal switches it), the bootstrap Basic credentials before that.
  const transport = createCredentialTransport({
    base: { trustAnchors: [trustAnchorsPem], ...(basicAuth ? { basicAuth } : {}), maxResponseBytes: config.est.maxResponseBytes, totalTimeoutMs: config.est.timeoutMs },
    current: () => identity.current(),
  });
  const est = new EstClient({ baseUrl: config.est.url, ...(config.est.label !== undefined ? { label: config.est.label } : {}), transport, now: () => clock.now() });
  const device: DeviceHttp = { est, transport, trustAnchorsPem, ...(basicAuth ? { basicAuth } : {}) };
  const sink = await composeStatusSink({ config, clock, log, identity, ...(o.status ? { sink: o.status } : {}), ...(o.deferStatusConnect ? { deferConnect: true } : {}) });
  const status = new DeviceStatusBoard({ sink, clock, health: () => keystore.health?.(), load: () => state.load() });
  status.add({ current: () => ({ ta: { digest: ta.digest() } }) });
  return {
    config,
    clock,
    log,
    keystore,
    identity,
    stores: { state, ta, crl, outcomes: new FeatureStatusStore(config.stateDir, log) },
    device,
    status,
    sink,
    factoryAnchors,
    ...(config.attestation.enabled ? { attestation: createAttestation(config.attestation, keystore, clock) } : {}),
    ...(o.progressIntervalMs !== undefined ? { progressIntervalMs: o.progressIntervalMs } : {}),
  };
}
