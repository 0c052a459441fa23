// Status over MQTT (docs/status-schema.md): over TLS the connection authenticates with the device identity (TPM key
// through the OpenSSL engine) and follows it across renewals — the sink reconnects with the new certificate, and
// the identity drops the old key only after that.
import type { Config } from '../../config.js';
import type { DeviceCredential, DeviceIdentity } from '../../identity/device-identity.js';
import type { Clock } from '../../lifecycle/clock.js';
import { createStatusSink, mqttClientTls, type MqttTlsOptions, type StatusSink } from '../../status/index.js';
import type { Logger } from '../../util/log.js';

/** TLS with the TPM key through the OpenSSL engine only (a software key does not authenticate the device). */
async function engineTls(c: DeviceCredential): Promise<MqttTlsOptions | undefined> {
  const auth = await c.tls();
  return auth.key.privateKeyEngine && auth.key.privateKeyIdentifier ? mqttClientTls(auth) : undefined;
}

export interface StatusSinkDeps {
  config: Config;
  clock: Clock;
  log: Logger;
  identity: DeviceIdentity;
  /** Another sink (tests); default: the journal, plus MQTT when configured. */
  sink?: StatusSink;
  /** The MQTT sink connects at its start() (see MqttStatusOptions.deferConnect). */
  deferConnect?: boolean;
}

export async function composeStatusSink(d: StatusSinkDeps): Promise<StatusSink> {
  const { mqtt } = d.config;
  const tlsWithIdentity = mqtt.enabled && mqtt.url?.startsWith('mqtts:');
  const initial = tlsWithIdentity ? await d.identity.current() : undefined;
  const initialTls = initial ? await engineTls(initial).catch((err) => void d.log.warn('status.mqtt.credential-unavailable', { err })) : undefined;
  const sink = d.sink ?? createStatusSink(d.config, { log: d.log, clock: d.clock, ...(initialTls ? { tls: initialTls } : {}), ...(d.deferConnect ? { mqtt: { deferConnect: true } } : {}) });
  if (tlsWithIdentity && sink.useClientCredential) {
    d.identity.hold(
      { name: 'status.mqtt', switchTo: async (c) => ((await engineTls(c)) ? sink.useClientCredential!(c) : false) },
      initialTls ? initial : undefined,
    );
  }
  return sink;
}
