// lintian on the built .deb: no error, warning or info tag, and every override the package ships
// (deploy/deb/lintian-overrides) is both used by lintian and explained in README.md. The check can fail: the same
// package with an executable addon and an uncompressed man page is reported.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtDeb } from '../harness/deb.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'enrolld-lintian-'));
const hasLintian = spawnSync('sh', ['-c', 'command -v lintian'], { stdio: 'ignore' }).status === 0;
if (!hasLintian) console.log('lintian tests SKIPPED: lintian is not installed (Debian package lintian)');
const t = hasLintian ? test : test.skip;
let deb = '';

function sh(cmd: string, args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 240_000, cwd: ROOT });
  if (r.error) throw r.error;
  return { code: r.status, out: r.stdout, err: r.stderr };
}
/** lintian's tag lines (E/W/I/P/X/O), without its "running with root privileges" notice. */
function lintian(file: string, ...extra: string[]): string[] {
  const r = sh('lintian', ['--info', '--display-info', '--no-tag-display-limit', ...extra, file]);
  assert.ok(r.code === 0 || r.code === 1 || r.code === 2, `lintian failed to run: ${r.err}`);
  return (r.out + r.err).split('\n').filter((l) => /^[EWIPXO]: /.test(l));
}

t('lintian: no tags on the built package', () => {
  deb = builtDeb();
  const tags = lintian(deb);
  console.log(`lintian ${sh('lintian', ['--version']).out.trim()}: ${tags.length} tag(s)`);
  assert.equal(tags, []);
});

t('every shipped override is used by lintian and explained in the README', () => {
  const overrides = readFileSync(path.join(ROOT, 'deploy/deb/lintian-overrides'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(/\s+/)[1]!);
  assert.ok(overrides.length > 0);
  const shown = lintian(deb, '--show-overrides').filter((l) => l.startsWith('O: '));
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  for (const tag of overrides) {
    assert.ok(shown.some((l) => l.includes(` ${tag} `)), `override ${tag} is not used (lintian: ${shown.join(' | ')})`);
    assert.ok(readme.includes(tag), `README.md does not explain the ${tag} override`);
  }
  assert.is(shown.length, overrides.length);
});

t('the check can fail: an executable addon and an uncompressed man page are reported', () => {
  const dir = path.join(tmp, 'bad');
  assert.is(sh('dpkg-deb', ['-R', deb, dir]).code, 0);
  chmodSync(path.join(dir, 'usr/lib/enrolld/build/Release/enrolld_tpm.node'), 0o755);
  assert.is(sh('gunzip', [path.join(dir, 'usr/share/man/man8/enrolld.8.gz')]).code, 0);
  const bad = path.join(tmp, 'bad.deb');
  assert.is(sh('dpkg-deb', ['--root-owner-group', '-Zxz', '-z1', '--build', dir, bad]).code, 0);
  const tags = lintian(bad).join('\n');
  assert.match(tags, /shared-library-is-executable/);
  assert.match(tags, /uncompressed-manual-page|manpage-not-compressed/);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
