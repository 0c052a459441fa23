// sd_notify from the addon: datagrams reach a receiving AF_UNIX socket (path and abstract), as systemd would see
// them; and `enrolld run` sends READY=1 then STOPPING=1 on SIGTERM. Node has no AF_UNIX datagram sockets, so the
// receiver is a small python3 child.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAddon } from '../../agent/keystore/addon.js';
import { startAgentEnv } from '../harness/agent-env.js';

const RECEIVER = `
import socket, sys
addr = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(('\\0' + addr[1:]) if addr.startswith('@') else addr)
print('ready', flush=True)
s.settimeout(20)
try:
    while True:
        print(s.recv(4096).decode().replace('\\n', '|'), flush=True)
except socket.timeout:
    pass
`;

function receiver(addr: string): Promise<{ child: ChildProcess; lines: string[] }> {
  const child = spawn('python3', ['-c', RECEIVER, addr], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  return new Promise((resolve) => {
    child.stdout!.on('data', (d: Buffer) => {
      for (const l of d.toString().split('\n').filter(Boolean)) {
        if (l === 'ready') resolve({ child, lines });
        else lines.push(l);
      }
    });
  });
}

async function waitFor(lines: string[], re: RegExp, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!lines.some((l) => re.test(l))) {
    if (Date.now() > end) throw new Error(`no datagram matching ${re}: ${JSON.stringify(lines)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-notify-'));

test('sdNotify sends to a path socket and to an abstract socket; no socket → false', async () => {
  const addon = loadAddon();
  for (const addr of [path.join(dir, 'notify.sock'), `@enrolld-test-${process.pid}`]) {
    const r = await receiver(addr);
    try {
      assert.is(addon.sdNotify!('READY=1\nSTATUS=testing', addr), true);
      assert.is(addon.sdNotify!('WATCHDOG=1', addr), true);
      await waitFor(r.lines, /^WATCHDOG=1$/);
      assert.equal(r.lines.slice(0, 2), ['READY=1|STATUS=testing', 'WATCHDOG=1']);
    } finally {
      r.child.kill();
    }
  }
  const saved = process.env.NOTIFY_SOCKET;
  delete process.env.NOTIFY_SOCKET;
  assert.is(addon.sdNotify!('READY=1'), false);
  if (saved !== undefined) process.env.NOTIFY_SOCKET = saved;
});

test('enrolld run: READY=1 after start, watchdog pings at WATCHDOG_USEC/2, STOPPING=1 on SIGTERM', async () => {
  const env = await startAgentEnv();
  const sock = path.join(dir, 'run.sock');
  const r = await receiver(sock);
  const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../agent/cli/main.js');
  const child = spawn(process.execPath, [main, 'run', '--config', path.join(env.dir, 'config.json')], {
    env: { ...process.env, NOTIFY_SOCKET: sock, WATCHDOG_USEC: '200000' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
  try {
    await waitFor(r.lines, /^READY=1/);
    await waitFor(r.lines, /^WATCHDOG=1\|STATUS=enrolled/);
    // The keeper pings every WATCHDOG_USEC/2 = 100 ms while the daemon sleeps until its next poll.
    const pings = () => r.lines.filter((l) => l === 'WATCHDOG=1').length;
    const before = pings();
    await new Promise((res) => setTimeout(res, 600));
    assert.ok(pings() - before >= 3, `watchdog pings in 600 ms: ${pings() - before}`);
    child.kill('SIGTERM');
    await waitFor(r.lines, /^STOPPING=1$/);
    assert.is(await exited, 0, stderr);
  } finally {
    child.kill('SIGKILL');
    r.child.kill();
    await env.stop();
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
