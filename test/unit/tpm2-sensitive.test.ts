// TPMT_SENSITIVE / unwrapped duplicate layout (Part 2 §12.3.2.4–5, Part 1 §23.3.2) and the import/seal templates.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  IMPORTED_SIGNING_ATTRS,
  TPMA_OBJECT,
  TPM_ALG,
  Tpm2FormatError,
  importedRsa2048Public,
  marshalPublic2B,
  sealedDataTemplate,
  symDefObjectNull,
  unmarshalPublic2B,
  unwrappedDuplicate,
} from '../../agent/tpm2/index.js';

const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');

test('unwrapped duplicate: TPM2B_PRIVATE( TPM2B_SENSITIVE( type, authValue, seedValue, sensitive ) )', () => {
  const d = unwrappedDuplicate({ sensitiveType: TPM_ALG.ECC, authValue: new Uint8Array(0), seedValue: new Uint8Array([9, 9]), sensitive: new Uint8Array([1, 2, 3]) });
  // inner TPMT_SENSITIVE 13 bytes (0023 | 0000 | 0002 0909 | 0003 010203), TPM2B_SENSITIVE 15
  assert.is(hex(d), '000f' + '000d' + '0023' + '0000' + '00020909' + '0003010203');
  assert.is(hex(symDefObjectNull()), '0010');
  assert.throws(() => unwrappedDuplicate({ sensitiveType: 1, authValue: new Uint8Array(65), seedValue: new Uint8Array(0), sensitive: new Uint8Array(1) }), (e: unknown) => e instanceof Tpm2FormatError);
});

test('imported-key and sealed-object attributes', () => {
  assert.is(IMPORTED_SIGNING_ATTRS & (TPMA_OBJECT.FIXED_TPM | TPMA_OBJECT.FIXED_PARENT | TPMA_OBJECT.SENSITIVE_DATA_ORIGIN | TPMA_OBJECT.ENCRYPTED_DUPLICATION), 0);
  assert.is(IMPORTED_SIGNING_ATTRS, TPMA_OBJECT.USER_WITH_AUTH | TPMA_OBJECT.SIGN_ENCRYPT);
  const rsa = unmarshalPublic2B(marshalPublic2B(importedRsa2048Public(new Uint8Array(256).fill(0xc1), 65537)));
  assert.is(rsa.type, TPM_ALG.RSA);
  if (rsa.type === TPM_ALG.RSA) assert.is(rsa.parameters.exponent, 0, '65537 is the default exponent (0)');
  const sealed = sealedDataTemplate();
  assert.is(sealed.type, TPM_ALG.KEYEDHASH);
  assert.is(sealed.objectAttributes & TPMA_OBJECT.SENSITIVE_DATA_ORIGIN, 0);
  assert.is(sealed.objectAttributes & (TPMA_OBJECT.SIGN_ENCRYPT | TPMA_OBJECT.DECRYPT), 0);
});

test.run();
