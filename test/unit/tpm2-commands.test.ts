// The typed command table (agent/tpm2/commands.ts), handle types and the key-establishment structures it carries.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  TPM2,
  TPM_ALG,
  Tpm2FormatError,
  marshalEccPoint2B,
  marshalRsaDecryptScheme,
  nvIndex,
  tpmHandle,
  unmarshalEccPoint2B,
} from '../../agent/tpm2/index.js';

test('every command names a distinct binding and a TPM 2.0 / ESAPI command', () => {
  const entries = Object.values(TPM2);
  assert.ok(entries.length >= 20);
  assert.is(new Set(entries.map((c) => c.binding)).size, entries.length);
  for (const c of entries) assert.match(c.name, /^(TPM2_|Esys_|close$)/, c.binding);
});

test('handles: nvIndex refuses non-NV handles, tpmHandle refuses non-32-bit numbers', () => {
  assert.is(nvIndex(0x01c00002), 0x01c00002);
  assert.throws(() => nvIndex(0x81000001), (e: unknown) => e instanceof Tpm2FormatError);
  assert.is(tpmHandle(0x81000001), 0x81000001);
  assert.throws(() => tpmHandle(-1), (e: unknown) => e instanceof Tpm2FormatError);
  assert.throws(() => tpmHandle(2 ** 32), (e: unknown) => e instanceof Tpm2FormatError);
});

test('TPMT_RSA_DECRYPT: OAEP-SHA256 marshals as alg || hashAlg; signature schemes are refused', () => {
  assert.equal([...marshalRsaDecryptScheme({ scheme: TPM_ALG.OAEP, hashAlg: TPM_ALG.SHA256 })], [0x00, 0x17, 0x00, 0x0b]);
  assert.throws(() => marshalRsaDecryptScheme({ scheme: TPM_ALG.RSASSA, hashAlg: TPM_ALG.SHA256 }), (e: unknown) => e instanceof Tpm2FormatError);
});

test('TPM2B_ECC_POINT: round trip; truncated and trailing bytes are Tpm2FormatError', () => {
  const x = new Uint8Array(32).fill(1);
  const y = new Uint8Array(32).fill(2);
  const b = marshalEccPoint2B({ x, y });
  assert.is(b.byteLength, 2 + 2 + 32 + 2 + 32);
  assert.equal([...b.subarray(0, 4)], [0, 68, 0, 32]);
  const p = unmarshalEccPoint2B(b);
  assert.equal([...p.x], [...x]);
  assert.equal([...p.y], [...y]);
  assert.throws(() => unmarshalEccPoint2B(b.subarray(0, 40)), (e: unknown) => e instanceof Tpm2FormatError);
  assert.throws(() => unmarshalEccPoint2B(new Uint8Array([...b, 0])), (e: unknown) => e instanceof Tpm2FormatError);
});

test.run();
