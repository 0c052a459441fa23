// `enrolld fleet`: the fleet model — decodes what devices publish under {prefix}/{id}/state|status|event
// (docs/status-schema.md), keeps one record per device, filters and renders. No I/O here: fleet.ts feeds it.
// Anything unreadable (topic, size, CBOR, shape, schema version) is counted, never thrown.
import { STATUS_SCHEMA_VERSION, decodeCbor } from '../status/schema.js';

/** Payloads above this are not decoded: a status snapshot is a few hundred bytes (docs/status-schema.md sizes). */
export const MAX_PAYLOAD_BYTES = 16 * 1024;
export const EXPIRING_DEFAULT_SECONDS = 7 * 86_400;

export type Problem = 'bad-topic' | 'oversized' | 'malformed-cbor' | 'invalid' | 'unknown-schema';
export const PROBLEMS: readonly Problem[] = ['bad-topic', 'oversized', 'malformed-cbor', 'invalid', 'unknown-schema'];

export interface DeviceRecord {
  id: string;
  /** From the state topic (the Last Will writes `lost` there). */
  state?: { st: string; bd: number; ts: number; sub?: string; until?: number };
  status?: {
    v: number;
    ts: number;
    seq: number;
    st: string;
    enroll?: { serial: string; notAfter: number; renewAt: number; subject: string };
    fw?: { running?: string; pending?: string; progress?: { bytes: number; total?: number; rate?: number; eta?: number } };
    ta?: { digest: string; tampSeq?: number };
    pal?: { lastPoll: number; result: string; code?: string };
    tpm?: { ok: boolean; rc?: number };
    errors: Array<{ code: string; at: number }>;
    dr?: number;
  };
  lastEvent?: { ev: string; ts: number };
  /** Newest device-side time seen on any of its topics (epoch seconds). */
  lastSeen: number;
  /** The last message of this device that could not be read, and why. */
  problem?: { kind: Problem; topic: string; detail: string };
}

export interface Ingest {
  /** The device whose record changed, if any. */
  changed?: string;
  problem?: Problem;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isStr = (v: unknown): v is string => typeof v === 'string';
const hex = (v: unknown): string | undefined => (v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') : undefined);

class Invalid extends Error {}
function need<T>(ok: boolean, value: T, what: string): T {
  if (!ok) throw new Invalid(what);
  return value;
}

/** A device id is one topic level: non-empty, printable, no MQTT wildcards. */
const DEVICE_ID = /^[^\s/+#\u0000-\u001f\u007f]{1,128}$/;

export function parseTopic(prefix: string, topic: string): { id: string; kind: 'state' | 'status' | 'event' } | undefined {
  const p = prefix.replace(/\/+$/, '') + '/';
  if (!topic.startsWith(p)) return undefined;
  const rest = topic.slice(p.length).split('/');
  if (rest.length !== 2 || !DEVICE_ID.test(rest[0]!)) return undefined;
  const kind = rest[1];
  return kind === 'state' || kind === 'status' || kind === 'event' ? { id: rest[0]!, kind } : undefined;
}

function decodeState(m: unknown): NonNullable<DeviceRecord['state']> {
  need(isObj(m), 0, 'state payload is not a map');
  const o = m as Obj;
  const s: NonNullable<DeviceRecord['state']> = { st: need(isStr(o.st), o.st as string, 'st'), bd: need(isUint(o.bd), o.bd as number, 'bd'), ts: need(isUint(o.ts), o.ts as number, 'ts') };
  if (o.sub !== undefined) s.sub = need(isStr(o.sub), o.sub as string, 'sub');
  if (o.until !== undefined) s.until = need(isUint(o.until), o.until as number, 'until');
  return s;
}

function decodeStatus(m: unknown): NonNullable<DeviceRecord['status']> {
  need(isObj(m), 0, 'status payload is not a map');
  const o = m as Obj;
  const errors = need(Array.isArray(o.errors), o.errors as unknown[], 'errors').map((e) => {
    need(isObj(e) && isStr((e as Obj).code) && isUint((e as Obj).at), 0, 'errors[]');
    return { code: (e as Obj).code as string, at: (e as Obj).at as number };
  });
  const s: NonNullable<DeviceRecord['status']> = {
    v: o.v as number,
    ts: need(isUint(o.ts), o.ts as number, 'ts'),
    seq: need(isUint(o.seq), o.seq as number, 'seq'),
    st: need(isStr(o.st), o.st as string, 'st'),
    errors,
  };
  if (o.enroll !== undefined) {
    const e = need(isObj(o.enroll), o.enroll as Obj, 'enroll');
    s.enroll = {
      serial: need(hex(e.serial) !== undefined, hex(e.serial)!, 'enroll.serial'),
      notAfter: need(isUint(e.notAfter), e.notAfter as number, 'enroll.notAfter'),
      renewAt: need(isUint(e.renewAt), e.renewAt as number, 'enroll.renewAt'),
      subject: need(isStr(e.subject), e.subject as string, 'enroll.subject'),
    };
  }
  if (o.fw !== undefined) {
    const f = need(isObj(o.fw), o.fw as Obj, 'fw');
    s.fw = {};
    if (f.running !== undefined) s.fw.running = need(isStr(f.running), f.running as string, 'fw.running');
    if (f.pending !== undefined) s.fw.pending = need(isStr(f.pending), f.pending as string, 'fw.pending');
    if (f.progress !== undefined) {
      const p = need(isObj(f.progress), f.progress as Obj, 'fw.progress');
      s.fw.progress = { bytes: need(isUint(p.bytes), p.bytes as number, 'fw.progress.bytes') };
      for (const k of ['total', 'rate', 'eta'] as const) if (p[k] !== undefined) s.fw.progress[k] = need(isUint(p[k]), p[k] as number, `fw.progress.${k}`);
    }
  }
  if (o.ta !== undefined) {
    const t = need(isObj(o.ta), o.ta as Obj, 'ta');
    s.ta = { digest: need(hex(t.digest) !== undefined, hex(t.digest)!, 'ta.digest') };
    if (t.tampSeq !== undefined) s.ta.tampSeq = need(isUint(t.tampSeq), t.tampSeq as number, 'ta.tampSeq');
  }
  if (o.pal !== undefined) {
    const p = need(isObj(o.pal), o.pal as Obj, 'pal');
    s.pal = { lastPoll: need(isUint(p.lastPoll), p.lastPoll as number, 'pal.lastPoll'), result: need(isStr(p.result), p.result as string, 'pal.result') };
    if (isStr(p.code)) s.pal.code = p.code;
  }
  if (isObj(o.tpm)) s.tpm = { ok: o.tpm.ok === true, ...(isUint(o.tpm.rc) ? { rc: o.tpm.rc } : {}) };
  if (isUint(o.dr)) s.dr = o.dr;
  return s;
}

export class FleetModel {
  readonly devices = new Map<string, DeviceRecord>();
  readonly problems: Record<Problem, number> = { 'bad-topic': 0, oversized: 0, 'malformed-cbor': 0, invalid: 0, 'unknown-schema': 0 };
  /** Messages read (including unreadable ones). */
  messages = 0;

  constructor(readonly prefix: string, readonly maxPayload = MAX_PAYLOAD_BYTES) {}

  private record(id: string): DeviceRecord {
    let d = this.devices.get(id);
    if (!d) this.devices.set(id, (d = { id, lastSeen: 0 }));
    return d;
  }

  private fail(kind: Problem, topic: string, detail: string, id?: string): Ingest {
    this.problems[kind]++;
    if (id === undefined) return { problem: kind };
    this.record(id).problem = { kind, topic, detail };
    return { changed: id, problem: kind };
  }

  /** One MQTT message. `schema` is the `schema` user property when present. Never throws. */
  ingest(topic: string, payload: Uint8Array, schema?: string): Ingest {
    this.messages++;
    const t = parseTopic(this.prefix, topic);
    if (!t) return this.fail('bad-topic', topic, 'not {prefix}/{deviceId}/state|status|event');
    if (payload.byteLength === 0) {
      // An empty retained message deletes the retained value (MQTT 5 §3.3.1.3): the device record goes with it.
      const d = this.devices.get(t.id);
      if (!d) return {};
      if (t.kind === 'state') delete d.state;
      if (t.kind === 'status') delete d.status;
      if (!d.state && !d.status) this.devices.delete(t.id);
      return { changed: t.id };
    }
    if (payload.byteLength > this.maxPayload) return this.fail('oversized', topic, `${payload.byteLength} bytes > ${this.maxPayload}`, t.id);
    if (schema !== undefined && schema !== String(STATUS_SCHEMA_VERSION)) return this.fail('unknown-schema', topic, `schema ${schema.slice(0, 16)}`, t.id);
    let m: unknown;
    try {
      m = decodeCbor(payload);
    } catch (e) {
      return this.fail('malformed-cbor', topic, (e as Error).message, t.id);
    }
    try {
      const d = this.record(t.id);
      if (t.kind === 'state') {
        const s = decodeState(m);
        // docs/status-schema.md: a state with a lower bd than the last one seen is stale (a late Will).
        if (d.state && s.bd < d.state.bd) return {};
        d.state = s;
        d.lastSeen = Math.max(d.lastSeen, s.ts);
      } else if (t.kind === 'status') {
        if (isObj(m) && m.v !== STATUS_SCHEMA_VERSION) return this.fail('unknown-schema', topic, `v ${String(m.v).slice(0, 16)}`, t.id);
        const s = decodeStatus(m);
        if (d.status && s.ts < d.status.ts) return {};
        d.status = s;
        d.lastSeen = Math.max(d.lastSeen, s.ts);
      } else {
        need(isObj(m) && isStr((m as Obj).ev) && isUint((m as Obj).ts), 0, 'event {ts, ev}');
        d.lastEvent = { ev: (m as Obj).ev as string, ts: (m as Obj).ts as number };
        d.lastSeen = Math.max(d.lastSeen, d.lastEvent.ts);
      }
      delete d.problem;
      return { changed: t.id };
    } catch (e) {
      if (!(e instanceof Invalid)) throw e;
      return this.fail('invalid', topic, `bad or missing ${e.message}`, t.id);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Rows, filters, summary

export interface FleetRow {
  id: string;
  /** Connection/lifecycle state: the state topic's `st` (incl. lost/offline), else the snapshot's, else unknown. */
  state: string;
  retry?: { kind: string; until?: string };
  notAfter?: string;
  renewAt?: string;
  subject?: string;
  serial?: string;
  firmware?: { running?: string; pending?: string; progress?: { bytes: number; total?: number; rate?: number; eta?: number } };
  taDigest?: string;
  tampSeq?: number;
  lastSeen?: string;
  lastError?: { code: string; at: string };
  lastEvent?: string;
  problem?: { kind: Problem; detail: string };
}

const iso = (s: number): string => new Date(s * 1000).toISOString().replace(/\.000Z$/, 'Z');

export function fleetRow(d: DeviceRecord): FleetRow {
  const r: FleetRow = { id: d.id, state: d.state?.st ?? d.status?.st ?? 'unknown' };
  if (d.state?.sub) r.retry = { kind: d.state.sub, ...(d.state.until ? { until: iso(d.state.until) } : {}) };
  const s = d.status;
  if (s?.enroll) Object.assign(r, { notAfter: iso(s.enroll.notAfter), renewAt: iso(s.enroll.renewAt), subject: s.enroll.subject, serial: s.enroll.serial });
  if (s?.fw) r.firmware = { ...s.fw };
  if (s?.ta) Object.assign(r, { taDigest: s.ta.digest, ...(s.ta.tampSeq !== undefined ? { tampSeq: s.ta.tampSeq } : {}) });
  if (d.lastSeen > 0) r.lastSeen = iso(d.lastSeen);
  const e = s?.errors.at(-1);
  if (e) r.lastError = { code: e.code, at: iso(e.at) };
  if (d.lastEvent) r.lastEvent = d.lastEvent.ev;
  if (d.problem) r.problem = { kind: d.problem.kind, detail: d.problem.detail };
  return r;
}

export interface FleetFilter {
  states?: string[];
  /** Certificate notAfter within this many seconds from now (expired ones included). */
  expiringSeconds?: number;
  /** Glob over device ids (* and ?). */
  device?: string;
}

function globRegex(glob: string): RegExp {
  return new RegExp('^' + glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
}

export function expiresWithin(d: DeviceRecord, seconds: number, now: Date): boolean {
  const na = d.status?.enroll?.notAfter;
  return na !== undefined && na * 1000 - now.getTime() <= seconds * 1000;
}

export function matches(d: DeviceRecord, f: FleetFilter, now: Date): boolean {
  if (f.states?.length && !f.states.includes(fleetRow(d).state)) return false;
  if (f.expiringSeconds !== undefined && !expiresWithin(d, f.expiringSeconds, now)) return false;
  if (f.device !== undefined && !globRegex(f.device).test(d.id)) return false;
  return true;
}

export interface FleetSummary {
  devices: number;
  shown: number;
  byState: Record<string, number>;
  expiringWithin7d: number;
  unreadable: Record<Problem, number> & { total: number };
  messages: number;
}

export function summarize(m: FleetModel, shown: number, now: Date): FleetSummary {
  const byState: Record<string, number> = {};
  let expiring = 0;
  for (const d of m.devices.values()) {
    const st = fleetRow(d).state;
    byState[st] = (byState[st] ?? 0) + 1;
    if (expiresWithin(d, EXPIRING_DEFAULT_SECONDS, now)) expiring++;
  }
  const total = PROBLEMS.reduce((n, p) => n + m.problems[p], 0);
  return {
    devices: m.devices.size,
    shown,
    byState: Object.fromEntries(Object.entries(byState).sort(([a], [b]) => a.localeCompare(b))),
    expiringWithin7d: expiring,
    unreadable: { ...m.problems, total },
    messages: m.messages,
  };
}

/** Rows that pass the filter, sorted by device id. */
export function selectRows(m: FleetModel, f: FleetFilter, now: Date): FleetRow[] {
  return [...m.devices.values()].filter((d) => matches(d, f, now)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(fleetRow);
}

export interface FleetView {
  at: string;
  summary: FleetSummary;
  devices: FleetRow[];
  /** How the retained snapshot ended: quiet period reached, or the timeout. */
  snapshot?: { complete: 'quiet' | 'timeout'; ms: number };
}

export function fleetView(m: FleetModel, f: FleetFilter, now: Date = new Date()): FleetView {
  const devices = selectRows(m, f, now);
  return { at: now.toISOString(), summary: summarize(m, devices.length, now), devices };
}

// ---------------------------------------------------------------------------------------------------------------
// Text rendering

const short = (t: string | undefined): string => (t ? t.slice(0, 16).replace('T', ' ') : '-');

function firmwareText(f: FleetRow['firmware']): string {
  if (!f) return '-';
  let s = f.running ?? '?';
  if (f.pending) s += `→${f.pending}`;
  if (f.progress) s += ` ↓${f.progress.total ? `${Math.floor((100 * f.progress.bytes) / f.progress.total)}%` : `${f.progress.bytes}B`}`;
  return s;
}

export function formatBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

const HEADER = ['DEVICE', 'STATE', 'NOT-AFTER', 'RENEW-AT', 'FIRMWARE', 'TA', 'LAST-SEEN', 'LAST-ERROR'];

export function rowCells(r: FleetRow): string[] {
  const state = r.state + (r.retry ? `(${r.retry.kind})` : '') + (r.problem ? '!' : '');
  const err = r.lastError ? `${r.lastError.code}@${short(r.lastError.at)}` : '-';
  return [r.id, state, short(r.notAfter), short(r.renewAt), firmwareText(r.firmware), r.taDigest ? r.taDigest.slice(0, 8) : '-', short(r.lastSeen), r.problem ? `UNREADABLE ${r.problem.kind}: ${r.problem.detail}` : err];
}

export function renderSummary(s: FleetSummary): string {
  const states = Object.entries(s.byState).map(([k, v]) => `${k} ${v}`).join(', ');
  const bad = PROBLEMS.filter((p) => s.unreadable[p] > 0).map((p) => `${p} ${s.unreadable[p]}`).join(', ');
  return (
    `${s.devices} devices${s.shown !== s.devices ? ` (${s.shown} shown)` : ''}: ${states || 'none'}; ` +
    `certificates expiring within 7d: ${s.expiringWithin7d}; unreadable messages: ${s.unreadable.total}${bad ? ` (${bad})` : ''}`
  );
}

export function renderView(v: FleetView): string {
  const rows = [HEADER, ...v.devices.map(rowCells)];
  const widths = HEADER.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
  return [...lines, renderSummary(v.summary)].join('\n');
}

/** `7d`, `12h`, `30m`, `45s`, or plain seconds → seconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(d|h|m|s|ms)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { d: 86_400, h: 3600, m: 60, s: 1, ms: 0.001 }[(m[2] ?? 's') as 'd' | 'h' | 'm' | 's' | 'ms'];
  return n * unit;
}
