// The start-up path at run time (ARCHITECTURE.md §Start-up path): `enrolld run` on an enrolled device whose PAL
// has nothing new reaches READY=1 and goes idle without loading pkijs or asn1js; the first start on an empty state
// directory, which enrolls, does load them (so the recorder sees what it should); a restart whose state directory
// holds CRLs (crls.json, as /crls leaves it) does not decode them at start either. Every module node loads is
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
import { issueLabCrl } from '../../deploy/lab/pal.js';
import { CrlStore } from '../../agent/store/crl-store.js';
import { stateLayout } from '../../agent/store/layout.js';
import { TrustAnchorStore } from '../../agent/store/ta-store.js';

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

/** Stores a CRL of the lab's issuing CA and one of its root in the stopped agent's state directory, as /crls would. */
async function storeCrls(env: AgentEnv): Promise<string> {
  const files = stateLayout(env.config.stateDir);
  const ta = await TrustAnchorStore.open(files.trustAnchors);
  const crls = await CrlStore.open(files.crls, { taStore: ta });
  const ca = env.lab.ca;
  const thisUpdate = new Date(Date.now() - 60_000);
  await crls.offer(await issueLabCrl(ca.issuing, { thisUpdate, crlNumber: 1n, revoked: [{ serial: '0badc0de' }] }), { intermediates: [ca.issuing.der] });
  await crls.offer(await issueLabCrl(ca.root, { thisUpdate, crlNumber: 1n }));
  assert.is(crls.size, 2);
  return files.crls;
}

test('enrolld run: the first start enrolls with the ASN.1 stack; a restart with nothing to do, CRLs stored, never loads it', async () => {
  const env = await startAgentEnv();
  try {
    const first = await runUntilIdle(env, 'first');
    assert.ok(first.some((u) => u.endsWith('/agent/cli/main.js')), `the recorder saw no agent module: ${first.slice(0, 5).join(', ')}`);
    assert.ok(first.some((u) => ASN1_STACK.test(u)), 'the enrolling start loaded no pkijs/asn1js: the recorder misses them');
    const crlsFile = await storeCrls(env);
    const crlsBytes = readFileSync(crlsFile);
    const restart = await runUntilIdle(env, 'restart');
    assert.ok(restart.some((u) => u.includes('/agent/packages/pal-poller.js')), 'the restart did not load the PAL poller');
    assert.ok(restart.some((u) => u.includes('/agent/store/crl-store.js')), 'the restart did not open the CRL store');
    assert.equal(restart.filter((u) => ASN1_STACK.test(u)), [], 'modules of the ASN.1 stack loaded by an idle restart holding CRLs');
    assert.equal(readFileSync(crlsFile), crlsBytes, 'crls.json as stored');
  } finally {
    await env.stop();
  }
});

// Each feature that composes light, alone and all together as the shipped example config enables them: the first
// start seeds its TA from the file (that decodes it), a restart finds it in the store and loads no ASN.1 stack.
const HW = { type: '1.3.6.1.4.1.32473.8.1', serialHex: '00c0ffee' };
const LIGHT_FEATURES: Record<string, { config: Record<string, unknown>; marker: string }> = {
  firmware: { config: { firmware: { trustAnchorsFile: 'feature-ta.pem', hook: { path: '/bin/true', timeoutSeconds: 20 }, hardware: HW } }, marker: '/agent/packages/firmware/manager.js' },
  tamp: { config: { tamp: { apexTrustAnchorFile: 'feature-ta.pem', communities: [], hardware: HW } }, marker: '/agent/packages/tamp/manager.js' },
  keyPackages: { config: { keyPackages: { trustAnchorsFile: 'feature-ta.pem' } }, marker: '/agent/packages/keys/kek.js' },
};
const cases: Array<[string, string[]]> = [...Object.keys(LIGHT_FEATURES).map((k): [string, string[]] => [k, [k]]), ['firmware, tamp and keyPackages together', Object.keys(LIGHT_FEATURES)]];
for (const [label, names] of cases) {
  test(`enrolld run with ${label} configured: a restart composes ${names.length > 1 ? 'them' : 'it'} without the ASN.1 stack`, async () => {
    const env = await startAgentEnv({ config: Object.assign({}, ...names.map((n) => LIGHT_FEATURES[n]!.config)) });
    try {
      writeFileSync(path.join(env.dir, 'feature-ta.pem'), (await LabCa.create()).root.pem);
      await runUntilIdle(env, 'first');
      const restart = await runUntilIdle(env, 'restart');
      for (const n of names) assert.ok(restart.some((u) => u.includes(LIGHT_FEATURES[n]!.marker)), `the restart did not compose ${n}`);
      assert.equal(restart.filter((u) => ASN1_STACK.test(u)), [], `modules of the ASN.1 stack loaded by an idle restart with ${label} configured`);
    } finally {
      await env.stop();
    }
  });
}

test.run();
