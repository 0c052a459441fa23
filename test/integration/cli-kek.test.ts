// `enrolld kek` run as the operator runs it, against a swtpm: it creates the key-encryption key in the TPM, writes
// and prints its SubjectPublicKeyInfo PEM and key identifier; `openssl pkey -pubin` reads the PEM as an RSA-2048
// public key, the key identifier is openssl's SHA-1 of the subjectPublicKey (RFC 5280 §4.2.1.2 method 1), a rerun
// gives the same key, and what a server encrypts to that PEM (RSAES-OAEP SHA-256) the TPM decrypts.
import { constants, publicEncrypt, randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import { KeysStateFile } from '../../agent/packages/keys/common.js';
import { kekFromStored } from '../../agent/packages/keys/kek.js';
import { startAgentEnv } from '../harness/agent-env.js';
import { runCli } from '../harness/cli.js';
import { opensslKeyId, opensslText } from '../harness/pydecode.js';

const env = await startAgentEnv();
const cfg = path.join(env.dir, 'kek-config.json');
writeFileSync(cfg, JSON.stringify({ ...env.configDoc, keyPackages: { trustAnchorsFile: 'est-ta.pem' } }));
const out = path.join(env.dir, 'handed-to-server.pem');

test.after(async () => {
  await env.stop();
});

test('enrolld kek: creates the KEK in the TPM, writes and prints its PEM and key identifier; openssl pkey -pubin reads it', async () => {
  const r = await runCli('kek', '--config', cfg, '--out', out);
  assert.is(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /RSA-2048 in the TPM, created now/);
  const keyId = /key identifier \(subjectKeyIdentifier\): ([0-9a-f]{40})/.exec(r.stdout)?.[1];
  assert.ok(keyId, r.stdout);
  const pem = readFileSync(out, 'utf8');
  assert.ok(r.stdout.includes(pem.trimEnd()), 'the printed PEM is the written one');
  const stateFile = path.join(env.dir, 'state', 'keys', 'kek.pub.pem');
  assert.is(readFileSync(stateFile, 'utf8'), pem, 'keyPackages.kek.publicKeyFile default');
  assert.is(statSync(stateFile).mode & 0o777, 0o600);
  assert.is(statSync(path.join(env.dir, 'state', 'keys', 'keys.json')).mode & 0o777, 0o600);
  const text = opensslText(['pkey', '-pubin', '-in', '{dir}/k.pem', '-noout', '-text'], { 'k.pem': pem });
  assert.match(text, /Public-Key: \(2048 bit\)/);
  assert.match(text, /Exponent: 65537/);
  assert.is(keyId, opensslKeyId(pem));

  // a rerun: the same key, nothing created; --json for scripts
  const written = statSync(stateFile);
  const again = await runCli('kek', '--config', cfg, '--json');
  assert.is(again.status, 0, again.stderr);
  const j = JSON.parse(again.stdout) as { keyId: string; created: boolean; publicKeyPem: string; file: string };
  assert.equal([j.keyId, j.created, j.publicKeyPem, j.file], [keyId, false, pem, stateFile]);
  // the file already holds the key: not written again (same inode, same mtime); a changed one is rewritten
  assert.equal([statSync(stateFile).ino, statSync(stateFile).mtimeMs], [written.ino, written.mtimeMs]);
  writeFileSync(stateFile, 'not the key\n', { mode: 0o600 });
  assert.is((await runCli('kek', '--config', cfg)).status, 0);
  assert.is(readFileSync(stateFile, 'utf8'), pem);

  // what a server encrypts to the PEM, the TPM decrypts (the key lives there, not in a file)
  const kek = kekFromStored((await new KeysStateFile(path.join(env.dir, 'state', 'keys')).load()).keks![0]!);
  assert.is(Buffer.from(kek.keyId).toString('hex'), keyId);
  const cek = randomBytes(32);
  const ek = publicEncrypt({ key: pem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek);
  const store = await TpmKeyStore.open({ tcti: env.tpm.tcti });
  try {
    assert.equal(Buffer.from(await store.decrypt(kek.record, new Uint8Array(ek))).toString('hex'), cek.toString('hex'));
  } finally {
    await store.close();
  }
  assert.not.ok(readFileSync(path.join(env.dir, 'state', 'keys', 'keys.json'), 'utf8').includes('PRIVATE KEY'));
});

test('enrolld kek without keyPackages (or with the KEK off): configuration error, exit 2, no key created', async () => {
  const none = path.join(env.dir, 'no-kp.json');
  writeFileSync(none, JSON.stringify(env.configDoc));
  const r = await runCli('kek', '--config', none);
  assert.is(r.status, 2, r.stdout);
  assert.match(r.stderr, /configuration error: keyPackages: not configured/);
  const off = path.join(env.dir, 'kek-off.json');
  writeFileSync(off, JSON.stringify({ ...env.configDoc, stateDir: path.join(env.dir, 'state-off'), keyPackages: { trustAnchorsFile: 'est-ta.pem', kek: { enabled: false } } }));
  const o = await runCli('kek', '--config', off);
  assert.is(o.status, 2, o.stdout);
  assert.match(o.stderr, /keyPackages\.kek\.enabled/);
  assert.throws(() => statSync(path.join(env.dir, 'state-off', 'keys', 'keys.json')));
  const u = await runCli('kek', '--config', cfg, 'extra');
  assert.is(u.status, 2);
});

test.run();
