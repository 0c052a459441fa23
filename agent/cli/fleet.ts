// `enrolld fleet`: reads every device's retained state and status from the broker (docs/status-schema.md) and
// prints the fleet view; `--watch` keeps it live through an MQTT 5 shared subscription (MQTT 5 §4.8.2).
//
// When is the retained snapshot complete? MQTT has no end-of-retained marker, so: the snapshot subscriptions are
// acknowledged (SUBACK) before the broker sends their retained messages, and we call the snapshot complete once no
// retained message arrived for `quietMs` after the SUBACK or after the last retained one, bounded by `timeoutMs`
// (then reported as incomplete). They are QoS 0 subscriptions: the broker sends retained messages at min(QoS), and
// QoS 1 would run into the broker's per-client queue limit (mosquitto max_queued_messages, default 1000) and lose
// the rest of a large fleet; a retained document that is re-read on every start does not need acknowledgement.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import { DEFAULT_CONFIG_PATH, loadConfig, ConfigError } from '../config.js';
import { lazyRequire } from '../util/lazy-require.js';
import { EnrolldError } from '../util/errors.js';
import { mqttSecureContext, reconnectDelayMs } from '../status/mqtt.js';
import { commandUsage } from './help.js';
import { FleetModel, fleetRow, fleetView, matches, parseDuration, renderView, summarize, type FleetFilter, type FleetView } from './fleet-view.js';

const mqttModule = lazyRequire<typeof import('mqtt')>('mqtt');

export interface FleetConnection {
  url: string;
  prefix: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  username?: string;
  password?: string;
}

export interface SnapshotOptions {
  quietMs?: number;
  timeoutMs?: number;
  /** Reconnect backoff bounds (capped exponential with jitter). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

export class FleetConnectError extends EnrolldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('fleet.unreachable', message, options);
  }
}

/** Topics of the retained snapshot (ordinary subscriptions) and of the live stream (shared subscription). */
export function fleetTopics(prefix: string, group: string): { snapshot: string[]; live: string[] } {
  const p = prefix.replace(/\/+$/, '');
  return { snapshot: [`${p}/+/state`, `${p}/+/status`], live: ['state', 'status', 'event'].map((k) => `$share/${group}/${p}/+/${k}`) };
}

function schemaProperty(packet: IPublishPacket): string | undefined {
  const v = packet.properties?.userProperties?.schema;
  return Array.isArray(v) ? v.at(-1) : v;
}

/**
 * One consumer connection: feeds every message into the model, reconnects with backoff, and reads the retained
 * snapshot again after each reconnect (what changed while it was away is not in the live stream).
 */
export class FleetClient {
  readonly model: FleetModel;
  readonly client: MqttClient;
  private attempt = 0;
  private lastRetainedAt = 0;
  private lastError = '';
  connects = 0;
  onChange?: (id: string) => void;
  onReconnect?: () => void;
  onDisconnect?: (retryInMs: number, reason: string) => void;

  constructor(readonly conn: FleetConnection, private readonly o: Required<SnapshotOptions>) {
    this.model = new FleetModel(conn.prefix);
    let url: URL;
    try {
      url = new URL(conn.url);
    } catch (cause) {
      throw new ConfigError('--url', `invalid broker URL '${conn.url}'`);
    }
    if (!['mqtt:', 'mqtts:'].includes(url.protocol)) throw new ConfigError('--url', `must be mqtt:// or mqtts:// (got ${url.protocol})`);
    // TLS trusts only explicitly configured anchors, never node's default store
    if (url.protocol === 'mqtts:' && !conn.caFile) throw new ConfigError('--ca', 'an mqtts:// broker needs its CA: give --ca or a configuration with mqtt.caFile');
    const tls = url.protocol === 'mqtts:' ? { secureContext: mqttSecureContext({ ...(conn.caFile ? { caFile: conn.caFile } : {}), ...(conn.certFile ? { certFile: conn.certFile } : {}), ...(conn.keyFile ? { keyFile: conn.keyFile } : {}) }), rejectUnauthorized: true } : {};
    const options: IClientOptions = {
      protocolVersion: 5,
      clientId: `enrolld-fleet-${randomBytes(6).toString('hex')}`,
      clean: true,
      keepalive: 30,
      connectTimeout: Math.min(30_000, this.o.timeoutMs),
      reconnectPeriod: this.delay(0),
      reconnectOnConnackError: true,
      resubscribe: true,
      queueQoSZero: false,
      // Bounds what the broker may send us; smaller-but-oversized payloads are counted by the model.
      properties: { maximumPacketSize: 1 << 20 },
      ...(conn.username !== undefined ? { username: conn.username } : {}),
      ...(conn.password !== undefined ? { password: conn.password } : {}),
      ...(tls as IClientOptions),
    };
    this.client = mqttModule().connect(conn.url, options);
    this.client.on('message', (topic, payload, packet) => {
      if (packet.retain) this.lastRetainedAt = Date.now();
      const r = this.model.ingest(topic, payload, schemaProperty(packet));
      if (r.changed !== undefined) this.onChange?.(r.changed);
    });
    this.client.on('connect', () => {
      this.attempt = 0;
      this.client.options.reconnectPeriod = this.delay(0);
      if (this.connects++ > 0) this.onReconnect?.();
    });
    this.client.on('error', (err) => {
      this.lastError = (err as Error).message;
    });
    this.client.on('close', () => {
      this.client.options.reconnectPeriod = this.delay(++this.attempt);
      if (this.connects > 0) this.onDisconnect?.(this.client.options.reconnectPeriod, this.lastError || 'connection closed');
    });
  }

  private delay(attempt: number): number {
    return reconnectDelayMs(attempt, this.o.reconnectMinMs, this.o.reconnectMaxMs, 0.5, Math.random);
  }

  private async connected(deadline: number): Promise<void> {
    while (!this.client.connected) {
      if (Date.now() >= deadline) throw new FleetConnectError(`broker ${this.conn.url} not reachable within ${this.o.timeoutMs} ms${this.lastError ? `: ${this.lastError}` : ''}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Reads the retained state/status of every device (see the header for when that counts as complete). */
  async readRetained(): Promise<{ complete: 'quiet' | 'timeout'; ms: number }> {
    const start = Date.now();
    const deadline = start + this.o.timeoutMs;
    await this.connected(deadline);
    const { snapshot } = fleetTopics(this.conn.prefix, 'unused');
    await this.client.subscribeAsync(snapshot, { qos: 0 });
    const subackAt = Date.now();
    let complete: 'quiet' | 'timeout' = 'timeout';
    for (;;) {
      const quietSince = Math.max(subackAt, this.lastRetainedAt);
      const now = Date.now();
      if (now - quietSince >= this.o.quietMs) {
        complete = 'quiet';
        break;
      }
      if (now >= deadline) break;
      await new Promise((r) => setTimeout(r, Math.max(5, Math.min(this.o.quietMs - (now - quietSince), deadline - now))));
    }
    return { complete, ms: Math.max(0, Math.max(subackAt, this.lastRetainedAt) - start) };
  }

  /** Live stream through the shared subscription, then drop the snapshot subscriptions (no duplicates). */
  async goLive(group: string): Promise<void> {
    const { snapshot, live } = fleetTopics(this.conn.prefix, group);
    // Retain handling 2 (MQTT 5 §3.8.3.1): no retained messages on this subscription — the snapshot has them, and
    // mosquitto would otherwise send every retained message again to each member of the group.
    await this.client.subscribeAsync(live, { qos: 1, rh: 2 });
    await this.client.unsubscribeAsync(snapshot);
  }

  /** After a reconnect: read the retained snapshot again (non-shared), then back to the shared stream only. */
  async resync(): Promise<void> {
    await this.readRetained();
    await this.client.unsubscribeAsync(fleetTopics(this.conn.prefix, 'unused').snapshot);
  }

  async close(): Promise<void> {
    await Promise.race([this.client.endAsync(), new Promise((r) => setTimeout(r, 2000).unref())]);
    this.client.end(true);
  }
}

/** One full view: connect, read the retained snapshot, disconnect. Used by `enrolld fleet` and the bench. */
export async function readFleet(conn: FleetConnection, filter: FleetFilter, o: SnapshotOptions = {}): Promise<FleetView & { model: FleetModel }> {
  const fc = new FleetClient(conn, snapshotDefaults(o));
  try {
    const snapshot = await fc.readRetained();
    return { ...fleetView(fc.model, filter), snapshot, model: fc.model };
  } finally {
    await fc.close();
  }
}

function snapshotDefaults(o: SnapshotOptions): Required<SnapshotOptions> {
  return { quietMs: o.quietMs ?? 500, timeoutMs: o.timeoutMs ?? 30_000, reconnectMinMs: o.reconnectMinMs ?? 1000, reconnectMaxMs: o.reconnectMaxMs ?? 60_000 };
}

// ---------------------------------------------------------------------------------------------------------------
// CLI

function usageError(message: string): ConfigError {
  return new ConfigError('fleet', `${message} (see \`enrolld help fleet\`)`);
}

function connectionFromArgs(v: Record<string, string | boolean | string[] | undefined>): FleetConnection {
  // The agent's own configuration supplies broker URL, CA and topic prefix when present; options override.
  const explicit = typeof v.config === 'string';
  const cfgPath = explicit ? (v.config as string) : DEFAULT_CONFIG_PATH;
  const mqtt = explicit || existsSync(cfgPath) ? loadConfig(cfgPath).mqtt : undefined;
  const url = (v.url as string | undefined) ?? mqtt?.url;
  if (!url) throw usageError('no broker: give --url or a configuration with mqtt.url');
  const conn: FleetConnection = { url, prefix: (v.prefix as string | undefined) ?? mqtt?.topicPrefix ?? 'dev/v1' };
  const ca = (v.ca as string | undefined) ?? mqtt?.caFile;
  if (ca) conn.caFile = ca;
  if (v.cert) conn.certFile = v.cert as string;
  if (v.key) conn.keyFile = v.key as string;
  if ((conn.certFile === undefined) !== (conn.keyFile === undefined)) throw usageError('--cert and --key go together');
  if (v.username) conn.username = v.username as string;
  if (v['password-file']) {
    try {
      conn.password = readFileSync(v['password-file'] as string, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new ConfigError('--password-file', `cannot read ${v['password-file'] as string}: ${(e as Error).message}`);
    }
  }
  return conn;
}

function filterFromArgs(v: Record<string, string | boolean | string[] | undefined>): FleetFilter {
  const f: FleetFilter = {};
  const states = ((v.state as string[] | undefined) ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  if (states.length) f.states = states;
  if (v.expiring !== undefined) {
    const s = parseDuration(v.expiring as string);
    if (s === undefined) throw usageError(`--expiring ${v.expiring as string}: not a duration like 7d, 12h, 30m`);
    f.expiringSeconds = s;
  }
  if (v.device !== undefined) f.device = v.device as string;
  return f;
}

function msOption(v: unknown, name: string, fallback: number, asDuration: boolean): number {
  if (v === undefined) return fallback;
  const n = asDuration ? parseDuration(v as string) : Number(v);
  if (n === undefined || !Number.isFinite(n) || n <= 0) throw usageError(`${name} ${v as string}: not a positive ${asDuration ? 'duration' : 'number'}`);
  return asDuration ? n * 1000 : n;
}

export async function runFleetCli(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      url: { type: 'string' },
      ca: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      username: { type: 'string' },
      'password-file': { type: 'string' },
      prefix: { type: 'string' },
      state: { type: 'string', multiple: true },
      expiring: { type: 'string' },
      device: { type: 'string' },
      json: { type: 'boolean', default: false },
      watch: { type: 'boolean', default: false },
      group: { type: 'string' },
      'quiet-ms': { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    out.write(commandUsage('fleet') + '\n');
    return 0;
  }
  const conn = connectionFromArgs(values);
  const filter = filterFromArgs(values);
  const o = snapshotDefaults({ quietMs: msOption(values['quiet-ms'], '--quiet-ms', 500, false), timeoutMs: msOption(values.timeout, '--timeout', 30_000, true) });
  if (values.group !== undefined && !/^[^/+#$\s]{1,64}$/.test(values.group)) throw usageError(`--group ${values.group}: one topic level without wildcards`);
  if (values.group !== undefined && !values.watch) throw usageError('--group applies to --watch');

  const fc = new FleetClient(conn, o);
  const print = (v: FleetView): void => void out.write((values.json ? JSON.stringify(v, null, values.watch ? 0 : 2) : renderView(v)) + '\n');
  try {
    const snapshot = await fc.readRetained();
    if (snapshot.complete === 'timeout') err.write(`enrolld fleet: retained messages still arriving after ${o.timeoutMs} ms; the view may be incomplete\n`);
    if (!values.watch) {
      print({ ...fleetView(fc.model, filter), snapshot });
      return 0;
    }
    await fc.goLive(values.group ?? `enrolld-fleet-${randomBytes(4).toString('hex')}`);
    return await watch(fc, filter, values.json, out, err, (v) => print({ ...v, snapshot }));
  } finally {
    await fc.close();
  }
}

/** `--watch`: text is redrawn (cleared on a terminal); JSON prints one line per changed device, then the summary. */
async function watch(fc: FleetClient, filter: FleetFilter, json: boolean, out: NodeJS.WritableStream, err: NodeJS.WritableStream, printView: (v: FleetView) => void): Promise<number> {
  const tty = (out as NodeJS.WriteStream).isTTY === true;
  const changed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const redraw = (): void => {
    timer = undefined;
    const now = new Date();
    if (json) {
      for (const id of changed) {
        const d = fc.model.devices.get(id);
        if (!d) out.write(JSON.stringify({ event: 'removed', id }) + '\n');
        else if (matches(d, filter, now)) out.write(JSON.stringify({ event: 'device', device: fleetRow(d) }) + '\n');
      }
      out.write(JSON.stringify({ event: 'summary', summary: summarize(fc.model, [...fc.model.devices.values()].filter((d) => matches(d, filter, now)).length, now) }) + '\n');
    } else {
      out.write(tty ? '\x1b[H\x1b[2J' : '\n');
      out.write(renderView(fleetView(fc.model, filter, now)) + '\n');
    }
    changed.clear();
  };
  fc.onChange = (id) => {
    changed.add(id);
    timer ??= setTimeout(redraw, 200);
  };
  fc.onDisconnect = (ms, reason) => err.write(`enrolld fleet: disconnected (${reason}); reconnecting in ${ms} ms\n`);
  fc.onReconnect = () => {
    err.write('enrolld fleet: reconnected; reading the retained snapshot again\n');
    fc.resync().catch((e) => err.write(`enrolld fleet: resync failed: ${(e as Error).message}\n`));
  };
  if (json) printView({ ...fleetView(fc.model, filter), ...{ event: 'snapshot' } } as FleetView);
  else {
    if (tty) out.write('\x1b[H\x1b[2J');
    printView(fleetView(fc.model, filter));
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  if (timer) clearTimeout(timer);
  return 0;
}
