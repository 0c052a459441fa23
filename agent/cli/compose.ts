// The composition root: builds the agent from a validated Config — TPM keystore, state store, TA/CRL stores,
// the enrollment protocol, the PAL poller, the enroller and the daemon. Layers meet only here.
import { readFileSync } from 'node:fs';
import { removeDeadWritersTemps, writeFileAtomic } from '../store/atomic-file.js';
import path from 'node:path';
import type { Config } from '../config.js';
import { TpmKeyStore } from '../keystore/tpm.js';
import { isKeyImportStore, type KeyStore } from '../keystore/keystore.js';
import { FileStateStore } from '../store/state-store.js';
import { TrustAnchorStore } from '../store/ta-store.js';
import { CrlStore } from '../store/crl-store.js';
import { FilePeerCertificateStore } from '../store/peer-store.js';
import { SystemClock, type Clock } from '../lifecycle/clock.js';
import { Enroller, type RequestContext } from '../lifecycle/enroller.js';
import { Daemon } from '../lifecycle/daemon.js';
import { CronSchedule, RENEW_SPREAD } from '../lifecycle/schedule.js';
import { STATE_SCHEMA, fromStoredKey, isAgentState, type AgentState, type Credential } from '../lifecycle/state.js';
import { EstEnrollment } from '../protocols/est/enrollment.js';
import type { EnrollmentProtocol, NonceContext } from '../protocols/protocol.js';
import { EstClient } from '../protocols/est/client.js';
import { reenrollIdentity } from '../protocols/est/simplereenroll.js';
import { PalPoller } from '../packages/pal-poller.js';
import { createPackageRegistry } from '../packages/registry.js';
import type { FirmwareManager } from '../packages/firmware/manager.js';
import type { StreamingHttpClient } from '../packages/firmware/download.js';
import type { ReturnSigner } from '../packages/firmware/report.js';
import type { FirmwarePackageNameJson } from '../pki/asn1/firmware-package-name.js';
import type { TampManager } from '../packages/tamp/manager.js';
import type { PackageHandler } from '../pal/dispatch.js';
import type { PackageContext } from '../packages/context.js';
import { buildName } from '../pki/name.js';
import { createCredentialTransport, credentialScoped, type DeviceCredential } from '../protocols/http/credential-transport.js';
import { buildCsr, type BuildCsrOptions } from '../pki/csr.js';
import { applyCsrPlan, fetchCsrPlan, isCsrPlan } from '../protocols/est/csrattrs.js';
import { validateChain } from '../pki/chain.js';
import { certificateToDer, certificatesFromPem } from '../pki/cert.js';
import { createLogger, type Logger } from '../util/log.js';
import { createStatusSink, deviceStatusFromState, stateExtraFromState, type StatusSink, type DeviceStatus, type ClientCredential, type FirmwareProgress } from '../status/index.js';
import { FeatureStatusStore } from '../status/feature-status.js';
import type { DownloadProgressReport } from '../packages/firmware/progress.js';
import { EnrolldError } from '../util/errors.js';
import type * as pkijs from 'pkijs';
import type { KeyRecord } from '../keystore/keystore.js';
import { attestationAttribute, buildCertifyEvidence, isCertifyingKeyStore } from '../attest/evidence.js';
import type { CmpPendingTransaction } from '../protocols/cmp/client.js';
import type { CmcPendingRecord } from '../protocols/cmc/enrollment.js';
import { akRecordFromJson, loadProvisionedAk, type ProvisionedAk } from '../attest/provision.js';

/** The last PAL poll, as `enrolld status` shows it (state dir, 0600). */
export const PAL_STATUS_FILE = 'pal-last-poll.json';
export interface PalPollSummary {
  at: string;
  outcome: 'ok' | 'error';
  pages: number;
  entries: number;
  counts: { ok: number; failed: number; skipped: number; notRun: number };
  codes: string[];
  renew: boolean;
  error?: string;
}

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
}

function readSecret(file: string): string {
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new EnrolldError('config.secret', `cannot read ${file}: ${(err as Error).message}`);
  }
}

function readJsonIfExists<T>(file: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new EnrolldError('state.corrupt', `${file}: ${(err as Error).message}`);
  }
}

function readAnchors(file: string): pkijs.Certificate[] {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new EnrolldError('config.trust-anchors', `cannot read ${file}: ${(err as Error).message}`);
  }
  const certs = certificatesFromPem(pem);
  if (certs.length === 0) throw new EnrolldError('config.trust-anchors', `${file} holds no certificate`);
  return certs;
}

const fwName = (n: FirmwarePackageNameJson): string => ('preferred' in n ? `${n.preferred.fwPkgID}#${n.preferred.verNum}` : `legacy:${n.legacy}`);

/** The status snapshot's firmware part: what runs (confirmed after boot) and what waits for the reboot. */
async function firmwareStatus(fw: FirmwareManager): Promise<DeviceStatus['fw']> {
  const st = await fw.state();
  if (!st.installed && !st.pending) return undefined;
  return { running: st.installed ? fwName(st.installed.name) : 'factory', ...(st.pending ? { pending: fwName(st.pending.name) } : {}) };
}

interface ProtocolDeps {
  keystore: KeyStore;
  clock: Clock;
  estAnchorsPem: string;
  basicAuth: { username: string; password: string } | undefined;
  /** TPM2_Certify evidence (DER AttestationBundle) of `key` with `qualifyingData`, when attestation is enabled. */
  attest?: (key: KeyRecord, qualifyingData: Uint8Array) => Promise<Uint8Array>;
}

/**
 * The enrollment protocol named by config.protocol; the lifecycle, state and status are shared by all of them. Only
 * the selected protocol's modules are loaded (start-up time and memory of `enrolld run`).
 */
async function createEnrollmentProtocol(config: Config, d: ProtocolDeps): Promise<EnrollmentProtocol> {
  switch (config.protocol) {
    case 'est':
      return new EstEnrollment({
        baseUrl: config.est.url,
        ...(config.est.label !== undefined ? { label: config.est.label } : {}),
        trustAnchors: [d.estAnchorsPem],
        ...(d.basicAuth ? { basicAuth: d.basicAuth } : {}),
        keystore: d.keystore,
        maxResponseBytes: config.est.maxResponseBytes,
        totalTimeoutMs: config.est.timeoutMs,
        now: () => d.clock.now(),
      });
    case 'cmp': {
      const { CmpEnrollment } = await import('../protocols/cmp/enrollment.js');
      const c = config.cmp!;
      const pendingFile = path.join(config.stateDir, 'cmp-pending.json');
      const pending = readJsonIfExists<Record<string, CmpPendingTransaction>>(pendingFile) ?? {};
      let writes: Promise<void> = Promise.resolve();
      return new CmpEnrollment({
        url: c.url,
        trustAnchors: readAnchors(c.trustAnchorsFile).map(certificateToDer),
        ...(c.tlsTrustAnchorsFile ? { tlsTrustAnchors: [readFileSync(c.tlsTrustAnchorsFile, 'utf8')] } : {}),
        ...(c.mac ? { mac: { reference: c.mac.reference, secret: new Uint8Array(Buffer.from(readSecret(c.mac.secretFile), 'utf8')) } } : {}),
        implicitConfirm: c.implicitConfirm,
        allowLoopbackHttp: c.allowLoopbackHttp,
        request: c.request,
        keystore: d.keystore,
        pending,
        nonceInfoTypes: { request: config.attestation.freshnessOids.cmpNonceRequest, response: config.attestation.freshnessOids.cmpNonceResponse },
        // A waiting transaction survives a restart (pollReq resumes it): persisted next to the lifecycle state.
        onPendingChange: (p) => {
          writes = writes.then(() => writeFileAtomic(pendingFile, JSON.stringify(p) + '\n')).catch(() => undefined);
        },
        now: () => d.clock.now(),
      });
    }
    case 'cmc': {
      const { CmcEnrollment } = await import('../protocols/cmc/enrollment.js');
      const { bootstrapCertFile, bootstrapKeyFile } = config.identity;
      const bootCerts = readAnchors(bootstrapCertFile!).map(certificateToDer);
      const bootKey = akRecordFromJson(readFileSync(bootstrapKeyFile!, 'utf8'), bootstrapKeyFile!);
      const pendingFile = path.join(config.stateDir, 'cmc-pending.json');
      const records = readJsonIfExists<Record<string, CmcPendingRecord>>(pendingFile) ?? {};
      const save = (): Promise<void> => writeFileAtomic(pendingFile, JSON.stringify(records) + '\n');
      return new CmcEnrollment({
        baseUrl: config.est.url,
        ...(config.est.label !== undefined ? { label: config.est.label } : {}),
        trustAnchors: [d.estAnchorsPem],
        ...(config.cmc?.responseTrustAnchorsFile ? { responseTrustAnchors: [readFileSync(config.cmc.responseTrustAnchorsFile, 'utf8')] } : {}),
        ...(d.basicAuth ? { basicAuth: d.basicAuth } : {}),
        bootstrap: { signer: d.keystore.signer(bootKey), certificate: bootCerts[0]!, chain: bootCerts.slice(1) },
        nonceControls: { request: config.attestation.freshnessOids.cmcNonceRequest, response: config.attestation.freshnessOids.cmcNonceResponse },
        keystore: d.keystore,
        // A pending CMC request (pendToken) survives a restart: queryPending resumes it.
        pendingStore: {
          get: (k) => records[k],
          set: async (k, v) => {
            records[k] = v;
            await save();
          },
          delete: async (k) => {
            delete records[k];
            await save();
          },
        },
        maxResponseBytes: config.est.maxResponseBytes,
        totalTimeoutMs: config.est.timeoutMs,
        now: () => d.clock.now(),
      });
    }
    case 'acme': {
      const { AcmeEnrollment } = await import('../protocols/acme/enrollment.js');
      const a = config.acme!;
      return new AcmeEnrollment({
        directoryUrl: a.directoryUrl,
        trustAnchors: [readFileSync(a.trustAnchorsFile, 'utf8')],
        keystore: d.keystore,
        accountFile: path.join(config.stateDir, 'acme-account.json'),
        contact: a.contact,
        challengePreference: a.challengePreference,
        remoteAttestation: a.remoteAttestation,
        ...(d.attest ? { attest: d.attest } : {}),
        maxPollMs: a.maxPollSeconds * 1000,
        totalTimeoutMs: config.est.timeoutMs,
        now: () => d.clock.now(),
      });
    }
    default:
      throw new EnrolldError('config.protocol', `protocol ${config.protocol} is not available in this build`);
  }
}

/** The device credential as a CMS signer (receipts, TAMP answers): whichever credential is current when asked. */
async function currentReturnSigner(keystore: KeyStore, state: FileStateStore<AgentState>): Promise<ReturnSigner | undefined> {
  const cred = (await state.load())?.credential;
  if (!cred) return undefined;
  return {
    signer: keystore.signer(fromStoredKey(cred.key)),
    certificate: certificateToDer(certificatesFromPem(cred.certPem)[0]!),
    chain: cred.chainPem.flatMap((p) => certificatesFromPem(p).map(certificateToDer)),
  };
}

/** The status snapshot's TAMP sequence number: the highest accepted from any TAMP signer (RFC 5934 §6). */
async function tampSequence(t: TampManager): Promise<number | undefined> {
  const seqs = Object.values((await t.state.load()).seq).map(Number);
  return seqs.length ? Math.max(...seqs) : undefined;
}

/** TAMP (RFC 5934): the apex TA installed once from config; answers signed with the current device credential. */
async function composeTamp(config: Config, d: { clock: Clock; keystore: KeyStore; state: FileStateStore<AgentState> }): Promise<TampManager> {
  const { TampManager } = await import('../packages/tamp/manager.js');
  const t = config.tamp!;
  const hw = t.hardware ?? config.firmware!.hardware;
  const m = new TampManager({
    stateDir: config.stateDir,
    apexTaFile: t.apexTrustAnchorFile,
    module: { hwType: hw.type, hwSerialNum: new Uint8Array(Buffer.from(hw.serialHex, 'hex')) },
    initialCommunities: t.communities,
    returnSigner: () => currentReturnSigner(d.keystore, d.state),
    now: () => d.clock.now(),
  });
  await m.init();
  return m;
}

/** Key packages (RFC 8295 0020–0025): TAs seeded once from config, sealing/import in the TPM keystore. */
async function composeKeyPackages(config: Config, d: { taStore: TrustAnchorStore; clock: Clock; log: Logger; keystore: KeyStore; state: FileStateStore<AgentState> }): Promise<PackageHandler<PackageContext>[]> {
  const { createKeyPackageHandlers } = await import('../packages/keys/index.js');
  const k = config.keyPackages!;
  if (!isKeyImportStore(d.keystore)) throw new EnrolldError('config.keyPackages', 'key packages need the TPM keystore (import/seal)');
  if (d.taStore.anchorsFor('key-packages').length === 0) {
    await d.taStore.add(readAnchors(k.trustAnchorsFile).map((c, i) => ({ name: `key-packages-${i}`, source: 'config', uses: ['key-packages'] as const, certificate: c })));
  }
  const keystore = d.keystore;
  return createKeyPackageHandlers({
    keystore,
    stateDir: path.join(config.stateDir, 'keys'),
    deviceName: new Uint8Array(buildName(config.identity.subject).toSchema().toBER(false)),
    subject: config.identity.subject,
    trustAnchors: async () => d.taStore.certificatesFor('key-packages'),
    returnSigner: () => currentReturnSigner(d.keystore, d.state),
    maxPackageBytes: k.maxPackageBytes,
    ...(k.serverKeygen.keyAlgorithm ? { keyAlgorithm: k.serverKeygen.keyAlgorithm } : {}),
    acceptPkcs1: k.serverKeygen.acceptPkcs1,
    log: d.log,
    now: () => d.clock.now(),
  });
}

/** RFC 4108 §2.2.5: a firmware-decryption key named by decrypt-key-identifier, from the symmetric keys sealed in the TPM. */
function sealedKeyLookup(config: Config, keystore: KeyStore): ((keyId: Uint8Array) => Promise<Uint8Array | undefined>) | undefined {
  if (!config.keyPackages || !isKeyImportStore(keystore)) return undefined;
  const ks = keystore;
  const dir = path.join(config.stateDir, 'keys');
  return async (keyId) => {
    const { KeysStateFile } = await import('../packages/keys/index.js');
    const store = new KeysStateFile(dir);
    const wanted = [Buffer.from(keyId).toString('utf8'), Buffer.from(keyId).toString('hex')];
    const hit = (await store.load()).symmetric.find((s) => wanted.includes(s.keyId));
    return hit ? ks.unsealSecret(hit.sealed) : undefined;
  };
}

interface FirmwareDeps {
  taStore: TrustAnchorStore;
  clock: Clock;
  log: Logger;
  keystore: KeyStore;
  state: FileStateStore<AgentState>;
  deviceCredential: () => Promise<DeviceCredential | undefined>;
  deviceTransport: ReturnType<typeof createCredentialTransport>;
  estAnchorsPem: string;
  basicAuth: { username: string; password: string } | undefined;
  decryptKey?: (keyId: Uint8Array) => Promise<Uint8Array | undefined>;
  onDownloadProgress?: (r: DownloadProgressReport) => void;
  progressIntervalMs?: number;
}

/** RFC 4108 firmware over RFC 8295 §6: signers from the TA store (seeded once from config), device-authenticated downloads. */
async function composeFirmware(config: Config, d: FirmwareDeps): Promise<FirmwareManager> {
  const { FirmwareManager } = await import('../packages/firmware/manager.js');
  const { createStreamingHttpsClient } = await import('../packages/firmware/download.js');
  const fw = config.firmware!;
  if (d.taStore.anchorsFor('firmware').length === 0) {
    const anchors = readAnchors(fw.trustAnchorsFile);
    await d.taStore.add(anchors.map((c, i) => ({ name: `firmware-${i}`, source: 'config', uses: ['firmware'] as const, certificate: c })));
  }
  const streaming = credentialScoped(d.deviceCredential, (clientAuth) =>
    createStreamingHttpsClient({ trustAnchors: [d.estAnchorsPem], ...(clientAuth ? { clientAuth } : d.basicAuth ? { basicAuth: d.basicAuth } : {}) }),
  );
  const http: StreamingHttpClient = { get: async (url, o) => (await streaming()).client.get(url, o) };
  const returnSigner = (): Promise<ReturnSigner | undefined> => currentReturnSigner(d.keystore, d.state);
  return new FirmwareManager({
    workDir: path.join(config.stateDir, 'firmware'),
    device: {
      hwType: fw.hardware.type,
      ...(fw.hardware.altTypes.length ? { altHwTypes: fw.hardware.altTypes } : {}),
      hwSerialNum: new Uint8Array(Buffer.from(fw.hardware.serialHex, 'hex')),
      ...(fw.hardware.communities.length ? { communities: fw.hardware.communities } : {}),
    },
    trustAnchors: async (purpose) => (purpose === 'firmware' ? d.taStore.certificatesFor('firmware') : d.taStore.list().map((a) => a.certificate)),
    hook: { path: fw.hook.path, args: fw.hook.args, timeoutMs: fw.hook.timeoutSeconds * 1000 },
    http,
    transport: d.deviceTransport,
    ...(fw.signReturns ? { returnSigner } : {}),
    ...(d.decryptKey ? { decryptKey: d.decryptKey } : {}),
    maxPackageBytes: fw.maxPackageBytes,
    now: () => d.clock.now(),
    log: d.log,
    ...(d.onDownloadProgress ? { onDownloadProgress: d.onDownloadProgress } : {}),
    ...(d.progressIntervalMs !== undefined ? { progressIntervalMs: d.progressIntervalMs } : {}),
  });
}

export async function composeAgent(config: Config, opts: ComposeOptions = {}): Promise<AgentParts> {
  const clock = opts.clock ?? new SystemClock();
  const log = opts.log ?? createLogger({ level: config.log.level, fields: { device: config.deviceId } });
  const estAnchorsPem = readFileSync(config.est.trustAnchorsFile, 'utf8');
  const estAnchors = readAnchors(config.est.trustAnchorsFile);
  // The stale-transient flush runs inside open(), before the SRK check needs an object slot.
  const { flushStaleTransients } = config.tpm;
  const keystore = opts.keystore ?? (await TpmKeyStore.open({ tcti: config.tpm.tcti, srkHandle: config.tpm.srkHandle, flushStaleTransients }));
  try {
    if (flushStaleTransients && keystore instanceof TpmKeyStore) {
      const n = opts.keystore ? await keystore.flushStaleTransients() : keystore.staleTransientsFlushed;
      if (n > 0) log.warn('tpm.stale-transients-flushed', { count: n });
    }
    const state = new FileStateStore<AgentState>({ dir: config.stateDir, version: STATE_SCHEMA, validate: isAgentState, now: () => clock.now(), log });
    const swept = await removeDeadWritersTemps(config.stateDir).catch(() => []);
    if (swept.length) log.info('state.stale-temps-removed', { count: swept.length });
    const taStore = await TrustAnchorStore.open(path.join(config.stateDir, 'trust-anchors.json'), { now: () => clock.now() });
    if (taStore.list().length === 0) {
      // First start: the manufacture-time TA file seeds the TA database (RFC 7030 §4.1.1 explicit TA).
      await taStore.add(estAnchors.map((c, i) => ({ name: `factory-${i}`, source: 'config', uses: ['est-server', 'cacerts', 'crl'] as const, certificate: c })));
    }
    const crlStore = await CrlStore.open(path.join(config.stateDir, 'crls.json'), { taStore, now: () => clock.now() });
    const basicAuth = config.est.basicAuth ? { username: config.est.basicAuth.username, password: readSecret(config.est.basicAuth.passwordFile) } : undefined;
    let provisionedAk: ProvisionedAk | undefined;
    const loadAk = async (): Promise<ProvisionedAk> => {
      const { akKeyFile, akCertFile } = config.attestation;
      if (!akKeyFile || !akCertFile) throw new EnrolldError('config.attestation', 'attestation.enabled needs attestation.akKeyFile and attestation.akCertFile');
      return (provisionedAk ??= await loadProvisionedAk(akKeyFile, akCertFile));
    };
    // Platform evidence beside the certify statement: TPM2_Quote of attestation.pcrs (none: certify only).
    const quoteRequest = { pcrs: config.attestation.pcrs, bank: config.attestation.pcrBank, type: config.attestation.quoteOid };
    // Evidence outside the CSR (ACME remote-attest-01): the same TPM2_Certify by the provisioned AK.
    const attest = async (key: KeyRecord, qualifyingData: Uint8Array): Promise<Uint8Array> => {
      if (!isCertifyingKeyStore(keystore)) throw new EnrolldError('config.attestation', 'attestation needs a TPM keystore (TPM2_Certify)');
      const ak = await loadAk();
      return (await buildCertifyEvidence({ keystore, key, ak: ak.ak, akChain: ak.chain, nonce: qualifyingData, quote: quoteRequest })).bundle.toDER();
    };
    const issuerAnchors = config.protocol === 'acme' && config.acme?.issuerTrustAnchorsFile ? readAnchors(config.acme.issuerTrustAnchorsFile) : [];
    const protocol = await createEnrollmentProtocol(config, { keystore, clock, estAnchorsPem, basicAuth, ...(config.attestation.enabled ? { attest } : {}) });
    // The nonce is fetched with the identity of the request it is for (freshness §6.1 binds it to that request).
    const nonceContext = (ctx: RequestContext): NonceContext =>
      ctx.operation === 'reenroll' && ctx.current
        ? { operation: 'reenroll', current: { key: fromStoredKey(ctx.current.key), certPem: ctx.current.certPem, chainPem: ctx.current.chainPem } }
        : { operation: ctx.operation };
    const attestCsrKey = async (key: KeyRecord, ctx: RequestContext): Promise<pkijs.Attribute> => {
      if (!isCertifyingKeyStore(keystore)) throw new EnrolldError('config.attestation', 'attestation needs a TPM keystore (TPM2_Certify)');
      if (!protocol.nonce) throw new EnrolldError('config.attestation', `the ${protocol.name} protocol offers no freshness nonce for attestation`);
      const ak = await loadAk();
      return attestationAttribute({ keystore, key, ak: ak.ak, akChain: ak.chain, quote: quoteRequest, nonces: { nonce: (r) => protocol.nonce!(r, nonceContext(ctx)) }, now: () => clock.now() });
    };
    // MQTT over TLS authenticates with the device credential (TPM key through the OpenSSL engine), and follows it
    // across renewals: the sink reconnects with the new certificate, and the old key is dropped only after that.
    const mqttClientCredential = async (c: Credential): Promise<ClientCredential | undefined> => {
      const k = await keystore.tlsKeyOptions(fromStoredKey(c.key));
      if (!k.privateKeyEngine || !k.privateKeyIdentifier) return undefined;
      return { certPem: [c.certPem, ...c.chainPem].join(''), privateKeyEngine: k.privateKeyEngine, privateKeyIdentifier: k.privateKeyIdentifier, label: c.serial };
    };
    const mqttTls = config.mqtt.enabled && config.mqtt.url?.startsWith('mqtts:');
    const initialCredential = mqttTls ? (await state.load())?.credential : undefined;
    const initialTls = initialCredential ? await mqttClientCredential(initialCredential).catch((err) => void log.warn('status.mqtt.credential-unavailable', { err })) : undefined;
    let mqttKeyId: string | undefined = initialTls ? initialCredential!.key.id : undefined;
    const status =
      opts.status ??
      createStatusSink(config, {
        log,
        clock,
        ...(initialTls ? { tls: { cert: initialTls.certPem, privateKeyEngine: initialTls.privateKeyEngine, privateKeyIdentifier: initialTls.privateKeyIdentifier } } : {}),
      });
    /** Settles when the MQTT connection has moved to the newest credential (deletion of older keys waits for it). */
    let credentialSwitch: Promise<unknown> = Promise.resolve();
    const switchCredential = (c: Credential): void => {
      if (!mqttTls || !status.useClientCredential || c.key.id === mqttKeyId) return;
      credentialSwitch = credentialSwitch
        .then(async () => {
          const cc = await mqttClientCredential(c);
          if (cc && (await status.useClientCredential!(cc))) mqttKeyId = c.key.id;
        })
        .catch((err) => log.warn('status.mqtt.credential-switch-failed', { err }));
    };
    /** The enroller's keystore: deleting the key the MQTT connection authenticated with waits for the switch. */
    const enrollerKeystore: KeyStore = Object.create(keystore, {
      deleteKey: {
        value: (record: KeyRecord): Promise<void> => {
          if (!mqttTls || record.id !== mqttKeyId) return keystore.deleteKey(record);
          const done = credentialSwitch.then(() => (record.id === mqttKeyId ? log.warn('key.delete-deferred', { keyId: record.id, reason: 'still authenticates the MQTT connection' }) : keystore.deleteKey(record)));
          deferredDeletes.push(done.catch(() => undefined));
          return Promise.resolve();
        },
      },
    }) as KeyStore;
    const deferredDeletes: Promise<unknown>[] = [];
    let lastPal: DeviceStatus['pal'];
    let fwStatus: DeviceStatus['fw'];
    let tampSeq: number | undefined;
    let palWrite: Promise<void> = Promise.resolve();
    const errors: Array<{ code: string; at: string }> = [];
    const features = new FeatureStatusStore(config.stateDir, log);
    let fwProgress: FirmwareProgress | undefined;
    const publish = (s: AgentState): void => {
      status.state(s.phase, stateExtraFromState(s));
      const fw = fwStatus || fwProgress ? { ...(fwStatus ?? { running: 'factory' }), ...(fwProgress ? { progress: fwProgress } : {}) } : undefined;
      status.snapshot(deviceStatusFromState(s, { ta: { digest: taStore.digest(), ...(tampSeq !== undefined ? { tampSeq } : {}) }, ...(lastPal ? { pal: lastPal } : {}), ...(fw ? { fw } : {}), ...(errors.length ? { errors: errors.slice(-5) } : {}) }));
    };
    // Firmware download progress into the status snapshot (at the progress reporter's cadence, not per chunk).
    const onDownloadProgress = (r: DownloadProgressReport): void => {
      fwProgress = r.phase === 'downloading' ? { bytes: r.bytes, rate: r.rate, ...(r.total !== undefined ? { total: r.total } : {}), ...(r.etaSeconds !== undefined ? { eta: r.etaSeconds } : {}) } : undefined;
      if (r.phase === 'done') features.success('firmware', r.at);
      if (r.phase === 'failed') features.failure('firmware', r.error ?? 'internal', r.at);
      void state.load().then((s) => s && publish(s)).catch(() => undefined);
    };
    const enroller = new Enroller({
      onTransition: (s, event) => {
        if (event.type === 'fail') errors.push({ code: event.reason, at: clock.now().toISOString() });
        if (event.type === 'fail') features.failure('enroll', event.reason, clock.now());
        if (event.type === 'issued') features.success('enroll', clock.now());
        if (event.type === 'issued' && s.credential) switchCredential(s.credential);
        status.event(`lifecycle.${event.type}`, { phase: s.phase });
        publish(s);
      },
      clock,
      log,
      keystore: enrollerKeystore,
      protocol,
      state,
      // RFC 7030 §4.5: /csrattrs before every (re)enrollment decides key type, hash, extensions and attributes.
      ...(config.protocol === 'est' && config.est.csrattrs
        ? {
            prepare: async () => {
              const plan = await fetchCsrPlan(estClient, config.identity.keyAlgorithm, log);
              if (plan.error) errors.push({ code: 'csrattrs.unusable', at: clock.now().toISOString() });
              return { ...(plan.keyAlgorithm ? { keyAlgorithm: plan.keyAlgorithm } : {}), detail: plan };
            },
          }
        : {}),
      buildCsr: async (key, signer, ctx) => {
        // CSR attestation (issue #3): TPM2_Certify of the new key by the provisioned AK, fresh nonce from the CA.
        const attributes = config.attestation.enabled && protocol.nonce ? [await attestCsrKey(key, ctx)] : [];
        // RFC 7030 §4.2.2: a renewal carries the Subject and subjectAltName of the certificate being renewed, as issued.
        const renewed = ctx.operation === 'reenroll' && ctx.current ? reenrollIdentity(certificatesFromPem(ctx.current.certPem)[0]!) : undefined;
        let options: BuildCsrOptions = {
          subject: renewed?.subject ?? config.identity.subject,
          signer,
          ...(renewed ? { extensions: renewed.extensions } : config.identity.dnsNames.length ? { san: { dns: config.identity.dnsNames } } : {}),
          ...(attributes.length ? { attributes } : {}),
        };
        const plan = ctx.plan.detail;
        if (isCsrPlan(plan)) {
          const applied = applyCsrPlan(plan, options, ctx.operation);
          options = applied.options;
          const unsatisfied = [...plan.unsatisfied, ...applied.unsatisfied];
          if (unsatisfied.length) {
            log.warn('csrattrs.not-honoured', { items: unsatisfied, keyAlgorithm: key.algorithm, hash: options.hash ?? 'sha256' });
            errors.push({ code: 'csrattrs.unsatisfied', at: clock.now().toISOString() });
          }
        }
        return (await buildCsr(options)).der;
      },
      verifyIssued: async (cert, chain, at) => {
        const anchors = [...taStore.certificatesFor('cacerts'), ...issuerAnchors];
        await validateChain({ leaf: cert, intermediates: chain, trustAnchors: anchors.length ? anchors : estAnchors, at });
      },
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
    // RFC 8295 requests authenticate as the device: TLS client auth with the current TPM credential once there is
    // one (re-read per request, so a renewal switches it), the bootstrap Basic credentials before that.
    const deviceCredential = async (): Promise<DeviceCredential | undefined> => {
      const cred = (await state.load())?.credential;
      if (!cred) return undefined;
      const key = fromStoredKey(cred.key);
      return { id: `${cred.serial}/${key.id}`, clientAuth: { key: await keystore.tlsKeyOptions(key), certChain: [cred.certPem, ...cred.chainPem] } };
    };
    const deviceTransport = createCredentialTransport({
      base: { trustAnchors: [estAnchorsPem], ...(basicAuth ? { basicAuth } : {}), maxResponseBytes: config.est.maxResponseBytes, totalTimeoutMs: config.est.timeoutMs },
      current: deviceCredential,
    });
    const estClient = new EstClient({
      baseUrl: config.est.url,
      ...(config.est.label !== undefined ? { label: config.est.label } : {}),
      transport: deviceTransport,
      now: () => clock.now(),
    });
    const decryptKey = sealedKeyLookup(config, keystore);
    const firmware = config.firmware ? await composeFirmware(config, { taStore, clock, log, deviceCredential, deviceTransport, estAnchorsPem, basicAuth, keystore, state, onDownloadProgress, ...(opts.progressIntervalMs !== undefined ? { progressIntervalMs: opts.progressIntervalMs } : {}), ...(decryptKey ? { decryptKey } : {}) }) : undefined;
    if (firmware) fwStatus = await firmwareStatus(firmware);
    const tamp = config.tamp ? await composeTamp(config, { clock, keystore, state }) : undefined;
    if (tamp) tampSeq = await tampSequence(tamp);
    const keyHandlers = config.keyPackages ? await composeKeyPackages(config, { taStore, clock, log, keystore, state }) : [];
    const peers = await FilePeerCertificateStore.open(path.join(config.stateDir, 'peer-certificates.json'));
    const poller = new PalPoller({
      est: estClient,
      // RFC 7030 servers without a PAL (§4.1.3 /cacerts refresh by the agent itself); probe memory in the state dir
      pal: config.est.pal,
      stateFile: path.join(config.stateDir, 'est-pal-probe.json'),
      cacertsRefreshMs: config.est.cacertsRefreshHours * 3600_000,
      peers,
      registry: createPackageRegistry({ handlers: [...(firmware ? [firmware.handler()] : []), ...(tamp ? [tamp.handler()] : []), ...keyHandlers] }),
      taStore,
      crlStore,
      log,
      clock,
      onRecord: (r) => {
        lastPal = { lastPoll: r.at, result: r.outcome === 'error' ? 'error' : r.entries === 0 ? 'none' : 'ok', ...(r.error ? { code: r.error.code } : {}) };
        if (r.error) errors.push({ code: r.error.code, at: r.at });
        if (r.error) features.failure('pal', r.error.code, r.at);
        else features.success('pal', r.at);
        // Summary for `enrolld status` (one small atomic write per poll; never fails the poll).
        const summary: PalPollSummary = { at: r.at, outcome: r.outcome, pages: r.pages, entries: r.entries, counts: r.counts, codes: r.codes, renew: r.renew, ...(r.error ? { error: r.error.code } : {}) };
        palWrite = palWrite
          .then(() => writeFileAtomic(path.join(config.stateDir, PAL_STATUS_FILE), JSON.stringify(summary) + '\n'))
          .catch((err) => log.warn('pal.status-write-failed', { err }));
        void (async () => {
          if (firmware) fwStatus = await firmwareStatus(firmware).catch(() => fwStatus);
          if (tamp) tampSeq = await tampSequence(tamp).catch(() => tampSeq);
          const s = await state.load();
          if (s) publish(s);
        })().catch(() => undefined);
      },
    });
    const schedules: CronSchedule[] = [];
    return {
      config,
      log,
      clock,
      keystore,
      state,
      taStore,
      crlStore,
      protocol,
      enroller,
      poller,
      ...(firmware ? { firmware } : {}),
      ...(tamp ? { tamp } : {}),
      status,
      est: estClient,
      daemon(hooks = {}) {
        const schedule = new CronSchedule(config.schedule.cron);
        schedules.push(schedule);
        return new Daemon({
          clock,
          log,
          enroller,
          schedule,
          poller,
          jitterSeconds: config.schedule.jitterSeconds,
          backoffMinSeconds: config.schedule.backoffMinSeconds,
          backoffMaxSeconds: config.schedule.backoffMaxSeconds,
          ...hooks,
        });
      },
      async settled() {
        await palWrite;
        await features.flushed();
      },
      async close() {
        for (const s of schedules) s.close();
        await palWrite;
        await features.flushed();
        await credentialSwitch;
        await Promise.all(deferredDeletes);
        await status.close();
        await keystore.close();
      },
    };
  } catch (err) {
    await keystore.close().catch(() => undefined);
    throw err;
  }
}
