// The native addon against a real swtpm: each command, typed errors with decoded rc, no leaked transient handles.
import { createHash, createPublicKey, verify } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TpmClient, loadAddon } from '../../agent/keystore/addon.js';
import {
  SIG_SCHEME_ECDSA_SHA256,
  TPM_ALG,
  TPM_CAP,
  TPM_PT,
  TPM2,
  TPM_RH,
  TpmCommandError,
  type TpmHandle,
  eccP256SigningTemplate,
  marshalPcrSelection,
  marshalPublic2B,
  marshalSigScheme,
  nvIndex,
  objectName,
  publicArea,
  publicToSpki,
  signatureToDer,
  tpmHandle,
  unmarshalCapabilityData,
  unmarshalPcrSelection,
  unmarshalPublic2B,
  unmarshalSignature,
} from '../../agent/tpm2/index.js';
import { startSwtpm, type Swtpm } from '../harness/swtpm.js';

let swtpm: Swtpm;
let tpm: TpmClient;

async function transients(client: TpmClient = tpm): Promise<number[]> {
  const { capabilityData } = await client.execute(TPM2.GetCapability, { capability: TPM_CAP.HANDLES, property: 0x80000000, propertyCount: 64 });
  return unmarshalCapabilityData(capabilityData).handles ?? [];
}

test.before(async () => {
  swtpm = await startSwtpm();
  tpm = TpmClient.open(swtpm.tcti);
});

test.after(async () => {
  await tpm?.close().catch(() => undefined);
  await swtpm?.stop();
});

test('open with a bad TCTI throws TpmCommandError', () => {
  assert.throws(
    () => TpmClient.open('swtpm:host=127.0.0.1,port=1'),
    (e: unknown) => e instanceof TpmCommandError && e.rc !== 0 && /Tss2_TctiLdr_Initialize|Esys_Initialize/.test(e.command),
  );
});

test('getRandom returns n bytes (several TPM2_GetRandom calls)', async () => {
  const r = (await tpm.execute(TPM2.GetRandom, { bytesRequested: 100 })).randomBytes;
  assert.is(r.length, 100);
  assert.is.not(r.toString('hex'), Buffer.alloc(100).toString('hex'));
});

test('createPrimary + readPublic + sign + flushContext; Name matches; signature verifies', async () => {
  const { objectHandle: handle, outPublic } = await tpm.execute(TPM2.CreatePrimary, {
    primaryHandle: TPM_RH.OWNER,
    inPublic: marshalPublic2B(eccP256SigningTemplate()),
  });
  try {
    const rp = await tpm.execute(TPM2.ReadPublic, { objectHandle: handle });
    assert.is(rp.outPublic.toString('hex'), outPublic.toString('hex'));
    assert.is(rp.name.toString('hex'), Buffer.from(objectName(publicArea(outPublic))).toString('hex'));
    const msg = Buffer.from('hello tpm');
    const digest = createHash('sha256').update(msg).digest();
    const sig = unmarshalSignature((await tpm.execute(TPM2.Sign, { keyHandle: handle, digest, inScheme: marshalSigScheme(SIG_SCHEME_ECDSA_SHA256) })).signature);
    assert.is(sig.sigAlg, TPM_ALG.ECDSA);
    const key = createPublicKey({ key: Buffer.from(publicToSpki(unmarshalPublic2B(outPublic))), format: 'der', type: 'spki' });
    assert.ok(verify('sha256', msg, key, signatureToDer(sig)));
    assert.equal(await transients(), [0x80000000]);
  } finally {
    await tpm.execute(TPM2.FlushContext, { flushHandle: handle });
  }
  assert.equal(await transients(), []);
  // signing with the flushed handle: typed error, decoded rc, nothing left behind
  const err = await tpm.execute(TPM2.Sign, { keyHandle: handle, digest: Buffer.alloc(32), inScheme: marshalSigScheme(SIG_SCHEME_ECDSA_SHA256) }).then(
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
  const { objectHandle: handle } = await tpm.execute(TPM2.CreatePrimary, { primaryHandle: TPM_RH.OWNER, inPublic: marshalPublic2B(eccP256SigningTemplate()) });
  try {
    const bad = marshalSigScheme({ scheme: TPM_ALG.RSASSA, hashAlg: TPM_ALG.SHA256 }); // RSA scheme on an ECC key
    const err = (await tpm.execute(TPM2.Sign, { keyHandle: handle, digest: Buffer.alloc(32), inScheme: bad }).catch((e: unknown) => e)) as TpmCommandError;
    assert.instance(err, TpmCommandError);
    assert.is(err.rc >>> 16, 0, `TPM layer expected, got 0x${err.rc.toString(16)}`);
    assert.ok(err.tpmRc !== 0);
  } finally {
    await tpm.execute(TPM2.FlushContext, { flushHandle: handle });
  }
  assert.equal(await transients(), []);
});

test('malformed structures and bad arguments reject (never throw synchronously)', async () => {
  const e1 = (await tpm.execute(TPM2.CreatePrimary, { primaryHandle: TPM_RH.OWNER, inPublic: Buffer.from([0, 9, 1]) }).catch((e: unknown) => e)) as TpmCommandError;
  assert.instance(e1, TpmCommandError);
  assert.is(e1.command, 'TPM2_CreatePrimary');
  assert.match(e1.message, /inPublic is not a TPM2B_PUBLIC/);
  const p = tpm.execute(TPM2.Sign, { keyHandle: 'x', digest: 1, inScheme: 2 } as never);
  assert.instance(p, Promise);
  const e2 = await p.catch((e: unknown) => e);
  assert.instance(e2, TypeError);
  const e3 = await tpm.execute(TPM2.CreatePrimary, { primaryHandle: 0x12345678 as TpmHandle, inPublic: new Uint8Array(0) }).catch((e: unknown) => e);
  assert.instance(e3, TypeError);
  assert.equal(await transients(), []);
});

test('pcrRead returns at most 8 digests with the matching selectionOut', async () => {
  const all = Array.from({ length: 24 }, (_, i) => i);
  const r = await tpm.execute(TPM2.PcrRead, { pcrSelectionIn: marshalPcrSelection([{ hashAlg: TPM_ALG.SHA256, pcrs: all }]) });
  const sel = unmarshalPcrSelection(r.pcrSelectionOut);
  const returned = sel.flatMap((s) => s.pcrs);
  assert.ok(returned.length > 0 && returned.length <= 8);
  assert.is(r.pcrValues.length, returned.length);
  assert.ok(r.pcrValues.every((d) => d.length === 32));
  assert.type(r.pcrUpdateCounter, 'number');
});

test('getCapability TPM properties: NV buffer max', async () => {
  const { capabilityData } = await tpm.execute(TPM2.GetCapability, { capability: TPM_CAP.TPM_PROPERTIES, property: TPM_PT.NV_BUFFER_MAX, propertyCount: 1 });
  const props = unmarshalCapabilityData(capabilityData).properties!;
  assert.is(props[0]!.property, TPM_PT.NV_BUFFER_MAX);
  assert.ok(props[0]!.value >= 512);
});

test('nvReadPublic / trFromTpmPublic of a missing handle → TPM_RC_HANDLE', async () => {
  const e = (await tpm.execute(TPM2.NvReadPublic, { nvIndex: nvIndex(0x01c0ffff) }).catch((x: unknown) => x)) as TpmCommandError;
  assert.instance(e, TpmCommandError);
  assert.ok(e.isHandleError, e.message);
  const e2 = (await tpm.execute(TPM2.TrFromTpmPublic, { tpmHandle: tpmHandle(0x81007777) }).catch((x: unknown) => x)) as TpmCommandError;
  assert.ok(e2 instanceof TpmCommandError && e2.isHandleError, String(e2));
});

test('a transient left by a closed connection stays (no resource manager) and is visible to the next one', async () => {
  const other = await (async () => {
    await tpm.execute(TPM2.CreatePrimary, { primaryHandle: TPM_RH.OWNER, inPublic: marshalPublic2B(eccP256SigningTemplate()) });
    await tpm.close();
    return TpmClient.open(swtpm.tcti);
  })();
  tpm = other;
  const left = await transients();
  assert.is(left.length, 1);
  const { object: tr } = await tpm.execute(TPM2.TrFromTpmPublic, { tpmHandle: tpmHandle(left[0]!) });
  await tpm.execute(TPM2.FlushContext, { flushHandle: tr });
  assert.equal(await transients(), []);
  assert.ok(tpm.stats().getCapability!.count >= 2);
});

test('every typed command has its native binding, and every native binding a typed command', () => {
  const native = Object.getOwnPropertyNames(loadAddon().Tpm.prototype).filter((n) => n !== 'constructor').sort();
  assert.equal(native, Object.values(TPM2).map((c) => c.binding).sort());
});

test('a closed Tpm rejects every command', async () => {
  const t = TpmClient.open(swtpm.tcti);
  // Esys_Initialize sends no command, so opening beside the live connection is fine; close before using it
  await t.close();
  const e = (await t.execute(TPM2.GetRandom, { bytesRequested: 1 }).catch((x: unknown) => x)) as TpmCommandError;
  assert.instance(e, TpmCommandError);
  assert.match(e.message, /closed/);
  await t.close(); // idempotent
});

test.run();
