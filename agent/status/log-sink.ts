// A StatusSink that writes through the structured Logger (journald under systemd: one line per event, with
// priority). State changes and events are logged at info; snapshots at debug, and only when they change.
import type { Phase } from '../lifecycle/state.js';
import type { Logger } from '../util/log.js';
import { MAX_ERRORS, epochSeconds, eventName, sanitizeEventFields, type DeviceStatus, type EventFields, type StateExtra } from './schema.js';
import { guarded, type StatusSink } from './status-sink.js';

export class LogStatusSink implements StatusSink {
  private closed = false;
  private lastSnapshot = '';
  private lastState = '';
  constructor(private readonly log: Logger) {}

  state(phase: Phase, extra?: StateExtra): void {
    if (this.closed) return;
    guarded(() => {
      const fields = { st: phase, retry: extra?.retry, until: extra?.until };
      const key = JSON.stringify(fields);
      if (key === this.lastState) return;
      this.lastState = key;
      this.log.info('status.state', fields);
    });
  }

  snapshot(s: DeviceStatus): void {
    if (this.closed) return;
    guarded(() => {
      const fields = {
        st: s.phase,
        serial: s.enroll?.serial,
        notAfter: s.enroll?.notAfter,
        renewAt: s.enroll?.renewAt,
        pal: s.pal ? `${s.pal.result}${s.pal.code ? ':' + s.pal.code : ''}@${epochSeconds(s.pal.lastPoll)}` : undefined,
        fw: s.fw ? `${s.fw.running}${s.fw.pending ? '>' + s.fw.pending : ''}` : undefined,
        ta: s.ta ? `${s.ta.digest.slice(0, 16)}${s.ta.tampSeq !== undefined ? '#' + s.ta.tampSeq : ''}` : undefined,
        tpm: s.tpm?.ok ? 'ok' : `fail${s.tpm?.rc !== undefined ? ':0x' + s.tpm.rc.toString(16) : ''}`,
        errors: s.errors?.length ? s.errors.slice(-MAX_ERRORS).map((e) => e.code).join(',') : undefined,
      };
      const key = JSON.stringify(fields);
      if (key === this.lastSnapshot) return;
      this.lastSnapshot = key;
      this.log.debug('status.snapshot', fields);
    });
  }

  event(name: string, fields?: EventFields): void {
    if (this.closed) return;
    guarded(() => {
      const clean = sanitizeEventFields(fields);
      const printable: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(clean)) printable[k] = v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v;
      this.log.info(`event.${eventName(name)}`, printable);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
