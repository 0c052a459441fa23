#!/usr/bin/env node
// enrolld test runner (plain JS; `npm test` builds first via pretest, then runs this).
//
// Finds the compiled suites dist/test/**/*.test.js (unit first, then integration, then anything else), runs each
// file as its own `node` process in its own process group, at most TEST_JOBS at a time, with a per-file timeout,
// parses uvu's summary ("Total:", "Passed:", "Skipped:") and prints as its very last line
//     N passed, M failed[, K skipped]
// so CI can read it. A file that crashes, times out, exits non-zero or prints no summary counts as failed.
//
//   npm test                 all suites
//   npm test -- tpm store    only files whose path contains "tpm" or "store"
//
// Environment:
//   TEST_JOBS=2        files run in parallel (default: min(2, CPUs))
//   TEST_TIMEOUT=300   per-file timeout in seconds
//   TEST_VERBOSE=1     print every file's output, not only failing ones
//   TEST_MAX_LINES=400 lines of a failing file's output to print (tail; 0 = all)
//
// Per-file node flags: a line `// node-flags: --expose-gc …` among a test file's first 10 lines (tsc keeps comments)
// puts those flags before the file on its node command line. Only flags of the form --name or --name=value.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST_TEST = path.join(ROOT, 'dist', 'test');

function intEnv(name, fallback, min) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    console.error(`run.mjs: ${name}=${raw} is not an integer >= ${min}`);
    process.exit(2);
  }
  return n;
}

const cpus = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
const JOBS = intEnv('TEST_JOBS', Math.max(1, Math.min(2, cpus)), 1);
const TIMEOUT_MS = intEnv('TEST_TIMEOUT', 300, 1) * 1000;
const VERBOSE = process.env.TEST_VERBOSE === '1';
const MAX_LINES = intEnv('TEST_MAX_LINES', 400, 0);
const filters = process.argv.slice(2).filter((a) => a !== '');

// ---------------------------------------------------------------------------------------------------------------
// Discovery

function walk(dir) {
  const out = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.isFile() && e.name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

/** 0 = unit, 1 = integration, 2 = anything else; then alphabetical. */
function phaseOf(rel) {
  if (rel.startsWith('unit/')) return 0;
  if (rel.startsWith('integration/')) return 1;
  return 2;
}

/** A compiled test whose TypeScript source is gone is a stale leftover in dist/: skip it (and say so). */
function hasSource(rel) {
  const base = path.join(ROOT, 'test', rel.replace(/\.js$/, ''));
  return ['.ts', '.mts', '.js', '.mjs'].some((ext) => existsSync(base + ext));
}

const stale = [];
const files = walk(DIST_TEST)
  .map((abs) => ({ abs, rel: path.relative(DIST_TEST, abs).split(path.sep).join('/') }))
  .filter((f) => {
    if (hasSource(f.rel)) return true;
    stale.push(f.rel);
    return false;
  })
  // Matched against the path without the ".test.js" suffix, so that `npm test -- est` does not select every file.
  .filter((f) => filters.length === 0 || filters.some((s) => f.rel.replace(/\.test\.js$/, '').includes(s)))
  .sort((a, b) => phaseOf(a.rel) - phaseOf(b.rel) || a.rel.localeCompare(b.rel));

// ---------------------------------------------------------------------------------------------------------------
// Running one file

const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

/** uvu 0.5.6 prints "  Total:     N", "  Passed:    N", "  Skipped:   N", "  Duration:  …" once at the end. */
function parseSummary(text) {
  const clean = text.replace(ANSI, '');
  const grab = (label) => {
    const all = [...clean.matchAll(new RegExp(`^\\s*${label}:\\s+(\\d+)\\s*$`, 'gm'))];
    return all.length ? Number(all[all.length - 1][1]) : undefined;
  };
  const total = grab('Total');
  const passed = grab('Passed');
  const skipped = grab('Skipped');
  if (total === undefined || passed === undefined) return undefined;
  return { total, passed, skipped: skipped ?? 0 };
}

const running = new Set(); // children, so Ctrl-C / SIGTERM can take their process groups down too

function killGroup(child, signal) {
  if (child.pid === undefined) return false;
  try {
    process.kill(-child.pid, signal);
    return true;
  } catch {
    return false; // ESRCH: group already gone
  }
}

/** The `// node-flags: …` pragma of a compiled test file (see the header). */
function nodeFlagsOf(abs) {
  let head;
  try {
    head = readFileSync(abs, 'utf8').split('\n', 10);
  } catch {
    return [];
  }
  const line = head.find((l) => /^\/\/\s*node-flags:/.test(l));
  if (!line) return [];
  return line
    .replace(/^\/\/\s*node-flags:/, '')
    .trim()
    .split(/\s+/)
    .filter((f) => /^--[a-z0-9-]+(=[\w.,:-]+)?$/.test(f));
}

// Test files, and every node they start, run without NODE_EXTRA_CA_CERTS: Node 20 parses that file at each start
// (≈ 75 ms for a distribution bundle), and no test trusts anything but the anchors it configures.
const FILE_ENV = { ...process.env, NODE_DISABLE_COLORS: '1', FORCE_COLOR: '0' };
delete FILE_ENV.NODE_EXTRA_CA_CERTS;

function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const chunks = [];
    let timedOut = false;
    let settled = false;
    const child = spawn(process.execPath, [...nodeFlagsOf(file.abs), file.abs], {
      cwd: ROOT,
      detached: true, // own process group: a timeout kills the file and everything it started
      stdio: ['ignore', 'pipe', 'pipe'],
      env: FILE_ENV,
    });
    running.add(child);
    child.stdout.on('data', (d) => chunks.push(d));
    child.stderr.on('data', (d) => chunks.push(d));

    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGTERM');
      setTimeout(() => killGroup(child, 'SIGKILL'), 3000).unref();
    }, TIMEOUT_MS);

    const finish = (code, signal, spawnError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      running.delete(child);
      // Anything the file started and left behind (a broker, a TPM simulator) is in the same group: end it.
      // Wait for the pipes to close after that, but bounded (a leftover that ignores SIGTERM gets SIGKILL).
      const leftovers = killGroup(child, 'SIGTERM');
      const collect = () => {
        const output = Buffer.concat(chunks).toString('utf8') + (spawnError ? `\n${spawnError.stack ?? spawnError}\n` : '');
        const summary = parseSummary(output);
        const ms = Date.now() - started;
        let passed = summary?.passed ?? 0;
        let failed = summary ? Math.max(0, summary.total - summary.passed) : 0;
        const skipped = summary?.skipped ?? 0;
        let reason = '';
        if (timedOut) reason = `timed out after ${TIMEOUT_MS / 1000}s`;
        else if (spawnError) reason = `could not start: ${spawnError.message}`;
        else if (signal) reason = `killed by ${signal}`;
        else if (!summary) reason = 'crashed or printed no uvu summary';
        else if (code !== 0 && failed === 0) reason = `exit code ${code} after all tests passed (hook failure or early exit)`;
        const ok = reason === '' && failed === 0;
        if (!ok && failed === 0) failed = 1; // the file as a whole failed
        if (!ok && timedOut) passed = 0;
        resolve({ file, ok, passed, failed, skipped, ms, reason, output });
      };
      if (!leftovers) {
        // Streams may still hold buffered data: let them drain.
        if (child.stdout.readableEnded && child.stderr.readableEnded) collect();
        else {
          const t = setTimeout(collect, 2000);
          child.once('close', () => {
            clearTimeout(t);
            collect();
          });
        }
        return;
      }
      const hard = setTimeout(() => killGroup(child, 'SIGKILL'), 2000);
      const give = setTimeout(collect, 4000);
      child.once('close', () => {
        clearTimeout(hard);
        clearTimeout(give);
        collect();
      });
    };
    child.once('error', (err) => finish(null, null, err));
    child.once('exit', (code, signal) => finish(code, signal, undefined));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Pool + report

function tail(text, n) {
  const lines = text.replace(/\s+$/, '').split('\n');
  if (n === 0 || lines.length <= n) return lines.join('\n');
  return `… (${lines.length - n} earlier lines omitted; TEST_MAX_LINES=0 prints all)\n` + lines.slice(-n).join('\n');
}

function indent(text) {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

function describe(r) {
  const counts = `${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}`;
  const secs = (r.ms / 1000).toFixed(1);
  return `${r.ok ? 'ok  ' : 'FAIL'} ${r.file.rel}  ${counts}  (${secs}s)${r.reason ? `  — ${r.reason}` : ''}`;
}

async function runPhase(list, results) {
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const file = list[next++];
      const r = await runFile(file);
      results.push(r);
      console.log(describe(r));
      if (VERBOSE && r.ok) console.log(indent(tail(r.output.replace(ANSI, ''), MAX_LINES)));
    }
  };
  await Promise.all(Array.from({ length: Math.min(JOBS, list.length) }, worker));
}

function onSignal(sig) {
  for (const c of running) killGroup(c, 'SIGKILL');
  console.log(`\ninterrupted by ${sig}`);
  console.log('0 passed, 1 failed');
  process.exit(130);
}
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));

async function main() {
  if (!existsSync(DIST_TEST) || !statSync(DIST_TEST).isDirectory()) {
    console.log(`no compiled tests in ${path.relative(ROOT, DIST_TEST)}/ — run \`npm run build\` (npm test does it)`);
    console.log('0 passed, 0 failed');
    process.exit(1);
  }
  if (stale.length) console.log(`skipping ${stale.length} stale compiled file(s) without source: ${stale.join(', ')}`);
  if (files.length === 0) {
    console.log(filters.length ? `no test file matches ${filters.map((f) => JSON.stringify(f)).join(' or ')}` : 'no test files found');
    console.log('0 passed, 0 failed');
    process.exit(1);
  }
  console.log(
    `running ${files.length} test file(s), ${JOBS} at a time, timeout ${TIMEOUT_MS / 1000}s each` +
      (filters.length ? `, filter ${filters.map((f) => JSON.stringify(f)).join(' | ')}` : ''),
  );
  const started = Date.now();
  const results = [];
  for (const phase of [0, 1, 2]) await runPhase(files.filter((f) => phaseOf(f.rel) === phase), results);

  const failedFiles = results.filter((r) => !r.ok);
  for (const r of failedFiles) {
    console.log(`\n──── ${r.file.rel} (${r.reason || `${r.failed} failed`}) ────`);
    console.log(indent(tail(r.output.replace(ANSI, ''), MAX_LINES) || '(no output)'));
  }
  const sum = (k) => results.reduce((n, r) => n + r[k], 0);
  const passed = sum('passed');
  const failed = sum('failed');
  const skipped = sum('skipped');
  console.log(
    `\n${results.length} file(s) in ${((Date.now() - started) / 1000).toFixed(1)}s: ` +
      `${results.length - failedFiles.length} ok, ${failedFiles.length} failed` +
      (failedFiles.length ? ` (${failedFiles.map((r) => r.file.rel).join(', ')})` : ''),
  );
  // The very last line: CI parses it.
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exitCode = failed > 0 || failedFiles.length > 0 ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  for (const c of running) killGroup(c, 'SIGKILL');
  console.log('0 passed, 1 failed');
  process.exit(1);
});
