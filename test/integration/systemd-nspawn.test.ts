// enrolld.service under a real systemd: a Debian 12 container (the cached debootstrap root of
// deploy/test/nspawn-rootfs.sh on an overlay, booted by systemd-nspawn) gets the built .deb installed by its own dpkg,
// talks to swtpm and the lab server on the host's loopback (the container shares the host network) and is checked
// through systemctl and journalctl inside:
// - install: Depends satisfied, postinst's sysusers/tmpfiles/deb-systemd-helper results, enabled on dev-tpmrm0.device;
// - the unit binds to the TPM device unit: without it the start job fails on the dependency (containers have no udev,
//   so the rest of the test runs an /etc copy of the unit without the two device lines — and checks it is that);
// - READY=1 with STATUS= text, enrolled once at the lab; watchdog pings advancing over 2× a short WatchdogSec;
//   kill -9 of the main PID → restarted, enrolled again without a second enrollment; `systemctl stop` → exit 0;
// - no SIGSYS/EPERM/mprotect failures in the journal; the filter lets Node run even with kill as the default action,
//   and the filter without @pkey dies with SIGSYS (the kernel names syscall 330, pkey_alloc, where dmesg is readable)
//   where this node calls pkey_alloc (strace says; the official Node 24 build with --jitless does not, and runs);
// - `systemd-analyze security enrolld.service` against the running manager ≤ 1.5.
// Where the machine cannot do this (not root, no systemd-nspawn, no cached root, no overlayfs, the container does not
// boot) every test is reported as skipped and the reason is printed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAgentEnv, type AgentEnv } from '../harness/agent-env.js';
import { builtDeb } from '../harness/deb.js';
import { Container, OverlayRoot, nodeStandInDeb, run, unavailable } from '../harness/nspawn.js';

const WATCHDOG_SEC = 3;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'enrolld-nspawn-'));
let overlay: OverlayRoot | undefined;
let box: Container | undefined;
let env: AgentEnv | undefined;

async function prepare(): Promise<string | undefined> {
  const why = unavailable({ nspawn: true });
  if (why) return why;
  // The .deb and the nodejs stand-in, visible inside as /mnt/deb. A build failure is a failure, not a skip.
  const debs = path.join(tmp, 'debs');
  mkdirSync(debs);
  const deb = builtDeb();
  copyFileSync(deb, path.join(debs, path.basename(deb)));
  nodeStandInDeb(debs);
  overlay = new OverlayRoot();
  const m = overlay.mount();
  if (m) return m;
  box = new Container(overlay);
  const booted = await box.boot([`${process.execPath}:/usr/bin/node`, `${debs}:/mnt/deb`]);
  return booted ? `systemd-nspawn could not boot the container: ${booted}` : undefined;
}

let skipReason: string | undefined;
try {
  skipReason = await prepare();
} catch (err) {
  await box?.stop().catch(() => undefined);
  overlay?.close();
  rmSync(tmp, { recursive: true, force: true });
  throw err;
}
if (skipReason) console.log(`systemd-nspawn tests SKIPPED: ${skipReason}`);
const t = skipReason ? test.skip : test;

const inside = (script: string, timeoutMs?: number) => box!.sh(script, timeoutMs);
async function ok(script: string): Promise<string> {
  const r = await inside(script);
  assert.is(r.code, 0, `${script}\n${r.out}\n${r.err}`);
  return r.out;
}
async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
const props = ['ActiveState', 'SubState', 'StatusText', 'MainPID', 'NRestarts', 'Result', 'ExecMainStatus', 'ExecMainCode', 'WatchdogTimestampMonotonic'];
const enrolledStatus = async () => {
  const s = await box!.show('enrolld.service', props);
  return s.ActiveState === 'active' && /^enrolled, next wake \d{4}-/.test(s.StatusText ?? '') ? s : undefined;
};

t('the .deb installs with the container\'s dpkg: Depends met, user, directories, enabled on dev-tpmrm0.device', async () => {
  await ok('dpkg -i /mnt/deb/nodejs_*.deb');
  const r = await inside('dpkg -i /mnt/deb/enrolld_*.deb');
  assert.is(r.code, 0, r.out + r.err);
  assert.match(await ok('dpkg-query -W -f \'${Status}\' enrolld'), /^install ok installed$/);
  assert.match(await ok('getent passwd enrolld'), /^enrolld:x:\d+:\d+:.*:\/var\/lib\/enrolld:\/usr\/sbin\/nologin$/m);
  assert.match(await ok('id -nG enrolld'), /\btss\b/);
  assert.match(await ok('stat -c "%a %U %G" /var/lib/enrolld /etc/enrolld /etc/enrolld/config.json'), /^700 enrolld enrolld\n750 root enrolld\n640 root enrolld\n$/);
  assert.is((await ok('systemctl is-enabled enrolld.service')).trim(), 'enabled');
  assert.is((await ok('readlink /etc/systemd/system/dev-tpmrm0.device.wants/enrolld.service')).trim(), '/lib/systemd/system/enrolld.service');
  // Installed, enabled, not started (no configuration yet), nothing failed.
  assert.is((await inside('systemctl is-active enrolld.service')).out.trim(), 'inactive');
  assert.is((await ok('systemctl list-units --failed --plain --no-legend')).trim(), '');
});

t('the shipped unit binds to the TPM device unit: without /dev/tpmrm0 its start job fails on the dependency', async () => {
  const s = await box!.show('enrolld.service', ['BindsTo', 'After', 'WantedBy']);
  assert.is(s.BindsTo, 'dev-tpmrm0.device');
  assert.ok(s.After!.split(' ').includes('dev-tpmrm0.device'), s.After);
  assert.is(s.WantedBy, 'dev-tpmrm0.device');
  const r = await inside('systemctl start enrolld.service', 60_000);
  assert.is.not(r.code, 0, 'enrolld must not start without its device');
  const j = await ok('journalctl -b -o cat --no-pager -u enrolld.service');
  assert.match(j, /Dependency failed for enrolld\.service/);
  const after = await box!.show('enrolld.service', ['ActiveState', 'ExecMainStartTimestampMonotonic']);
  assert.is(after.ActiveState, 'inactive');
  assert.is(after.ExecMainStartTimestampMonotonic, '0', 'the agent was never executed');
});

t('READY=1 with the STATUS text; enrolled once at the lab', async () => {
  env = await startAgentEnv();
  const port = /port=(\d+)/.exec(env.tpm.tcti)![1];
  const cfg = {
    deviceId: 'dev-0001',
    tpm: { tcti: `swtpm:host=127.0.0.1,port=${port}`, flushStaleTransients: true },
    est: { url: env.lab.url, trustAnchorsFile: 'est-ta.pem', basicAuth: { username: 'dev-0001', passwordFile: 'est-password' } },
    identity: { subject: 'CN=dev-0001,O=enrolld nspawn', dnsNames: ['dev-0001.devices.example'] },
  };
  overlay!.write('etc/enrolld/config.json', JSON.stringify(cfg, null, 2) + '\n', 0o640);
  copyFileSync(path.join(env.dir, 'est-ta.pem'), overlay!.file('etc/enrolld/est-ta.pem'));
  copyFileSync(path.join(env.dir, 'est-password'), overlay!.file('etc/enrolld/est-password'));
  await ok('cd /etc/enrolld && chown root:enrolld config.json est-ta.pem est-password && chmod 0640 config.json est-ta.pem est-password');
  // No udev in a container, so no device units: an /etc copy of the shipped unit without exactly the two device
  // lines; everything else (sandbox, filter, watchdog, restart policy) is the shipped text.
  const shipped = overlay!.read('lib/systemd/system/enrolld.service');
  const copy = shipped.split('\n').filter((l) => l !== 'BindsTo=dev-tpmrm0.device' && l !== 'After=dev-tpmrm0.device');
  assert.is(shipped.split('\n').length - copy.length, 2);
  overlay!.write('etc/systemd/system/enrolld.service', copy.join('\n'));
  overlay!.write('etc/systemd/system/enrolld.service.d/test.conf', `[Service]\nWatchdogSec=${WATCHDOG_SEC}s\nRestartSec=1s\n`);
  await ok('systemctl daemon-reload');
  // Type=notify: `systemctl start` returns once READY=1 arrived.
  const r = await inside('systemctl start enrolld.service', 90_000);
  assert.is(r.code, 0, r.out + r.err + (await inside('journalctl -u enrolld -o cat --no-pager | tail -n 30')).out);
  const s = await until('STATUS=enrolled, next wake …', enrolledStatus);
  console.log(`STATUS: ${s.StatusText}`);
  assert.is(s.NRestarts, '0');
  assert.is(env.lab.issued.length, 1);
  const st = JSON.parse(await ok('enrolld status --json')) as { phase: string };
  assert.is(st.phase, 'enrolled');
});

t(`watchdog pings advance for 2 × WatchdogSec=${WATCHDOG_SEC}s without a restart`, async () => {
  const first = await box!.show('enrolld.service', props);
  assert.is((await box!.show('enrolld.service', ['WatchdogUSec'])).WatchdogUSec, `${WATCHDOG_SEC}s`);
  const seen = new Set<string>([first.WatchdogTimestampMonotonic!]);
  const end = Date.now() + 2 * WATCHDOG_SEC * 1000 + 500;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 400));
    seen.add((await box!.show('enrolld.service', ['WatchdogTimestampMonotonic'])).WatchdogTimestampMonotonic!);
  }
  const last = await box!.show('enrolld.service', props);
  console.log(`watchdog: ${seen.size} distinct ping timestamps in ${2 * WATCHDOG_SEC} s`);
  // Pings every WatchdogSec/2: about 4 in 2 × WatchdogSec; 3 leaves room for a slow machine, and a missed one
  // would have restarted the service (checked below).
  assert.ok(seen.size >= 3, `only ${seen.size} watchdog timestamps`);
  assert.is(last.MainPID, first.MainPID);
  assert.is(last.NRestarts, '0');
  assert.is(last.ActiveState, 'active');
});

t('kill -9 of the main PID: systemd restarts it and it resumes enrolled without a second enrollment', async () => {
  const before = await box!.show('enrolld.service', props);
  await ok(`kill -9 ${before.MainPID}`);
  const s = await until('the restarted agent enrolled', async () => {
    const x = await enrolledStatus();
    return x && x.NRestarts === '1' && x.MainPID !== before.MainPID ? x : undefined;
  });
  assert.is.not(s.MainPID, '0');
  assert.match(await ok('journalctl -o cat --no-pager -u enrolld.service'), /Main process exited, code=killed, status=9\/KILL/);
  assert.is(env!.lab.issued.length, 1, 'no second enrollment at the lab');
});

t('the journal has no SIGSYS, EPERM or mprotect failures', async () => {
  const j = await ok('journalctl -b -o cat --no-pager -u enrolld.service; journalctl -b -o cat --no-pager _COMM=node');
  assert.not.match(j, /SIGSYS|status=31|EPERM|Operation not permitted|mprotect|SetPermissions|Bad system call/i);
});

t('systemctl stop: the agent exits 0 (systemd: code=exited, status=0/SUCCESS; result success)', async () => {
  const { InvocationID: id } = await box!.show('enrolld.service', ['InvocationID']);
  assert.match(id!, /^[0-9a-f]{32}$/);
  // A stopped unit without failure is unloaded at once (its ExecMain* properties are gone), and systemd logs a
  // clean main-process exit only at debug level: raise it for the stop, read the invocation's own messages.
  await ok('systemctl log-level debug');
  const t0 = Date.now();
  const r = await inside('systemctl stop enrolld.service', 60_000);
  const ms = Date.now() - t0;
  await ok('systemctl log-level info');
  assert.is(r.code, 0, r.err);
  const j = await ok(`journalctl -o cat --no-pager INVOCATION_ID=${id}`);
  console.log(`systemctl stop: ${ms} ms`);
  assert.match(j, /Main process exited, code=exited, status=0\/SUCCESS/);
  assert.match(j, /Deactivated successfully/);
  assert.not.match(j, /Failed with result|status=1\/FAILURE|code=killed/);
  assert.is((await inside('systemctl is-active enrolld.service')).out.trim(), 'inactive');
});

t('systemd-analyze security enrolld.service (online): overall exposure ≤ 1.5', async () => {
  const out = await ok('systemd-analyze security --no-pager enrolld.service');
  const score = Number(/Overall exposure level for enrolld\.service: (\d+(?:\.\d+)?)/.exec(out)?.[1]);
  console.log(`systemd-analyze security (online, in the container): ${score}`);
  assert.ok(score <= 1.5, `exposure ${score}`);
});

t('the filter is complete for Node: kill as the default action still enrolls; without @pkey node dies with SIGSYS', async () => {
  overlay!.write('etc/systemd/system/enrolld.service.d/test.conf', `[Service]\nWatchdogSec=${WATCHDOG_SEC}s\nRestartSec=1s\nSystemCallErrorNumber=kill\n`);
  await ok('systemctl daemon-reload && rm -rf /var/lib/enrolld/* && systemctl start enrolld.service');
  await until('enrolled under a kill-by-default filter', enrolledStatus);
  await ok('systemctl stop enrolld.service');
  assert.is((await box!.show('enrolld.service', ['Result'])).Result, 'success');
  // The same filter without @pkey (what systemd 252's @system-service allows alone).
  const unit = overlay!.read('etc/systemd/system/enrolld.service');
  assert.match(unit, /^SystemCallFilter=@system-service @pkey$/m);
  overlay!.write(
    'etc/systemd/system/enrolld.service.d/test.conf',
    '[Service]\nRestart=no\nSystemCallFilter=\nSystemCallFilter=@system-service\nSystemCallFilter=~@privileged @resources\nSystemCallErrorNumber=kill\n',
  );
  // Whether this node calls pkey_alloc at all (Debian's Node 20 does; the official Node 24 build with --jitless
  // does not, and then runs without @pkey): strace on the host, the same binary the container runs.
  const traced = await run('strace', ['-f', '-e', 'trace=pkey_alloc', process.execPath, '--jitless', '-e', '0']);
  const usesPkey = traced.code !== 0 || /pkey_alloc\(/.test(traced.err);
  const marker = (await run('dmesg', [])).out.split('\n').length;
  await ok('systemctl daemon-reload');
  const r = await inside('systemctl start enrolld.service', 60_000);
  if (!usesPkey) {
    console.log(`node ${process.version} makes no pkey_alloc call (strace): it runs without @pkey too`);
    assert.is(r.code, 0, r.out + r.err);
    await until('enrolled without @pkey', enrolledStatus);
    await ok('systemctl stop enrolld.service');
    return;
  }
  assert.is.not(r.code, 0);
  const s = await box!.show('enrolld.service', props);
  assert.is(s.Result, 'signal');
  assert.is(s.ExecMainCode, '2', 'CLD_KILLED');
  assert.is(s.ExecMainStatus, '31', 'SIGSYS');
  const d = await run('dmesg', []);
  const audit = d.code === 0 ? d.out.split('\n').slice(marker - 1).filter((l) => /type=1326/.test(l) && /comm="node"/.test(l)) : [];
  if (d.code !== 0) console.log(`dmesg not readable (${d.err.trim()}): the kernel's syscall number is not checked`);
  else {
    console.log(`kernel: ${audit.at(-1)?.replace(/^.*?(audit:)/, '$1') ?? '(no seccomp audit line)'}`);
    assert.ok(audit.some((l) => / syscall=330 /.test(l)), `no seccomp kill of node at syscall 330 (pkey_alloc) in dmesg:\n${audit.join('\n')}`);
  }
});

test.after(async () => {
  await box?.stop().catch(() => undefined);
  overlay?.close();
  await env?.stop().catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
});

test.run();
