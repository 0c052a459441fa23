// Feature outcomes: a PAL success that only moves lastSuccess is held in memory up to persistAfterMs (its exact
// time is the PAL summary's, merged by readFeatureStatus); failures, first successes and flushed() write at once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FeatureStatusStore, readFeatureStatus } from '../../agent/status/feature-status.js';
import { palSummaryWriter, type PalPollSummary } from '../../agent/status/pal-summary.js';
import { decodeEnvelope } from '../../agent/store/index.js';

const root = mkdtempSync(path.join(tmpdir(), 'enrolld-featstatus-'));
let seq = 0;
const HOUR = 3600_000;
const t = (min: number): string => new Date(Date.UTC(2026, 0, 1) + min * 60_000).toISOString();
const onDisk = (file: string): Record<string, { lastSuccess?: string; lastError?: { code: string }; failures: Record<string, number> }> => {
  const d = decodeEnvelope(readFileSync(file), 'enrolld-feature-status');
  if (!d.ok) throw new Error(d.detail);
  return d.envelope.data as never;
};
const summary = (at: string, error?: string): PalPollSummary => ({
  at, outcome: error ? 'error' : 'ok', pages: 1, entries: 0, counts: { ok: 0, failed: 0, skipped: 0, notRun: 0 }, codes: error ? [error] : [], renew: false, ...(error ? { error } : {}),
});

test('PAL lastSuccess: held within persistAfterMs, written after it, on failure and on flushed(); readers see the summary time', async () => {
  const dir = path.join(root, `s${++seq}`);
  const fs = new FeatureStatusStore(dir);
  const writeSummary = palSummaryWriter(dir);
  const opt = { persistAfterMs: HOUR };
  fs.success('pal', t(0), opt);
  await fs.recorded();
  assert.is(onDisk(fs.file).pal?.lastSuccess, t(0), 'the first success is written');
  fs.success('pal', t(10), opt);
  await fs.recorded();
  assert.is(onDisk(fs.file).pal?.lastSuccess, t(0), 'held: only lastSuccess moved, 10 min < 1 h');
  await writeSummary(summary(t(10)));
  assert.is((await readFeatureStatus(dir)).pal?.lastSuccess, t(10), 'status and metrics read the summary time');
  fs.success('pal', t(61), opt);
  await fs.recorded();
  assert.is(onDisk(fs.file).pal?.lastSuccess, t(61), 'written once the persisted one is an hour old');
  fs.success('pal', t(70), opt);
  await fs.recorded();
  assert.is(onDisk(fs.file).pal?.lastSuccess, t(61));
  // a failed poll's summary is not a success: the feature-status time stands
  await writeSummary(summary(t(75), 'pal.http'));
  assert.is((await readFeatureStatus(dir)).pal?.lastSuccess, t(61));
  fs.failure('pal', 'pal.http', t(75));
  await fs.recorded();
  const after = onDisk(fs.file).pal!;
  assert.is(after.lastSuccess, t(70), 'a failure writes the held success with it');
  assert.equal(after.failures, { 'pal.http': 1 });
  fs.success('pal', t(80), opt);
  await fs.flushed();
  assert.is(onDisk(fs.file).pal?.lastSuccess, t(80), 'flushed() writes a held success');
  // an older summary never moves lastSuccess back
  await writeSummary(summary(t(5)));
  assert.is((await readFeatureStatus(dir)).pal?.lastSuccess, t(80));
});

test('without persistAfterMs every success is written; a summary alone creates no PAL record', async () => {
  const dir = path.join(root, `s${++seq}`);
  await palSummaryWriter(dir)(summary(t(1)));
  assert.equal(await readFeatureStatus(dir), {});
  const fs = new FeatureStatusStore(dir);
  fs.success('enroll', t(0));
  fs.success('enroll', t(1));
  await fs.recorded();
  assert.is(onDisk(fs.file).enroll?.lastSuccess, t(1));
});

test.run();
