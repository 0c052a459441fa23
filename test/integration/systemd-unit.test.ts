// systemd/enrolld.service checked by systemd's own tools (Debian 12: systemd 252), not by reading it ourselves:
// - `systemd-analyze security --offline=yes` overall exposure ≤ 1.5 (the score is printed);
// - `systemd-analyze verify --root=<tmp>`: a throwaway root holding the unit, the real /usr/bin/enrolld wrapper
//   (deploy/deb/enrolld) and the host's *.target units, so ExecStart= resolves to the file the .deb installs;
//   any diagnostic (even "Unknown key … ignoring", which exits 0) fails the test;
// - systemd-sysusers/systemd-tmpfiles --root=<tmp> apply the snippets, and the resulting user, groups, owners and
//   modes are the ones the unit names (User=, Group=, SupplementaryGroups=, State/ConfigurationDirectoryMode=);
// - MemoryDenyWriteExecute=yes with the wrapper's `node --jitless`: under PR_SET_MDWE (the same kernel mechanism
//   family; set by a python3 prctl shim) a JIT node aborts, and the wrapper's node runs `enrolld demo` to the end.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const UNIT = path.join(ROOT, 'systemd', 'enrolld.service');
const WRAPPER = path.join(ROOT, 'deploy', 'deb', 'enrolld');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'enrolld-unit-'));

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeout?: number } = {}): { code: number | null; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeout ?? 30_000, env: opts.env ?? process.env });
  if (r.error) throw r.error;
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Every value of `key=` in the unit (last assignment wins for scalars; list settings accumulate). */
function unitValues(key: string): string[] {
  return readFileSync(UNIT, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1).trim());
}
const unitValue = (key: string): string | undefined => unitValues(key).at(-1);

test('systemd-analyze security --offline=yes: overall exposure ≤ 1.5', () => {
  const r = run('systemd-analyze', ['security', '--offline=yes', '--no-pager', UNIT]);
  const m = /Overall exposure level for enrolld\.service: (\d+(?:\.\d+)?)/.exec(r.out + r.err);
  assert.ok(m, `no overall exposure line in:\n${r.out}\n${r.err}`);
  const score = Number(m![1]);
  console.log(`systemd-analyze security: overall exposure ${score}`);
  console.log(r.out.split('\n').filter((l) => l.startsWith('✗')).join('\n'));
  assert.ok(score <= 1.5, `exposure ${score} > 1.5`);
  // --threshold makes systemd-analyze itself enforce it (exit status non-zero above 15 on the 0–100 scale).
  assert.is(run('systemd-analyze', ['security', '--offline=yes', '--threshold=15', '--no-pager', UNIT]).code, 0);
});

test('the security check can fail: a unit without the sandbox scores above 1.5', () => {
  const bare = path.join(tmp, 'bare', 'enrolld.service');
  mkdirSync(path.dirname(bare), { recursive: true });
  const text = readFileSync(UNIT, 'utf8').split('# --- Sandboxing ---')[0]!;
  writeFileSync(bare, text);
  const r = run('systemd-analyze', ['security', '--offline=yes', '--no-pager', bare]);
  const score = Number(/Overall exposure level for enrolld\.service: (\d+(?:\.\d+)?)/.exec(r.out)![1]);
  assert.ok(score > 1.5, `unsandboxed unit scored ${score}`);
});

function makeRoot(name: string, unitText?: string): string {
  const root = path.join(tmp, name);
  mkdirSync(path.join(root, 'usr/bin'), { recursive: true });
  mkdirSync(path.join(root, 'usr/lib/systemd/system'), { recursive: true });
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  copyFileSync(WRAPPER, path.join(root, 'usr/bin/enrolld'));
  chmodSync(path.join(root, 'usr/bin/enrolld'), 0o755);
  const unitDir = path.join(root, 'usr/lib/systemd/system');
  if (unitText === undefined) copyFileSync(UNIT, path.join(unitDir, 'enrolld.service'));
  else writeFileSync(path.join(unitDir, 'enrolld.service'), unitText);
  for (const dir of ['/usr/lib/systemd/system', '/lib/systemd/system']) {
    let names: string[] = [];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith('.target'));
    } catch {
      continue;
    }
    for (const n of names) copyFileSync(path.join(dir, n), path.join(unitDir, n));
    if (names.length) break;
  }
  return root;
}

test('systemd-analyze verify --root: no diagnostics; ExecStart resolves to the packaged wrapper', () => {
  const root = makeRoot('root-ok');
  const r = run('systemd-analyze', ['verify', `--root=${root}`, 'enrolld.service']);
  assert.is(r.err.trim(), '', r.err);
  assert.is(r.code, 0);
  assert.equal(unitValue('ExecStart')!.split(' ')[0], '/usr/bin/enrolld');
});

test('verify can fail: missing ExecStart binary and an unknown key are reported', () => {
  const root = makeRoot('root-bad', readFileSync(UNIT, 'utf8').replace('LockPersonality=yes', 'LockPersonality=yes\nLockPersonalty=yes'));
  const r = run('systemd-analyze', ['verify', `--root=${root}`, 'enrolld.service']);
  assert.match(r.err, /Unknown key 'LockPersonalty'/);
  rmSync(path.join(root, 'usr/bin/enrolld'));
  const r2 = run('systemd-analyze', ['verify', `--root=${root}`, 'enrolld.service']);
  assert.is.not(r2.code, 0);
  assert.match(r2.err, /\/usr\/bin\/enrolld is not executable/);
});

test('sysusers + tmpfiles snippets produce what the unit names', () => {
  const root = makeRoot('root-users');
  let r = run('systemd-sysusers', [`--root=${root}`, path.join(ROOT, 'systemd', 'enrolld.sysusers')]);
  assert.is(r.code, 0, r.err);
  r = run('systemd-tmpfiles', [`--root=${root}`, '--create', path.join(ROOT, 'systemd', 'enrolld.tmpfiles')]);
  assert.is(r.code, 0, r.err);
  const passwd = readFileSync(path.join(root, 'etc/passwd'), 'utf8').split('\n').map((l) => l.split(':'));
  const group = readFileSync(path.join(root, 'etc/group'), 'utf8').split('\n').map((l) => l.split(':'));
  const user = passwd.find((p) => p[0] === unitValue('User'));
  assert.ok(user, 'User= is created by sysusers');
  const primary = group.find((g) => g[0] === unitValue('Group'));
  assert.ok(primary, 'Group= is created by sysusers');
  assert.is(user![3], primary![2], 'the user\'s primary group is Group=');
  assert.is(user![5], `/var/lib/${unitValue('StateDirectory')}`);
  for (const g of unitValues('SupplementaryGroups').join(' ').split(/\s+/)) {
    const entry = group.find((x) => x[0] === g);
    assert.ok(entry, `group ${g} exists`);
    assert.ok(entry![3]!.split(',').includes(unitValue('User')!), `${unitValue('User')} is a member of ${g}`);
  }
  const state = statSync(path.join(root, 'var/lib', unitValue('StateDirectory')!));
  assert.is((state.mode & 0o7777).toString(8).padStart(4, '0'), unitValue('StateDirectoryMode'));
  assert.is(String(state.uid), user![2]);
  assert.is(String(state.gid), primary![2]);
  const conf = statSync(path.join(root, 'etc', unitValue('ConfigurationDirectory')!));
  assert.is((conf.mode & 0o7777).toString(8).padStart(4, '0'), unitValue('ConfigurationDirectoryMode'));
  assert.is(conf.uid, 0);
  assert.is(String(conf.gid), primary![2], 'the config directory is readable by the service group only');
});

// PR_SET_MDWE (Linux ≥ 6.3) = 65, PR_MDWE_REFUSE_EXEC_GAIN = 1; inherited across execve.
const MDWE = `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:
    print('MDWE-UNSUPPORTED', ctypes.get_errno(), file=sys.stderr); sys.exit(77)
os.execv(sys.argv[1], sys.argv[1:])
`;

test('MemoryDenyWriteExecute: a JIT node aborts under MDWE, the wrapper\'s --jitless node runs the demo', () => {
  assert.is(unitValue('MemoryDenyWriteExecute'), 'yes');
  const node = process.execPath;
  const loop = 'let s=0; for (let i=0;i<3e6;i++) s+=i; console.log("ran", s)';
  const jit = run('python3', ['-c', MDWE, node, '-e', loop]);
  if (jit.code === 77) {
    console.log('kernel without PR_SET_MDWE: MDWE part skipped');
    return;
  }
  assert.is.not(jit.code, 0, 'node with its JIT must not survive MDWE (else this check proves nothing)');
  // The wrapper itself (its flags and its choice by Node version), with this node and the tsc output (which has
  // the demo's lab server) in place of /usr/bin/node and the installed bundle.
  const text = readFileSync(WRAPPER, 'utf8');
  assert.match(text, /exec \/usr\/bin\/node --jitless /);
  const wrapper = path.join(tmp, 'enrolld-wrapper');
  writeFileSync(wrapper, text.replaceAll('/usr/bin/node', node).replace('"$ENROLLD_HOME/dist/bundle/enrolld.mjs"', JSON.stringify(path.join(ROOT, 'dist/agent/cli/main.js'))), { mode: 0o755 });
  const t0 = Date.now();
  const demo = run('python3', ['-c', MDWE, '/bin/sh', wrapper, 'demo'], { timeout: 60_000 });
  assert.is(demo.code, 0, demo.out + demo.err);
  assert.match(demo.out, /demo finished in .* state: enrolled/);
  assert.not.match(demo.err, /Warning/);
  console.log(`demo under MDWE through the wrapper (node ${process.version}): ${Date.now() - t0} ms wall`);
});

// PrivateUsers=yes: systemd sets the groups, then moves the service into a user namespace mapping only root and the
// service user/group. Emulated with setpriv + unshare (as root): a node that is root:tss 0660 stays readable
// through the unmapped supplementary group (shown as nogroup inside), and is not readable without it.
test('PrivateUsers=yes keeps group tss access to a root:tss 0660 device node', () => {
  assert.is(unitValue('PrivateUsers'), 'yes');
  const tss = run('getent', ['group', 'tss']);
  if (process.getuid?.() !== 0 || tss.code !== 0) {
    console.log('not root or no tss group: PrivateUsers emulation skipped');
    return;
  }
  const gid = tss.out.split(':')[2]!;
  const dev = path.join(tmp, 'dev');
  mkdirSync(dev, { recursive: true });
  chmodSync(tmp, 0o755);
  chmodSync(dev, 0o755);
  const node = path.join(dev, 'tpmrm0');
  writeFileSync(node, 'tpm\n');
  chownSync(node, 0, Number(gid));
  chmodSync(node, 0o660);
  const probe = `id -G; cat ${node}`;
  const withTss = run('setpriv', ['--reuid=nobody', '--regid=nogroup', `--groups=${gid}`, 'unshare', '--user', '--map-current-user', 'sh', '-c', probe]);
  if (/unshare failed|Operation not permitted/.test(withTss.err) && withTss.code !== 0 && !withTss.out) {
    console.log(`user namespaces unavailable here: ${withTss.err.trim()}`);
    return;
  }
  assert.is(withTss.code, 0, withTss.err);
  assert.not.match(withTss.out.split('\n')[0]!, new RegExp(`\\b${gid}\\b`), 'tss is not mapped inside the namespace');
  assert.match(withTss.out, /^tpm$/m);
  const without = run('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'unshare', '--user', '--map-current-user', 'sh', '-c', probe]);
  assert.is.not(without.code, 0);
  assert.match(without.err, /Permission denied/);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
