// store/layout.ts: every state and firmware work file is named there once; the helpers agree with each other.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import * as L from '../../agent/store/layout.js';
import { FileBdSeqStore } from '../../agent/status/bdseq.js';

test('firmwareLayout: absolute paths of the work files, the .part pair next to the package', () => {
  const f = L.firmwareLayout('rel/fw');
  const dir = path.resolve('rel/fw');
  assert.is(f.dir, dir);
  assert.is(f.package, path.join(dir, 'package.der'));
  assert.is(f.packagePart, path.join(dir, 'package.der.part'));
  assert.is(f.packagePartMeta, path.join(dir, 'package.der.part.json'));
  assert.is(f.content, path.join(dir, 'content.bin'));
  assert.is(f.image, path.join(dir, 'image.bin'));
  assert.is(f.lock, path.join(dir, 'lock'));
  assert.is(f.outbox, path.join(dir, 'outbox'));
  assert.is(f.state, path.join(dir, 'firmware-state.json'));
  assert.is(f.downloadProgress, path.join(dir, 'download-progress.json'));
  assert.equal(L.partFiles(f.package), { part: f.packagePart, meta: f.packagePartMeta });
  assert.equal(L.outboxItemFiles(f.outbox, 'x-receipt'), { der: path.join(f.outbox, 'x-receipt.der'), meta: path.join(f.outbox, 'x-receipt.json') });
});

test('stateLayout: the firmware entries are firmwareLayout of <stateDir>/firmware; no two entries share a path', () => {
  const s = L.stateLayout('/var/lib/enrolld');
  assert.equal(s.firmware, L.firmwareLayout('/var/lib/enrolld/firmware'));
  assert.is(s.firmwareDir, s.firmware.dir);
  assert.is(s.firmwareState, s.firmware.state);
  assert.is(s.downloadProgress, s.firmware.downloadProgress);
  assert.is(s.firmwareLock, s.firmware.lock);
  assert.is(s.firmwarePackage, s.firmware.package);
  assert.is(s.firmwareOutbox, s.firmware.outbox);
  const flat = [...Object.entries(s).filter(([k]) => k !== 'firmware' && k !== 'dir').map(([, v]) => v as string), ...Object.entries(s.firmware).filter(([k]) => k !== 'dir').map(([, v]) => v)];
  const unique = new Set(flat);
  // the five firmware file aliases above are the only repeats
  assert.is(flat.length - unique.size, 5);
  for (const p of flat) assert.ok(p.startsWith('/var/lib/enrolld/'), p);
});

test('bdseqPath: a state directory gets mqtt-bdseq in it; the file itself stays; FileBdSeqStore uses it', () => {
  assert.is(L.bdseqPath('/s'), '/s/mqtt-bdseq');
  assert.is(L.bdseqPath('/s/mqtt-bdseq'), '/s/mqtt-bdseq');
  assert.is(L.bdseqPath('/s/other-mqtt-bdseq'), '/s/other-mqtt-bdseq/mqtt-bdseq');
  assert.is(new FileBdSeqStore('/s').file, L.stateLayout('/s').bdseq);
});

test.run();
