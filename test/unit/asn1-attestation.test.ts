// AttestationStatement / AttestationBundle / attribute / TcgAttestCertify (draft-ietf-lamps-csr-attestation-28).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { AttestationStatement, EvidenceStatement } from '../../agent/pki/asn1/evidence-statement.js';
import { AttestationBundle } from '../../agent/pki/asn1/evidence-bundle.js';
import {
  addAttestationAttribute,
  buildAttestationAttribute,
  buildAttestationExtension,
  decodeAttestationAttribute,
  decodeAttestationExtension,
  findAttestationBundle,
  findAttestationBundleInCsrDer,
} from '../../agent/pki/asn1/evidence-attribute.js';
import { TcgAttestCertify, TpmAttestParseError, parseTpmsAttestCertify } from '../../agent/pki/asn1/tcg-attest-certify.js';
import { Asn1DecodeError, Asn1EncodeError } from '../../agent/pki/asn1/errors.js';
import { OID_ID_AA_ATTESTATION, OID_TCG_ATTEST_TPM_CERTIFY } from '../../agent/attest/constants.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ab = (b: Uint8Array): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

const work = mkdtempSync(join(tmpdir(), 'enrolld-asn1-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

function opensslCert(cn: string): pkijs.Certificate {
  const key = join(work, `${cn}.key`);
  const der = join(work, `${cn}.der`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', `/CN=${cn}`, '-days', '1', '-outform', 'DER', '-out', der], { stdio: 'pipe' });
  return pkijs.Certificate.fromBER(readFileSync(der));
}

function asn1parse(der: Uint8Array): string {
  const f = join(work, `p${Math.random().toString(16).slice(2)}.der`);
  writeFileSync(f, der);
  return execFileSync('openssl', ['asn1parse', '-inform', 'DER', '-i', '-in', f], { encoding: 'utf8' });
}

const isEncodeError = (e: unknown): boolean => e instanceof Asn1EncodeError && e.code === 'asn1.encode';

function expectDecodeError(fn: () => unknown, reason: string, pathPart?: string): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, Asn1DecodeError, `expected Asn1DecodeError, got ${String(e)}`);
    assert.is((e as Asn1DecodeError).code, `asn1.${reason}`, (e as Error).message);
    if (pathPart) assert.ok((e as Asn1DecodeError).path.includes(pathPart), `path ${(e as Asn1DecodeError).path} lacks ${pathPart}`);
    return;
  }
  assert.unreachable(`expected asn1.${reason}`);
}

// A TPMS_ATTEST laid out by hand: magic, TPM_ST_ATTEST_CERTIFY, qualifiedSigner, extraData (the nonce), clockInfo,
// firmwareVersion, name, qualifiedName.
function fakeAttest(extraData: Uint8Array): Uint8Array {
  const name = Buffer.concat([Buffer.from('000b', 'hex'), Buffer.alloc(32, 0xaa)]);
  const parts = [
    Buffer.from('ff5443478017', 'hex'),
    Buffer.from([0, name.length]), name,
    Buffer.from([0, extraData.length]), Buffer.from(extraData),
    Buffer.from('0000000000001000' + '00000001' + '00000000' + '01', 'hex'),
    Buffer.from('2023011500000000', 'hex'),
    Buffer.from([0, name.length]), name,
    Buffer.from([0, name.length]), name,
  ];
  return new Uint8Array(Buffer.concat(parts));
}

const nonce = hex('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff');
const certify = new TcgAttestCertify({ tpmSAttest: fakeAttest(nonce), signature: hex('0014000b0100' + 'cd'.repeat(256)), tpmTPublic: hex('0001000b00050072') });

test('TcgAttestCertify round trip, with and without tpmTPublic', () => {
  const der = certify.toDER();
  const back = TcgAttestCertify.fromBER(der);
  assert.equal(toHex(back.tpmSAttest), toHex(certify.tpmSAttest));
  assert.equal(toHex(back.signature), toHex(certify.signature));
  assert.equal(toHex(back.tpmTPublic!), '0001000b00050072');
  assert.equal(toHex(back.toDER()), toHex(der));
  const two = new TcgAttestCertify({ tpmSAttest: hex('01'), signature: hex('02') });
  assert.is(toHex(two.toDER()), '3006040101040102');
  assert.is(TcgAttestCertify.fromBER(hex('3006040101040102')).tpmTPublic, undefined);
  assert.equal(back.toJSON().tpmTPublic, '0001000b00050072');
});

test('TcgAttestCertify strict decoding', () => {
  expectDecodeError(() => TcgAttestCertify.fromBER(hex('3003040101')), 'missing-field', 'signature');
  expectDecodeError(() => TcgAttestCertify.fromBER(hex('300c040101040102040103040104')), 'extra-field');
  expectDecodeError(() => TcgAttestCertify.fromBER(hex('3006020101040102')), 'bad-tag', 'tpmSAttest');
  expectDecodeError(() => TcgAttestCertify.fromBER(hex('3106040101040102')), 'bad-tag');
  expectDecodeError(() => TcgAttestCertify.fromBER(hex('300604010104010200')), 'malformed'); // trailing byte
  expectDecodeError(() => TcgAttestCertify.fromBER(hex('30070401010401')), 'malformed'); // truncated
  expectDecodeError(() => TcgAttestCertify.fromBER(hex('3080040101040102' + '0000')), 'not-der'); // indefinite length
  expectDecodeError(() => TcgAttestCertify.fromBER(hex('3008' + '2403040101' + '040102')), 'not-der'); // constructed OCTET STRING
  expectDecodeError(() => TcgAttestCertify.fromBER(new Uint8Array()), 'malformed');
});

test('TPMS_ATTEST certify parsing finds the nonce in extraData', () => {
  const info = certify.certifyInfo();
  assert.is(info.magic, 0xff544347);
  assert.is(info.type, 0x8017);
  assert.is(toHex(info.extraData), toHex(nonce));
  assert.is(info.clockInfo.resetCount, 1);
  assert.is(info.clockInfo.safe, true);
  assert.is(info.name.length, 34);
  for (const bad of [certify.tpmSAttest.slice(0, 20), new Uint8Array([...certify.tpmSAttest, 0]), hex('ff5443478018')]) {
    assert.throws(() => parseTpmsAttestCertify(bad), (e: unknown) => e instanceof TpmAttestParseError && e.code === 'tpm.bad-attest');
  }
});

test('AttestationStatement round trip and strictness', () => {
  const st = certify.toAttestationStatement();
  assert.is(st.type, OID_TCG_ATTEST_TPM_CERTIFY);
  const back = AttestationStatement.fromBER(st.toDER());
  assert.is(back.type, OID_TCG_ATTEST_TPM_CERTIFY);
  assert.is(toHex(back.toDER()), toHex(st.toDER()));
  assert.is(toHex(TcgAttestCertify.fromAttestationStatement(back).toDER()), toHex(certify.toDER()));
  assert.is(EvidenceStatement, AttestationStatement); // deprecated alias
  // stmt may be any element, e.g. an OCTET STRING wrapping CBOR (draft §4.1)
  const raw = new AttestationStatement({ type: '1.2.3.4', stmt: hex('0403a10102') });
  assert.is(toHex(raw.toDER()), '300a06032a0304' + '0403a10102');
  expectDecodeError(() => TcgAttestCertify.fromAttestationStatement(raw), 'bad-value', 'type');
  expectDecodeError(() => AttestationStatement.fromBER(hex('300506032a0304')), 'missing-field', 'stmt');
  expectDecodeError(() => AttestationStatement.fromBER(hex('3006040101' + '040102')), 'bad-tag', 'type');
  // a third element (the pre-23 hint) is refused unless asked for
  const legacy = hex('300d06032a0304' + '040101' + '1603' + Buffer.from('v.e').toString('hex'));
  expectDecodeError(() => AttestationStatement.fromBER(legacy), 'extra-field');
  assert.is(AttestationStatement.fromBER(legacy, { allowLegacyHint: true }).legacyHint, 'v.e');
  expectDecodeError(() => AttestationStatement.fromBER(hex('300d06032a0304' + '040101' + '0403' + '616263'), { allowLegacyHint: true }), 'extra-field');
  assert.throws(() => new AttestationStatement({ type: 'not-an-oid', stmt: hex('0500') }), isEncodeError);
});

let akCert: pkijs.Certificate;
let caCert: pkijs.Certificate;

test('AttestationBundle round trip: statements + X.509 + other [3] certificates', () => {
  akCert = opensslCert('ak');
  caCert = opensslCert('ca');
  const other = new pkijs.OtherCertificateFormat({ otherCertFormat: '1.2.3.99', otherCert: new asn1js.OctetString({ valueHex: ab(hex('cafe')) }) });
  const bundle = new AttestationBundle({ attestations: [certify.toAttestationStatement(), new AttestationStatement({ type: '1.2.3.4', stmt: hex('0400') })], certs: [akCert, caCert, other] });
  const der = bundle.toDER();
  const back = AttestationBundle.fromBER(der);
  assert.is(back.attestations.length, 2);
  assert.is(back.certs!.length, 3);
  assert.is(back.x509Certificates().length, 2);
  assert.is(back.statementsOfType(OID_TCG_ATTEST_TPM_CERTIFY).length, 1);
  assert.instance(back.certs![2], pkijs.OtherCertificateFormat);
  assert.is((back.certs![2] as pkijs.OtherCertificateFormat).otherCertFormat, '1.2.3.99');
  assert.is(toHex(back.toDER()), toHex(der));
  // other is [3] IMPLICIT: a constructed context tag 3 (0xa3) in place of the SEQUENCE tag
  assert.ok(toHex(der).includes('a309' + '06032a0363' + '0402cafe'), 'other [3] IMPLICIT encoding');
  const j = back.toJSON();
  assert.is(j.attestations[0]!.type, OID_TCG_ATTEST_TPM_CERTIFY);
  assert.ok('other' in j.certs![2]!);
  // no certs: field omitted
  const bare = new AttestationBundle({ attestations: [certify.toAttestationStatement()], certs: [] });
  assert.is(AttestationBundle.fromBER(bare.toDER()).certs, undefined);
});

test('AttestationBundle strict decoding', () => {
  const st = toHex(new AttestationStatement({ type: '1.2.3.4', stmt: hex('0400') }).toDER()); // 3009 06032a0304 0400 ... 
  const stLen = st.length / 2;
  const seq = (body: string): string => {
    const n = body.length / 2;
    return '30' + (n < 128 ? n.toString(16).padStart(2, '0') : '81' + n.toString(16).padStart(2, '0')) + body;
  };
  assert.is(stLen < 120, true);
  expectDecodeError(() => AttestationBundle.fromBER(hex('3000')), 'missing-field', 'attestations');
  expectDecodeError(() => AttestationBundle.fromBER(hex(seq('3000'))), 'constraint', 'attestations');
  expectDecodeError(() => AttestationBundle.fromBER(hex(seq(seq(st) + '3000'))), 'constraint', 'certs');
  expectDecodeError(() => AttestationBundle.fromBER(hex(seq(seq(st) + seq('0500') + '0500'))), 'extra-field');
  expectDecodeError(() => AttestationBundle.fromBER(hex(seq(seq(st) + seq('a0020500')))), 'constraint', 'certs[0]'); // extendedCertificate [0]
  expectDecodeError(() => AttestationBundle.fromBER(hex(seq(seq(st) + seq('a1020500')))), 'constraint', 'certs[0]'); // v1AttrCert [1]
  expectDecodeError(() => AttestationBundle.fromBER(hex(seq(seq(st) + seq('0400')))), 'bad-tag', 'certs[0]');
  expectDecodeError(() => AttestationBundle.fromBER(hex(seq(seq(st) + seq('3003020101')))), 'bad-value', 'certs[0]'); // not a Certificate
  expectDecodeError(() => AttestationBundle.fromBER(hex(seq(seq(st) + seq('a30506032a0363')))), 'missing-field', 'certs[0]'); // other without otherCert
  expectDecodeError(() => AttestationBundle.fromBER(hex(seq(seq(st + '0400')))), 'bad-tag', 'attestations[1]');
  expectDecodeError(() => AttestationBundle.fromBER(hex(seq('3100'))), 'bad-tag', 'attestations');
  assert.throws(() => new AttestationBundle({ attestations: [] }).toDER(), isEncodeError);
});

test('attribute: build, find, decode; COUNTS MAX 1 and exactly one value', () => {
  const bundle = new AttestationBundle({ attestations: [certify.toAttestationStatement()], certs: [akCert] });
  const attr = buildAttestationAttribute(bundle);
  assert.is(attr.type, OID_ID_AA_ATTESTATION);
  assert.is(attr.type, '1.2.840.113549.1.9.16.2.59');
  const reparsed = pkijs.Attribute.fromBER(attr.toSchema().toBER(false));
  assert.is(toHex(decodeAttestationAttribute(reparsed).toDER()), toHex(bundle.toDER()));

  const csr = new pkijs.CertificationRequest();
  assert.is(findAttestationBundle(csr), undefined);
  addAttestationAttribute(csr, bundle);
  assert.throws(() => addAttestationAttribute(csr, bundle), isEncodeError);
  assert.is(findAttestationBundle(csr)!.attestations.length, 1);
  csr.attributes!.push(buildAttestationAttribute(bundle));
  expectDecodeError(() => findAttestationBundle(csr), 'duplicate');
  const twoValues = new pkijs.Attribute({ type: OID_ID_AA_ATTESTATION, values: [bundle.toSchema(), bundle.toSchema()] });
  expectDecodeError(() => decodeAttestationAttribute(twoValues), 'constraint', 'values');
  const noValues = new pkijs.Attribute({ type: OID_ID_AA_ATTESTATION, values: [] });
  expectDecodeError(() => decodeAttestationAttribute(noValues), 'constraint', 'values');
  const wrongInside = new pkijs.Attribute({ type: OID_ID_AA_ATTESTATION, values: [new asn1js.OctetString({ valueHex: ab(hex('00')) })] });
  expectDecodeError(() => decodeAttestationAttribute(wrongInside), 'bad-tag');
  // CRMF extension form
  const ext = buildAttestationExtension(bundle);
  assert.is(ext.extnID, OID_ID_AA_ATTESTATION);
  assert.is(toHex(decodeAttestationExtension(ext).toDER()), toHex(bundle.toDER()));
});

test('openssl asn1parse accepts the attribute DER and sees the expected structure', () => {
  const bundle = new AttestationBundle({ attestations: [certify.toAttestationStatement()], certs: [akCert, caCert] });
  const out = asn1parse(new Uint8Array(buildAttestationAttribute(bundle).toSchema().toBER(false)));
  assert.match(out, /OBJECT\s+:1\.2\.840\.113549\.1\.9\.16\.2\.59/);
  assert.match(out, /OBJECT\s+:2\.23\.133\.20\.1/);
  assert.not.match(out, /error|Error/);
  const lines = out.trim().split('\n');
  // attribute SEQUENCE > SET > bundle SEQUENCE > attestations SEQUENCE > statement SEQUENCE > stmt SEQUENCE of 3 OCTET STRINGs
  const depths = lines.map((l) => Number(/d=(\d+)/.exec(l)![1]));
  assert.match(lines[0]!, /d=0 .*SEQUENCE/);
  assert.match(lines[2]!, /d=1 .*SET/);
  assert.match(lines[3]!, /d=2 .*SEQUENCE/);
  assert.is(lines.filter((l, i) => depths[i] === 6 && /OCTET STRING/.test(l)).length, 3);
  assert.match(out, /d=4 .*SEQUENCE/);
});

test('a CSR carrying the attribute is signed by pkijs and verified + parsed by openssl', async () => {
  const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as unknown as { publicKey: any; privateKey: any };
  const csr = new pkijs.CertificationRequest();
  csr.subject.typesAndValues.push(new pkijs.AttributeTypeAndValue({ type: '2.5.4.3', value: new asn1js.Utf8String({ value: 'dev-1' }) }));
  await csr.subjectPublicKeyInfo.importKey(keys.publicKey);
  addAttestationAttribute(csr, new AttestationBundle({ attestations: [certify.toAttestationStatement()], certs: [akCert] }));
  await csr.sign(keys.privateKey, 'SHA-256');
  const der = new Uint8Array(csr.toSchema().toBER(false));
  const f = join(work, 'csr.der');
  writeFileSync(f, der);
  // openssl 3.0 exits 0 even on a bad signature: read what it says
  const r = spawnSync('openssl', ['req', '-inform', 'DER', '-in', f, '-noout', '-verify'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.match(`${r.stdout}${r.stderr}`, /self-signature verify OK/);
  assert.match(asn1parse(der), /1\.2\.840\.113549\.1\.9\.16\.2\.59/);
  const found = findAttestationBundleInCsrDer(der)!;
  assert.is(toHex(TcgAttestCertify.fromAttestationStatement(found.attestations[0]!).certifyInfo().extraData), toHex(nonce));
  expectDecodeError(() => findAttestationBundleInCsrDer(hex('3003020101')), 'bad-value');
});

// Published samples are not committed (fetched third-party data); see test/fixtures/attest/README.md.
const repoRoot = resolve(fileURLToPath(new URL('../../../', import.meta.url)));
const samplesDir = process.env.ENROLLD_ATTEST_SAMPLES ?? join(repoRoot, '..', 'shared', 'fixtures', 'attest');

test('published sample: mwiseman32/csr-attestation-tpm-example key1-csr.der (draft -24 format)', () => {
  const f = join(samplesDir, 'key1-csr.der');
  if (!existsSync(f)) return console.log(`  (skipped: ${f} absent)`);
  const bundle = findAttestationBundleInCsrDer(readFileSync(f))!;
  assert.is(bundle.attestations.length, 1);
  assert.is(bundle.attestations[0]!.type, '2.23.133.20.1');
  assert.is(bundle.x509Certificates().length, 2);
  const tpm = TcgAttestCertify.fromAttestationStatement(bundle.attestations[0]!);
  assert.is(tpm.tpmSAttest.length, 145);
  assert.is(tpm.signature.length, 256);
  assert.is(tpm.tpmTPublic!.length, 278);
  const info = tpm.certifyInfo();
  assert.is(toHex(info.extraData), '00ff55aa');
  assert.is(info.name.length, 34);
  // our encoder reproduces the sample's bundle bytes exactly
  const csr = pkijs.CertificationRequest.fromBER(readFileSync(f));
  const attr = csr.attributes!.find((a) => a.type === OID_ID_AA_ATTESTATION)!;
  assert.is(toHex(bundle.toDER()), toHex(new Uint8Array(attr.values[0].toBER(false))));
});

test('published sample: draft repo sampledata/tcgAttestTpmCertify.pem (pre-23 format with IA5String hint)', () => {
  const f = join(samplesDir, 'tcgAttestTpmCertify.pem');
  if (!existsSync(f)) return console.log(`  (skipped: ${f} absent)`);
  const pem = readFileSync(f, 'utf8').replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const der = new Uint8Array(Buffer.from(pem, 'base64'));
  expectDecodeError(() => findAttestationBundleInCsrDer(der), 'extra-field', 'attestations[0]');
  const bundle = findAttestationBundleInCsrDer(der, { allowLegacyHint: true })!;
  assert.is(bundle.attestations[0]!.legacyHint, 'tpmverifier.example.com');
  assert.is(TcgAttestCertify.fromAttestationStatement(bundle.attestations[0]!).certifyInfo().extraData.length, 4);
});

test.run();
