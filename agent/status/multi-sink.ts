// Fan-out to several sinks (typically MQTT + journald). One sink failing never affects the others.
import type { Phase } from '../lifecycle/state.js';
import type { DeviceStatus, EventFields, StateExtra } from './schema.js';
import type { DeviceCredential } from '../identity/device-identity.js';
import { guarded, type StatusSink } from './status-sink.js';

export class MultiSink implements StatusSink {
  private readonly sinks: StatusSink[];
  constructor(sinks: StatusSink[]) {
    this.sinks = [...sinks];
  }
  state(phase: Phase, extra?: StateExtra): void {
    for (const s of this.sinks) guarded(() => s.state(phase, extra));
  }
  snapshot(status: DeviceStatus): void {
    for (const s of this.sinks) guarded(() => s.snapshot(status));
  }
  event(name: string, fields?: EventFields): void {
    for (const s of this.sinks) guarded(() => s.event(name, fields));
  }
  start(): void {
    for (const s of this.sinks) guarded(() => s.start?.());
  }
  async useClientCredential(credential: DeviceCredential): Promise<boolean> {
    const results = await Promise.all(this.sinks.map((s) => (s.useClientCredential ? s.useClientCredential(credential).catch(() => false) : Promise.resolve(true))));
    return results.every(Boolean);
  }
  async close(): Promise<void> {
    await Promise.all(
      this.sinks.map(async (s) => {
        try {
          await s.close();
        } catch {
          /* close never rejects to the caller */
        }
      }),
    );
  }
}
