// The .deb in a plain chroot, as image builds (debootstrap, mmdebstrap, Yocto-style rootfs steps) install it: the
// cached Debian 12 root of deploy/test/nspawn-rootfs.sh on an overlay, `chroot … dpkg -i` with no /proc mounted.
// postinst must configure ("install ok installed"), create the user and enable the unit, and leave the tmpfiles
// directories to boot, saying so. Then a package upgrade in the same chroot keeps an edited /etc/enrolld/config.json
// (a conffile), both when the new package ships the same config and when it ships a changed one (the new one
// lands beside it as config.json.dpkg-dist). Skipped, with the reason, where the machine cannot (not root, no root).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtDeb } from '../harness/deb.js';
import { OverlayRoot, nodeStandInDeb, unavailable } from '../harness/nspawn.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'enrolld-chroot-'));
const skip = unavailable({ nspawn: false });
if (skip) console.log(`chroot install tests SKIPPED: ${skip}`);
const t = skip ? test.skip : test;
let root: OverlayRoot | undefined;
let deb = '';

function sh(cmd: string, args: string[], input?: string): { code: number | null; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 240_000, cwd: ROOT, ...(input !== undefined ? { input } : {}) });
  if (r.error) throw r.error;
  return { code: r.status, out: r.stdout, err: r.stderr };
}
/** dpkg inside the chroot, non-interactive (no tty: a conffile prompt would fail the command). */
const dpkg = (...args: string[]) => sh('chroot', [root!.merged, '/usr/bin/env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'DEBIAN_FRONTEND=noninteractive', 'dpkg', ...args], '');

/** The built .deb unpacked, changed by `edit`, repacked as version `version`. */
function repack(version: string, edit: (dir: string) => void): string {
  const dir = path.join(tmp, `re-${version}`);
  assert.is(sh('dpkg-deb', ['-R', deb, dir]).code, 0);
  const control = path.join(dir, 'DEBIAN/control');
  writeFileSync(control, readFileSync(control, 'utf8').replace(/^Version: .*$/m, `Version: ${version}`));
  edit(dir);
  const out = path.join(tmp, `enrolld_${version}.deb`);
  const r = sh('dpkg-deb', ['--root-owner-group', '-Zxz', '-z1', '--build', dir, out]);
  assert.is(r.code, 0, r.err);
  return out;
}

t('postinst configures in a chroot without /proc and defers the tmpfiles part to boot', () => {
  deb = builtDeb();
  root = new OverlayRoot();
  const m = root.mount();
  assert.is(m, undefined, m);
  assert.not.ok(existsSync(root.file('proc/self')), 'no /proc in the chroot');
  mkdirSync(root.file('root/debs'), { recursive: true });
  sh('cp', [deb, nodeStandInDeb(tmp), root.file('root/debs/')]);
  const r = dpkg('-i', '/root/debs/' + path.basename(deb), `/root/debs/nodejs_${process.versions.node}_${path.basename(deb).split('_')[2]}`);
  assert.is(r.code, 0, r.out + r.err);
  assert.match(r.err, /enrolld: \/proc is not mounted: \/usr\/lib\/tmpfiles\.d\/enrolld\.conf is applied at boot/);
  assert.not.match(r.err, /\/proc\/ is not mounted|error|half/i);
  const st = dpkg('-s', 'enrolld');
  assert.match(st.out, /^Status: install ok installed$/m);
  // sysusers ran (it needs no /proc), the unit is enabled on its device, the state directory waits for boot.
  assert.match(root.read('etc/passwd'), /^enrolld:x:\d+:\d+:[^:]*:\/var\/lib\/enrolld:\/usr\/sbin\/nologin$/m);
  assert.match(root.read('etc/group'), /^tss:x:\d+:(.*,)?enrolld(,.*)?$/m);
  assert.is(readlinkSync(root.file('etc/systemd/system/dev-tpmrm0.device.wants/enrolld.service')), '/lib/systemd/system/enrolld.service');
  assert.not.ok(existsSync(root.file('var/lib/enrolld')), 'created at boot by systemd-tmpfiles-setup.service');
  // …which applies the installed snippet: proven by running it as boot would, against the chroot.
  const tf = sh('systemd-tmpfiles', [`--root=${root.merged}`, '--create', 'enrolld.conf']);
  assert.is(tf.code, 0, tf.err);
  assert.ok(existsSync(root.file('var/lib/enrolld')));
});

t('an upgrade keeps an edited config: same shipped config → kept silently; changed one → .dpkg-dist beside it', () => {
  const conf = root!.file('etc/enrolld/config.json');
  const edited = readFileSync(conf, 'utf8').replace('https://est.example.com:8443', 'https://est.site.example');
  assert.is.not(edited, readFileSync(conf, 'utf8'));
  writeFileSync(conf, edited);
  // Same conffile content: dpkg keeps the edit without asking (no --force-conf* option, no tty).
  const same = repack('0.1.0+up1', () => undefined);
  sh('cp', [same, root!.file('root/debs/')]);
  let r = dpkg('-i', `/root/debs/${path.basename(same)}`);
  assert.is(r.code, 0, r.out + r.err);
  assert.is(readFileSync(conf, 'utf8'), edited);
  assert.not.ok(existsSync(`${conf}.dpkg-dist`));
  assert.match(dpkg('-s', 'enrolld').out, /^Version: 0\.1\.0\+up1$/m);
  // A new shipped config: the administrator's edit wins (--force-confold, as unattended upgrades run dpkg).
  const changed = repack('0.1.0+up2', (dir) => {
    const f = path.join(dir, 'etc/enrolld/config.json');
    writeFileSync(f, readFileSync(f, 'utf8').replace('"info"', '"warn"'));
  });
  sh('cp', [changed, root!.file('root/debs/')]);
  r = dpkg('--force-confdef', '--force-confold', '-i', `/root/debs/${path.basename(changed)}`);
  assert.is(r.code, 0, r.out + r.err);
  assert.is(readFileSync(conf, 'utf8'), edited);
  assert.match(readFileSync(`${conf}.dpkg-dist`, 'utf8'), /"warn"/);
  assert.match(dpkg('-s', 'enrolld').out, /^Status: install ok installed$/m);
  // Without a decision dpkg would have to ask: with no tty it refuses rather than overwrite the edit.
  const third = repack('0.1.0+up3', (dir) => {
    const f = path.join(dir, 'etc/enrolld/config.json');
    writeFileSync(f, readFileSync(f, 'utf8').replace('"info"', '"error"'));
  });
  sh('cp', [third, root!.file('root/debs/')]);
  dpkg('-i', `/root/debs/${path.basename(third)}`);
  assert.is(readFileSync(conf, 'utf8'), edited, 'the edit is never overwritten');
});

t('remove keeps the conffile and state; purge removes the conffile, never /var/lib/enrolld', () => {
  let r = dpkg('--remove', 'enrolld');
  assert.is(r.code, 0, r.out + r.err);
  assert.ok(existsSync(root!.file('etc/enrolld/config.json')));
  r = dpkg('--purge', 'enrolld');
  assert.is(r.code, 0, r.out + r.err);
  assert.not.ok(existsSync(root!.file('etc/enrolld/config.json')));
  assert.not.ok(existsSync(root!.file('etc/systemd/system/dev-tpmrm0.device.wants/enrolld.service')), 'deb-systemd-helper purge removed the symlink');
  assert.ok(existsSync(root!.file('var/lib/enrolld')), 'state names TPM objects: kept');
});

test.after(() => {
  root?.close();
  rmSync(tmp, { recursive: true, force: true });
});

test.run();
