// `enrolld status` shows the next scheduled run: written by `enrolld once` after its iteration and by `enrolld run`
// every time the daemon goes to sleep (agent/cli/next-run.ts), read back by status (text and JSON).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { startAgentEnv } from '../harness/agent-env.js';
import { ENROLLD_MAIN, runCli } from '../harness/cli.js';
import { NEXT_RUN_FILE } from '../../agent/cli/next-run.js';

const run = runCli;

test('status: unknown before any run; after `once` the next cron slot (jitter 0); `run` rewrites it while idle', async () => {
  // Cron every 5 minutes, no jitter: the next run is the next 5-minute boundary (or the renewal, which is days away).
  const env = await startAgentEnv({ config: { schedule: { cron: '*/5 * * * *', jitterSeconds: 0 } } });
  try {
    const cfg = path.join(env.dir, 'config.json');
    const s0 = await run('status', '--config', cfg);
    assert.is(s0.status, 0, s0.stderr);
    assert.match(s0.stdout, /next run:\s+unknown/);
    const once = await run('once', '--config', cfg);
    assert.is(once.status, 0, once.stderr + once.stdout);
    const t0 = Date.now();
    const js = JSON.parse((await run('status', '--json', '--config', cfg)).stdout) as { nextRun: { at: string; by: string } };
    assert.is(js.nextRun.by, 'once');
    const at = new Date(js.nextRun.at);
    assert.is(at.getUTCSeconds(), 0);
    assert.is(at.getUTCMinutes() % 5, 0);
    assert.ok(at.getTime() > t0 - 60_000 && at.getTime() <= t0 + 5 * 60_000 + 1000, `next run ${js.nextRun.at}`);
    const text = (await run('status', '--config', cfg)).stdout;
    assert.match(text, new RegExp(`next run:\\s+${js.nextRun.at.replace(/\./g, '\\.')} \\(in \\d+\\.\\d min; computed by \`enrolld once\``));
    assert.is((statSync(path.join(env.config.stateDir, NEXT_RUN_FILE)).mode & 0o777).toString(8), '600');

    const daemon = spawn(process.execPath, [ENROLLD_MAIN, 'run', '--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      const file = path.join(env.config.stateDir, NEXT_RUN_FILE);
      const end = Date.now() + 20_000;
      let by = '';
      while (Date.now() < end) {
        if (existsSync(file)) by = (JSON.parse(readFileSync(file, 'utf8')) as { data: { by: string } }).data.by;
        if (by === 'run') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.is(by, 'run', 'the idle daemon persisted its next wake');
    } finally {
      daemon.kill('SIGTERM');
      await new Promise((r) => daemon.once('exit', r));
    }
  } finally {
    await env.stop();
  }
});

test.run();
