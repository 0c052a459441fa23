// The contract between the composition root (agent/cli/compose.ts) and a feature (agent/features/<name>/): a feature
// gets ONE context — its config section plus what every feature shares — and returns its parts; the root routes
// them (protocol → Enroller, handlers → PalPoller registry, statusPart → the status board) and closes them.
import type * as pkijs from 'pkijs';
import type { Config } from '../config.js';
import type { DeviceIdentity } from '../identity/device-identity.js';
import type { KeyRecord, KeyStore } from '../keystore/keystore.js';
import type { Clock } from '../lifecycle/clock.js';
import type { Poller } from '../lifecycle/daemon.js';
import type { RequestContext, RequestPlan } from '../lifecycle/enroller.js';
import type { AgentState } from '../lifecycle/state.js';
import type { PackageContext } from '../packages/context.js';
import type { FirmwareManager } from '../packages/firmware/manager.js';
import type { TampManager } from '../packages/tamp/manager.js';
import type { PackageHandler } from '../pal/dispatch.js';
import type { BuildCsrOptions } from '../pki/csr.js';
import type { EstClient } from '../protocols/est/client.js';
import type { CredentialTransport } from '../protocols/http/credential-transport.js';
import type { EnrollmentProtocol } from '../protocols/protocol.js';
import type { DeviceStatusBoard, StatusPart } from '../status/device-status.js';
import type { FeatureStatusStore } from '../status/feature-status.js';
import type { CrlStore } from '../store/crl-store.js';
import type { FileStateStore } from '../store/state-store.js';
import type { TrustAnchorStore } from '../store/ta-store.js';
import type { Logger } from '../util/log.js';

/** The EST server as the device talks to it for RFC 8295 paths: authenticated with the device identity once enrolled. */
export interface DeviceHttp {
  est: EstClient;
  transport: CredentialTransport;
  /** The EST server's trust anchors (PEM file contents). */
  trustAnchorsPem: string;
  /** Bootstrap HTTP Basic credentials (RFC 7030 §3.2.3), used only before the first certificate. */
  basicAuth?: { username: string; password: string };
}

/** TPM2_Certify evidence of a key by the provisioned AK (attestation.enabled). */
export interface Attestation {
  /** Evidence outside the CSR (ACME remote-attest-01): a DER AttestationBundle over `qualifyingData`. */
  evidence(key: KeyRecord, qualifyingData: Uint8Array): Promise<Uint8Array>;
  /** The CSR attribute, with a fresh nonce from the protocol (draft-ietf-lamps-attestation-freshness). */
  csrAttribute(key: KeyRecord, protocol: EnrollmentProtocol, ctx: RequestContext): Promise<pkijs.Attribute>;
}

export interface Stores {
  state: FileStateStore<AgentState>;
  ta: TrustAnchorStore;
  crl: CrlStore;
  /** Per-feature outcomes for `enrolld status` and the metrics (feature-status.json). */
  outcomes: FeatureStatusStore;
}

export interface FeatureContext<S = unknown> {
  /** This feature's config section. */
  section: S;
  /** The whole configuration, for the settings every feature shares (stateDir, identity, the EST server). */
  config: Config;
  clock: Clock;
  log: Logger;
  keystore: KeyStore;
  identity: DeviceIdentity;
  stores: Stores;
  device: DeviceHttp;
  status: DeviceStatusBoard;
  attestation?: Attestation;
  /** Minimum time between firmware download progress reports, ms (tests shorten it). */
  progressIntervalMs?: number;
}

/** An enrollment protocol and the protocol's say in the request the lifecycle builds. */
export interface ProtocolPart {
  protocol: EnrollmentProtocol;
  /** Before each request's key is created (RFC 7030 §4.5 /csrattrs). */
  prepare?(ctx: RequestContext): Promise<RequestPlan>;
  /** Adjusts the CSR content to the plan `prepare` made. */
  refineCsr?(options: BuildCsrOptions, key: KeyRecord, ctx: RequestContext & { plan: RequestPlan }): BuildCsrOptions;
  /** Anchors issued certificates may also chain to (beyond the TA store's cacerts). */
  issuerAnchors?: pkijs.Certificate[];
}

export interface FeatureParts {
  protocol?: ProtocolPart;
  /** PAL package handlers (RFC 8295 package types). */
  handlers?: PackageHandler<PackageContext>[];
  statusPart?: StatusPart;
  /** Periodic work on the PAL cycle (after the PAL poll; it never fails the cycle): e.g. the CMP root CA key update. */
  poller?: Poller;
  /** Managers the agent exposes (AgentParts.firmware / .tamp). */
  firmware?: FirmwareManager;
  tamp?: TampManager;
  close?(): Promise<void>;
}

export type ComposeFeature<S> = (ctx: FeatureContext<S>) => Promise<FeatureParts>;
