// RFC 6031 / RFC 5958 / RFC 7191 ASN.1 types: hand-built DER decoded (checked against the modules' tagging and
// DEFAULT rules), DER round trips, refusal of malformed input, OID values against the RFC text, PKCS#8 decoding
// for TPM import (against node:crypto keys), and the wiping of decoded secrets.
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AsymmetricKeyPackage } from '../../agent/pki/asn1/asymmetric-key-package.js';
import { Asn1EncodeError } from '../../agent/pki/asn1/errors.js';
import { KeyPackageError } from '../../agent/pki/asn1/key-package-error.js';
import * as O from '../../agent/pki/asn1/key-package-oids.js';
import { KeyPackageReceipt } from '../../agent/pki/asn1/key-package-receipt.js';
import { KeyPkgIdentifier } from '../../agent/pki/asn1/key-pkg-identifier.js';
import { KeyPkgIdentifierAndReceiptReq } from '../../agent/pki/asn1/key-pkg-identifier-and-receipt-req.js';
import { KeyPkgReceiptReq } from '../../agent/pki/asn1/key-pkg-receipt-req.js';
import { OneAsymmetricKey } from '../../agent/pki/asn1/one-asymmetric-key.js';
import { OneSymmetricKey, utf8AttributeValue } from '../../agent/pki/asn1/one-symmetric-key.js';
import { SIREntityName } from '../../agent/pki/asn1/siren-entity-name.js';
import { SymmetricKeyPackage } from '../../agent/pki/asn1/symmetric-key-package.js';
import { PkiDecodeError } from '../../agent/pki/errors.js';
import { decodePrivateKey, pkcs8FromTraditional, privateKeyForm } from '../../agent/pki/private-key.js';
import { throwsDecode } from '../harness/asn1-assert.js';

const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));


test('OIDs match RFC 6031 / 5958 / 7191', () => {
  assert.is(O.OID_CT_KP_SKEY_PACKAGE, '1.2.840.113549.1.9.16.1.25');
  assert.is(O.OID_CT_KP_AKEY_PACKAGE, '2.16.840.1.101.2.1.2.78.5');
  assert.is(O.OID_CT_KP_KEY_PACKAGE_RECEIPT, '2.16.840.1.101.2.1.2.78.3');
  assert.is(O.OID_CT_KP_KEY_PACKAGE_ERROR, '2.16.840.1.101.2.1.2.78.6');
  assert.is(O.OID_AA_KP_KEY_PKG_ID_AND_RECEIPT_REQ, '2.16.840.1.101.2.1.5.65');
  assert.is(O.OID_PSKC_KEY_ID, '1.2.840.113549.1.9.16.12.9');
  assert.is(O.KeyPackageErrorCode.unsupportedSymmetricKeyPackage, 87);
  assert.is(O.keyPackageErrorCodeName(127), 'other');
});

// SymmetricKeyPackage { sKeys { OneSymmetricKey { sKeyAttrs { keyId "k1" }, sKey 0102 } } } (version DEFAULT v1 omitted)
const SKP_HEX = '301f 301d 301b 3015 3013 060b2a864886f70d0109100c09 3104 0c026b31 0402 0102';

test('SymmetricKeyPackage: hand-built DER decodes; encoding reproduces it byte for byte', () => {
  const p = SymmetricKeyPackage.fromDer(fromHex(SKP_HEX));
  assert.is(p.sKeys.length, 1);
  assert.is(p.sKeys[0]!.keyId, 'k1');
  assert.equal([...p.sKeys[0]!.sKey!], [1, 2]);
  const built = new SymmetricKeyPackage({ sKeys: [new OneSymmetricKey({ sKeyAttrs: [utf8AttributeValue(O.OID_PSKC_KEY_ID, 'k1')], sKey: new Uint8Array([1, 2]) })] });
  assert.is(hex(built.toDer()), SKP_HEX.replace(/\s+/g, ''));
  p.wipe();
  assert.equal([...p.sKeys[0]!.sKey!], [0, 0]);
});

test('SymmetricKeyPackage: package attributes [0] IMPLICIT, explicit v1 accepted, round trip', () => {
  const built = new SymmetricKeyPackage({
    sKeyPkgAttrs: [utf8AttributeValue(O.OID_PSKC_SERIAL_NO, 'dev-1')],
    sKeys: [new OneSymmetricKey({ sKey: new Uint8Array(32).fill(7) }), new OneSymmetricKey({ sKeyAttrs: [utf8AttributeValue(O.OID_PSKC_KEY_ID, 'only-attrs')] })],
  });
  const der = built.toDer();
  assert.is(der[2], 0xa0, 'sKeyPkgAttrs is [0] constructed');
  const back = SymmetricKeyPackage.fromDer(der);
  assert.is(back.sKeyPkgAttrs!.length, 1);
  assert.is(back.sKeys[1]!.keyId, 'only-attrs');
  assert.is(back.sKeys[1]!.sKey, undefined);
  // explicit version v1 (not DER, accepted like RFC 4108's receipts); v2 refused
  const withV = (v: number) => fromHex(`3022 0201${v.toString(16).padStart(2, '0')}` + SKP_HEX.replace(/\s+/g, '').slice(4));
  assert.is(SymmetricKeyPackage.fromDer(withV(1)).sKeys.length, 1);
  throwsDecode(() => SymmetricKeyPackage.fromDer(withV(2)), 'constraint');
});

test('SymmetricKeyPackage: malformed inputs are refused', () => {
  throwsDecode(() => SymmetricKeyPackage.fromDer(new Uint8Array(0)), 'malformed');
  throwsDecode(() => SymmetricKeyPackage.fromDer(fromHex(SKP_HEX).subarray(0, 20)), 'malformed');
  throwsDecode(() => SymmetricKeyPackage.fromDer(fromHex(SKP_HEX + '00')), 'malformed');
  throwsDecode(() => SymmetricKeyPackage.fromDer(fromHex('3002 3000')), 'constraint'); // no keys
  throwsDecode(() => SymmetricKeyPackage.fromDer(fromHex('3004 3002 3000')), 'missing-field'); // empty OneSymmetricKey
  throwsDecode(() => SymmetricKeyPackage.fromDer(fromHex('3004 3002 0500')), 'bad-tag'); // a key that is not a SEQUENCE
  throwsDecode(() => SymmetricKeyPackage.fromDer(fromHex('3006 3004 3002 0500')), 'extra-field'); // unknown element in a key
  // the same attribute twice in sKeyAttrs
  const attr = '3013 060b2a864886f70d0109100c09 3104 0c026b31';
  throwsDecode(() => SymmetricKeyPackage.fromDer(fromHex(`3030 302e 302c 302a ${attr} ${attr}`)), 'duplicate');
  throwsDecode(() => SymmetricKeyPackage.fromDer(fromHex('3006 3004 0402 0102')), 'bad-tag'); // sKeys is not a SEQUENCE OF
  assert.throws(() => new OneSymmetricKey({}), (e: unknown) => e instanceof Asn1EncodeError);
});

test('KeyPackageReceipt: DEFAULT v2 omitted, pkgID and SIREntityName round trip; other versions refused', () => {
  const by = SIREntityName.fromDistinguishedName(fromHex('3000'));
  const r = new KeyPackageReceipt({ receiptOf: new KeyPkgIdentifier({ pkgID: new Uint8Array([9, 9]) }), receivedBy: by });
  const der = r.toDer();
  // SEQUENCE { OCTET STRING 0909, SEQUENCE { OID id-dn, OCTET STRING 3000 } }
  assert.is(hex(der), '3015' + '04020909' + '300f' + '0609608648016502011000' + '04023000');
  const back = KeyPackageReceipt.fromDer(der);
  assert.equal([...back.receiptOf.pkgID!], [9, 9]);
  assert.ok(back.receivedBy.equals(by));
  throwsDecode(() => KeyPackageReceipt.fromDer(fromHex('3018 020101' + hex(der).slice(4))), 'constraint');
  assert.is(KeyPackageReceipt.fromDer(fromHex('3018 020102' + hex(der).slice(4))).version, 2);
  throwsDecode(() => KeyPackageReceipt.fromDer(fromHex('3004 04020909')), 'missing-field');
});

test('KeyPackageError: errorOf [0] EXPLICIT, enum and oid codes; unknown enum refused', () => {
  const by = SIREntityName.fromDistinguishedName(fromHex('3000'));
  const e = new KeyPackageError({ errorOf: new KeyPkgIdentifier({ pkgID: new Uint8Array([5]) }), errorBy: by, errorCode: { enum: 'notAuthorized' } });
  const der = e.toDer();
  assert.is(hex(der), '3019' + 'a003040105' + '300f0609608648016502011000' + '04023000' + '0a010b');
  const back = KeyPackageError.fromDer(der);
  assert.equal(back.errorCode, { enum: 'notAuthorized' });
  assert.equal([...back.errorOf!.pkgID!], [5]);
  const o = KeyPackageError.fromDer(new KeyPackageError({ errorBy: by, errorCode: { oid: '1.2.3.4' } }).toDer());
  assert.equal(o.errorCode, { oid: '1.2.3.4' });
  assert.is(o.errorOf, undefined);
  throwsDecode(() => KeyPackageError.fromDer(fromHex(hex(der).replace(/0a010b$/, '0a0132'))), 'constraint');
});

test('KeyPkgIdentifierAndReceiptReq with KeyPkgReceiptReq: receiptsFrom [0] IMPLICIT, encryptReceipt DEFAULT FALSE', () => {
  const to = [SIREntityName.fromDistinguishedName(fromHex('3000'))];
  const a = new KeyPkgIdentifierAndReceiptReq({ pkgID: new Uint8Array([1, 2, 3]), receiptReq: new KeyPkgReceiptReq({ receiptsTo: to }) });
  const der = new Uint8Array(a.toSchema().toBER(false));
  assert.is(hex(der), '301a' + '0403010203' + '3013' + '3011' + '300f0609608648016502011000' + '04023000');
  const back = KeyPkgIdentifierAndReceiptReq.fromDer(der);
  assert.is(back.receiptReq!.encryptReceipt, false);
  assert.is(back.receiptReq!.receiptsTo.length, 1);
  const b = new KeyPkgReceiptReq({ encryptReceipt: true, receiptsFrom: to, receiptsTo: to });
  const bder = new Uint8Array(b.toSchema().toBER(false));
  assert.is(hex(bder).slice(4, 16), '0101ffa01130');
  const bb = new KeyPkgReceiptReq({ schema: asn1js.fromBER(bder).result });
  assert.is(bb.encryptReceipt, true);
  assert.is(bb.receiptsFrom!.length, 1);
  // an explicit FALSE is not DER
  throwsDecode(() => new KeyPkgReceiptReq({ schema: asn1js.fromBER(fromHex('3016 010100 3011 300f0609608648016502011000 04023000')).result }), 'not-der');
});

test('OneAsymmetricKey / AsymmetricKeyPackage: PKCS#8 in, v1 and v2 (publicKey [1]) round trips, wiping', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pkcs8 = new Uint8Array(ec.privateKey.export({ type: 'pkcs8', format: 'der' }));
  const k = OneAsymmetricKey.fromPkcs8(pkcs8);
  assert.is(k.version, 0);
  assert.is(hex(k.toPkcs8()), hex(pkcs8));
  const spkiBits = new pkijs.PublicKeyInfo({ schema: asn1js.fromBER(ec.publicKey.export({ type: 'spki', format: 'der' })).result }).subjectPublicKey.valueBlock.valueHexView;
  const v2 = new OneAsymmetricKey({ privateKeyAlgorithm: k.privateKeyAlgorithm, privateKey: k.privateKey, publicKey: new Uint8Array(spkiBits) });
  const pkg = new AsymmetricKeyPackage({ keys: [k, v2] });
  const der = pkg.toDer();
  const back = AsymmetricKeyPackage.fromDer(der);
  assert.is(back.keys.length, 2);
  assert.is(back.keys[1]!.version, 1);
  assert.is(hex(back.keys[1]!.publicKey!), hex(spkiBits));
  assert.is(hex(back.keys[1]!.toPkcs8()), hex(pkcs8));
  back.wipe();
  assert.ok(back.keys.every((x) => x.privateKey.every((b) => b === 0)));
  throwsDecode(() => AsymmetricKeyPackage.fromDer(fromHex('3000')), 'constraint');
  // publicKey with version v1 is refused
  const mislabelled = new OneAsymmetricKey({ privateKeyAlgorithm: k.privateKeyAlgorithm, privateKey: k.privateKey, publicKey: new Uint8Array(spkiBits) });
  mislabelled.version = 0;
  throwsDecode(() => AsymmetricKeyPackage.fromDer(new AsymmetricKeyPackage({ keys: [mislabelled] }).toDer()), 'constraint');
});

test('decodePrivateKey: P-256 and RSA-2048 material matches node:crypto; other keys refused', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = ec.privateKey.export({ format: 'jwk' });
  const m = decodePrivateKey(new Uint8Array(ec.privateKey.export({ type: 'pkcs8', format: 'der' })));
  assert.is(m.algorithm, 'ecc-p256');
  if (m.algorithm !== 'ecc-p256') return;
  assert.is(Buffer.from(m.d).toString('base64url'), jwk.d);
  assert.is(Buffer.from(m.x).toString('base64url'), jwk.x);
  assert.is(Buffer.from(m.y).toString('base64url'), jwk.y);
  m.wipe();
  assert.ok(m.d.every((b) => b === 0));
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rj = rsa.privateKey.export({ format: 'jwk' });
  const r = decodePrivateKey(new Uint8Array(rsa.privateKey.export({ type: 'pkcs8', format: 'der' })));
  assert.is(r.algorithm, 'rsa-2048');
  if (r.algorithm !== 'rsa-2048') return;
  assert.is(Buffer.from(r.n).toString('base64url'), rj.n);
  assert.is(Buffer.from(r.p).toString('base64url'), rj.p);
  assert.is(r.e, 65537);
  for (const bad of [
    new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'der' })),
    new Uint8Array(generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey.export({ type: 'pkcs8', format: 'der' })),
    new Uint8Array([0x30, 0x00]),
  ]) {
    assert.throws(() => decodePrivateKey(bad), (e: unknown) => e instanceof PkiDecodeError);
  }
});

test('traditional keys: PKCS#1 RSAPrivateKey and SEC1 ECPrivateKey wrapped as PKCS#8 (node:crypto agrees), input untouched; malformed ones refused', () => {
  const hex = (b: Uint8Array | Buffer) => Buffer.from(b).toString('hex');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const pkcs1 = new Uint8Array(rsa.export({ type: 'pkcs1', format: 'der' }));
  const copy = hex(pkcs1);
  assert.is(privateKeyForm(pkcs1), 'pkcs1');
  assert.is(privateKeyForm(new Uint8Array(rsa.export({ type: 'pkcs8', format: 'der' }))), 'pkcs8');
  const wrapped = pkcs8FromTraditional(pkcs1);
  // byte for byte what OpenSSL writes as the PKCS#8 form of the same key
  assert.is(hex(wrapped), hex(rsa.export({ type: 'pkcs8', format: 'der' })));
  assert.is(hex(pkcs1), copy, 'input not modified');
  const r = decodePrivateKey(wrapped);
  assert.is(r.algorithm, 'rsa-2048');
  r.wipe();
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const sec1 = new Uint8Array(ec.export({ type: 'sec1', format: 'der' }));
  assert.is(privateKeyForm(sec1), 'sec1');
  const e = decodePrivateKey(pkcs8FromTraditional(sec1));
  assert.is(e.algorithm, 'ecc-p256');
  if (e.algorithm === 'ecc-p256') assert.is(Buffer.from(e.d).toString('base64url'), ec.export({ format: 'jwk' }).d);
  // node:crypto reads the wrapped EC key as the same key
  assert.equal(createPrivateKey({ key: Buffer.from(pkcs8FromTraditional(sec1)), format: 'der', type: 'pkcs8' }).export({ format: 'jwk' }), ec.export({ format: 'jwk' }));
  const isDecode = (x: unknown) => x instanceof PkiDecodeError;
  assert.throws(() => pkcs8FromTraditional(pkcs1.subarray(0, 600)), isDecode, 'truncated');
  assert.throws(() => privateKeyForm(new Uint8Array([...pkcs1, 0])), isDecode, 'trailing byte');
  assert.throws(() => pkcs8FromTraditional(new Uint8Array(rsa.export({ type: 'pkcs8', format: 'der' }))), isDecode, 'already PKCS#8');
  // SEC1 without parameters: the curve is unknown
  const k = new asn1js.Sequence({ value: [new asn1js.Integer({ value: 1 }), new asn1js.OctetString({ valueHex: new Uint8Array(32).fill(7) })] });
  assert.throws(() => pkcs8FromTraditional(new Uint8Array(k.toBER(false))), (x: unknown) => isDecode(x) && /curve is unknown/.test((x as Error).message));
  // structurally a PKCS#1 key, but one the TPM import does not take (1024-bit) or missing fields
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
  assert.throws(() => decodePrivateKey(pkcs8FromTraditional(new Uint8Array(small.export({ type: 'pkcs1', format: 'der' })))), isDecode);
  const short = new asn1js.Sequence({ value: [0, 1, 2].map((v) => new asn1js.Integer({ value: v })) });
  assert.throws(() => decodePrivateKey(pkcs8FromTraditional(new Uint8Array(short.toBER(false)))), isDecode);
});

test.run();
