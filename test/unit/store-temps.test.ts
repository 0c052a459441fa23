// Temp files of killed writers (`.<file>.tmp-<pid>-<hex>`, left by a SIGKILL between create and rename) are swept
// from the state directory at start: those of dead processes go, a live writer's and this process's own stay.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { removeDeadWritersTemps } from '../../agent/store/atomic-file.js';

test('removeDeadWritersTemps: dead writers\' temps removed; live, own and non-temp files kept', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-temps-'));
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // exited: its pid names a writer that is gone
  const files = {
    deadNextRun: `.next-run.json.tmp-${dead}-1a2b3c`,
    deadPal: `.pal-last-poll.json.tmp-${dead}-4d5e6f`,
    live: `.next-run.json.tmp-${process.ppid}-777777`,
    own: `.pal-last-poll.json.tmp-${process.pid}-888888`,
    real: 'next-run.json',
    undotted: `bdseq.tmp-${dead}`,
  };
  for (const f of Object.values(files)) writeFileSync(path.join(dir, f), '');
  const removed = await removeDeadWritersTemps(dir);
  assert.equal(removed.sort(), [files.deadNextRun, files.deadPal].sort());
  assert.equal(readdirSync(dir).sort(), [files.live, files.own, files.real, files.undotted].sort());
  assert.equal(await removeDeadWritersTemps(path.join(dir, 'missing')), []);
});

test.run();
