// CertStatus hashAlg (RFC 9480 §2.10) and the certHash algorithm choice, the persisted waiting-transaction check, and
// a malformed root CA key update genp — pure codec/decision tests.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as asn1js from 'asn1js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Asn1DecodeError } from '../../agent/pki/asn1/errors.js';
import { pemDecode } from '../../agent/pki/pem.js';
import { CertConfirmContent } from '../../agent/protocols/cmp/asn1/cert-confirm-content.js';
import { InfoTypeAndValue } from '../../agent/protocols/cmp/asn1/info-type-and-value.js';
import { certHashAlgorithm, isCmpPendingTransaction, verifyRootCaKeyUpdate } from '../../agent/protocols/cmp/client.js';
import { OID_IT_ROOT_CA_KEY_UPDATE } from '../../agent/protocols/cmp/constants.js';
import { CmpProtectionError } from '../../agent/protocols/cmp/errors.js';

const SHA512 = '2.16.840.1.101.3.4.2.3';
let dir: string;
const cert = (args: string[]): Uint8Array => {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  return pemDecode(readFileSync(path.join(dir, 'c.pem'), 'utf8'), 'CERTIFICATE');
};

test.before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-certstatus-'));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('CertStatus hashAlg [0] round trip; absent stays absent (the RFC 4210 encoding)', () => {
  const with0 = new CertConfirmContent({ statuses: [{ certHash: new Uint8Array(64).fill(1), certReqId: 0, hashAlg: SHA512 }] });
  const back = CertConfirmContent.fromSchema(asn1js.fromBER(with0.toSchema().toBER(false)).result);
  assert.is(back.statuses[0]!.hashAlg, SHA512);
  const plain = new CertConfirmContent({ statuses: [{ certHash: new Uint8Array(32), certReqId: -1 }] }).toSchema();
  assert.is((plain.valueBlock.value[0] as asn1js.Sequence).valueBlock.value.length, 2);
  assert.is(CertConfirmContent.fromSchema(plain).statuses[0]!.hashAlg, undefined);
  // hashAlg that is no AlgorithmIdentifier → a typed decode error naming the path
  const bad = new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: new Uint8Array(32) }), new asn1js.Integer({ value: 0 }), new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.Integer({ value: 5 })] })] })] });
  assert.throws(() => CertConfirmContent.fromSchema(bad), (e: unknown) => e instanceof Asn1DecodeError && /hashAlg/.test(e.message));
});

test('certHash algorithm: the signature hash (no hashAlg) for ECDSA/RSA; SHA-512 named in hashAlg for Ed25519', () => {
  const ec = cert(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-keyout', 'k', '-out', 'c.pem', '-subj', '/CN=x', '-days', '1', '-sha384']);
  assert.equal(certHashAlgorithm(ec), { node: 'sha384' });
  const pss = cert(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'k', '-out', 'c.pem', '-subj', '/CN=x', '-days', '1', '-sigopt', 'rsa_padding_mode:pss', '-sha512']);
  assert.equal(certHashAlgorithm(pss), { node: 'sha512' });
  const ed = cert(['req', '-x509', '-newkey', 'ed25519', '-nodes', '-keyout', 'k', '-out', 'c.pem', '-subj', '/CN=x', '-days', '1']);
  assert.equal(certHashAlgorithm(ed), { node: 'sha512', hashAlg: SHA512 });
});

test('a persisted waiting transaction is checked field by field (unknown body, bad issued certificate list → refused)', () => {
  const ok = { transactionID: 'AA==', recipNonce: 'AA==', certReqId: -1, request: 'certConf', checkAfter: 5, issued: { cert: 'AA==', chain: [], caPubs: [] } };
  assert.ok(isCmpPendingTransaction(ok));
  assert.ok(isCmpPendingTransaction({ ...ok, issued: undefined, request: 'genm', pollReqId: -1 }));
  assert.not.ok(isCmpPendingTransaction({ ...ok, request: 'constructor' }));
  assert.not.ok(isCmpPendingTransaction({ ...ok, issued: { cert: 'AA==', chain: [1], caPubs: [] } }));
  assert.not.ok(isCmpPendingTransaction({ ...ok, pollReqId: 'x' }));
});

test('a genp rootCaKeyUpdate that is not what was asked for → typed errors, never a crash', () => {
  const root = cert(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'k', '-out', 'c.pem', '-subj', '/CN=r', '-days', '1', '-addext', 'basicConstraints=critical,CA:TRUE']);
  // no id-it-rootCaKeyUpdate at all
  assert.throws(() => verifyRootCaKeyUpdate([new InfoTypeAndValue({ infoType: '1.3.6.1.5.5.7.4.17' })], root), (e: unknown) => (e as Error).name === 'CmpProtocolError');
  // a value that is not RootCaKeyUpdateContent
  assert.throws(() => verifyRootCaKeyUpdate([new InfoTypeAndValue({ infoType: OID_IT_ROOT_CA_KEY_UPDATE, infoValue: new asn1js.Integer({ value: 1 }) })], root), (e: unknown) => e instanceof Asn1DecodeError);
  // newWithNew alone (no newWithOld): no trust transfer
  const content = new asn1js.Sequence({ value: [asn1js.fromBER(root).result as asn1js.Sequence] });
  assert.throws(() => verifyRootCaKeyUpdate([new InfoTypeAndValue({ infoType: OID_IT_ROOT_CA_KEY_UPDATE, infoValue: content })], root), (e: unknown) => e instanceof CmpProtectionError);
  // no value: no update
  assert.is(verifyRootCaKeyUpdate([new InfoTypeAndValue({ infoType: OID_IT_ROOT_CA_KEY_UPDATE })], root), undefined);
});

test.run();
