// `enrolld help`, `enrolld help <command>`, `enrolld --help` and `<command> --help`, run as a user runs them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli } from '../harness/cli.js';
import { COMMANDS, commandUsage, mainUsage } from '../../agent/cli/help.js';

test('enrolld help and enrolld --help print the command list with every command, exit 0', async () => {
  for (const args of [['help'], ['--help'], ['-h']]) {
    const r = await runCli(...args);
    assert.is(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.is(r.stdout, mainUsage() + '\n');
    for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c.name} +\\S`, 'm'), c.name);
  }
});

test('every command answers help <command> and <command> --help with the same text, listing all its options', async () => {
  for (const c of COMMANDS) {
    const a = await runCli('help', c.name);
    assert.is(a.status, 0, `help ${c.name}: ${a.stderr}`);
    assert.is(a.stdout, commandUsage(c.name) + '\n');
    assert.match(a.stdout, new RegExp(`^usage: enrolld ${c.name}`));
    for (const o of c.options) assert.ok(a.stdout.includes(o.flag), `${c.name}: ${o.flag} missing`);
    assert.match(a.stdout, /exit status:/);
    if (c.name === 'help') continue;
    const b = await runCli(c.name, '--help');
    assert.is(b.status, 0, `${c.name} --help: ${b.stderr}`);
    assert.is(b.stdout, a.stdout, `${c.name} --help differs from help ${c.name}`);
  }
  // --help wins over missing required options and over other options.
  const e = await runCli('enroll', '--config', '/nonexistent.json', '--help');
  assert.is(e.status, 0, e.stderr);
  assert.match(e.stdout, /^usage: enrolld enroll --now/);
});

test('unknown commands and options: exit 2 with a hint, never a stack trace', async () => {
  const u = await runCli('help', 'nope');
  assert.is(u.status, 2);
  assert.match(u.stderr, /unknown command 'nope'/);
  const v = await runCli('bogus');
  assert.is(v.status, 2);
  assert.match(v.stderr, /unknown command 'bogus'/);
  const w = await runCli('status', '--bogus');
  assert.is(w.status, 2);
  assert.match(w.stderr, /Unknown option '--bogus'/);
  assert.not.match(w.stderr, /\n\s+at /);
  const n = await runCli();
  assert.is(n.status, 2);
  assert.match(n.stderr, /^usage: enrolld <command>/);
});

test.run();
