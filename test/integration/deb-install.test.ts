// The .deb as dpkg sees it: deploy/deb/build.sh builds it from this tree (once per tree state: harness/deb.ts), `dpkg-deb -I/-c` shows its fields and
// files, and `dpkg --root=<tmp>` installs it into a throwaway root with its own admin dir (--force-not-root so it
// also works unprivileged, --force-script-chrootless so the maintainer scripts run with DPKG_ROOT set instead of
// in a chroot, --force-depends because the throwaway root has no nodejs/libtss2 packages). Then the installed
// /usr/bin/enrolld (ENROLLD_HOME pointing into the root) runs `--help`, `status`, and a full `enroll --now` +
// `status` against the lab server and swtpm — proving the shipped bundle (no node_modules) and addon are complete.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAgentEnv } from '../harness/agent-env.js';
import { builtDeb } from '../harness/deb.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'enrolld-deb-'));
const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const arch = spawnSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).stdout.trim();
let deb = '';
const root = path.join(tmp, 'root');
const admin = path.join(root, 'var/lib/dpkg');

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): { code: number | null; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, env, cwd: ROOT });
  if (r.error) throw r.error;
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const dpkgArgs = (): string[] => [`--root=${root}`, `--admindir=${admin}`, `--log=${path.join(tmp, 'dpkg.log')}`, '--force-not-root', '--force-script-chrootless', '--force-depends', '--no-triggers'];

/** The installed wrapper, asynchronous (the lab server runs in this process and must keep answering). */
function enrolld(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return enrolldEnv({}, ...args);
}
function enrolldEnv(extra: NodeJS.ProcessEnv, ...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(path.join(root, 'usr/bin/enrolld'), args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000, env: { ...process.env, ENROLLD_HOME: path.join(root, 'usr/lib/enrolld'), ...extra } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const mode = (p: string): string => (statSync(path.join(root, p)).mode & 0o7777).toString(8).padStart(4, '0');

test('build.sh builds enrolld_<version>_<arch>.deb; dpkg-deb -I shows the fields', () => {
  deb = builtDeb();
  assert.is(path.basename(deb), `enrolld_${version}_${arch}.deb`);
  const info = sh('dpkg-deb', ['-I', deb]);
  assert.is(info.code, 0, info.err);
  const field = (f: string): string => new RegExp(`^ ${f}: (.*)$`, 'm').exec(info.out)?.[1] ?? '';
  assert.is(field('Package'), 'enrolld');
  assert.is(field('Version'), version);
  assert.is(field('Architecture'), arch);
  // The lowest Node version package.json "engines" admits.
  const engines = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
  assert.ok(field('Depends').startsWith(`nodejs (>= ${/\d+(\.\d+)*/.exec(engines)![0]}), `), field('Depends'));
  assert.match(field('Depends'), /init-system-helpers/);
  assert.match(field('Depends'), /systemd \| systemd-standalone-sysusers/);
  assert.match(field('Depends'), /libtss2-esys-3\.0\.2-0/);
  assert.match(field('Depends'), /libtss2-tctildr0/);
  assert.match(info.out, /conffiles/);
  for (const s of ['postinst', 'prerm', 'postrm']) assert.match(info.out, new RegExp(`\\*\\s+${s}`), `${s} is executable`);
  // Every file root-owned; the bundle with its source maps, no node_modules, tsc output, test code or lab server.
  const list = sh('dpkg-deb', ['-c', deb]).out.split('\n').filter(Boolean);
  assert.ok(list.every((l) => l.split(/\s+/)[1] === 'root/root'), 'all files root/root');
  const names = list.map((l) => l.split(/\s+/).at(-1)!);
  for (const bad of ['/node_modules/', '/dist/agent/', '/dist/test/', '/dist/deploy/', '/dist/bundle/demo-']) {
    assert.not.ok(names.some((n) => n.includes(bad)), `${bad} is not shipped`);
  }
  for (const f of ['enrolld.mjs', 'main.mjs', 'main.mjs.map', 'vendor/mqtt.cjs', 'vendor/mqtt.cjs.map']) {
    assert.ok(names.includes(`./usr/lib/enrolld/dist/bundle/${f}`), `dist/bundle/${f} is shipped`);
  }
  const maps = names.filter((n) => n.endsWith('.map'));
  assert.ok(maps.every((m) => names.includes(m.slice(0, -'.map'.length))), 'every source map sits beside its bundle file');
  console.log(`${path.basename(deb)}: ${statSync(deb).size} bytes, ${names.length} entries, Installed-Size ${field('Installed-Size')} KiB`);
});

test('dpkg --root installs it: files, modes, the unit, the conffile', () => {
  mkdirSync(path.join(admin, 'updates'), { recursive: true });
  mkdirSync(path.join(admin, 'info'), { recursive: true });
  writeFileSync(path.join(admin, 'status'), '');
  writeFileSync(path.join(admin, 'available'), '');
  const r = sh('dpkg', [...dpkgArgs(), '-i', deb]);
  assert.is(r.code, 0, r.out + r.err);
  const st = sh('dpkg-query', [`--admindir=${admin}`, '-W', '-f', '${Status} ${Version} ${Conffiles}', 'enrolld']);
  assert.match(st.out, new RegExp(`^install ok installed ${version.replace(/\./g, '\\.')} `));
  assert.match(st.out, /\/etc\/enrolld\/config\.json [0-9a-f]{32}/);
  assert.is(mode('usr/bin/enrolld'), '0755');
  assert.is(mode('etc/enrolld'), '0750');
  assert.is(mode('etc/enrolld/config.json'), '0640');
  assert.is(mode('usr/lib/enrolld/build/Release/enrolld_tpm.node'), '0644', 'a shared object, loaded by node');
  assert.is(readFileSync(path.join(root, 'lib/systemd/system/enrolld.service'), 'utf8'), readFileSync(path.join(ROOT, 'systemd/enrolld.service'), 'utf8'));
  // Man pages gzip -9n (no name or time stamp in the header: byte 3 flags = 0, bytes 4–7 mtime = 0), completion.
  for (const m of ['usr/share/man/man8/enrolld.8.gz', 'usr/share/man/man5/enrolld.json.5.gz']) {
    const gz = readFileSync(path.join(root, m));
    assert.is(gz[3], 0, `${m}: no file name stored`);
    assert.is(gz.readUInt32LE(4), 0, `${m}: no time stamp`);
    const page = sh('man', ['--warnings', '-l', path.join(root, m)], { ...process.env, MANWIDTH: '100' });
    assert.is(page.code, 0, page.err);
    assert.is(page.err.trim(), '', `${m}: groff warnings`);
  }
  assert.match(sh('man', ['-l', path.join(root, 'usr/share/man/man5/enrolld.json.5.gz')]).out, /est\.trustAnchorsFile/);
  const completion = path.join(root, 'usr/share/bash-completion/completions/enrolld');
  const complete = (...words: string[]): string =>
    sh('bash', ['-c', `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _enrolld; printf '%s\\n' "\${COMPREPLY[@]}"`, 'complete', completion, 'enrolld', ...words]).out.trim();
  assert.is(complete('sta'), 'status');
  assert.equal(complete('status', '--').split('\n').sort(), ['--config', '--help', '--json']);
  assert.is(complete('demo', '--protocol', 'cm').split('\n').sort().join(' '), 'cmc cmp');
  assert.is(complete('help', 'con'), 'config', 'help topics are completed');
  // postinst with DPKG_ROOT: sysusers and tmpfiles applied to the root, not to this machine.
  assert.match(readFileSync(path.join(root, 'etc/passwd'), 'utf8'), /^enrolld:/m);
  assert.is(mode('var/lib/enrolld'), '0700');
  assert.is(readFileSync(path.join(root, 'usr/lib/sysusers.d/enrolld.conf'), 'utf8'), readFileSync(path.join(ROOT, 'systemd/enrolld.sysusers'), 'utf8'));
  assert.is(readFileSync(path.join(root, 'usr/lib/tmpfiles.d/enrolld.conf'), 'utf8'), readFileSync(path.join(ROOT, 'systemd/enrolld.tmpfiles'), 'utf8'));
  assert.ok(existsSync(path.join(root, 'usr/lib/enrolld/dist/bundle/enrolld.mjs')));
  assert.not.ok(existsSync(path.join(root, 'usr/lib/enrolld/node_modules')), 'the bundle needs no node_modules');
  // The bundled modules' licences: one stanza for the bundle, a License paragraph per licence with each module's text.
  const copyright = readFileSync(path.join(root, 'usr/share/doc/enrolld/copyright'), 'utf8');
  assert.match(copyright, /^Files: usr\/lib\/enrolld\/dist\/bundle\/\*$/m);
  for (const m of ['pkijs', 'asn1js', 'mqtt', 'cbor-x', 'fast-xml-parser']) assert.match(copyright, new RegExp(`^ ${m} [0-9.]+: `, 'm'), `${m} listed`);
  for (const l of ['MIT', 'BSD-3-Clause', 'ISC']) assert.match(copyright, new RegExp(`^License: ${l}$`, 'm'), `${l} text`);
  // The installed unit verifies against the installed wrapper (host targets copied in for the dependency graph).
  const units = path.join(root, 'lib/systemd/system');
  for (const t of ['sysinit.target', 'basic.target', 'shutdown.target', 'multi-user.target', 'network-online.target', 'time-sync.target', 'network.target', 'paths.target', 'slices.target', 'sockets.target', 'timers.target', 'local-fs.target', 'swap.target', 'umount.target']) {
    for (const d of ['/usr/lib/systemd/system', '/lib/systemd/system']) {
      if (existsSync(path.join(d, t))) {
        writeFileSync(path.join(units, t), readFileSync(path.join(d, t)));
        break;
      }
    }
  }
  const v = sh('systemd-analyze', ['verify', `--root=${root}`, 'enrolld.service']);
  assert.is(v.code, 0, v.err);
  assert.is(v.err.trim(), '');
});

test('a reinstall keeps the administrator\'s edited conffile', () => {
  const conf = path.join(root, 'etc/enrolld/config.json');
  const edited = readFileSync(conf, 'utf8').replace('est.example.com', 'est.site.example');
  writeFileSync(conf, edited);
  const r = sh('dpkg', [...dpkgArgs(), '--force-confold', '-i', deb]);
  assert.is(r.code, 0, r.out + r.err);
  assert.is(readFileSync(conf, 'utf8'), edited);
});

test('the installed /usr/bin/enrolld runs: --help, status, enroll --now against the lab with swtpm', async () => {
  const help = await enrolld('--help');
  assert.is(help.status, 0, help.stderr);
  assert.match(help.stdout, /usage: enrolld <command>/);
  assert.is(help.stderr, '', 'no V8 warning from --jitless/--no-expose-wasm');
  // ENROLLD_SOURCE_MAPS=1 adds --enable-source-maps: the shipped maps load without a warning.
  const mapped = await enrolldEnv({ ENROLLD_SOURCE_MAPS: '1' }, '--help');
  assert.is(mapped.status, 0, mapped.stderr);
  assert.is(mapped.stderr, '');
  assert.is(mapped.stdout, help.stdout);
  const prov = await enrolld('provision', '--help');
  assert.is(prov.status, 0, prov.stderr);
  assert.match(prov.stdout, /usage: enrolld provision --device-id ID/);
  const demo = await enrolld('demo');
  assert.is(demo.status, 1);
  assert.match(demo.stderr, /cli\.demo: the demo needs the lab server/);
  const env = await startAgentEnv();
  try {
    const cfg = path.join(env.dir, 'config.json');
    const before = await enrolld('status', '--config', cfg);
    assert.is(before.status, 0, before.stderr);
    assert.match(before.stdout, /state:\s+unprovisioned/);
    const e = await enrolld('enroll', '--now', '--config', cfg);
    assert.is(e.status, 0, e.stderr + e.stdout);
    assert.match(e.stdout, /state:\s+enrolled/);
    const js = JSON.parse((await enrolld('status', '--json', '--config', cfg)).stdout) as { phase: string };
    assert.is(js.phase, 'enrolled');
  } finally {
    await env.stop();
  }
});

test('dpkg --remove leaves state alone and removes the program', () => {
  const r = sh('dpkg', [...dpkgArgs(), '--remove', 'enrolld']);
  assert.is(r.code, 0, r.out + r.err);
  assert.not.ok(existsSync(path.join(root, 'usr/bin/enrolld')));
  assert.ok(existsSync(path.join(root, 'etc/enrolld/config.json')), 'conffile kept until purge');
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
