// `enrolld fleet` against a real mosquitto holding 1,000 simulated devices' retained state and status (published
// with the agent's own encoder), four lost devices (one through a real Last Will) and a handful of unreadable
// messages: counts, filters, JSON, text, the live view, decoding cross-checked with Python's cbor2.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, execFileSync } from 'node:child_process';
import mqtt from 'mqtt';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.js';
import { freePorts } from '../harness/ports.js';
import { runCli, ENROLLD_MAIN } from '../harness/cli.js';
import { RetainedPublisher, publishProps, seedFleet } from '../harness/fleet-sim.js';
import { encodeCbor, statePayload, statusPayload } from '../../agent/status/schema.js';
import type { FleetRow, FleetView } from '../../agent/cli/fleet-view.js';

const PREFIX = 'dev/v1';
const now = new Date();
let broker: Mosquitto;

const fleet = async (...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> => runCli('fleet', '--url', broker.url, '--quiet-ms', '400', ...args);
const fleetJson = async (...args: string[]): Promise<FleetView> => {
  const r = await fleet('--json', ...args);
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as FleetView;
};

test.before(async () => {
  broker = await startMosquitto();
  await seedFleet(broker.url, PREFIX, 1000, now);
  const pub = await RetainedPublisher.connect(broker.url);
  // Three devices whose state topic says lost (a later bd than their last 'enrolled'), as their Wills write it.
  for (const i of [10, 20, 30]) await pub.publish(`${PREFIX}/dev-${String(i).padStart(5, '0')}/state`, encodeCbor(statePayload('lost', 2, now)));
  // Unreadable: truncated CBOR, an unknown schema version, a topic without a device id, an oversized payload, a
  // well-formed CBOR value that is not a state map.
  await pub.publish(`${PREFIX}/bad-cbor/status`, Buffer.from([0xa2, 0x61, 0x76]));
  await pub.publish(`${PREFIX}/bad-schema/status`, encodeCbor({ ...statusPayload({ phase: 'enrolled', tpm: { ok: true } }, now, 1), v: 2 }), { schema: 2 });
  await pub.publish(`${PREFIX}//state`, encodeCbor(statePayload('enrolled', 1, now)));
  await pub.publish(`${PREFIX}/too-big/status`, Buffer.alloc(20_000, 0x41));
  await pub.publish(`${PREFIX}/bad-shape/state`, encodeCbor('enrolled' as never));
  await pub.close();
  // dev-00040 gets its lost state from a real Last Will: the connection breaks without DISCONNECT.
  const watcher = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
  const lost = new Promise<void>((resolve) => watcher.on('message', (_t, p) => p.length > 0 && p.includes(Buffer.from('lost')) && resolve()));
  await watcher.subscribeAsync(`${PREFIX}/dev-00040/state`, { qos: 1 });
  const dev = await mqtt.connectAsync(broker.url, {
    protocolVersion: 5,
    clientId: 'enrolld-dev-00040',
    reconnectPeriod: 0,
    will: { topic: `${PREFIX}/dev-00040/state`, payload: encodeCbor(statePayload('lost', 2, now)), qos: 1, retain: true, properties: { ...publishProps(), willDelayInterval: 0 } },
  });
  (dev as unknown as { stream: { destroy(): void } }).stream.destroy();
  await lost;
  await watcher.endAsync();
});

test.after(async () => {
  await broker?.stop();
});

test('counts: 1,004 devices by state, 10 certificates expiring within 7 days, 5 unreadable messages by kind', async () => {
  const v = await fleetJson();
  assert.is(v.snapshot?.complete, 'quiet');
  assert.is(v.summary.devices, 1004);
  assert.equal(v.summary.byState, { bootstrapped: 20, enrolled: 936, enrolling: 20, lost: 4, renewing: 20, unknown: 4 });
  assert.is(v.summary.expiringWithin7d, 10);
  assert.equal(v.summary.unreadable, { 'bad-topic': 1, oversized: 1, 'malformed-cbor': 1, invalid: 1, 'unknown-schema': 1, total: 5 });
  assert.is(v.devices.length, 1004);
  const byId = new Map(v.devices.map((d) => [d.id, d]));
  assert.is(byId.get('bad-cbor')?.problem?.kind, 'malformed-cbor');
  assert.is(byId.get('bad-schema')?.problem?.kind, 'unknown-schema');
  assert.is(byId.get('too-big')?.problem?.kind, 'oversized');
  assert.is(byId.get('bad-shape')?.problem?.kind, 'invalid');
  const d5 = byId.get('dev-00005')!;
  assert.equal(d5.firmware, { running: '1.4.2', pending: '1.5.0' });
  assert.is(d5.state, 'enrolled');
  assert.is(d5.taDigest, '05'.repeat(32));
  assert.is(byId.get('dev-00007')!.lastError?.code, 'est.http-503');
  assert.is(byId.get('dev-00040')!.state, 'lost');
});

test('filters: --state lost, --state with a list, --expiring 7d, --device glob; the summary still counts the fleet', async () => {
  const lost = await fleetJson('--state', 'lost');
  assert.equal(lost.devices.map((d) => d.id), ['dev-00010', 'dev-00020', 'dev-00030', 'dev-00040']);
  assert.is(lost.summary.devices, 1004);
  assert.is(lost.summary.shown, 4);
  const two = await fleetJson('--state', 'renewing,bootstrapped');
  assert.is(two.devices.length, 40);
  assert.ok(two.devices.every((d) => d.state === 'renewing' || d.state === 'bootstrapped'));
  const exp = await fleetJson('--expiring', '7d');
  assert.equal(exp.devices.map((d) => d.id), [0, 100, 200, 300, 400, 500, 600, 700, 800, 900].map((i) => `dev-${String(i).padStart(5, '0')}`));
  for (const d of exp.devices) assert.ok(Date.parse(d.notAfter!) - now.getTime() < 7 * 86_400_000);
  const both = await fleetJson('--expiring', '7d', '--state', 'lost');
  assert.is(both.devices.length, 0);
  const glob = await fleetJson('--device', 'dev-0000?');
  assert.is(glob.devices.length, 10);
  const bad = await fleet('--expiring', 'soon');
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--expiring soon: not a duration/);
});

test('text: one line per device under a header, and the summary line', async () => {
  const r = await fleet('--state', 'lost');
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^DEVICE\s+STATE\s+NOT-AFTER\s+RENEW-AT\s+FIRMWARE\s+TA\s+LAST-SEEN\s+LAST-ERROR$/);
  assert.is(lines.length, 1 + 4 + 1);
  assert.match(lines[1]!, /^dev-00010\s+lost\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+1\.4\.2\s+03030303\s/);
  assert.match(lines.at(-1)!, /^1004 devices \(4 shown\): bootstrapped 20, enrolled 936, enrolling 20, lost 4, renewing 20, unknown 4; certificates expiring within 7d: 10; unreadable messages: 5 \(bad-topic 1, oversized 1, malformed-cbor 1, invalid 1, unknown-schema 1\)$/);
  const all = await fleet('--device', 'bad-*');
  assert.match(all.stdout, /bad-cbor\s+unknown!.*UNREADABLE malformed-cbor: malformed CBOR/);
});

test('decoding cross-checked: the retained status of dev-00005 as Python cbor2 reads it equals the fleet row', async () => {
  const c = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
  const got = new Promise<Buffer>((resolve) => c.on('message', (_t, p) => resolve(p)));
  await c.subscribeAsync(`${PREFIX}/dev-00005/status`, { qos: 0 });
  const bytes = await got;
  await c.endAsync();
  const py = execFileSync('/usr/bin/python3', ['-c', 'import sys,json,cbor2; m=cbor2.loads(bytes.fromhex(sys.argv[1])); m["enroll"]["serial"]=m["enroll"]["serial"].hex(); m["ta"]["digest"]=m["ta"]["digest"].hex(); print(json.dumps(m))', bytes.toString('hex')], { encoding: 'utf8' });
  const m = JSON.parse(py) as { v: number; st: string; enroll: { serial: string; notAfter: number; renewAt: number; subject: string }; fw: { running: string; pending: string }; ta: { digest: string } };
  const row = (await fleetJson('--device', 'dev-00005')).devices[0] as FleetRow;
  assert.is(m.v, 1);
  assert.is(row.state, m.st);
  assert.is(row.serial, m.enroll.serial);
  assert.is(row.subject, m.enroll.subject);
  assert.is(Date.parse(row.notAfter!) / 1000, m.enroll.notAfter);
  assert.is(Date.parse(row.renewAt!) / 1000, m.enroll.renewAt);
  assert.equal(row.firmware, m.fw);
  assert.is(row.taDigest, m.ta.digest);
});

test('--watch --json: the snapshot line, then a device that changes (state and status) shows up live', async () => {
  const child = spawn(process.execPath, [ENROLLD_MAIN, 'fleet', '--url', broker.url, '--quiet-ms', '400', '--watch', '--json', '--state', 'lost,renewing'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buf = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const waitLine = (pred: (o: Record<string, unknown>) => boolean, ms = 20_000): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        for (const l of lines) {
          const o = JSON.parse(l) as Record<string, unknown>;
          if (pred(o)) return (resolve(o), true);
        }
        return false;
      };
      if (check()) return;
      const t = setTimeout(() => reject(new Error(`no matching line in ${ms} ms; got ${lines.length} lines; stderr ${stderr}`)), ms);
      child.stdout.on('data', () => check() && clearTimeout(t));
    });
  child.stdout.on('data', (d) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts.filter(Boolean));
  });
  try {
    const snap = (await waitLine((o) => o.event === 'snapshot')) as unknown as FleetView;
    assert.is(snap.devices.length, 24);
    const pub = await RetainedPublisher.connect(broker.url);
    await pub.publish(`${PREFIX}/dev-00055/state`, encodeCbor(statePayload('lost', 5, now)));
    await pub.publish(`${PREFIX}/dev-00066/status`, encodeCbor(statusPayload({ phase: 'renewing', tpm: { ok: true }, errors: [{ code: 'est.http-503', at: now }] }, new Date(now.getTime() + 5000), 9)));
    await pub.publish(`${PREFIX}/dev-00066/state`, encodeCbor(statePayload('renewing', 5, now)));
    await pub.close();
    const d55 = (await waitLine((o) => o.event === 'device' && (o.device as FleetRow).id === 'dev-00055')).device as FleetRow;
    assert.is(d55.state, 'lost');
    const d66 = (await waitLine((o) => o.event === 'device' && (o.device as FleetRow).id === 'dev-00066' && (o.device as FleetRow).lastError !== undefined)).device as FleetRow;
    assert.is(d66.state, 'renewing');
    assert.is(d66.lastError?.code, 'est.http-503');
    const sum = (await waitLine((o) => o.event === 'summary' && ((o.summary as { byState: Record<string, number> }).byState.lost ?? 0) === 5)).summary as { shown: number };
    assert.ok(sum.shown >= 26);
  } finally {
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    assert.is(code, 0, stderr);
  }
});

test('no broker: exit 1 with fleet.unreachable after --timeout; no URL and no configuration: exit 2', async () => {
  const port = await freePorts(1);
  const r = await runCli('fleet', '--url', `mqtt://127.0.0.1:${port}`, '--timeout', '2s');
  assert.is(r.status, 1);
  assert.match(r.stderr, /fleet\.unreachable: broker mqtt:\/\/127\.0\.0\.1:\d+ not reachable within 2000 ms/);
  const n = await runCli('fleet', '--config', '/nonexistent/enrolld.json');
  assert.is(n.status, 2);
  // an mqtts:// broker is trusted only through a given CA, never through node's default store
  const t = await runCli('fleet', '--url', `mqtts://127.0.0.1:${port}`, '--timeout', '2s');
  assert.is.not(t.status, 0);
  assert.match(t.stderr, /--ca.*mqtts:\/\/ broker needs its CA/);
});

test.run();
