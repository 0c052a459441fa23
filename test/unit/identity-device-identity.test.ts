// DeviceIdentity: one live credential; renewal (use) moves holders; a replaced key is deleted only once no holder uses it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeviceIdentity, type DeviceCredential } from '../../agent/identity/device-identity.js';
import { SoftwareKeyStore } from '../../agent/keystore/software.js';
import { toStoredKey, type Credential } from '../../agent/lifecycle/state.js';
import { memoryLogger } from '../../agent/util/log.js';

async function setup(): Promise<{ ks: SoftwareKeyStore; log: ReturnType<typeof memoryLogger>; cred: (id: string) => Promise<Credential> }> {
  const ks = new SoftwareKeyStore();
  const log = memoryLogger('debug');
  const cred = async (id: string): Promise<Credential> => ({
    key: toStoredKey(await ks.createKey(id, 'ecc-p256')),
    certPem: `cert-${id}`,
    chainPem: [],
    subject: 'CN=dev',
    serial: `s-${id}`,
    notBefore: '2026-01-01T00:00:00.000Z',
    notAfter: '2027-01-01T00:00:00.000Z',
    renewAt: '2026-09-01T00:00:00.000Z',
  });
  return { ks, log, cred };
}

const exists = (ks: SoftwareKeyStore, c: Credential): boolean => {
  try {
    ks.signer({ id: c.key.id, algorithm: c.key.algorithm, spki: new Uint8Array(), location: {} });
    return true;
  } catch {
    return false;
  }
};

test('current() follows the persisted record; use() is idempotent per credential', async () => {
  const { ks, log, cred } = await setup();
  let record: Credential | undefined;
  const id = new DeviceIdentity({ keystore: ks, log, load: async () => record });
  assert.is(await id.current(), undefined);
  record = await cred('a');
  const a = await id.current();
  assert.is(a?.id, 's-a/a');
  assert.is(await id.current(), a);
  assert.is(id.use(record), a);
  const tls = await a!.tls();
  assert.equal(tls.certChain, ['cert-a']);
  record = await cred('b');
  assert.is((await id.current())?.id, 's-b/b');
});

test('retire waits for holders to move; a holder that cannot move keeps its key', async () => {
  const { ks, log, cred } = await setup();
  const a = await cred('a');
  const b = await cred('b');
  const c = await cred('c');
  const id = new DeviceIdentity({ keystore: ks, log, load: async () => a });
  const seen: string[] = [];
  let accept = true;
  id.hold({ name: 'test.conn', switchTo: async (x: DeviceCredential) => (seen.push(x.id), accept) }, await id.current());
  id.use(b);
  await id.retire({ id: a.key.id, algorithm: a.key.algorithm, spki: new Uint8Array(), location: {} });
  await id.settled();
  assert.equal(seen, ['s-b/b']);
  assert.not.ok(exists(ks, a), 'the old key went after the switch');
  accept = false;
  id.use(c);
  await id.retire({ id: b.key.id, algorithm: b.key.algorithm, spki: new Uint8Array(), location: {} });
  await id.settled();
  assert.ok(exists(ks, b), 'still held: kept');
  assert.ok(log.lines.some((l) => l.includes('key.delete-deferred')));
});

test('retire without holders deletes at once', async () => {
  const { ks, log, cred } = await setup();
  const a = await cred('a');
  const id = new DeviceIdentity({ keystore: ks, log, load: async () => a });
  await id.retire({ id: a.key.id, algorithm: a.key.algorithm, spki: new Uint8Array(), location: {} });
  assert.not.ok(exists(ks, a));
});

test.run();
