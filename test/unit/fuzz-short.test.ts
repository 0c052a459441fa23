// The fixed-seed short fuzz run (CI) and the regression fixtures: every parser that reads network input returns or
// throws a typed EnrolldError — never a TypeError/RangeError, never a hang. The long run is `npm run fuzz --
// --iterations N --seed S [--save]` (test/fuzz/run.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildTargets } from '../fuzz/targets.js';
import { fixtures, fuzz, probe } from '../fuzz/run.js';

test('regression fixtures (test/fixtures/fuzz) are handled with typed errors', async () => {
  const targets = new Map((await buildTargets()).map((t) => [t.name, t]));
  const fx = fixtures();
  assert.ok(fx.length >= 5, `fixtures found: ${fx.length}`);
  for (const f of fx) {
    const t = targets.get(f.target);
    assert.ok(t, `fixture ${f.file} names no target`);
    assert.is(await probe(t!, f.input), undefined, f.file);
  }
});

test('fixed-seed short run over every target: no untyped error, no hang', async () => {
  const r = await fuzz({ seed: 0x5eed, iterations: 1500 });
  const summary = r.findings.map((f) => `${f.target} #${f.iteration}: ${f.error.split('\n')[0]}`).join('\n');
  assert.is(r.findings.length, 0, summary);
  assert.ok(Object.keys(r.iterations).length >= 13);
});

test.run();
