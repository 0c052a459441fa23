// The StatusSink contract (the interface that keeps status transports swappable): the lifecycle reports its phase,
// a snapshot of the device, and discrete events. Status publishing must never break enrollment, so no method
// blocks the caller or throws into it: implementations queue, drop (and count) or log instead.
import type { DeviceCredential } from '../identity/device-identity.js';
import type { Phase } from '../lifecycle/state.js';
import type { DeviceStatus, EventFields, StateExtra } from './schema.js';

export interface StatusSink {
  /** The lifecycle phase changed (or is re-asserted). Latest wins. */
  state(phase: Phase, extra?: StateExtra): void;
  /** A full device snapshot. Latest wins: only the newest is kept while the transport is down. */
  snapshot(status: DeviceStatus): void;
  /** A discrete event (e.g. 'enroll.issued', 'pal.polled'); fields are reduced to small scalar values. */
  event(name: string, fields?: EventFields): void;
  /** Flushes what it can within a bounded time and releases resources. Never rejects. Later calls are no-ops. */
  close(): Promise<void>;
  /**
   * The device credential changed (renewal): sinks that authenticate with it (MQTT over TLS) reconnect with the new
   * one. Resolves true once every such connection uses it (or none exists), false when that did not happen in time;
   * the previous key may be dropped only after it resolved. Never rejects. Optional: other sinks do not implement it.
   */
  useClientCredential?(credential: DeviceCredential): Promise<boolean>;
  /** Starts a transport whose connection was deferred (MQTT with deferConnect). Optional; later calls are no-ops. */
  start?(): void;
}

/** A sink that discards everything (status reporting disabled). */
export class NullSink implements StatusSink {
  state(): void {}
  snapshot(): void {}
  event(): void {}
  async close(): Promise<void> {}
}

/** Runs `fn`, swallowing anything it throws: the guard every sink method uses at its boundary. */
export function guarded(fn: () => void, onError?: (err: unknown) => void): void {
  try {
    fn();
  } catch (err) {
    try {
      onError?.(err);
    } catch {
      /* nothing sensible left to do */
    }
  }
}
