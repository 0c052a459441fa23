// MQTT status payloads, documented field by field in docs/status-schema.md.
// Three topics under {prefix}/{deviceId}/: state (tiny, retained, the LWT writes st=lost), status (retained
// snapshot), event (not retained, expires). Payloads are CBOR maps with short keys: devices pay for every byte.
// Times on the wire are integer seconds since the Unix epoch; certificate serials and digests are byte strings.
import type { Encoder } from 'cbor-x';
import { lazyRequire } from '../util/lazy-require.js';
import type { Phase } from '../lifecycle/state.js';
import { EnrolldError } from '../util/errors.js';

/** Bumped on any incompatible payload change; sent as `v` in the snapshot and as the `schema` user property. */
export const STATUS_SCHEMA_VERSION = 1;
export const CBOR_CONTENT_TYPE = 'application/cbor';
/** Most recent errors kept in a snapshot. */
export const MAX_ERRORS = 5;
/** Limits on event fields: an event is a short note, never a document. */
export const MAX_EVENT_FIELDS = 12;
export const MAX_EVENT_STRING = 200;
export const MAX_EVENT_BYTES = 64;
export const MAX_EVENT_NAME = 64;

// ---------------------------------------------------------------------------------------------------------------
// Agent-side input (what the lifecycle hands to a StatusSink)

/** Values of `st` on the state topic: a lifecycle phase while the agent runs, or a connection state. */
export type WireState = Phase | 'online' | 'offline' | 'lost';

/** Optional detail of the state topic: the retry sub-state (ARCHITECTURE.md §The device lifecycle: waiting and failed). */
export interface StateExtra {
  retry?: 'waiting' | 'failed';
  /** Not before this time. */
  until?: Date | string;
}

export type PalResult = 'ok' | 'none' | 'error';

export interface DeviceStatus {
  phase: Phase;
  enroll?: {
    /** Certificate serial number, hex (as Node's X509Certificate prints it; case and colons are ignored). */
    serial: string;
    notAfter: Date | string;
    renewAt: Date | string;
    /** Subject DN, RFC 4514 string. */
    subject: string;
  };
  pal?: { lastPoll: Date | string; result: PalResult; code?: string };
  fw?: { running: string; pending?: string; progress?: FirmwareProgress };
  /** Trust-anchor store: SHA-256 digest (hex) and the TAMP sequence number if TAMP manages it. */
  ta?: { digest: string; tampSeq?: number };
  /** The CMC decryption key (cmc.decryptionKey): the certified key, the last attempt, the next one. */
  dk?: DecryptionKeyStatus;
  tpm: { ok: boolean; rc?: number };
  /** Most recent errors, oldest first; only the last MAX_ERRORS are sent. Codes are EnrolldError codes. */
  errors?: Array<{ code: string; at: Date | string }>;
}

/** The CMC decryption key's part of the snapshot (agent/features/cmc/decryption-key.ts). */
export interface DecryptionKeyStatus {
  /** The certified key's certificate serial (hex), its notAfter and when its successor is enrolled. */
  serial?: string;
  notAfter?: Date | string;
  renewAt?: Date | string;
  /** The last attempt: its outcome, when, and the error code when it failed. */
  result?: 'enrolled' | 'renewed' | 'pending' | 'failed';
  at?: Date | string;
  code?: string;
  /** No attempt before this (the backoff, or the CA's pendTime). */
  until?: Date | string;
}

/** A firmware download in progress: bytes so far, expected total, bytes/s, seconds left. */
export interface FirmwareProgress {
  bytes: number;
  total?: number;
  rate: number;
  eta?: number;
}

export type EventValue = string | number | boolean | Uint8Array;
export type EventFields = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------------------------
// Wire payloads (CBOR maps)

export interface StatePayload {
  st: WireState;
  /** bdSeq of the MQTT connection that carries (or, for st=lost, carried) this state. */
  bd: number;
  ts: number;
  /** Retry sub-state: 'waiting' (server said retry later) or 'failed' (backoff). */
  sub?: 'waiting' | 'failed';
  until?: number;
}

export interface StatusPayload {
  v: number;
  ts: number;
  seq: number;
  st: Phase;
  enroll?: { serial: Uint8Array; notAfter: number; renewAt: number; subject: string };
  pal?: { lastPoll: number; result: PalResult; code?: string };
  fw?: { running: string; pending?: string; progress?: FirmwareProgress };
  ta?: { digest: Uint8Array; tampSeq?: number };
  dk?: { serial?: Uint8Array; notAfter?: number; renewAt?: number; result?: string; at?: number; code?: string; until?: number };
  tpm: { ok: boolean; rc?: number };
  errors: Array<{ code: string; at: number }>;
  /** Events this agent process dropped so far (queue overflow while the broker was unreachable); absent when 0. */
  dr?: number;
}

export interface EventPayload {
  ts: number;
  seq: number;
  ev: string;
  [field: string]: EventValue;
}

// ---------------------------------------------------------------------------------------------------------------
// Conversions

/** Integer seconds since the epoch; 0 for an unparsable time (never throws). */
export function epochSeconds(t: Date | string | number): number {
  const ms = typeof t === 'number' ? t : new Date(t).getTime();
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
}

/** Hex (any case, optional colons/spaces, odd length allowed) → bytes. Non-hex input is kept as UTF-8 bytes. */
export function hexBytes(hex: string): Uint8Array {
  const clean = hex.replace(/[\s:]/g, '');
  if (!/^[0-9a-fA-F]*$/.test(clean)) return new Uint8Array(Buffer.from(hex, 'utf8'));
  return new Uint8Array(Buffer.from(clean.length % 2 ? '0' + clean : clean, 'hex'));
}

export function statePayload(st: WireState, bd: number, now: Date, extra?: StateExtra): StatePayload {
  const p: StatePayload = { st, bd, ts: epochSeconds(now) };
  if (extra?.retry) p.sub = extra.retry;
  if (extra?.until !== undefined) p.until = epochSeconds(extra.until);
  return p;
}

export function statusPayload(s: DeviceStatus, ts: Date, seq: number, dropped = 0): StatusPayload {
  // Keys in the documented order (cbor-x keeps insertion order); optional sections only when present.
  const p: StatusPayload = { v: STATUS_SCHEMA_VERSION, ts: epochSeconds(ts), seq, st: s.phase, tpm: { ok: !!s.tpm?.ok }, errors: [] };
  if (s.tpm?.rc !== undefined) p.tpm.rc = s.tpm.rc;
  p.errors = (s.errors ?? []).slice(-MAX_ERRORS).map((e) => ({ code: e.code, at: epochSeconds(e.at) }));
  if (s.enroll) {
    p.enroll = {
      serial: hexBytes(s.enroll.serial),
      notAfter: epochSeconds(s.enroll.notAfter),
      renewAt: epochSeconds(s.enroll.renewAt),
      subject: s.enroll.subject,
    };
  }
  if (s.pal) {
    p.pal = { lastPoll: epochSeconds(s.pal.lastPoll), result: s.pal.result };
    if (s.pal.code !== undefined) p.pal.code = s.pal.code;
  }
  if (s.fw) {
    p.fw = { running: s.fw.running };
    if (s.fw.pending !== undefined) p.fw.pending = s.fw.pending;
    if (s.fw.progress) {
      const g = s.fw.progress;
      p.fw.progress = { bytes: Math.max(0, Math.floor(g.bytes)), rate: Math.max(0, Math.floor(g.rate)) };
      if (g.total !== undefined) p.fw.progress.total = Math.max(0, Math.floor(g.total));
      if (g.eta !== undefined) p.fw.progress.eta = Math.max(0, Math.ceil(g.eta));
    }
  }
  if (s.ta) {
    p.ta = { digest: hexBytes(s.ta.digest) };
    if (s.ta.tampSeq !== undefined) p.ta.tampSeq = s.ta.tampSeq;
  }
  if (s.dk) {
    const d = s.dk;
    const dk: NonNullable<StatusPayload['dk']> = {};
    if (d.serial !== undefined) dk.serial = hexBytes(d.serial);
    if (d.notAfter !== undefined) dk.notAfter = epochSeconds(d.notAfter);
    if (d.renewAt !== undefined) dk.renewAt = epochSeconds(d.renewAt);
    if (d.result !== undefined) dk.result = d.result;
    if (d.at !== undefined) dk.at = epochSeconds(d.at);
    if (d.code !== undefined) dk.code = d.code;
    if (d.until !== undefined) dk.until = epochSeconds(d.until);
    p.dk = dk;
  }
  if (dropped > 0) p.dr = dropped;
  return p;
}

/** Field names that may carry secrets or single-use material: never published (mirrors the logger's redaction). */
const SECRET = /(pass(word)?|secret|token|nonce|private|priv|key(material)?$|authorization|psk|otp|seed)/i;
const RESERVED = new Set(['ts', 'seq', 'ev']);

/**
 * Reduces arbitrary event fields to small CBOR-safe values: strings/bytes truncated, Dates as epoch seconds,
 * Errors as their stable code, nested objects dropped, secret-looking names dropped, at most MAX_EVENT_FIELDS.
 */
export function sanitizeEventFields(fields: EventFields | undefined): Record<string, EventValue> {
  const out: Record<string, EventValue> = {};
  if (!fields || typeof fields !== 'object') return out;
  let n = 0;
  for (const [k, raw] of Object.entries(fields)) {
    if (n >= MAX_EVENT_FIELDS) break;
    if (RESERVED.has(k) || k.length === 0 || k.length > 32) continue;
    if (SECRET.test(k) && k !== 'keyId' && k !== 'keyAlgorithm') continue;
    let v: EventValue | undefined;
    if (typeof raw === 'string') v = raw.length > MAX_EVENT_STRING ? raw.slice(0, MAX_EVENT_STRING) : raw;
    else if (typeof raw === 'number') v = Number.isFinite(raw) ? raw : undefined;
    else if (typeof raw === 'boolean') v = raw;
    else if (typeof raw === 'bigint') v = raw.toString();
    else if (raw instanceof Date) v = epochSeconds(raw);
    else if (raw instanceof Uint8Array) v = new Uint8Array(raw.subarray(0, MAX_EVENT_BYTES));
    else if (raw instanceof Error) {
      const code = (raw as Error & { code?: unknown }).code;
      v = typeof code === 'string' ? code : 'internal';
    }
    if (v === undefined) continue;
    out[k] = v;
    n++;
  }
  return out;
}

export function eventName(name: string): string {
  const s = typeof name === 'string' && name.length > 0 ? name : 'unnamed';
  return s.length > MAX_EVENT_NAME ? s.slice(0, MAX_EVENT_NAME) : s;
}

export function eventPayload(name: string, fields: Record<string, EventValue>, ts: Date, seq: number): EventPayload {
  return { ts: epochSeconds(ts), seq, ev: eventName(name), ...fields } as EventPayload;
}

// ---------------------------------------------------------------------------------------------------------------
// CBOR: plain RFC 8949 maps (no cbor-x record extension, no typed-array tags, minimal map headers), so any
// CBOR decoder on the consumer side reads them.

const cborX = lazyRequire<typeof import('cbor-x')>('cbor-x');
let cached: Encoder | undefined;
/** cbor-x is loaded on first use (only the MQTT sink encodes). */
const encoder = (): Encoder => (cached ??= new (cborX().Encoder)({ useRecords: false, tagUint8Array: false, variableMapSize: true, mapsAsObjects: true }));

export function encodeCbor(payload: StatePayload | StatusPayload | EventPayload): Buffer {
  return encoder().encode(payload);
}

/** A status payload that is not well-formed CBOR (cbor-x throws plain Error/TypeError/RangeError for these). */
export class StatusDecodeError extends EnrolldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('status.cbor-malformed', message, options);
  }
}

/** Decodes one CBOR payload; anything malformed (truncated, trailing bytes, bad tokens) is a StatusDecodeError. */
export function decodeCbor(bytes: Uint8Array): unknown {
  try {
    return encoder().decode(bytes);
  } catch (e) {
    throw new StatusDecodeError(`malformed CBOR status payload (${bytes.byteLength} bytes): ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
}

/** Appends an error to a bounded history (helper for whoever assembles DeviceStatus). Returns a new array. */
export function pushError(errors: ReadonlyArray<{ code: string; at: Date | string }> | undefined, code: string, at: Date): Array<{ code: string; at: Date | string }> {
  return [...(errors ?? []), { code, at }].slice(-MAX_ERRORS);
}
