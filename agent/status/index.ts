// Status reporting entry point: builds the sinks the config asks for. Creation never throws: a broken MQTT
// configuration (unreadable CA file, bad URL) is logged and status goes to the journal only.
import type { Config } from '../config.js';
import type { Clock } from '../lifecycle/clock.js';
import type { Logger } from '../util/log.js';
import { LogStatusSink } from './log-sink.js';
import { MqttStatusSink, type MqttStatusOptions, type MqttTlsOptions } from './mqtt.js';
import { MultiSink } from './multi-sink.js';
import type { StatusSink } from './status-sink.js';

export * from './schema.js';
export * from './status-sink.js';
export { LogStatusSink } from './log-sink.js';
export { MultiSink } from './multi-sink.js';
export { MqttStatusSink, MqttStatusConfigError, mqttClientTls, reconnectDelayMs, statusTopics, type MqttStatusOptions, type MqttStatusStats, type MqttTlsOptions } from './mqtt.js';
export { FileBdSeqStore, MemoryBdSeqStore, type BdSeqStore } from './bdseq.js';
export { Ring, LatestSlot } from './queue.js';
export { deviceStatusFromState, stateExtraFromState } from './from-state.js';
export { DeviceStatusBoard, type StatusPart } from './device-status.js';

export interface StatusDeps {
  log: Logger;
  clock?: Clock;
  /** Client credential for the broker (the device's TPM-backed certificate): cert + engine key, or a PEM key. */
  tls?: Omit<MqttTlsOptions, 'caFile'>;
  /** Anything else for the MQTT publisher (timeouts, queue sizes). */
  mqtt?: Partial<MqttStatusOptions>;
}

export function createStatusSink(config: Config, deps: StatusDeps): StatusSink {
  const sinks: StatusSink[] = [new LogStatusSink(deps.log.child({ component: 'status' }))];
  if (config.mqtt.enabled && config.mqtt.url) {
    try {
      sinks.push(
        new MqttStatusSink({
          url: config.mqtt.url,
          deviceId: config.deviceId,
          topicPrefix: config.mqtt.topicPrefix,
          stateDir: config.stateDir,
          log: deps.log.child({ component: 'mqtt' }),
          ...(deps.clock ? { clock: deps.clock } : {}),
          tls: { ...(config.mqtt.caFile ? { caFile: config.mqtt.caFile } : {}), ...deps.tls },
          ...deps.mqtt,
        }),
      );
    } catch (err) {
      deps.log.error('status.mqtt.disabled', { err });
    }
  }
  return sinks.length === 1 ? sinks[0]! : new MultiSink(sinks);
}
