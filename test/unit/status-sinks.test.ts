// Log-backed sink, fan-out, null sink, the factory, and the AgentState → DeviceStatus mapping.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryLogger } from '../../agent/util/log.js';
import { LogStatusSink } from '../../agent/status/log-sink.js';
import { MultiSink } from '../../agent/status/multi-sink.js';
import { NullSink, type StatusSink } from '../../agent/status/status-sink.js';
import { createStatusSink, deviceStatusFromState, stateExtraFromState } from '../../agent/status/index.js';
import { initialState, type AgentState } from '../../agent/lifecycle/state.js';
import type { Config } from '../../agent/config.js';

test('log sink: state and events at info, snapshot at debug only when it changed, secrets not logged', async () => {
  const log = memoryLogger('debug');
  const sink = new LogStatusSink(log);
  sink.state('enrolling');
  sink.state('enrolling');
  sink.state('enrolled', { retry: 'failed', until: '2026-01-01T00:10:00Z' });
  sink.snapshot({ phase: 'enrolled', tpm: { ok: false, rc: 0x902 }, errors: [{ code: 'tpm.busy', at: '2026-01-01T00:00:00Z' }] });
  sink.snapshot({ phase: 'enrolled', tpm: { ok: false, rc: 0x902 }, errors: [{ code: 'tpm.busy', at: '2026-01-01T00:00:00Z' }] });
  sink.event('enroll.issued', { serial: '0a1b', nonce: 'c2VjcmV0', bytes: new Uint8Array([1, 2]) });
  await sink.close();
  sink.event('after.close');
  const lines = log.lines.map((l) => l.replace(/^\S+ /, ''));
  assert.equal(lines, [
    'info status.state st=enrolling',
    'info status.state st=enrolled retry=failed until=2026-01-01T00:10:00Z',
    'debug status.snapshot st=enrolled tpm=fail:0x902 errors=tpm.busy',
    'info event.enroll.issued serial=0a1b bytes=0102',
  ]);
});

test('multi sink fans out; a throwing sink breaks neither the caller nor the other sinks', async () => {
  const calls: string[] = [];
  const bad: StatusSink = {
    state: () => {
      throw new Error('x');
    },
    snapshot: () => {
      throw new Error('x');
    },
    event: () => {
      throw new Error('x');
    },
    close: () => Promise.reject(new Error('x')),
  };
  const good: StatusSink = {
    state: (p) => void calls.push(`state:${p}`),
    snapshot: (s) => void calls.push(`snapshot:${s.phase}`),
    event: (n) => void calls.push(`event:${n}`),
    close: async () => void calls.push('close'),
  };
  const m = new MultiSink([bad, good, new NullSink()]);
  m.state('enrolled');
  m.snapshot({ phase: 'enrolled', tpm: { ok: true } });
  m.event('e');
  await m.close();
  assert.equal(calls, ['state:enrolled', 'snapshot:enrolled', 'event:e', 'close']);
});

function config(mqtt: Config['mqtt']): Config {
  return { deviceId: 'dev-1', stateDir: '/nonexistent/enrolld-test', mqtt } as unknown as Config;
}

test('factory: MQTT disabled → log sink only; unreadable CA → logged, no throw, journal still works', async () => {
  const log = memoryLogger('debug');
  const a = createStatusSink(config({ enabled: false, topicPrefix: 'dev/v1' }), { log });
  assert.instance(a, LogStatusSink);
  await a.close();
  const b = createStatusSink(config({ enabled: true, url: 'mqtts://127.0.0.1:1', caFile: '/nonexistent/ca.pem', topicPrefix: 'dev/v1' }), { log });
  assert.instance(b, LogStatusSink);
  assert.ok(log.lines.some((l) => /status\.mqtt\.disabled .*status\.mqtt\.config: cannot read CA file/.test(l)), log.lines.join('\n'));
  b.event('still.logged');
  assert.ok(log.lines.some((l) => l.includes('event.still.logged')));
});

test('deviceStatusFromState maps the credential and the retry sub-state', () => {
  const s: AgentState = {
    ...initialState(),
    phase: 'enrolled',
    credential: {
      key: { id: 'k', algorithm: 'ecc-p256', spki: '', location: {} },
      certPem: '',
      chainPem: [],
      subject: 'CN=dev-1',
      serial: '0a1b',
      notBefore: '2026-01-01T00:00:00.000Z',
      notAfter: '2026-04-01T00:00:00.000Z',
      renewAt: '2026-03-01T00:00:00.000Z',
    },
    retry: { kind: 'failed', until: '2026-01-02T00:00:00.000Z', attempt: 2, reason: 'est.http-503' },
  };
  const d = deviceStatusFromState(s, { tpm: { ok: true }, fw: { running: '1.0' }, errors: [{ code: 'est.http-503', at: '2026-01-01T00:00:00Z' }] });
  assert.equal(d, {
    phase: 'enrolled',
    tpm: { ok: true },
    enroll: { serial: '0a1b', notAfter: '2026-04-01T00:00:00.000Z', renewAt: '2026-03-01T00:00:00.000Z', subject: 'CN=dev-1' },
    fw: { running: '1.0' },
    errors: [{ code: 'est.http-503', at: '2026-01-01T00:00:00Z' }],
  });
  assert.equal(stateExtraFromState(s), { retry: 'failed', until: '2026-01-02T00:00:00.000Z' });
  assert.is(stateExtraFromState(initialState()), undefined);
});

test.run();
