// bdSeq persistence (atomic 0600 file) and reconnect backoff bounds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BDSEQ_FILE, BDSEQ_MAX, FileBdSeqStore, MemoryBdSeqStore, nextBdSeq } from '../../agent/status/bdseq.js';
import { reconnectDelayMs } from '../../agent/status/mqtt.js';
import { memoryLogger } from '../../agent/util/log.js';

const dir = mkdtempSync(path.join(tmpdir(), 'enrolld-bdseq-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('file store: missing → 0, saves atomically with mode 0600, no temp files left', () => {
  const sub = path.join(dir, 'state');
  const s = new FileBdSeqStore(sub);
  assert.is(s.load(), 0);
  s.save(1);
  s.save(2);
  assert.is(new FileBdSeqStore(sub).load(), 2);
  const file = path.join(sub, BDSEQ_FILE);
  assert.is(readFileSync(file, 'utf8'), '2\n');
  assert.is(statSync(file).mode & 0o777, 0o600);
  assert.equal(readdirSync(sub), [BDSEQ_FILE]);
});

test('file store: a corrupt file continues from the clock (bdSeq never goes backwards), save failure is logged', () => {
  const log = memoryLogger();
  const sub = path.join(dir, 'corrupt');
  const s = new FileBdSeqStore(sub, log, () => new Date('2026-01-01T00:00:00Z'));
  s.save(5);
  writeFileSync(path.join(sub, BDSEQ_FILE), 'garbage');
  assert.is(s.load(), 1767225600);
  assert.ok(log.lines.some((l) => l.includes('status.bdseq.corrupt')));
  writeFileSync(path.join(dir, 'not-a-dir'), '');
  const bad = new FileBdSeqStore(path.join(dir, 'not-a-dir', 'state'), log);
  bad.save(1); // must not throw
  assert.ok(log.lines.some((l) => l.includes('status.bdseq.save-failed')));
});

test('memory store and wrap-around', () => {
  const m = new MemoryBdSeqStore(7);
  assert.is(m.load(), 7);
  m.save(8);
  assert.is(m.load(), 8);
  assert.is(m.saves, 1);
  assert.is(nextBdSeq(1), 2);
  assert.is(nextBdSeq(BDSEQ_MAX), 1);
});

test('reconnect delay: exponential, capped, jittered downwards only', () => {
  const lo = () => 0;
  const hi = () => 0.999999;
  assert.is(reconnectDelayMs(0, 1000, 60_000, 0.5, hi), 1000);
  assert.is(reconnectDelayMs(0, 1000, 60_000, 0.5, lo), 500);
  assert.is(reconnectDelayMs(3, 1000, 60_000, 0, lo), 8000);
  assert.is(reconnectDelayMs(50, 1000, 60_000, 0, lo), 60_000);
  for (let a = 0; a < 40; a++) {
    const d = reconnectDelayMs(a, 1000, 60_000, 0.5, Math.random);
    assert.ok(d >= 500 && d <= 60_000, `attempt ${a}: ${d}`);
  }
});

test.run();
