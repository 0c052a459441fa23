// `enrolld help config` comes from the config schema: every field the valibot schema accepts (walked here on its
// own, not through config/docs.ts) is listed with its text, so a field added to agent/config/schema.ts cannot be
// missing from the help.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { configUsage, COMMANDS, mainUsage } from '../../agent/cli/help.js';
import { fieldRows } from '../../agent/config/docs.js';
import { documentSchema } from '../../agent/config/schema.js';

interface Node {
  type: string;
  wrapped?: Node;
  pipe?: Node[];
  entries?: Record<string, Node>;
  options?: Node[];
}

/** Every dotted field path of the document schema: objects' entries, through optional, pipe and the protocol variant. */
function schemaPaths(): Set<string> {
  const out = new Set<string>();
  const walk = (s: Node, p: string): void => {
    if (s.type === 'optional' || s.type === 'nullable' || s.type === 'exact_optional') return walk(s.wrapped!, p);
    if (s.pipe && s.pipe[0] !== s) return walk(s.pipe[0]!, p);
    if (s.options) return s.options.forEach((o) => walk(o, p));
    for (const [k, c] of Object.entries(s.entries ?? {})) {
      const q = p ? `${p}.${k}` : k;
      out.add(q);
      walk(c, q);
    }
  };
  walk(documentSchema('/etc/enrolld') as unknown as Node, '');
  return out;
}

test('every schema field and section is in `enrolld help config`, with its text', () => {
  const text = configUsage();
  const lines = new Set(text.split('\n'));
  const paths = schemaPaths();
  assert.ok(paths.size > 80, `${paths.size} fields walked`);
  for (const p of ['deviceId', 'stateDir', 'est.url', 'cmp.mac.secretFile', 'acme.timeoutMs', 'tamp.hardware', 'mqtt.topicPrefix']) assert.ok(paths.has(p), p);
  for (const p of paths) {
    const listed = [...lines].some((l) => l.startsWith(`  ${p} (`) || l.startsWith(`${p} (section):`));
    assert.ok(listed, `${p} is in the schema but not in \`enrolld help config\``);
  }
  const flat = text.replace(/\s+/g, ' ');
  for (const r of fieldRows()) assert.ok(flat.includes(r.doc.doc.replace(/\s+/g, ' ')), `${r.path}: text missing`);
});

test('the help command names the config topic; the topic is not a command', () => {
  assert.match(mainUsage(), /enrolld help config/);
  assert.ok(COMMANDS.find((c) => c.name === 'help')!.synopsis.includes('config'));
  assert.not.ok(COMMANDS.some((c) => c.name === 'config'));
});

test.run();
