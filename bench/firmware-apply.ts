// Firmware apply memory benchmark: builds 16 MB and 256 MB firmware packages (random images, in a temp dir that is
// removed afterwards), serves them from the lab server in THIS process, and applies each end to end (download →
// verify → hook → receipt POST) in a CHILD process (agent/packages/firmware/standalone.js), which reports its RSS
// after start-up ("idle") and its peak (process.resourceUsage().maxRSS; VmHWM shown as a cross-check).
// Target: peak ≤ idle + 16 MB.
//   node dist/bench/firmware-apply.js                 16 and 256 MB, plain
//   node dist/bench/firmware-apply.js 16 64 --compress  chosen sizes (MB), zlib-compressed packages
// Not part of the test suite (the 256 MB case takes a while and needs ~1 GB of disk).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { StandaloneJob } from '../agent/packages/firmware/standalone.js';
import { FirmwareLab } from '../deploy/lab/firmware.js';
import { createLabServer } from '../deploy/lab/server.js';

const MB = 1024 * 1024;
const HW = '1.3.6.1.4.1.32473.8.1';
const runner = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../agent/packages/firmware/standalone.js');

async function writeRandomFile(file: string, bytes: number): Promise<void> {
  const ws = createWriteStream(file, { mode: 0o600 });
  for (let done = 0; done < bytes; ) {
    const n = Math.min(MB, bytes - done);
    if (!ws.write(randomBytes(n))) await once(ws, 'drain');
    done += n;
  }
  ws.end();
  await once(ws, 'finish');
}

function runChild(jobFile: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    // Through sh (without exec) so the child's maxRSS starts from sh's small image, not from this process's RSS
    // (Linux carries the pre-exec high-water mark into ru_maxrss). --expose-gc: see gcTicker in download.ts.
    const child = spawn('/bin/sh', ['-c', '"$0" "$@"; exit $?', process.execPath, '--expose-gc', runner, jobFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15 * 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(last) as Record<string, unknown>);
      } catch {
        reject(new Error(`child exited ${code}: ${out}`));
      }
    });
  });
}

export interface FirmwareApplyRow {
  sizeMb: number;
  packageBytes: number;
  ms: number;
  idleRss: number;
  peakRss: number;
  hwm: number | undefined;
  ok: boolean;
  error?: string;
}

/** Builds, serves and applies one package per size in a child process; one row per size. */
export async function firmwareApply(sizes: number[] = [16, 256], compress = false, print: (line: string) => void = () => {}): Promise<FirmwareApplyRow[]> {
  const rows: FirmwareApplyRow[] = [];
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'enrolld-fwbench-'));
  const server = await createLabServer();
  try {
    const lab = await FirmwareLab.create(server.router, { dir: path.join(tmp, 'lab'), baseUrl: server.url });
    const hook = path.join(tmp, 'hook.sh');
    writeFileSync(hook, '#!/bin/sh\ntest -s "$1" && cmp -s /dev/null /dev/null\n'); // an installer that accepts the image
    chmodSync(hook, 0o755);
    let version = 1;
    for (const sizeMb of sizes) {
      const imagePath = path.join(tmp, `image-${sizeMb}.bin`);
      await writeRandomFile(imagePath, sizeMb * MB);
      const p = await lab.addPackage({ id: `bench-${sizeMb}`, image: { path: imagePath }, name: { preferred: { fwPkgID: '1.3.6.1.4.1.32473.7.1', verNum: version++ } }, targetHardware: [HW], compress });
      rmSync(imagePath, { force: true });
      const job: StandaloneJob = {
        url: p.url,
        size: p.palSize,
        workDir: path.join(tmp, `work-${sizeMb}`),
        tlsTrustAnchorsPem: server.trustAnchorPem,
        firmwareTrustAnchorsPem: lab.trustAnchorPem,
        hwType: HW,
        hwSerialHex: '0001',
        hookPath: hook,
      };
      const jobFile = path.join(tmp, `job-${sizeMb}.json`);
      writeFileSync(jobFile, JSON.stringify(job));
      const r = await runChild(jobFile);
      if (r.status !== 'applied') {
        print(`${sizeMb} MB: ${JSON.stringify(r)}`);
        rows.push({ sizeMb, packageBytes: p.bytes, ms: NaN, idleRss: NaN, peakRss: NaN, hwm: undefined, ok: false, error: JSON.stringify(r) });
        continue;
      }
      const idle = Number(r.idleRssBytes);
      const peak = Number(r.peakRssBytes);
      const hwm = r.hwmRssBytes ? Number(r.hwmRssBytes) : undefined;
      const row = { sizeMb, packageBytes: p.bytes, ms: Number(r.ms), idleRss: idle, peakRss: peak, hwm, ok: peak - idle <= 16 * MB };
      rows.push(row);
      const f = (b: number): string => `${(b / MB).toFixed(1)} MB`.padEnd(11);
      print(`${`${sizeMb} MB`.padEnd(10)}${String(p.bytes).padEnd(15)}${`${(row.ms / 1000).toFixed(1)} s`.padEnd(10)}${f(idle)}${f(peak)}${f(peak - idle)}${hwm ? f(hwm) : '-'.padEnd(11)}${row.ok ? 'ok' : 'OVER'}`);
      await lab.removePackage(p.id);
      rmSync(job.workDir, { recursive: true, force: true });
    }
  } finally {
    await server.close();
    rmSync(tmp, { recursive: true, force: true });
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const compress = args.includes('--compress');
  const sizes = args.filter((a) => /^\d+$/.test(a)).map(Number);
  console.log(`firmware apply benchmark (node ${process.version}, ${compress ? 'zlib-compressed' : 'uncompressed'} packages)`);
  console.log('size      package bytes  time      idle RSS   peak RSS   peak-idle  VmHWM      target (≤ 16 MB)');
  const rows = await firmwareApply(sizes.length ? sizes : [16, 256], compress, (l) => console.log(l));
  process.exitCode = rows.every((r) => r.ok) ? 0 : 1;
}
