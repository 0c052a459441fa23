// Simulated fleet for `enrolld fleet` tests and the bench: N devices' retained state and status, encoded with the
// agent's own status encoder (agent/status/schema.ts) and published as the agent publishes them (QoS 1, retained,
// contentType application/cbor, user property schema=1).
import mqtt, { type MqttClient } from 'mqtt';
import { CBOR_CONTENT_TYPE, STATUS_SCHEMA_VERSION, encodeCbor, statePayload, statusPayload, type DeviceStatus, type WireState } from '../../agent/status/schema.js';
import type { Phase } from '../../agent/lifecycle/state.js';

export const SIM_PHASES: readonly Phase[] = ['enrolled', 'renewing', 'enrolling', 'bootstrapped'];

export interface SimDevice {
  id: string;
  state: WireState;
  status: DeviceStatus;
}

const DAY = 86_400_000;

/** Device i of a simulated fleet: mostly enrolled; every 100th certificate expires within 3 days. */
export function simDevice(i: number, now: Date, prefixId = 'dev'): SimDevice {
  const id = `${prefixId}-${String(i).padStart(5, '0')}`;
  const phase: Phase = i % 50 === 1 ? 'renewing' : i % 50 === 2 ? 'enrolling' : i % 50 === 3 ? 'bootstrapped' : 'enrolled';
  const notAfter = new Date(now.getTime() + (i % 100 === 0 ? 3 * DAY : 60 * DAY));
  const status: DeviceStatus = {
    phase,
    tpm: { ok: true },
    pal: { lastPoll: new Date(now.getTime() - 600_000), result: 'ok' },
    fw: { running: '1.4.2', ...(i % 10 === 5 ? { pending: '1.5.0' } : {}) },
    ta: { digest: (i % 7).toString(16).padStart(2, '0').repeat(32), tampSeq: 7 },
    ...(i % 25 === 7 ? { errors: [{ code: 'est.http-503', at: new Date(now.getTime() - 3600_000) }] } : {}),
  };
  if (phase !== 'bootstrapped' && phase !== 'enrolling') {
    status.enroll = { serial: (0x1000 + i).toString(16).padStart(40, '5'), notAfter, renewAt: new Date(notAfter.getTime() - 20 * DAY), subject: `CN=${id},O=Example` };
  }
  return { id, state: phase, status };
}

export function publishProps(schema = STATUS_SCHEMA_VERSION): { contentType: string; userProperties: Record<string, string> } {
  return { contentType: CBOR_CONTENT_TYPE, userProperties: { schema: String(schema) } };
}

/** Publishes raw retained bytes with a bounded window of unacknowledged QoS 1 publishes. */
export class RetainedPublisher {
  private pending: Array<Promise<unknown>> = [];
  private constructor(readonly client: MqttClient) {}

  static async connect(url: string): Promise<RetainedPublisher> {
    return new RetainedPublisher(await mqtt.connectAsync(url, { protocolVersion: 5, clientId: `fleet-sim-${process.pid}-${Math.random().toString(16).slice(2)}`, reconnectPeriod: 0 }));
  }

  async publish(topic: string, payload: Buffer, opts: { retain?: boolean; schema?: number } = {}): Promise<void> {
    this.pending.push(this.client.publishAsync(topic, payload, { qos: 1, retain: opts.retain ?? true, properties: publishProps(opts.schema) }));
    if (this.pending.length >= 256) await this.flush();
  }

  async device(prefix: string, d: SimDevice, now: Date, bd = 1): Promise<void> {
    await this.publish(`${prefix}/${d.id}/state`, encodeCbor(statePayload(d.state, bd, now)));
    await this.publish(`${prefix}/${d.id}/status`, encodeCbor(statusPayload(d.status, now, 3)));
  }

  async flush(): Promise<void> {
    const p = this.pending;
    this.pending = [];
    await Promise.all(p);
  }

  async close(): Promise<void> {
    await this.flush();
    await this.client.endAsync();
  }
}

/** Seeds `n` devices (ids dev-00000 …) under `prefix`. */
export async function seedFleet(url: string, prefix: string, n: number, now: Date): Promise<SimDevice[]> {
  const pub = await RetainedPublisher.connect(url);
  const devices: SimDevice[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const d = simDevice(i, now);
      devices.push(d);
      await pub.device(prefix, d, now);
    }
  } finally {
    await pub.close();
  }
  return devices;
}
