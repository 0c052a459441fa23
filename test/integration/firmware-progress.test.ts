// Firmware download progress and per-feature visibility through the composed agent against the lab: progress in
// the log (start, steps, end), in the status snapshot (fw.progress, as CBOR on the wire), in `enrolld status`;
// a failed download is the firmware feature's last error; `enrolld run --metrics-file` writes the textfile.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { composeAgent } from '../../agent/cli/compose.js';
import { parseConfig } from '../../agent/config.js';
import { memoryLogger } from '../../agent/util/log.js';
import { FirmwareLab } from '../../deploy/lab/firmware.js';
import { labPal } from '../../deploy/lab/pal.js';
import { startAgentEnv } from '../harness/agent-env.js';
import { runCli, ENROLLD_MAIN } from '../harness/cli.js';
import { decodeCbor, encodeCbor, statusPayload, type DeviceStatus, type StatusSink } from '../../agent/status/index.js';
import { readFeatureStatus } from '../../agent/status/feature-status.js';
import { readDownloadProgress } from '../../agent/packages/firmware/progress.js';

const PKG = '1.3.6.1.4.1.32473.7.1';
const HW = '1.3.6.1.4.1.32473.8.1';

test('download progress in log, snapshot, status file and `enrolld status`; a failed download is the firmware feature\'s last error; --metrics-file', async () => {
  const env = await startAgentEnv();
  const log = memoryLogger('info');
  const fwLab = await FirmwareLab.create(env.lab.router, { dir: path.join(env.dir, 'fwlab'), baseUrl: env.lab.url });
  writeFileSync(path.join(env.dir, 'fw-ta.pem'), fwLab.trustAnchorPem);
  const hook = path.join(env.dir, 'apply.sh');
  writeFileSync(hook, '#!/bin/sh\nexit 0\n');
  chmodSync(hook, 0o755);
  const cfgFile = path.join(env.dir, 'config.json');
  const doc = JSON.parse(readFileSync(cfgFile, 'utf8')) as Record<string, unknown>;
  doc.firmware = { trustAnchorsFile: 'fw-ta.pem', hook: { path: hook, timeoutSeconds: 20 }, hardware: { type: HW, serialHex: '00c0ffee' } };
  writeFileSync(cfgFile, JSON.stringify(doc));
  const config = parseConfig(doc, env.dir);
  const snapshots: DeviceStatus[] = [];
  const sink: StatusSink = { state: () => undefined, snapshot: (st) => void snapshots.push(structuredClone(st)), event: () => undefined, close: async () => undefined };
  // Report on every 10 % step (no 30 s minimum) so a 2 MB package shows intermediate progress.
  const agent = await composeAgent(config, { log, status: sink, progressIntervalMs: 0 }).catch(async (e) => {
    await env.stop();
    throw e;
  });
  try {
    assert.is((await agent.enroller.step()).action, 'issued', log.lines.join('\n'));
    const pkg = await fwLab.addPackage({ id: 'v7', image: new Uint8Array(randomBytes(2_000_000)), name: { preferred: { fwPkgID: PKG, verNum: 7 } }, targetHardware: [HW] });
    const pal = labPal(env.lab.router);
    pal.setPal(config.deviceId, [{ type: '0026', size: pkg.palSize, info: { kind: 'uri', uri: pkg.url } }]);
    await agent.poller.poll((await agent.state.load())!);
    assert.is(agent.poller.last!.counts.failed, 0, log.lines.join('\n'));

    const lines = log.lines.filter((l) => l.includes('firmware.download.progress'));
    assert.match(lines[0]!, /phase=downloading url=\S+ bytes=0 total=\d+ percent=0 rateBps=0/, lines.join('\n'));
    assert.match(lines.at(-1)!, /phase=done url=\S+ bytes=(\d+) total=\1 percent=100 rateBps=\d+/);
    const mid = lines.filter((l) => /phase=downloading/.test(l) && !/percent=0 /.test(l));
    assert.ok(mid.length >= 3 && mid.length <= 10, `intermediate reports every ≥ 10 %: ${mid.length}\n${lines.join('\n')}`);
    assert.ok(mid.every((l) => /etaSeconds=\d+/.test(l)), 'an ETA with each intermediate report');

    for (let i = 0; i < 50 && !snapshots.some((s) => s.fw?.progress && s.fw.progress.bytes > 0); i++) await new Promise((r) => setTimeout(r, 20));
    const withProgress = snapshots.filter((s) => s.fw?.progress);
    assert.ok(withProgress.length >= 2, 'snapshots carry fw.progress while downloading');
    const p = withProgress.at(-1)!.fw!.progress!;
    assert.ok(p.total! >= 2_000_000 && p.bytes <= p.total! && p.rate >= 0);
    // On the wire: fw.progress as documented (CBOR map with bytes/total/rate[/eta]).
    const wire = decodeCbor(encodeCbor(statusPayload(withProgress.at(-1)!, new Date(), 1))) as { fw: { progress: Record<string, number> } };
    assert.equal(Object.keys(wire.fw.progress).sort(), Object.keys(p).sort());
    for (let i = 0; i < 50 && snapshots.at(-1)?.fw?.progress; i++) await new Promise((r) => setTimeout(r, 20));
    assert.is(snapshots.at(-1)!.fw?.progress, undefined, 'progress leaves the snapshot when the download is done');

    const file = await readDownloadProgress(path.join(config.stateDir, 'firmware'));
    assert.is(file?.phase, 'done');
    assert.is(file?.bytes, file?.total);

    // A package URL the server does not know: the download fails; firmware's last error.
    pal.setPal(config.deviceId, [{ type: '0026', size: 1000, info: { kind: 'uri', uri: `${env.lab.url}/.well-known/est/firmware/nope` } }]);
    await agent.poller.poll((await agent.state.load())!);
    for (let i = 0; i < 100 && !(await readFeatureStatus(config.stateDir)).firmware?.lastError; i++) await new Promise((r) => setTimeout(r, 20));
    const fs = await readFeatureStatus(config.stateDir);
    assert.is(fs.firmware?.lastError?.code, 'firmware.download');
    assert.ok(fs.firmware?.lastSuccess, 'the earlier download is the last success');
    assert.ok(fs.enroll?.lastSuccess && fs.pal?.lastSuccess);
    assert.is(fs.firmware?.failures['firmware.download'], 1);
  } catch (e) {
    await agent.close();
    await env.stop();
    throw e;
  }
  await agent.close();
  try {
    const st = await runCli('status', '--config', cfgFile);
    assert.is(st.status, 0, st.stderr);
    assert.match(st.stdout, /firmware download: failed \(firmware\.download\)/);
    assert.match(st.stdout, /last errors:\n  enroll: +none \(last success \S+\)\n  pal: +none \(last success \S+\)\n  firmware: +firmware\.download at \S+ \(last success \S+\)/);

    // `enrolld run --metrics-file`: the textfile after the first iteration, and the wake reason for `status`.
    const metrics = path.join(env.dir, 'enrolld.prom');
    const child = spawn(process.execPath, [ENROLLD_MAIN, 'run', '--config', cfgFile, '--metrics-file', metrics], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    for (let i = 0; i < 600 && !existsSync(metrics); i++) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    assert.is(code, 0, stderr);
    assert.ok(existsSync(metrics), `metrics file written\n${stderr}`);
    assert.is(statSync(metrics).mode & 0o777, 0o644);
    const text = readFileSync(metrics, 'utf8');
    assert.match(text, /^# TYPE enrolld_certificate_not_after_seconds gauge\nenrolld_certificate_not_after_seconds\{serial="[0-9A-Fa-f]+"\} \d{10}$/m);
    assert.match(text, /^enrolld_last_pal_poll_success_seconds \d{10}$/m);
    assert.match(text, /^enrolld_failures_total\{feature="firmware",kind="firmware.download"\} [1-9]\d*$/m);
    assert.match(text, /^enrolld_phase\{phase="enrolled"\} 1$/m);
    const again = await runCli('status', '--config', cfgFile);
    assert.match(again.stdout, /\n  reason: +(PAL poll \(schedule\)|certificate renewal due)\n/);
  } finally {
    await env.stop();
  }
});

test.run();
