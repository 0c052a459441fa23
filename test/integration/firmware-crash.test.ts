// kill -9 during a firmware download, then a re-run: a child process (agent/packages/firmware/standalone.js) pauses
// once 1 MiB of an 8 MiB package is on disk, the test SIGKILLs it, checks that a partial download and the stale lock
// are left, and runs the job again: it resumes with a Range request (resumedFrom > 0), verifies, applies (marker) and
// returns the receipt. Lab server on 127.0.0.1, bounded waits, everything cleaned up.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StandaloneJob } from '../../agent/packages/firmware/standalone.js';
import { FirmwareLab } from '../../deploy/lab/firmware.js';
import { createLabServer } from '../../deploy/lab/server.js';

const HW = '1.3.6.1.4.1.32473.8.1';
const runner = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../agent/packages/firmware/standalone.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'enrolld-fwcrash-'));
const server = await createLabServer();
const lab = await FirmwareLab.create(server.router, { dir: path.join(tmp, 'lab'), baseUrl: server.url });
const hook = path.join(tmp, 'hook.sh');
writeFileSync(hook, '#!/bin/sh\ncp "$1" "$MARKER"\n');
chmodSync(hook, 0o755);

function runChild(jobFile: string, onLine: (line: string, kill: () => void) => void, timeoutMs = 60_000): Promise<{ code: number | null; signal: NodeJS.Signals | null; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [runner, jobFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let buf = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('child timed out'));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        onLine(line, () => child.kill('SIGKILL'));
      }
    });
    child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, lines });
    });
  });
}

test('kill -9 mid-download, then re-run: resumes with Range and applies', async () => {
  const img = new Uint8Array(randomBytes(8 * 1024 * 1024));
  const p = await lab.addPackage({ id: 'big', image: img, name: { preferred: { fwPkgID: '1.3.6.1.4.1.32473.7.1', verNum: 1 } }, targetHardware: [HW] });
  const workDir = path.join(tmp, 'work');
  const marker = path.join(tmp, 'applied.bin');
  const job: StandaloneJob = {
    url: p.url,
    size: p.palSize,
    workDir,
    tlsTrustAnchorsPem: server.trustAnchorPem,
    firmwareTrustAnchorsPem: lab.trustAnchorPem,
    hwType: HW,
    hwSerialHex: '0001',
    hookPath: hook,
    hookEnv: { MARKER: marker },
    pauseAfterBytes: 1024 * 1024,
  };
  const jobFile = path.join(tmp, 'job1.json');
  writeFileSync(jobFile, JSON.stringify(job));
  const first = await runChild(jobFile, (line, kill) => {
    if (line.startsWith('PAUSED ')) kill();
  });
  assert.is(first.signal, 'SIGKILL');
  assert.ok(first.lines.some((l) => l.startsWith('PAUSED ')));
  const part = path.join(workDir, 'package.der.part');
  assert.ok(existsSync(part), 'partial download kept');
  const partial = statSync(part).size;
  assert.ok(partial >= 1024 * 1024 && partial < p.bytes, `partial size ${partial}`);
  assert.ok(existsSync(path.join(workDir, 'lock')), 'stale lock left by the killed process');
  assert.not.ok(existsSync(marker));

  const { pauseAfterBytes: _p, ...job2 } = job;
  writeFileSync(jobFile, JSON.stringify(job2));
  const second = await runChild(jobFile, () => {});
  assert.is(second.code, 0, second.lines.join('\n'));
  const result = JSON.parse(second.lines.at(-1)!) as { status: string; resumedFrom: number; bytes: number; returned: number };
  assert.is(result.status, 'applied', JSON.stringify(result));
  assert.ok(result.resumedFrom >= partial - 65536 && result.resumedFrom > 0, `resumedFrom ${result.resumedFrom}`);
  assert.is(result.bytes, p.bytes);
  assert.is(result.returned, 1);
  assert.equal(new Uint8Array(readFileSync(marker)), img);
  assert.not.ok(existsSync(part));
  assert.is(lab.returns.at(-1)!.kind, 'receipt');
});

test.after(async () => {
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});

test.run();
