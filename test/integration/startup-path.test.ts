// The start-up path at run time (ARCHITECTURE.md §Start-up path): `enrolld run` on an enrolled device whose PAL
// has nothing new reaches READY=1 and goes idle without loading pkijs or asn1js; the first start on an empty state
// directory, which enrolls, does load them (so the recorder sees what it should). Every module node loads is
// recorded by a module.register() load hook given with --import, as systemd would start the tsc output.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startAgentEnv, type AgentEnv } from '../harness/agent-env.js';
import { notifyReceiver } from '../harness/notify-socket.js';
import { LabCa } from '../../deploy/lab/ca.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../agent/cli/main.js');
const ASN1_STACK = /\/node_modules\/(pkijs|asn1js|pvtsutils|pvutils|bytestreamjs)\//;

/** Writes the hook files into `dir`: a load hook appending each URL to ENROLLD_TEST_LOADED, and its registration. */
function recorder(dir: string): string {
  const hooks = path.join(dir, 'record-hooks.mjs');
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(process.env.ENROLLD_TEST_LOADED, url + '\\n');
  return next(url, context);
}
`,
  );
  const register = path.join(dir, 'record-register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  return register;
}

/** One `enrolld run` until its first idle (WATCHDOG=1 with a status), then SIGTERM; the URLs it loaded. */
async function runUntilIdle(env: AgentEnv, tag: string): Promise<string[]> {
  const loaded = path.join(env.dir, `loaded-${tag}.txt`);
  writeFileSync(loaded, '');
  const sock = path.join(env.dir, `notify-${tag}.sock`);
  const rx = await notifyReceiver(sock, 60);
  let stderr = '';
  const child = spawn(process.execPath, ['--import', pathToFileURL(recorder(env.dir)).href, MAIN, 'run', '--config', env.configPath], {
    env: { ...process.env, NOTIFY_SOCKET: sock, ENROLLD_TEST_LOADED: loaded },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = once(child, 'exit') as Promise<[number | null]>;
  try {
    await rx.waitFor(/^READY=1/, 30_000);
    await rx.waitFor(/^WATCHDOG=1\|STATUS=enrolled/, 60_000);
    child.kill('SIGTERM');
    const [code] = await exited;
    assert.is(code, 0, stderr);
  } finally {
    child.kill('SIGKILL');
    rx.close();
  }
  assert.ok(existsSync(loaded));
  return readFileSync(loaded, 'utf8').split('\n').filter(Boolean);
}

test('enrolld run: the first start enrolls with the ASN.1 stack; a restart with nothing to do never loads it', async () => {
  const env = await startAgentEnv();
  try {
    const first = await runUntilIdle(env, 'first');
    assert.ok(first.some((u) => u.endsWith('/agent/cli/main.js')), `the recorder saw no agent module: ${first.slice(0, 5).join(', ')}`);
    assert.ok(first.some((u) => ASN1_STACK.test(u)), 'the enrolling start loaded no pkijs/asn1js: the recorder misses them');
    const restart = await runUntilIdle(env, 'restart');
    assert.ok(restart.some((u) => u.includes('/agent/packages/pal-poller.js')), 'the restart did not load the PAL poller');
    assert.equal(restart.filter((u) => ASN1_STACK.test(u)), [], 'modules of the ASN.1 stack loaded by an idle restart');
  } finally {
    await env.stop();
  }
});

test('enrolld run with firmware configured: a restart composes the firmware feature without the ASN.1 stack', async () => {
  // the first start seeds the firmware TA from its file (that decodes it); a restart finds it in the TA store
  const env = await startAgentEnv({ config: { firmware: { trustAnchorsFile: 'fw-ta.pem', hook: { path: '/bin/true', timeoutSeconds: 20 }, hardware: { type: '1.3.6.1.4.1.99999.2', serialHex: '00c0ffee' } } } });
  try {
    writeFileSync(path.join(env.dir, 'fw-ta.pem'), (await LabCa.create()).root.pem);
    await runUntilIdle(env, 'first');
    const restart = await runUntilIdle(env, 'restart');
    assert.ok(restart.some((u) => u.includes('/agent/packages/firmware/manager.js')), 'the restart did not compose the firmware feature');
    assert.equal(restart.filter((u) => ASN1_STACK.test(u)), [], 'modules of the ASN.1 stack loaded by an idle restart with firmware configured');
  } finally {
    await env.stop();
  }
});

test('enrolld run with tamp configured: a restart composes the TAMP feature without the ASN.1 stack', async () => {
  // the first start installs the apex TA from its file (that decodes it); a restart finds it in the TAMP state
  const env = await startAgentEnv({ config: { tamp: { apexTrustAnchorFile: 'tamp-apex.pem', communities: [], hardware: { type: '1.3.6.1.4.1.32473.8.1', serialHex: '00c0ffee' } } } });
  try {
    writeFileSync(path.join(env.dir, 'tamp-apex.pem'), (await LabCa.create()).root.pem);
    await runUntilIdle(env, 'first');
    const restart = await runUntilIdle(env, 'restart');
    assert.ok(restart.some((u) => u.includes('/agent/packages/tamp/manager.js')), 'the restart did not compose the TAMP feature');
    assert.equal(restart.filter((u) => ASN1_STACK.test(u)), [], 'modules of the ASN.1 stack loaded by an idle restart with tamp configured');
  } finally {
    await env.stop();
  }
});

test.run();
