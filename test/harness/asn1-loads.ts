// Which pkijs/asn1js modules a piece of agent code loads (ARCHITECTURE.md §Start-up path): the code runs in a child
// node whose module.register() load hook appends every pkijs/asn1js URL to a file.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const HOOK = `import { appendFileSync } from 'node:fs';
let out;
export function initialize(d) { out = d.out; }
export async function load(url, context, next) {
  if (/[\\\\/]node_modules[\\\\/](pkijs|asn1js)[\\\\/]/.test(url)) appendFileSync(out, url + '\\n');
  return next(url, context);
}`;

/** Runs `body` (ESM, top-level await) in a child node, writing the record under `dir`; returns the URLs loaded. */
export function asn1LoadsOf(dir: string, body: string): string[] {
  const out = path.join(dir, `loads-${Math.random().toString(36).slice(2)}.txt`);
  const script = `import { register } from 'node:module';
import { writeFileSync } from 'node:fs';
writeFileSync(${JSON.stringify(out)}, '');
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOK)}), { data: { out: ${JSON.stringify(out)} } });
${body}`;
  execFileSync(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'inherit', 'inherit'] });
  return readFileSync(out, 'utf8').split('\n').filter(Boolean);
}
