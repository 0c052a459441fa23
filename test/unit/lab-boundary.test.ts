// The lab is its own project: no module under deploy/lab/ imports anything outside deploy/lab/ (in particular not
// agent/), so the agent is tested against a peer written from the specs, never against itself. Static imports,
// re-exports and import('…') with a literal path are all checked; packages (pkijs, asn1js, node:*) are fine.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const top = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const lab = path.join(top, 'deploy', 'lab');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const SPECIFIERS = [/(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*'([^']+)'/g, /(?:^|[\s;])import\s*'([^']+)'/g, /\bimport\(\s*'([^']+)'\s*\)/g];

test('no deploy/lab module imports from outside deploy/lab (agent/ included)', () => {
  const files = sources(lab);
  assert.ok(files.length >= 20, `only ${files.length} lab sources found under ${lab}`);
  const outside: string[] = [];
  for (const f of files) {
    const src = readFileSync(f, 'utf8');
    for (const re of SPECIFIERS) {
      for (const m of src.matchAll(re)) {
        const spec = m[1]!;
        if (!spec.startsWith('.')) continue; // a package
        const target = path.resolve(path.dirname(f), spec);
        if (!target.startsWith(lab + path.sep)) outside.push(`${path.relative(top, f)} → ${spec}`);
      }
    }
  }
  assert.equal(outside, [], `imports outside deploy/lab:\n${outside.join('\n')}`);
});

test('the lab has its own tsconfig rooted at deploy/lab', () => {
  const cfg = readFileSync(path.join(lab, 'tsconfig.json'), 'utf8');
  assert.match(cfg, /"rootDir":\s*"\."/);
});

test.run();
