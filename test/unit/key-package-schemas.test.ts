// The RFC 5958 / 6031 / 7191 key-package types and the TPM attestation statements decode through their own
// static schema(): each valid encoding decodes, and decodes no longer when that class's schema() cannot match.
import { generateKeyPairSync } from 'node:crypto';
import * as asn1js from 'asn1js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AsymmetricKeyPackage } from '../../agent/pki/asn1/asymmetric-key-package.js';
import { KeyPackageError } from '../../agent/pki/asn1/key-package-error.js';
import { KeyPackageReceipt } from '../../agent/pki/asn1/key-package-receipt.js';
import { KeyPkgIdentifierAndReceiptReq } from '../../agent/pki/asn1/key-pkg-identifier-and-receipt-req.js';
import { KeyPkgIdentifier } from '../../agent/pki/asn1/key-pkg-identifier.js';
import { KeyPkgReceiptReq } from '../../agent/pki/asn1/key-pkg-receipt-req.js';
import { OneAsymmetricKey } from '../../agent/pki/asn1/one-asymmetric-key.js';
import { OneSymmetricKey } from '../../agent/pki/asn1/one-symmetric-key.js';
import { SIREntityName } from '../../agent/pki/asn1/siren-entity-name.js';
import { SymmetricKeyPackage } from '../../agent/pki/asn1/symmetric-key-package.js';
import { TcgAttestCertify } from '../../agent/pki/asn1/tcg-attest-certify.js';
import { TcgAttestQuote } from '../../agent/pki/asn1/tcg-attest-quote.js';

const by = SIREntityName.fromDistinguishedName(new Uint8Array([0x30, 0]));
const pk8 = new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'der' }));
const skp = (): Uint8Array => new SymmetricKeyPackage({ sKeys: [new OneSymmetricKey({ sKey: new Uint8Array([1, 2]) })] }).toDer();
const akp = (): Uint8Array => new AsymmetricKeyPackage({ keys: [OneAsymmetricKey.fromPkcs8(pk8)] }).toDer();
const receipt = (): Uint8Array => new KeyPackageReceipt({ receiptOf: new KeyPkgIdentifier({ pkgID: new Uint8Array([9]) }), receivedBy: by }).toDer();
const reqDer = (req?: KeyPkgReceiptReq): Uint8Array => new Uint8Array(new KeyPkgIdentifierAndReceiptReq({ pkgID: new Uint8Array([1]), ...(req ? { receiptReq: req } : {}) }).toSchema().toBER());

type WithSchema = { name: string; schema: (...a: never[]) => unknown };
const cases: Array<[WithSchema, () => unknown]> = [
  [OneSymmetricKey, () => SymmetricKeyPackage.fromDer(skp())],
  [SymmetricKeyPackage, () => SymmetricKeyPackage.fromDer(skp())],
  [OneAsymmetricKey, () => AsymmetricKeyPackage.fromDer(akp())],
  [AsymmetricKeyPackage, () => AsymmetricKeyPackage.fromDer(akp())],
  [KeyPkgIdentifier, () => KeyPackageReceipt.fromDer(receipt())],
  [KeyPackageReceipt, () => KeyPackageReceipt.fromDer(receipt())],
  [KeyPackageError, () => KeyPackageError.fromDer(new KeyPackageError({ errorBy: by, errorCode: { enum: 'notAuthorized' } }).toDer())],
  [KeyPkgReceiptReq, () => KeyPkgIdentifierAndReceiptReq.fromDer(reqDer(new KeyPkgReceiptReq({ receiptsTo: [by] })))],
  [KeyPkgIdentifierAndReceiptReq, () => KeyPkgIdentifierAndReceiptReq.fromDer(reqDer())],
  [TcgAttestCertify, () => TcgAttestCertify.fromBER(new TcgAttestCertify({ tpmSAttest: new Uint8Array([1]), signature: new Uint8Array([2]), tpmTPublic: new Uint8Array([3]) }).toDER())],
  [TcgAttestQuote, () => TcgAttestQuote.fromBER(new TcgAttestQuote({ tpmSAttest: new Uint8Array([1]), signature: new Uint8Array([2]) }).toDER())],
];

for (const [C, decode] of cases) {
  test(`${C.name}: decoding checks the input against ${C.name}.schema()`, () => {
    decode();
    const own = C.schema;
    C.schema = (() => new asn1js.Boolean({ name: 'never' })) as never;
    try {
      assert.throws(decode, `${C.name} decoded without its schema`);
    } finally {
      C.schema = own;
    }
    decode();
  });
}

test.run();
