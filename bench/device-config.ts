// A device configured like the shipped example (deploy/examples/config.json): EST plus the RFC 8295 package kinds
// it enables — firmware (RFC 4108), TAMP (RFC 5934), key packages with the TPM KEK (RFC 6031/5958) — and status over
// MQTT to a local mosquitto. The start-up rows measured on it show what a real device pays at every start and idle,
// next to the EST-only device of the other rows. Attestation stays off: it needs `enrolld provision` and the AK; its
// start-up part is the same light module either way.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startAgentEnv, type AgentEnv } from '../test/harness/agent-env.js';
import { startMosquitto, type Mosquitto } from '../test/harness/mosquitto.js';

const HW = { type: '1.3.6.1.4.1.32473.8.1', serialHex: '00c0ffee' };

/** The lab environment with the example config's features; `stop()` stops the broker too. */
export async function startDeviceConfigEnv(): Promise<AgentEnv> {
  const broker: Mosquitto = await startMosquitto();
  let env: AgentEnv;
  try {
    env = await startAgentEnv({
      config: {
        firmware: { trustAnchorsFile: 'est-ta.pem', hook: { path: '/bin/true', timeoutSeconds: 20 }, hardware: HW },
        tamp: { apexTrustAnchorFile: 'est-ta.pem', communities: [], hardware: HW },
        keyPackages: { trustAnchorsFile: 'est-ta.pem', serverKeygen: { pkcs12PasswordFile: 'pkcs12.pass' } },
        mqtt: { enabled: true, url: broker.url },
      },
    });
  } catch (err) {
    await broker.stop();
    throw err;
  }
  writeFileSync(path.join(env.dir, 'pkcs12.pass'), 'bench-pkcs12\n', { mode: 0o600 });
  const stop = env.stop.bind(env);
  return { ...env, stop: async () => { await stop(); await broker.stop(); } };
}
