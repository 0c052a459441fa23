// The composed agent reports to a real mosquitto: enrollment transitions appear as retained CBOR state/status.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import mqtt from 'mqtt';
import { composeAgent } from '../../agent/cli/compose.js';
import { memoryLogger } from '../../agent/util/log.js';
import { decodeCbor } from '../../agent/status/schema.js';
import { startMosquitto } from '../harness/mosquitto.js';
import { startAgentEnv } from '../harness/agent-env.js';

test('enrollment publishes state enrolled and a status snapshot with the certificate serial', async () => {
  const broker = await startMosquitto();
  const env = await startAgentEnv({ config: { mqtt: { enabled: true, url: broker.url } } });
  const sub = mqtt.connect(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
  const got: Array<{ topic: string; body: Record<string, unknown>; retain: boolean }> = [];
  sub.on('message', (topic, payload, packet) => got.push({ topic, body: decodeCbor(payload) as Record<string, unknown>, retain: packet.retain }));
  await new Promise<void>((res, rej) => sub.once('connect', () => sub.subscribe('dev/v1/dev-0001/#', { qos: 1 }, (e) => (e ? rej(e) : res()))));
  const agent = await composeAgent(env.config, { log: memoryLogger('info') });
  try {
    const out = await agent.enroller.step();
    assert.is(out.action, 'issued');
    const deadline = Date.now() + 5000;
    const seen = () => got.find((m) => m.topic.endsWith('/state') && m.body.st === 'enrolled');
    while (!seen() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(seen(), JSON.stringify(got.map((m) => [m.topic, m.body])));
    const status = got.filter((m) => m.topic.endsWith('/status')).at(-1)!;
    assert.is(status.body.st, 'enrolled');
    const enroll = status.body.enroll as Record<string, unknown>;
    assert.ok(enroll && enroll.serial, JSON.stringify(status.body));
    assert.ok(got.some((m) => m.topic.endsWith('/event')));
  } finally {
    await agent.close();
    sub.end(true);
    await env.stop();
    await broker.stop();
  }
});

test.run();
