// keys.json (key package metadata and the receipt outbox) through the DocumentStore: the bare JSON of earlier
// versions is converted once, every save keeps a previous good copy, a damaged file falls back to it, and when no
// copy is usable the load is a typed error (keys.state), never an empty state that would forget sealed keys.
import { mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KeysStateFile } from '../../agent/packages/keys/common.js';
import { EnrolldError } from '../../agent/util/errors.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'enrolld-keys-state-'));
const legacy = {
  schema: 1,
  symmetric: [{ keyId: 'k1', receivedAt: '2026-01-01T00:00:00.000Z', sealed: { id: 'skey-k1', length: 16, location: { parent: 1 } } }],
  serverKeys: [],
  outbox: [{ kind: 'receipt', path: 'symmetrickeys', der: 'MAA=', pkgId: '01' }],
};

test('a bare keys.json of an earlier version is converted once into the store format, with a previous copy', async () => {
  const dir = path.join(tmp, 'legacy');
  await new KeysStateFile(dir).load(); // creates the directory
  writeFileSync(path.join(dir, 'keys.json'), JSON.stringify(legacy, null, 2), { mode: 0o600 });
  const s = await new KeysStateFile(dir).load();
  assert.equal(s, legacy);
  const raw = readFileSync(path.join(dir, 'keys.json'), 'utf8');
  assert.match(raw, /^\{"checksum":/);
  assert.ok(existsSync(path.join(dir, 'keys.json.prev')));
  assert.is(statSync(path.join(dir, 'keys.json')).mode & 0o777, 0o600);
  // updates go through the store and read back
  await new KeysStateFile(dir).update((st) => {
    st.outbox = [];
  });
  assert.equal((await new KeysStateFile(dir).load()).outbox, []);
  assert.equal((await new KeysStateFile(dir).load()).symmetric, legacy.symmetric);
});

test('a damaged keys.json falls back to the previous good copy; both damaged is keys.state', async () => {
  const dir = path.join(tmp, 'damaged');
  const f = new KeysStateFile(dir);
  await f.update((st) => {
    st.symmetric.push(legacy.symmetric[0]!);
  });
  await f.update((st) => {
    st.outbox.push(legacy.outbox[0]! as never);
  });
  const main = path.join(dir, 'keys.json');
  const bytes = readFileSync(main);
  writeFileSync(main, bytes.subarray(0, bytes.length - 20));
  const back = await new KeysStateFile(dir).load();
  assert.equal(back.symmetric, legacy.symmetric, 'the previous generation (one key, no outbox item)');
  assert.equal(back.outbox, []);
  writeFileSync(`${main}.prev`, 'garbage');
  writeFileSync(main, 'garbage');
  try {
    await new KeysStateFile(dir).load();
    assert.unreachable('must throw');
  } catch (e) {
    assert.ok(e instanceof EnrolldError, String(e));
    assert.is((e as EnrolldError).code, 'keys.state');
  }
});

test.run();
