// The composed agent reports to a real mosquitto: enrollment transitions appear as retained CBOR state/status.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import mqtt from 'mqtt';
import { composeAgent } from '../../agent/cli/compose.js';
import { memoryLogger } from '../../agent/util/log.js';
import { decodeCbor } from '../../agent/status/schema.js';
import { startMosquitto } from '../harness/mosquitto.js';
import { startAgentEnv } from '../harness/agent-env.js';
import { notifyReceiver } from '../harness/notify-socket.js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../agent/cli/main.js');

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

test('enrolld run connects to the broker after READY=1 and publishes the enrolled state, then offline at SIGTERM', async () => {
  const broker = await startMosquitto();
  const env = await startAgentEnv({ config: { mqtt: { enabled: true, url: broker.url } } });
  const sub = mqtt.connect(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
  const states: string[] = [];
  sub.on('message', (topic, payload) => void (topic.endsWith('/state') && states.push(String((decodeCbor(payload) as { st: string }).st))));
  await new Promise<void>((res, rej) => sub.once('connect', () => sub.subscribe('dev/v1/dev-0001/state', { qos: 1 }, (e) => (e ? rej(e) : res()))));
  const sock = path.join(env.dir, 'notify.sock');
  const rx = await notifyReceiver(sock, 60);
  let stderr = '';
  const child = spawn(process.execPath, [MAIN, 'run', '--config', env.configPath], { env: { ...process.env, NOTIFY_SOCKET: sock }, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = once(child, 'exit') as Promise<[number | null]>;
  try {
    await rx.waitFor(/^READY=1/, 30_000);
    await rx.waitFor(/^WATCHDOG=1\|STATUS=enrolled/, 60_000);
    const deadline = Date.now() + 5000;
    while (!states.includes('enrolled') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(states.includes('enrolled'), `states seen: ${states.join(',')}; ${stderr}`);
    child.kill('SIGTERM');
    const [code] = await exited;
    assert.is(code, 0, stderr);
    const until = Date.now() + 3000;
    while (states.at(-1) !== 'offline' && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.is(states.at(-1), 'offline', states.join(','));
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rx.close();
    sub.end(true);
    await env.stop();
    await broker.stop();
  }
});

test.run();
