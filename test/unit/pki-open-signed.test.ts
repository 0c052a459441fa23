// agent/pki/cms/open-signed.ts: every SignedData the former pkijs-based verifiers (TAMP, key packages, CMC) accepted
// and that is valid (RFC 5652 signed attributes, SHA-2, ECDSA P-256/384/521, RSA ≥ 2048 PKCS#1 v1.5 or PSS, either
// sid form, the signer a trust anchor itself) is still accepted; each defect is refused with its typed reason.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { OID_SHA1, OID_RSASSA_PSS, OID_MGF1, digestByName, signatureOid } from '../../agent/pki/algorithms.js';
import { contentTypeAttribute, messageDigestAttribute, signedAttributesDer, sortAttributes } from '../../agent/pki/asn1/cms-attributes.js';
import { certificateSubjectKeyId, certificateToDer } from '../../agent/pki/cert.js';
import { CmsOpenError, openSigned, type CmsOpenReason, type SignerTrust } from '../../agent/pki/cms/open-signed.js';
import { OID_SIGNED_DATA } from '../../agent/pki/cms/oids.js';
import { LabCa } from '../../deploy/lab/ca.js';

const NOW = new Date('2026-04-01T00:00:00Z');
const DAY = 86_400_000;
const CT = '1.3.6.1.4.1.32473.9.1'; // an example content type (RFC 5612 documentation arc)
const CONTENT = new Uint8Array(Buffer.from('the encapsulated content'));

type Hash = 'sha256' | 'sha384' | 'sha512';
interface Spec {
  key: KeyObject;
  cert: pkijs.Certificate;
  /** The issuing CA certificate (included after the signer's). */
  issuing?: pkijs.Certificate;
  hash: Hash;
  pss?: boolean;
  sid?: 'ski' | 'iasn';
  include?: boolean;
  /** Defects. */
  digestOid?: string;
  contentTypeAttr?: string;
  badDigest?: boolean;
  noSignedAttrs?: boolean;
  flipSignature?: boolean;
}

function buildSignedData(s: Spec): Uint8Array {
  const digestOid = s.digestOid ?? digestByName(s.hash).oid;
  const nodeHash = s.digestOid === OID_SHA1 ? 'sha1' : s.hash;
  const md = new Uint8Array(createHash(nodeHash).update(CONTENT).digest());
  if (s.badDigest) md[0]! ^= 1;
  const attrs = sortAttributes([contentTypeAttribute(s.contentTypeAttr ?? CT), messageDigestAttribute(md)]);
  const tbs = s.noSignedAttrs ? CONTENT : signedAttributesDer(attrs);
  const isEc = s.key.asymmetricKeyType === 'ec';
  const signature = new Uint8Array(
    sign(nodeHash, tbs, isEc ? { key: s.key, dsaEncoding: 'der' } : s.pss ? { key: s.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: digestByName(s.hash).bytes } : s.key),
  );
  if (s.flipSignature) signature[signature.length - 3]! ^= 0x55;
  const hashAlg = () => new pkijs.AlgorithmIdentifier({ algorithmId: digestByName(s.hash).oid });
  const signatureAlgorithm = s.pss
    ? new pkijs.AlgorithmIdentifier({
        algorithmId: OID_RSASSA_PSS,
        algorithmParams: new pkijs.RSASSAPSSParams({
          hashAlgorithm: hashAlg(),
          maskGenAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID_MGF1, algorithmParams: hashAlg().toSchema() }),
          saltLength: digestByName(s.hash).bytes,
        }).toSchema(),
      })
    : new pkijs.AlgorithmIdentifier({ algorithmId: signatureOid(isEc ? 'ec' : 'rsa', s.hash), ...(isEc ? {} : { algorithmParams: new asn1js.Null() }) });
  const ski = s.sid !== 'iasn';
  const signerInfo = new pkijs.SignerInfo({
    version: ski ? 3 : 1,
    sid: ski
      ? new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: certificateSubjectKeyId(s.cert)! })
      : new pkijs.IssuerAndSerialNumber({ issuer: s.cert.issuer, serialNumber: s.cert.serialNumber }),
    digestAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: digestOid }),
    ...(s.noSignedAttrs ? {} : { signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: attrs }) }),
    signatureAlgorithm,
    signature: new asn1js.OctetString({ valueHex: signature }),
  });
  const encap = new pkijs.EncapsulatedContentInfo({ eContentType: CT });
  encap.eContent = new asn1js.OctetString({ valueHex: CONTENT });
  const sd = new pkijs.SignedData({
    version: 3,
    digestAlgorithms: [new pkijs.AlgorithmIdentifier({ algorithmId: digestOid })],
    encapContentInfo: encap,
    signerInfos: [signerInfo],
    ...(s.include === false ? {} : { certificates: [s.cert, ...(s.issuing ? [s.issuing] : [])] }),
  });
  return new Uint8Array(new pkijs.ContentInfo({ contentType: OID_SIGNED_DATA, content: sd.toSchema(true) }).toSchema().toBER(false));
}

/** What the former verifiers checked: pkijs SignedData.verify with the included signer certificate. */
async function pkijsAccepts(der: Uint8Array): Promise<boolean> {
  const sd = new pkijs.SignedData({ schema: new pkijs.ContentInfo({ schema: asn1js.fromBER(der).result }).content });
  try {
    const r = await sd.verify({ signer: 0, checkChain: false, extendedMode: true });
    return r.signatureVerified === true;
  } catch {
    return false;
  }
}

let ca: LabCa;
let other: LabCa;
async function signerFor(key: 'P-256' | 'P-384' | 'P-521' | 'rsa-2048' | 'rsa-3072', from: LabCa = ca): Promise<{ key: KeyObject; cert: pkijs.Certificate; issuing: pkijs.Certificate }> {
  const pair = key.startsWith('rsa') ? generateKeyPairSync('rsa', { modulusLength: Number(key.slice(4)) }) : generateKeyPairSync('ec', { namedCurve: key });
  const spki = new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' }));
  const cert = await from.issue({ subject: { CN: `signer ${key}` }, spki, notBefore: new Date(NOW.getTime() - DAY), notAfter: new Date(NOW.getTime() + 30 * DAY), profile: 'client' });
  return { key: pair.privateKey, cert, issuing: from.issuing.certificate };
}

const trust = (): SignerTrust => ({ authorized: [{ use: 'test', anchors: [ca.root.der] }], installed: [ca.root.der, other.root.der], at: NOW });

async function refused(der: Uint8Array, reason: CmsOpenReason, t = trust()): Promise<void> {
  await openSigned(der, { trust: t }).then(
    () => assert.unreachable(`expected ${reason}`),
    (e) => {
      assert.ok(e instanceof CmsOpenError, String(e));
      assert.is((e as CmsOpenError).reason, reason, (e as Error).message);
    },
  );
}

test.before(async () => {
  ca = await LabCa.create({ now: NOW });
  other = await LabCa.create({ now: NOW, name: 'other' });
});

test('every valid SignedData the pkijs verifiers accepted is still accepted', async () => {
  const cases: Array<[string, Spec]> = [];
  for (const [curve, hash] of [['P-256', 'sha256'], ['P-384', 'sha384'], ['P-521', 'sha512'], ['P-256', 'sha512']] as const) {
    const s = await signerFor(curve);
    cases.push([`ECDSA ${curve} ${hash} (ski)`, { ...s, hash }], [`ECDSA ${curve} ${hash} (issuerAndSerialNumber)`, { ...s, hash, sid: 'iasn' }]);
  }
  const rsa = await signerFor('rsa-2048');
  const rsa3 = await signerFor('rsa-3072');
  for (const hash of ['sha256', 'sha384', 'sha512'] as const) {
    cases.push([`RSA-2048 PKCS#1 v1.5 ${hash}`, { ...rsa, hash }], [`RSA-2048 PSS ${hash}`, { ...rsa, hash, pss: true }]);
  }
  cases.push(['RSA-3072 PKCS#1 v1.5 sha256 (issuerAndSerialNumber)', { ...rsa3, hash: 'sha256', sid: 'iasn' }]);
  for (const [name, spec] of cases) {
    const der = buildSignedData(spec);
    assert.ok(await pkijsAccepts(der), `pkijs accepts ${name}`);
    const v = await openSigned(der, { trust: trust(), eContentType: CT });
    assert.equal(v.eContent, CONTENT, name);
    assert.is(v.use, 'test');
    assert.equal(certificateToDer(v.anchor), ca.root.der, name);
  }
});

test('a signer that is itself the trust anchor need not be included', async () => {
  const s = await signerFor('P-256');
  const der = buildSignedData({ key: s.key, cert: s.cert, hash: 'sha256', include: false });
  const v = await openSigned(der, { trust: { authorized: [{ use: 'direct', anchors: [s.cert] }], at: NOW } });
  assert.is(v.use, 'direct');
  await refused(der, 'unknown-signer'); // not included and not an anchor
});

test('the first authorized group the signer chains to names the use; an installed but unauthorized TA: not-authorized', async () => {
  const s = await signerFor('P-256');
  const der = buildSignedData({ ...s, hash: 'sha256' });
  const v = await openSigned(der, { trust: { authorized: [{ use: 'apex', anchors: [other.root.der] }, { use: 'mgmt', anchors: [ca.root.der] }], at: NOW } });
  assert.is(v.use, 'mgmt');
  await refused(der, 'not-authorized', { authorized: [{ use: 'x', anchors: [other.root.der] }], installed: [ca.root.der], at: NOW });
  const rogue = await signerFor('P-256', other);
  await refused(buildSignedData({ ...rogue, hash: 'sha256' }), 'not-authorized');
  await refused(buildSignedData({ ...rogue, hash: 'sha256' }), 'no-trust-anchor', { authorized: [{ use: 'x', anchors: [ca.root.der] }], at: NOW });
});

test('each defect is refused with its reason', async () => {
  const s = await signerFor('P-256');
  const small = await signerFor('rsa-2048');
  await refused(new Uint8Array([0x30, 0x03, 0x02]), 'malformed');
  await refused(new Uint8Array(new pkijs.ContentInfo({ contentType: '1.2.840.113549.1.7.1', content: new asn1js.OctetString() }).toSchema().toBER(false)), 'not-signed-data');
  await refused(buildSignedData({ ...s, hash: 'sha256', contentTypeAttr: '1.2.840.113549.1.7.1' }), 'content-type-mismatch');
  await refused(buildSignedData({ ...s, hash: 'sha256', badDigest: true }), 'digest-mismatch');
  await refused(buildSignedData({ ...s, hash: 'sha256', flipSignature: true }), 'bad-signature');
  await refused(buildSignedData({ ...s, hash: 'sha256', noSignedAttrs: true }), 'missing-signed-attrs');
  await refused(buildSignedData({ ...s, hash: 'sha256', digestOid: OID_SHA1 }), 'unsupported-digest');
  await refused(buildSignedData({ ...small, hash: 'sha256', flipSignature: true }), 'bad-signature');
  await openSigned(buildSignedData({ ...s, hash: 'sha256' }), { trust: trust(), eContentType: '1.2.3.4' }).then(
    () => assert.unreachable(),
    (e) => assert.is((e as CmsOpenError).reason, 'unexpected-content'),
  );
});

test.run();
