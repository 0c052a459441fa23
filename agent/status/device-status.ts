// The device status snapshot, put together: the lifecycle state (from-state.ts), the keystore's health, the newest
// errors (a bounded ring: the daemon's life never grows it), and what each feature contributes (PAL poll, firmware,
// TA store, TAMP sequence). Features register a part; the board publishes the merged snapshot to the StatusSink.
import type { KeyStoreHealth } from '../keystore/keystore.js';
import type { Clock } from '../lifecycle/clock.js';
import type { AgentState } from '../lifecycle/state.js';
import { deviceStatusFromState, stateExtraFromState, type StatusParts } from './from-state.js';
import { Ring } from './queue.js';
import { MAX_ERRORS } from './schema.js';
import type { StatusSink } from './status-sink.js';

/** What a feature adds to the snapshot: `current()` at every publish (cheap, synchronous), `refresh()` after a poll. */
export interface StatusPart {
  current(): Partial<StatusParts>;
  refresh?(): Promise<void>;
}

export interface DeviceStatusBoardOptions {
  sink: StatusSink;
  clock: Clock;
  /** The keystore's health (KeyStore.health); a keystore that reports none is a software one: nothing is wrong. */
  health: () => KeyStoreHealth | undefined;
  /** The persisted lifecycle state, for publishes not triggered by a transition. */
  load: () => Promise<AgentState | undefined>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

export class DeviceStatusBoard {
  /** The newest MAX_ERRORS errors, oldest first. */
  private readonly errors = new Ring<{ code: string; at: string }>(MAX_ERRORS);
  private readonly parts: StatusPart[] = [];

  constructor(private readonly o: DeviceStatusBoardOptions) {}

  add(part: StatusPart): void {
    this.parts.push(part);
  }

  /** Records an error (a stable EnrolldError code) for the next snapshots. */
  error(code: string, at: Date | string = this.o.clock.now()): void {
    this.errors.push({ code, at: typeof at === 'string' ? at : at.toISOString() });
  }

  /** The parts merged (objects such as `ta` field by field, in registration order). */
  snapshotParts(): StatusParts {
    const merged: Record<string, unknown> = {};
    for (const p of this.parts) {
      for (const [k, v] of Object.entries(p.current())) {
        if (v === undefined) continue;
        merged[k] = isObject(merged[k]) && isObject(v) ? { ...merged[k], ...v } : v;
      }
    }
    const errors = this.errors.toArray();
    return { ...(merged as Partial<StatusParts>), tpm: this.o.health() ?? { ok: true }, ...(errors.length ? { errors } : {}) };
  }

  publish(s: AgentState): void {
    this.o.sink.state(s.phase, stateExtraFromState(s));
    this.o.sink.snapshot(deviceStatusFromState(s, this.snapshotParts()));
  }

  /** Publishes with the persisted state (a part changed outside a transition). Never rejects. */
  republish(): Promise<void> {
    return this.o
      .load()
      .then((s) => s && this.publish(s))
      .catch(() => undefined);
  }

  /** Refreshes every part, then republishes. Never rejects. */
  async refresh(): Promise<void> {
    for (const p of this.parts) await p.refresh?.().catch(() => undefined);
    await this.republish();
  }
}
