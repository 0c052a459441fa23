// The native addon against a real swtpm: each command, typed errors with decoded rc, no leaked transient handles.
import { createHash, createPublicKey, verify } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TpmClient } from '../../agent/keystore/addon.js';
import {
  SIG_SCHEME_ECDSA_SHA256,
  TPM_ALG,
  TPM_CAP,
  TPM_PT,
  TPM_RH,
  TpmCommandError,
  eccP256SigningTemplate,
  marshalPcrSelection,
  marshalPublic2B,
  marshalSigScheme,
  objectName,
  publicArea,
  publicToSpki,
  signatureToDer,
  unmarshalCapabilityData,
  unmarshalPcrSelection,
  unmarshalPublic2B,
  unmarshalSignature,
} from '../../agent/tpm2/index.js';
import { startSwtpm, type Swtpm } from '../harness/swtpm.js';

let swtpm: Swtpm;
let tpm: TpmClient;

async function transients(client: TpmClient = tpm): Promise<number[]> {
  const { capabilityData } = await client.call('getCapability', TPM_CAP.HANDLES, 0x80000000, 64);
  return unmarshalCapabilityData(capabilityData).handles ?? [];
}

test.before(async () => {
  swtpm = await startSwtpm();
  tpm = TpmClient.open(swtpm.tcti);
});

test.after(async () => {
  await tpm?.call('close').catch(() => undefined);
  await swtpm?.stop();
});

test('open with a bad TCTI throws TpmCommandError', () => {
  assert.throws(
    () => TpmClient.open('swtpm:host=127.0.0.1,port=1'),
    (e: unknown) => e instanceof TpmCommandError && e.rc !== 0 && /Tss2_TctiLdr_Initialize|Esys_Initialize/.test(e.command),
  );
});

test('getRandom returns n bytes (several TPM2_GetRandom calls)', async () => {
  const r = await tpm.call('getRandom', 100);
  assert.is(r.length, 100);
  assert.is.not(r.toString('hex'), Buffer.alloc(100).toString('hex'));
});

test('createPrimary + readPublic + sign + flushContext; Name matches; signature verifies', async () => {
  const { handle, outPublic } = await tpm.call('createPrimary', TPM_RH.OWNER, marshalPublic2B(eccP256SigningTemplate()));
  try {
    const rp = await tpm.call('readPublic', handle);
    assert.is(rp.outPublic.toString('hex'), outPublic.toString('hex'));
    assert.is(rp.name.toString('hex'), Buffer.from(objectName(publicArea(outPublic))).toString('hex'));
    const msg = Buffer.from('hello tpm');
    const digest = createHash('sha256').update(msg).digest();
    const sig = unmarshalSignature(await tpm.call('sign', handle, digest, marshalSigScheme(SIG_SCHEME_ECDSA_SHA256)));
    assert.is(sig.sigAlg, TPM_ALG.ECDSA);
    const key = createPublicKey({ key: Buffer.from(publicToSpki(unmarshalPublic2B(outPublic))), format: 'der', type: 'spki' });
    assert.ok(verify('sha256', msg, key, signatureToDer(sig)));
    assert.equal(await transients(), [0x80000000]);
  } finally {
    await tpm.call('flushContext', handle);
  }
  assert.equal(await transients(), []);
  // signing with the flushed handle: typed error, decoded rc, nothing left behind
  const err = await tpm.call('sign', handle, Buffer.alloc(32), marshalSigScheme(SIG_SCHEME_ECDSA_SHA256)).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, TpmCommandError);
  const te = err as TpmCommandError;
  assert.is(te.command, 'TPM2_Sign');
  assert.ok(te.rc !== 0);
  assert.ok(te.rcText.length > 0 && te.message.includes(te.rcText), te.message);
  assert.equal(await transients(), []);
});

test('TPM-layer error: RSASSA scheme on an ECC key → TPM rc, no transient left', async () => {
  const { handle } = await tpm.call('createPrimary', TPM_RH.OWNER, marshalPublic2B(eccP256SigningTemplate()));
  try {
    const bad = marshalSigScheme({ scheme: TPM_ALG.RSASSA, hashAlg: TPM_ALG.SHA256 }); // RSA scheme on an ECC key
    const err = (await tpm.call('sign', handle, Buffer.alloc(32), bad).catch((e: unknown) => e)) as TpmCommandError;
    assert.instance(err, TpmCommandError);
    assert.is(err.rc >>> 16, 0, `TPM layer expected, got 0x${err.rc.toString(16)}`);
    assert.ok(err.tpmRc !== 0);
  } finally {
    await tpm.call('flushContext', handle);
  }
  assert.equal(await transients(), []);
});

test('malformed structures and bad arguments reject (never throw synchronously)', async () => {
  const e1 = (await tpm.call('createPrimary', TPM_RH.OWNER, Buffer.from([0, 9, 1])).catch((e: unknown) => e)) as TpmCommandError;
  assert.instance(e1, TpmCommandError);
  assert.is(e1.command, 'TPM2_CreatePrimary');
  assert.match(e1.message, /inPublic is not a TPM2B_PUBLIC/);
  const p = (tpm as unknown as { call(n: string, ...a: unknown[]): Promise<unknown> }).call('sign', 'x', 1, 2);
  assert.instance(p, Promise);
  const e2 = await p.catch((e: unknown) => e);
  assert.instance(e2, TypeError);
  const e3 = await tpm.call('createPrimary', 0x12345678, new Uint8Array(0)).catch((e: unknown) => e);
  assert.instance(e3, TypeError);
  assert.equal(await transients(), []);
});

test('pcrRead returns at most 8 digests with the matching selectionOut', async () => {
  const all = Array.from({ length: 24 }, (_, i) => i);
  const r = await tpm.call('pcrRead', marshalPcrSelection([{ hashAlg: TPM_ALG.SHA256, pcrs: all }]));
  const sel = unmarshalPcrSelection(r.selectionOut);
  const returned = sel.flatMap((s) => s.pcrs);
  assert.ok(returned.length > 0 && returned.length <= 8);
  assert.is(r.digests.length, returned.length);
  assert.ok(r.digests.every((d) => d.length === 32));
  assert.type(r.updateCounter, 'number');
});

test('getCapability TPM properties: NV buffer max', async () => {
  const { capabilityData } = await tpm.call('getCapability', TPM_CAP.TPM_PROPERTIES, TPM_PT.NV_BUFFER_MAX, 1);
  const props = unmarshalCapabilityData(capabilityData).properties!;
  assert.is(props[0]!.property, TPM_PT.NV_BUFFER_MAX);
  assert.ok(props[0]!.value >= 512);
});

test('nvReadPublic / trFromTpmPublic of a missing handle → TPM_RC_HANDLE', async () => {
  const e = (await tpm.call('nvReadPublic', 0x01c0ffff).catch((x: unknown) => x)) as TpmCommandError;
  assert.instance(e, TpmCommandError);
  assert.ok(e.isHandleError, e.message);
  const e2 = (await tpm.call('trFromTpmPublic', 0x81007777).catch((x: unknown) => x)) as TpmCommandError;
  assert.ok(e2 instanceof TpmCommandError && e2.isHandleError, String(e2));
});

test('a transient left by a closed connection stays (no resource manager) and is visible to the next one', async () => {
  const other = await (async () => {
    await tpm.call('createPrimary', TPM_RH.OWNER, marshalPublic2B(eccP256SigningTemplate()));
    await tpm.call('close');
    return TpmClient.open(swtpm.tcti);
  })();
  tpm = other;
  const left = await transients();
  assert.is(left.length, 1);
  const tr = await tpm.call('trFromTpmPublic', left[0]!);
  await tpm.call('flushContext', tr);
  assert.equal(await transients(), []);
  assert.ok(tpm.stats().getCapability!.count >= 2);
});

test('a closed Tpm rejects every command', async () => {
  const t = TpmClient.open(swtpm.tcti);
  // Esys_Initialize sends no command, so opening beside the live connection is fine; close before using it
  await t.call('close');
  const e = (await t.call('getRandom', 1).catch((x: unknown) => x)) as TpmCommandError;
  assert.instance(e, TpmCommandError);
  assert.match(e.message, /closed/);
  await t.call('close'); // idempotent
});

test.run();
