// MQTT 5 status publisher (ARCHITECTURE.md §Layers, agent/status; topics and fields in docs/status-schema.md).
//
//   {prefix}/{deviceId}/state   retained, QoS 1, CBOR {st, bd, ts}; the Last Will (same topic, retained, with a
//                               will delay) writes {st:'lost', bd, ts}; a clean close writes {st:'offline'}.
//   {prefix}/{deviceId}/status  retained, QoS 1, CBOR snapshot.
//   {prefix}/{deviceId}/event   not retained, QoS 1 (or 0), message expiry.
//
// Every publish carries contentType application/cbor and the user property schema=<version>. bdSeq is persisted
// and incremented for every connection (one write per successful connection, none per failed attempt).
//
// Never blocks or throws into the caller: state()/snapshot()/event() only update bounded in-memory buffers and
// schedule a drain. While the broker is unreachable, state and status are latest-wins (only the newest retained
// value is kept) and events sit in a ring that drops the oldest and counts the drops (reported as `dr` in the next
// snapshot). We never hand a message to mqtt.js while it is disconnected (its own offline queue is unbounded), and
// at most `maxInflight` unacknowledged messages are in its hands at any time. On every (re)connect the latest
// state and status are published again.
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { SecureContext, SecureContextOptions } from 'node:tls';
import type { IClientOptions, IClientPublishOptions, MqttClient } from 'mqtt';
import { lazyRequire } from '../util/lazy-require.js';
import type { Phase } from '../lifecycle/state.js';
import { SystemClock, type Clock } from '../lifecycle/clock.js';
import type { Logger } from '../util/log.js';
import { EnrolldError } from '../util/errors.js';
import { FileBdSeqStore, MemoryBdSeqStore, nextBdSeq, type BdSeqStore } from './bdseq.js';
import { LatestSlot, Ring } from './queue.js';
import {
  CBOR_CONTENT_TYPE,
  STATUS_SCHEMA_VERSION,
  encodeCbor,
  eventName,
  eventPayload,
  sanitizeEventFields,
  statePayload,
  statusPayload,
  type DeviceStatus,
  type EventFields,
  type EventValue,
  type StateExtra,
  type WireState,
} from './schema.js';
import type { DeviceCredential } from '../identity/device-identity.js';
import type { ClientAuthOptions } from '../protocols/http/transport.js';
import { guarded, type StatusSink } from './status-sink.js';


/** mqtt.js is loaded when the first MQTT sink is built (start-up time and idle memory without MQTT). */
const mqttModule = lazyRequire<typeof import('mqtt')>('mqtt');
export interface MqttTlsOptions {
  /** PEM file with the broker's CA (explicit trust anchor; the system store is not used when given). */
  caFile?: string;
  ca?: string | Buffer;
  /** Client certificate (the device's TPM-backed credential), PEM. */
  certFile?: string;
  cert?: string | Buffer;
  /** Client key, PEM (only for software keys; a TPM key goes through privateKeyEngine/privateKeyIdentifier). */
  keyFile?: string;
  key?: string | Buffer;
  /** OpenSSL engine holding the private key (e.g. 'tpm2tss'), passed through to tls.connect. */
  privateKeyEngine?: string;
  /** Key identifier within that engine, passed through to tls.connect. */
  privateKeyIdentifier?: string;
  servername?: string;
  /** Defaults to true; only tests may turn it off. */
  rejectUnauthorized?: boolean;
}

export interface MqttStatusOptions {
  /** mqtt://host:port or mqtts://host:port. */
  url: string;
  deviceId: string;
  /** Topic prefix, default 'dev/v1'. */
  topicPrefix?: string;
  /** MQTT client id, default `enrolld-{deviceId}` (stable: the session, and so the will delay, depend on it). */
  clientId?: string;
  tls?: MqttTlsOptions;
  /** bdSeq persistence; default: FileBdSeqStore in stateDir (or in memory when no stateDir is given). */
  bdSeq?: BdSeqStore;
  stateDir?: string;
  clock?: Clock;
  log?: Logger;
  /** [0,1) source for reconnect jitter (injectable for tests). */
  random?: () => number;
  eventQos?: 0 | 1;
  /** Message expiry interval of events, seconds (default 3600). */
  eventExpirySeconds?: number;
  /** Will delay interval, seconds (default 30): a reconnect within it does not publish st=lost. */
  willDelaySeconds?: number;
  /** Session expiry, seconds; at least the will delay (default max(willDelay, 300)). */
  sessionExpirySeconds?: number;
  keepaliveSeconds?: number;
  connectTimeoutMs?: number;
  /** Reconnect backoff: first delay, cap, and jitter fraction (the delay is drawn from [d·(1−j), d]). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  reconnectJitter?: number;
  /** Events kept while the broker is unreachable (ring; oldest dropped). Default 64. */
  eventQueue?: number;
  /** Unacknowledged publishes handed to mqtt.js at most. Default 8. */
  maxInflight?: number;
  /** Bound on close(), ms (default 3000). */
  closeTimeoutMs?: number;
  /**
   * Load mqtt.js and connect only when start() is called (the daemon: after READY=1, so the client library and the
   * node modules it requires are not on the start-up path). Messages given before are queued as when disconnected.
   */
  deferConnect?: boolean;
}

export interface MqttStatusStats {
  connected: boolean;
  /** bdSeq of the current (or next) connection. */
  bd: number;
  connects: number;
  connectAttempts: number;
  /** Next value of seq. */
  seq: number;
  queuedEvents: number;
  droppedEvents: number;
  /** State/status values superseded before they could be sent (latest-wins). */
  replacedState: number;
  replacedStatus: number;
  inflight: number;
  published: number;
  publishErrors: number;
  /** Internal errors caught at the sink boundary (should stay 0). */
  internalErrors: number;
}

export class MqttStatusConfigError extends EnrolldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('status.mqtt.config', message, options);
  }
}

interface StateItem {
  st: WireState;
  extra?: StateExtra;
  at: Date;
}
interface StatusItem {
  status: DeviceStatus;
  at: Date;
}
interface EventItem {
  name: string;
  fields: Record<string, EventValue>;
  at: Date;
}

/** Delay before reconnect attempt `attempt` (0-based): capped exponential, jittered downwards. */
export function reconnectDelayMs(attempt: number, minMs: number, maxMs: number, jitter: number, random: () => number): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  const j = Math.min(Math.max(jitter, 0), 1);
  return Math.max(1, Math.round(base * (1 - j + j * random())));
}

export function statusTopics(prefix: string, deviceId: string): { state: string; status: string; event: string } {
  const base = `${prefix.replace(/\/+$/, '')}/${deviceId}`;
  return { state: `${base}/state`, status: `${base}/status`, event: `${base}/event` };
}

function readOpt(file: string | undefined, inline: string | Buffer | undefined, what: string): string | Buffer | undefined {
  if (inline !== undefined) return inline;
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new MqttStatusConfigError(`cannot read ${what} ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** The TLS context of an MQTT connection (CA, client cert + key file or engine key); a bad file is a config error. */
/** The MQTT TLS client options for a device credential: its certificate chain and the engine key (or a PEM key). */
export function mqttClientTls(auth: ClientAuthOptions): MqttTlsOptions | undefined {
  const chain = (Array.isArray(auth.certChain) ? auth.certChain : [auth.certChain]).map((c) => (typeof c === 'string' ? c : new X509Certificate(c).toString())).join('');
  if (auth.key.privateKeyEngine && auth.key.privateKeyIdentifier) return { cert: chain, privateKeyEngine: auth.key.privateKeyEngine, privateKeyIdentifier: auth.key.privateKeyIdentifier };
  if (auth.key.key) return { cert: chain, key: auth.key.key };
  return undefined;
}

export function mqttSecureContext(t: MqttTlsOptions): SecureContext {
  const ca = readOpt(t.caFile, t.ca, 'CA file');
  const cert = readOpt(t.certFile, t.cert, 'client certificate');
  const key = readOpt(t.keyFile, t.key, 'client key');
  const o: SecureContextOptions = {};
  if (ca !== undefined) o.ca = ca;
  if (cert !== undefined) o.cert = cert;
  if (key !== undefined) o.key = key;
  if (t.privateKeyEngine !== undefined) o.privateKeyEngine = t.privateKeyEngine;
  if (t.privateKeyIdentifier !== undefined) o.privateKeyIdentifier = t.privateKeyIdentifier;
  if ((o.privateKeyEngine === undefined) !== (o.privateKeyIdentifier === undefined)) {
    throw new MqttStatusConfigError('privateKeyEngine and privateKeyIdentifier go together');
  }
  try {
    // node:tls is loaded here, not at import: it is not in node's start-up snapshot and only an MQTT sink needs it
    return process.getBuiltinModule('node:tls').createSecureContext(o);
  } catch (err) {
    throw new MqttStatusConfigError(`TLS client configuration rejected: ${(err as Error).message}`, { cause: err });
  }
}

export class MqttStatusSink implements StatusSink {
  readonly topics: { state: string; status: string; event: string };
  private readonly o: Required<Omit<MqttStatusOptions, 'tls' | 'bdSeq' | 'stateDir' | 'log' | 'clock' | 'random' | 'clientId' | 'topicPrefix' | 'deferConnect'>>;
  private readonly clock: Clock;
  private readonly log: Logger | undefined;
  private readonly random: () => number;
  private readonly bdStore: BdSeqStore;
  /** Undefined until start() (deferConnect); then the one client for the life of the sink. */
  private client: MqttClient | undefined;
  private readonly clientOptions: IClientOptions;
  private readonly url: string;
  private secureContext: SecureContext | undefined;
  /** CA and servername of the TLS options (kept for credential switches). */
  private tlsBase: MqttTlsOptions = {};
  private credentialLabel: string | undefined;

  private readonly stateSlot = new LatestSlot<StateItem>();
  private readonly statusSlot = new LatestSlot<StatusItem>();
  private readonly events: Ring<EventItem>;

  private bd: number;
  /** The current bd was used by a successful connection: the next attempt needs a fresh one. */
  private bdUsed = false;
  private seq = 0;
  private inflight = 0;
  private attempt = 0;
  private closing = false;
  private closed = false;
  private closePromise: Promise<void> | undefined;
  private drainScheduled = false;
  private lastConnectError = '';
  private readonly counters = { connects: 0, connectAttempts: 1, published: 0, publishErrors: 0, internalErrors: 0 };

  constructor(opts: MqttStatusOptions) {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(opts.deviceId)) throw new MqttStatusConfigError(`deviceId '${opts.deviceId}' is not a valid topic segment`);
    this.clock = opts.clock ?? new SystemClock();
    this.log = opts.log;
    this.random = opts.random ?? Math.random;
    const willDelaySeconds = opts.willDelaySeconds ?? 30;
    this.o = {
      url: opts.url,
      deviceId: opts.deviceId,
      eventQos: opts.eventQos ?? 1,
      eventExpirySeconds: opts.eventExpirySeconds ?? 3600,
      willDelaySeconds,
      sessionExpirySeconds: Math.max(opts.sessionExpirySeconds ?? Math.max(willDelaySeconds, 300), willDelaySeconds),
      keepaliveSeconds: opts.keepaliveSeconds ?? 60,
      connectTimeoutMs: opts.connectTimeoutMs ?? 30_000,
      reconnectMinMs: opts.reconnectMinMs ?? 1000,
      reconnectMaxMs: Math.max(opts.reconnectMaxMs ?? 300_000, opts.reconnectMinMs ?? 1000),
      reconnectJitter: opts.reconnectJitter ?? 0.5,
      eventQueue: opts.eventQueue ?? 64,
      maxInflight: Math.max(1, opts.maxInflight ?? 8),
      closeTimeoutMs: opts.closeTimeoutMs ?? 3000,
    };
    this.topics = statusTopics(opts.topicPrefix ?? 'dev/v1', opts.deviceId);
    this.events = new Ring<EventItem>(this.o.eventQueue);
    this.bdStore = opts.bdSeq ?? (opts.stateDir ? new FileBdSeqStore(opts.stateDir, opts.log, () => this.clock.now()) : new MemoryBdSeqStore());

    let url: URL;
    try {
      url = new URL(opts.url);
    } catch (err) {
      throw new MqttStatusConfigError(`invalid broker URL '${opts.url}'`, { cause: err });
    }
    if (!['mqtt:', 'mqtts:'].includes(url.protocol)) throw new MqttStatusConfigError(`broker URL must be mqtt:// or mqtts:// (got ${url.protocol})`);
    const t = opts.tls ?? {};
    const tls: Record<string, unknown> = {};
    if (url.protocol === 'mqtts:') {
      // TLS trusts only explicitly configured anchors: without them node would fall back to its default store
      if (t.caFile === undefined && t.ca === undefined) throw new MqttStatusConfigError('an mqtts:// broker needs its trust anchors (tls.caFile or tls.ca); the system store is never used');
      this.secureContext = MqttStatusSink.secureContext(t);
      this.tlsBase = { ...(t.caFile !== undefined ? { caFile: t.caFile } : {}), ...(t.ca !== undefined ? { ca: t.ca } : {}) };
      tls.secureContext = this.secureContext;
      if (t.servername !== undefined) tls.servername = t.servername;
      tls.rejectUnauthorized = t.rejectUnauthorized !== false;
    } else if (t.caFile !== undefined || t.ca !== undefined || t.cert !== undefined || t.certFile !== undefined || t.privateKeyEngine !== undefined) {
      this.log?.warn('status.mqtt.tls-ignored', { url: opts.url, reason: 'TLS options given for a plain mqtt:// URL' });
    }

    // bdSeq for the first connection: persisted before the attempt so a crash cannot reuse it.
    this.bd = nextBdSeq(this.loadBd());
    this.saveBd(this.bd);

    const options: IClientOptions = {
      protocolVersion: 5,
      clientId: opts.clientId ?? `enrolld-${opts.deviceId}`,
      // Resume the session on reconnect: with clean start the broker would publish the previous connection's will
      // at once; resuming within the will delay cancels it.
      clean: false,
      keepalive: this.o.keepaliveSeconds,
      connectTimeout: this.o.connectTimeoutMs,
      reconnectPeriod: this.delay(0),
      reconnectOnConnackError: true,
      resubscribe: false,
      queueQoSZero: false,
      // mqtt-packet would otherwise build a cache of 65,536 two-byte Buffers at the first packet (≈ 6 MB of heap
      // for the life of the daemon) to save one allocation per packet id written; a status publisher writes a few
      writeCache: false,
      properties: { sessionExpiryInterval: this.o.sessionExpirySeconds },
      will: this.will(),
      ...(tls as IClientOptions),
    };
    this.url = opts.url;
    this.clientOptions = options;
    if (opts.deferConnect !== true) this.start();
  }

  /** Loads mqtt.js and starts connecting (at construction unless deferConnect). Later calls are no-ops. */
  start(): void {
    if (this.client || this.closing) return;
    guarded(() => {
      const c = mqttModule().connect(this.url, this.clientOptions);
      c.on('connect', () => guarded(() => this.onConnect(), (e) => this.internal('connect', e)));
      c.on('reconnect', () => guarded(() => this.onReconnect(), (e) => this.internal('reconnect', e)));
      c.on('close', () => guarded(() => this.onClose(), (e) => this.internal('close', e)));
      c.on('error', (err) => guarded(() => this.onError(err), (e) => this.internal('error', e)));
      this.client = c;
    }, (e) => this.internal('start', e));
  }

  /** The client once started; the connection handlers run only then. */
  private get started(): MqttClient {
    if (!this.client) throw new Error('MQTT client used before start()');
    return this.client;
  }

  // ---- StatusSink ------------------------------------------------------------------------------------------

  state(phase: Phase, extra?: StateExtra): void {
    if (this.closing) return;
    guarded(() => {
      this.stateSlot.set({ st: phase, ...(extra ? { extra: { ...extra } } : {}), at: this.clock.now() });
      this.scheduleDrain();
    }, (e) => this.internal('state', e));
  }

  snapshot(status: DeviceStatus): void {
    if (this.closing) return;
    guarded(() => {
      this.statusSlot.set({ status: structuredClone(status), at: this.clock.now() });
      this.scheduleDrain();
    }, (e) => this.internal('snapshot', e));
  }

  event(name: string, fields?: EventFields): void {
    if (this.closing) return;
    guarded(() => {
      this.events.push({ name: eventName(name), fields: sanitizeEventFields(fields), at: this.clock.now() });
      this.scheduleDrain();
    }, (e) => this.internal('event', e));
  }

  /**
   * Flushes queued messages (bounded by closeTimeoutMs), publishes state {st:'offline'} and disconnects normally
   * (no will). When the broker is unreachable it just stops. Never rejects; idempotent.
   */
  close(): Promise<void> {
    this.closePromise ??= this.doClose().catch((e) => this.internal('close', e));
    return this.closePromise;
  }

  stats(): MqttStatusStats {
    return {
      connected: this.client?.connected ?? false,
      bd: this.bd,
      connects: this.counters.connects,
      connectAttempts: this.counters.connectAttempts,
      seq: this.seq,
      queuedEvents: this.events.size,
      droppedEvents: this.events.dropped,
      replacedState: this.stateSlot.replaced,
      replacedStatus: this.statusSlot.replaced,
      inflight: this.inflight,
      published: this.counters.published,
      publishErrors: this.counters.publishErrors,
      internalErrors: this.counters.internalErrors,
    };
  }

  /** For tests: the underlying network stream (to simulate an abrupt connection loss). */
  get stream(): { destroy(): void } | undefined {
    return (this.client as unknown as { stream?: { destroy(): void } } | undefined)?.stream;
  }

  /**
   * Switches the TLS client credential (after a renewal) for the next connections. Returns false (and keeps the
   * current one) when the new credential cannot be loaded. The current connection is not interrupted.
   */
  setClientCredential(t: MqttTlsOptions): boolean {
    if (!this.secureContext) return false;
    try {
      // the broker's anchors of the constructor stay unless the caller names others
      const ctx = MqttStatusSink.secureContext({ ...this.tlsBase, ...t });
      this.secureContext = ctx;
      // the running client's options, or those it will start with
      ((this.client?.options ?? this.clientOptions) as Record<string, unknown>).secureContext = ctx;
      return true;
    } catch (err) {
      this.log?.warn('status.mqtt.credential-rejected', { err });
      return false;
    }
  }

  /**
   * Renewal: switches to the new TPM-backed credential and, when connected with the old one, ends that
   * connection so the next CONNECT (session resumed within the will delay: no st=lost) authenticates with the new
   * certificate. Resolves true once connected with it (or at once when not connected: the next attempt uses it),
   * false when the broker did not accept it within connectTimeoutMs (the old key must then stay usable: the client
   * keeps retrying with the new context). Never rejects.
   */
  async useClientCredential(c: DeviceCredential): Promise<boolean> {
    if (!this.secureContext || this.closing) return true;
    let tls: MqttTlsOptions | undefined;
    try {
      tls = mqttClientTls(await c.tls());
    } catch (err) {
      this.log?.warn('status.mqtt.credential-rejected', { err });
    }
    if (!tls || !this.setClientCredential({ ...this.tlsBase, ...tls })) return false;
    this.credentialLabel = c.label;
    const client = this.client;
    if (!client?.connected) {
      this.log?.info('status.mqtt.credential-switched', { credential: c.label, reconnect: false });
      return true;
    }
    const connected = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        client.removeListener('connect', onConnect);
        resolve(false);
      }, this.o.connectTimeoutMs + this.o.reconnectMinMs);
      timer.unref?.();
      const onConnect = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      client.once('connect', onConnect);
    });
    // Ends the TLS connection made with the old key; mqtt.js reconnects after reconnectPeriod with the new context.
    this.stream?.destroy();
    const ok = await connected;
    if (ok) this.log?.info('status.mqtt.credential-switched', { credential: c.label, reconnect: true });
    else this.log?.warn('status.mqtt.credential-switch-timeout', { credential: c.label });
    return ok;
  }

  /** The label of the credential the current/next connection authenticates with (tests, status). */
  get clientCredentialLabel(): string | undefined {
    return this.credentialLabel;
  }

  /**
   * One TLS context built up front. Handing the raw key options (notably privateKeyEngine) to mqtt.js instead would
   * make tls.connect() load the key on every attempt, and a failure there throws synchronously inside mqtt.js's
   * reconnect timer: an uncaught exception that would take the whole agent down.
   */
  private static secureContext(t: MqttTlsOptions): SecureContext {
    return mqttSecureContext(t);
  }

  // ---- connection lifecycle ------------------------------------------------------------------------------------

  private delay(attempt: number): number {
    return reconnectDelayMs(attempt, this.o.reconnectMinMs, this.o.reconnectMaxMs, this.o.reconnectJitter, this.random);
  }

  private loadBd(): number {
    try {
      const n = this.bdStore.load();
      return Number.isSafeInteger(n) && n >= 0 ? n : 0;
    } catch (err) {
      this.log?.warn('status.bdseq.load-failed', { err });
      return 0;
    }
  }

  private saveBd(n: number): void {
    guarded(() => this.bdStore.save(n), (err) => this.log?.warn('status.bdseq.save-failed', { err }));
  }

  private will(): NonNullable<IClientOptions['will']> {
    return {
      topic: this.topics.state,
      payload: encodeCbor(statePayload('lost', this.bd, this.clock.now())),
      qos: 1,
      retain: true,
      properties: {
        willDelayInterval: this.o.willDelaySeconds,
        contentType: CBOR_CONTENT_TYPE,
        userProperties: { schema: String(STATUS_SCHEMA_VERSION) },
      },
    };
  }

  /** mqtt.js emits 'reconnect' right before it sends the next CONNECT: pick the bd and will for that attempt. */
  private onReconnect(): void {
    this.counters.connectAttempts++;
    if (this.bdUsed) {
      this.bd = nextBdSeq(this.bd);
      this.saveBd(this.bd);
      this.bdUsed = false;
    }
    this.started.options.will = this.will();
    // The period mqtt.js waits after *this* attempt fails: capped exponential backoff with jitter.
    this.attempt++;
    this.started.options.reconnectPeriod = this.delay(this.attempt);
  }

  private onConnect(): void {
    this.bdUsed = true;
    this.attempt = 0;
    this.started.options.reconnectPeriod = this.delay(0);
    this.counters.connects++;
    this.lastConnectError = '';
    this.log?.info('status.mqtt.connected', { url: this.o.url, bd: this.bd });
    if (this.closing) return;
    // The broker may hold st=lost (or an older status) from before: publish the latest state and status again.
    if (!this.stateSlot.latest) this.stateSlot.set({ st: 'online', at: this.clock.now() });
    this.stateSlot.resend();
    this.statusSlot.resend();
    this.drain();
  }

  private onClose(): void {
    if (this.closing) return;
    if (this.counters.connects > 0 && this.bdUsed && this.lastConnectError !== 'closed') {
      this.log?.warn('status.mqtt.disconnected', { url: this.o.url, bd: this.bd, retryInMs: this.started.options.reconnectPeriod });
      this.lastConnectError = 'closed';
    }
  }

  private onError(err: Error): void {
    const code = (err as NodeJS.ErrnoException).code ?? (err as { reasonCode?: number }).reasonCode ?? err.message;
    const key = String(code);
    // One warning per kind of failure, not one per attempt (the broker may be down for hours).
    if (key !== this.lastConnectError) {
      this.lastConnectError = key;
      this.log?.warn('status.mqtt.error', { url: this.o.url, code: key, err: err.message });
    } else {
      this.log?.debug('status.mqtt.error', { url: this.o.url, code: key });
    }
  }

  private internal(where: string, err: unknown): void {
    this.counters.internalErrors++;
    try {
      this.log?.error('status.mqtt.internal', { where, err });
    } catch {
      /* ignore */
    }
  }

  // ---- sending ---------------------------------------------------------------------------------------------------

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    queueMicrotask(() => {
      this.drainScheduled = false;
      guarded(() => this.drain(), (e) => this.internal('drain', e));
    });
  }

  private nextSeq(): number {
    const s = this.seq;
    this.seq = this.seq >= 0xffffffff ? 0 : this.seq + 1;
    return s;
  }

  private drain(): void {
    while (this.client?.connected && this.inflight < this.o.maxInflight) {
      const st = this.stateSlot.take();
      if (st) {
        this.send(this.topics.state, encodeCbor(statePayload(st.st, this.bd, st.at, st.extra)), { qos: 1, retain: true });
        continue;
      }
      const ss = this.statusSlot.take();
      if (ss) {
        this.send(this.topics.status, encodeCbor(statusPayload(ss.status, ss.at, this.nextSeq(), this.events.dropped)), { qos: 1, retain: true });
        continue;
      }
      const ev = this.events.shift();
      if (ev) {
        const props = { messageExpiryInterval: this.o.eventExpirySeconds };
        this.send(this.topics.event, encodeCbor(eventPayload(ev.name, ev.fields, ev.at, this.nextSeq())), { qos: this.o.eventQos, retain: false }, props);
        continue;
      }
      break;
    }
  }

  private send(topic: string, payload: Buffer, opts: { qos: 0 | 1; retain: boolean }, extraProps: Record<string, unknown> = {}, done?: (err?: Error) => void): void {
    const pub: IClientPublishOptions = {
      qos: opts.qos,
      retain: opts.retain,
      properties: {
        contentType: CBOR_CONTENT_TYPE,
        userProperties: { schema: String(STATUS_SCHEMA_VERSION) },
        ...extraProps,
      },
    };
    this.inflight++;
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      this.inflight--;
      if (err) {
        this.counters.publishErrors++;
        this.log?.debug('status.mqtt.publish-failed', { topic, err: err.message });
      } else {
        this.counters.published++;
      }
      guarded(() => done?.(err));
      if (!this.closing) this.scheduleDrain();
    };
    try {
      this.started.publish(topic, payload, pub, (err) => finish(err ?? undefined));
    } catch (err) {
      finish(err as Error);
    }
  }

  private async doClose(): Promise<void> {
    if (this.closing) return;
    const client = this.client;
    if (!client) {
      // never started: nothing was sent, nothing to flush or say goodbye on
      this.closing = true;
      if (this.events.size > 0) this.log?.info('status.mqtt.close-unsent', { events: this.events.size });
      return;
    }
    const deadline = Date.now() + this.o.closeTimeoutMs;
    const remaining = (): number => Math.max(0, deadline - Date.now());
    // Closing right after start: let the first connection attempt finish (bounded) so the goodbye gets out.
    if (!client.connected && !client.reconnecting && this.counters.connects === 0) {
      await this.waitFor(() => client.connected || client.reconnecting, remaining() / 2);
    }
    // Flush what is queued while connected (bounded), then say goodbye.
    if (client.connected) {
      this.drain();
      await this.waitFor(() => !client.connected || (this.inflight === 0 && this.events.size === 0 && !this.statusSlot.isPending && !this.stateSlot.isPending), remaining() / 2);
    }
    this.closing = true;
    if (client.connected) {
      const offline = encodeCbor(statePayload('offline', this.bd, this.clock.now()));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining());
        timer.unref?.();
        this.send(this.topics.state, offline, { qos: 1, retain: true }, {}, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const unsent = this.events.size;
    if (unsent > 0) this.log?.info('status.mqtt.close-unsent', { events: unsent });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        // The broker did not answer in time: drop the connection (the will may then fire after its delay).
        guarded(() => client.end(true, () => resolve()));
        setTimeout(resolve, 200).unref?.();
      }, remaining());
      timer.unref?.();
      guarded(
        () =>
          client.end(
            !client.connected,
            // Normal disconnection (no will) and end the session now: nothing is left for the broker to keep.
            { reasonCode: 0, properties: { sessionExpiryInterval: 0 } },
            () => {
              clearTimeout(timer);
              resolve();
            },
          ),
        () => {
          clearTimeout(timer);
          resolve();
        },
      );
    });
    this.closed = true;
    this.log?.info('status.mqtt.closed', { bd: this.bd, published: this.counters.published, dropped: this.events.dropped });
  }

  private waitFor(cond: () => boolean, ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (cond() || ms <= 0) return resolve();
      const started = Date.now();
      const tick = setInterval(() => {
        if (cond() || Date.now() - started >= ms) {
          clearInterval(tick);
          resolve();
        }
      }, 10);
      tick.unref?.();
    });
  }

  /** True once close() completed. */
  get isClosed(): boolean {
    return this.closed;
  }
}
