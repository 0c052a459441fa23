// TPM 2.0 structure marshalling (agent/tpm2): round trips, templates, DER signatures, and typed errors on bad input.
import { createHash, generateKeyPairSync, createPublicKey } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  TPM_ALG,
  TPM_ECC,
  TPM_GENERATED_VALUE,
  TPM_ST,
  TPMA_OBJECT,
  Tpm2FormatError,
  TpmReader,
  TpmWriter,
  attestationKeyTemplate,
  ecdsaSignatureToDer,
  eccP256SigningTemplate,
  isStorageKey,
  marshalPcrSelection,
  marshalPublic,
  marshalPublic2B,
  marshalSigScheme,
  objectName,
  pcrCompositeDigest,
  publicArea,
  publicToSpki,
  rsa2048SigningTemplate,
  signatureToDer,
  srkEccTemplate,
  unmarshalAttest,
  unmarshalCapabilityData,
  unmarshalNvPublic2B,
  unmarshalPcrSelection,
  unmarshalPublic,
  unmarshalPublic2B,
  unmarshalSignature,
  type TpmtPublic,
} from '../../agent/tpm2/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('SRK template marshals to the TCG ECC P-256 storage template bytes', () => {
  const bytes = marshalPublic(srkEccTemplate());
  const expected =
    '0023' + '000b' + '00030472' + '0000' + // type ECC, nameAlg SHA256, attributes, empty authPolicy
    '0006' + '0080' + '0043' + // AES-128-CFB
    '0010' + '0003' + '0010' + // scheme NULL, NIST P-256, kdf NULL
    '0020' + '00'.repeat(32) + '0020' + '00'.repeat(32); // unique x, y
  assert.is(hex(bytes), expected);
  assert.ok(isStorageKey(srkEccTemplate()));
  assert.not.ok(isStorageKey(eccP256SigningTemplate()));
});

test('templates round-trip through TPM2B_PUBLIC', () => {
  for (const t of [srkEccTemplate(), eccP256SigningTemplate(), rsa2048SigningTemplate(), attestationKeyTemplate()] as TpmtPublic[]) {
    const b = marshalPublic2B(t);
    assert.is(((b[0]! << 8) | b[1]!), b.byteLength - 2);
    const back = unmarshalPublic2B(b);
    assert.equal(back, t);
    assert.is(hex(marshalPublic(back)), hex(publicArea(b)));
  }
  const ak = attestationKeyTemplate();
  assert.is(
    ak.objectAttributes,
    TPMA_OBJECT.FIXED_TPM | TPMA_OBJECT.FIXED_PARENT | TPMA_OBJECT.SENSITIVE_DATA_ORIGIN | TPMA_OBJECT.USER_WITH_AUTH |
      TPMA_OBJECT.RESTRICTED | TPMA_OBJECT.SIGN_ENCRYPT,
  );
  assert.is(ak.parameters.scheme.scheme, TPM_ALG.ECDSA);
});

test('objectName = nameAlg || SHA-256(TPMT_PUBLIC)', () => {
  const area = marshalPublic(srkEccTemplate());
  const name = objectName(area);
  assert.is(hex(name), '000b' + createHash('sha256').update(area).digest('hex'));
  assert.is(hex(objectName(srkEccTemplate())), hex(name));
});

test('publicToSpki: ECC point and RSA modulus become node:crypto keys', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
  const eccPub = eccP256SigningTemplate();
  eccPub.unique = { x: Buffer.from(ec.x!, 'base64url'), y: Buffer.from(ec.y!, 'base64url') };
  const spki = publicToSpki(eccPub);
  assert.equal(createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({ format: 'jwk' }), ec);

  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
  const rsaPub = rsa2048SigningTemplate();
  rsaPub.unique = Buffer.from(rsa.n!, 'base64url');
  const k = createPublicKey({ key: Buffer.from(publicToSpki(rsaPub)), format: 'der', type: 'spki' });
  assert.equal(k.export({ format: 'jwk' }), rsa);
  assert.throws(() => publicToSpki(eccP256SigningTemplate()), (e: unknown) => e instanceof Tpm2FormatError);
});

test('ECDSA r/s → DER with minimal INTEGERs', () => {
  // leading zero bytes are stripped; a set high bit gets one 0x00
  const r = Buffer.from('00000080' + '11'.repeat(28), 'hex');
  const s = Buffer.from('7f' + '22'.repeat(31), 'hex');
  const der = ecdsaSignatureToDer(r, s);
  assert.is(hex(der), '3042' + '021e' + '0080' + '11'.repeat(28) + '0220' + '7f' + '22'.repeat(31));
  assert.is(hex(ecdsaSignatureToDer(new Uint8Array([0]), new Uint8Array([1]))), '3006020100020101');
  // long-form length for big values (P-521 sized)
  const big = ecdsaSignatureToDer(Buffer.alloc(66, 0xff), Buffer.alloc(66, 0xff));
  assert.is(hex(big.subarray(0, 3)), '30818a');
});

test('TPMT_SIGNATURE parse: ECDSA and RSASSA', () => {
  const w = new TpmWriter().u16(TPM_ALG.ECDSA).u16(TPM_ALG.SHA256).tpm2b(Buffer.alloc(32, 0x81)).tpm2b(Buffer.alloc(32, 1));
  const sig = unmarshalSignature(w.finish());
  assert.is(sig.sigAlg, TPM_ALG.ECDSA);
  assert.is(hex(signatureToDer(sig)), '3045022100' + '81'.repeat(32) + '0220' + '01'.repeat(32));
  const rsa = new TpmWriter().u16(TPM_ALG.RSASSA).u16(TPM_ALG.SHA256).tpm2b(Buffer.alloc(256, 7)).finish();
  assert.is(hex(signatureToDer(unmarshalSignature(rsa))), '07'.repeat(256));
});

test('TPMT_SIG_SCHEME marshal', () => {
  assert.is(hex(marshalSigScheme({ scheme: TPM_ALG.ECDSA, hashAlg: TPM_ALG.SHA256 })), '0018000b');
  assert.is(hex(marshalSigScheme({ scheme: TPM_ALG.NULL, hashAlg: TPM_ALG.NULL })), '0010');
  assert.is(hex(marshalSigScheme({ scheme: TPM_ALG.ECDAA, hashAlg: TPM_ALG.SHA256, count: 5 })), '001a000b0005');
});

test('TPML_PCR_SELECTION round trip and composite digest order', () => {
  const sel = [{ hashAlg: TPM_ALG.SHA256, pcrs: [0, 7, 16, 23] }];
  const b = marshalPcrSelection(sel);
  assert.is(hex(b), '00000001' + '000b' + '03' + '810081');
  assert.equal(unmarshalPcrSelection(b), sel);
  const values = new Map([[0, Buffer.alloc(32, 0)], [7, Buffer.alloc(32, 7)], [16, Buffer.alloc(32, 16)], [23, Buffer.alloc(32, 23)]]);
  const d = pcrCompositeDigest(TPM_ALG.SHA256, sel, (_b, p) => values.get(p)!);
  const h = createHash('sha256');
  for (const p of [0, 7, 16, 23]) h.update(values.get(p)!);
  assert.is(hex(d), h.digest('hex'));
});

test('TPMS_ATTEST parse: certify and quote', () => {
  const base = (type: number) =>
    new TpmWriter().u32(TPM_GENERATED_VALUE).u16(type).tpm2b(Buffer.from('000b' + 'aa'.repeat(32), 'hex'))
      .tpm2b(Buffer.from('nonce')).u64(123n).u32(1).u32(2).u8(1).u64(0x2019102300000000n);
  const c = unmarshalAttest(base(TPM_ST.ATTEST_CERTIFY).tpm2b(Buffer.alloc(34, 1)).tpm2b(Buffer.alloc(34, 2)).finish());
  assert.is(c.magic, TPM_GENERATED_VALUE);
  assert.is(c.type, TPM_ST.ATTEST_CERTIFY);
  assert.is(Buffer.from(c.extraData).toString(), 'nonce');
  assert.equal(c.clockInfo, { clock: 123n, resetCount: 1, restartCount: 2, safe: true });
  assert.is(hex(c.certify!.name), '01'.repeat(34));
  const qw = base(TPM_ST.ATTEST_QUOTE);
  qw.bytes(marshalPcrSelection([{ hashAlg: TPM_ALG.SHA256, pcrs: [1] }])).tpm2b(Buffer.alloc(32, 9));
  const q = unmarshalAttest(qw.finish());
  assert.equal(q.quote!.pcrSelect, [{ hashAlg: TPM_ALG.SHA256, pcrs: [1] }]);
  assert.is(hex(q.quote!.pcrDigest), '09'.repeat(32));
});

test('capability data and NV public parse', () => {
  const caps = new TpmWriter().u32(1).u32(2).u32(0x80000000).u32(0x80000001).finish();
  assert.equal(unmarshalCapabilityData(caps).handles, [0x80000000, 0x80000001]);
  const nvInner = new TpmWriter().u32(0x01c00002).u16(TPM_ALG.SHA256).u32(0x620f000a).tpm2b(new Uint8Array(0)).u16(1234).finish();
  const nv = unmarshalNvPublic2B(new TpmWriter().tpm2b(nvInner).finish());
  assert.is(nv.nvIndex, 0x01c00002);
  assert.is(nv.dataSize, 1234);
});

test('malformed input raises Tpm2FormatError, never an index crash', () => {
  const good = marshalPublic(eccP256SigningTemplate());
  const isFormat = (e: unknown) => e instanceof Tpm2FormatError && (e as Tpm2FormatError).code === 'tpm2.malformed';
  for (let n = 0; n < good.byteLength; n++) assert.throws(() => unmarshalPublic(good.subarray(0, n)), isFormat);
  assert.throws(() => unmarshalPublic(Buffer.concat([good, Buffer.from([0])])), isFormat); // trailing byte
  assert.throws(() => unmarshalPublic(Buffer.from('ffff000b00000000', 'hex')), isFormat); // unknown type
  assert.throws(() => unmarshalPublic2B(Buffer.from('0005aabb', 'hex')), isFormat); // size beyond buffer
  assert.throws(() => unmarshalSignature(Buffer.from('0018000b0020', 'hex')), isFormat);
  assert.throws(() => unmarshalSignature(Buffer.from('1234', 'hex')), isFormat);
  assert.throws(() => unmarshalAttest(Buffer.alloc(10)), isFormat);
  assert.throws(() => unmarshalPcrSelection(Buffer.from('000000ff', 'hex')), isFormat);
  assert.throws(() => unmarshalCapabilityData(Buffer.from('00000001ffffffff', 'hex')), isFormat);
  assert.throws(() => new TpmReader(new Uint8Array(1), 'x').u16(), isFormat);
  assert.throws(() => new TpmWriter().u16(70000), isFormat);
  for (let i = 0; i < 500; i++) {
    const junk = Buffer.from(Array.from({ length: (i % 40) + 1 }, (_, j) => (i * 31 + j * 17) & 0xff));
    for (const parse of [unmarshalPublic, unmarshalSignature, unmarshalAttest, unmarshalPcrSelection, unmarshalCapabilityData]) {
      try {
        parse(junk);
      } catch (e) {
        assert.ok(isFormat(e), `${parse.name}: ${String(e)}`);
      }
    }
  }
  assert.is(TPM_ECC.NIST_P256, 3);
});

test.run();
