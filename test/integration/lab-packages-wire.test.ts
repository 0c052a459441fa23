// The lab's own package messages, checked by an independent decoder: every TAMP request the lab publishes (RFC 5934),
// a symmetric key package with its receipt request (RFC 6031, RFC 7191) and a firmware package with its RFC 4108
// signed attributes (plain and compressed, RFC 3274) are decoded by Debian's pyasn1-modules with a strict DER check,
// and their SignedData is verified by `openssl cms -verify`. The lab is the peer the agent is tested against, so its
// wire format is held to the RFC modules, not to the agent.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import * as asn1js from 'asn1js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FirmwareLab } from '../../deploy/lab/firmware.js';
import { registerKeyPackageHandlers } from '../../deploy/lab/keys.js';
import { Router } from '../../deploy/lab/router.js';
import { LabCa } from '../../deploy/lab/ca.js';
import { contingencyApex, registerTampHandlers } from '../../deploy/lab/tamp.js';
import { hex, openssl, pyDecodeMany, requirePyasn1 } from '../harness/pydecode.js';

requirePyasn1();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'enrolld-lab-wire-'));
const router = new Router();
const baseUrl = 'https://127.0.0.1:1';
const tamp = await registerTampHandlers(router, { baseUrl });
const keys = await registerKeyPackageHandlers(router, { baseUrl });
const fw = await FirmwareLab.create(router, { dir: path.join(tmp, 'fw'), baseUrl });

/** openssl cms -verify with the signer's root as the only CA: the content comes out. */
function opensslVerify(der: Uint8Array, rootPem: string): Uint8Array {
  const r = openssl(['cms', '-verify', '-inform', 'DER', '-in', '{dir}/in.der', '-CAfile', '{dir}/ca.pem', '-purpose', 'any', '-binary', '-out', '{dir}/out.der'], { 'in.der': der, 'ca.pem': rootPem });
  try {
    return new Uint8Array(readFileSync(path.join(r.dir, 'out.der')));
  } finally {
    r.cleanup();
  }
}

test('TAMP requests (RFC 5934 Appendix A): pyasn1 decodes each, DER, DEFAULTs omitted, signed attributes and digest right', async () => {
  const other = await LabCa.create({ name: 'wire other' });
  const spki = new Uint8Array(other.root.certificate.subjectPublicKeyInfo.toSchema().toBER(false));
  const { taTitleChange } = await import('../../deploy/lab/asn1/tamp.js');
  const msgs = [
    await tamp.publish({ kind: 'statusQuery', terse: 'terse', target: { kind: 'hwModules', modules: [{ hwType: '1.3.6.1.4.1.32473.8.1', serials: [{ single: new Uint8Array([1]) }, { all: true }, { block: { low: new Uint8Array([1]), high: new Uint8Array([9]) } }] }] } }),
    await tamp.publish({ kind: 'update', updates: [{ kind: 'add', ta: { kind: 'certificate', der: other.root.der } }, { kind: 'remove', pubKey: spki }, { kind: 'change', change: taTitleChange(spki, 'renamed') }] }),
    await tamp.publish({ kind: 'apexUpdate', apexTA: contingencyApex(other).apexTA, clearTrustAnchors: true, newApexSeq: 7n }),
    await tamp.publish({ kind: 'communityUpdate', target: { kind: 'communities', communities: ['1.3.6.1.4.1.32473.50.1'] }, updates: { remove: ['1.3.6.1.4.1.32473.50.1'], add: ['1.3.6.1.4.1.32473.50.2'] } }),
    await tamp.publish({ kind: 'seqAdjust' }),
  ];
  const out = pyDecodeMany('decode_cms.py', msgs.map((m) => m.der));
  const names = out.map((o) => o.signedData.eContent.name);
  assert.equal(names, ['TAMPStatusQuery', 'TAMPUpdate', 'TAMPApexUpdate', 'TAMPCommunityUpdate', 'SequenceNumberAdjust']);
  for (const [i, o] of out.entries()) {
    const v = o.signedData.eContent.value;
    assert.is(v.version, undefined, `${names[i]}: version DEFAULT v2 omitted`);
    const ref = v.query ?? v.msgRef;
    assert.is(ref.seqNum, Number(msgs[i]!.seqNum), names[i]);
    const si = o.signedData.signerInfos[0];
    assert.ok(si.signedAttrsAreDer && si.messageDigestOk, `${names[i]}: ${JSON.stringify(si)}`);
    assert.equal(si.signedAttrs['1.2.840.113549.1.9.3'], [o.signedData.eContentType]);
  }
  assert.is(out[0].signedData.eContent.value.terse, 'terse');
  assert.equal(out[0].signedData.eContent.value.query.target.hwModules[0].hwSerialEntries, [{ single: '01' }, { all: 'NULL' }, { block: { low: '01', high: '09' } }]);
  const ups = out[1].signedData.eContent.value.updates;
  assert.equal(Object.keys(ups[0]), ['add']);
  assert.is(ups[1].remove.algorithm.algorithm, '1.2.840.10045.2.1');
  assert.is(ups[2].change.taChange.taTitle, 'renamed');
  const apex = out[2].signedData.eContent.value;
  assert.equal([apex.clearTrustAnchors, apex.clearCommunities, apex.seqNumber], [true, false, 7]);
  assert.is(apex.apexTA.taInfo.exts[0].extnID, '1.3.6.1.5.5.7.1.20', 'id-pe-wrappedApexContinKey');
  assert.equal(out[3].signedData.eContent.value.updates, { remove: ['1.3.6.1.4.1.32473.50.1'], add: ['1.3.6.1.4.1.32473.50.2'] });
  for (const m of msgs.slice(0, 2)) assert.is(opensslVerify(m.der, tamp.manager.root.pem)[0], 0x30);
  assert.is(opensslVerify(msgs[2]!.der, tamp.apex.root.pem)[0], 0x30);
});

test('symmetric key package (RFC 6031) with keyPkgIdAndReceiptReq (RFC 7191 §2): pyasn1 decodes it, openssl verifies it', async () => {
  const p = await keys.addSymmetricPackage({ id: 'wire', keys: [{ keyId: 'aes-1', key: new Uint8Array(16).fill(7), algorithm: 'http://www.w3.org/2001/04/xmlenc#aes128-cbc' }, { keyId: 'hmac-2', key: new Uint8Array(32).fill(9) }] });
  const [o] = pyDecodeMany('decode_cms.py', [p.der]);
  const v = o.signedData.eContent.value;
  assert.is(o.signedData.eContentType, '1.2.840.113549.1.9.16.1.25', 'id-ct-KP-sKeyPackage');
  assert.is(v.version, undefined, 'version DEFAULT v1 omitted');
  assert.is(v.sKeys.length, 2);
  assert.is(v.sKeys[0].sKey, hex(new Uint8Array(16).fill(7)));
  assert.is(v.sKeys[0].sKeyAttrs.length, 2);
  const si = o.signedData.signerInfos[0];
  assert.ok(si.signedAttrsAreDer && si.messageDigestOk);
  const req = si.signedAttrs['2.16.840.1.101.2.1.5.65'][0];
  assert.is(req.pkgID, hex(p.pkgId));
  assert.is(req.receiptReq.receiptsTo[0].sirenType, '2.16.840.1.101.2.1.16.0');
  assert.is(req.receiptReq.encryptReceipt, false, 'encryptReceipt DEFAULT FALSE (omitted: the strict DER check re-encodes)');
  opensslVerify(p.der, keys.ca.root.pem);
});

test('firmware packages (RFC 4108 §2.2 attributes; RFC 3274 CompressedData): pyasn1 decodes the streamed DER, openssl verifies it', async () => {
  const image = new Uint8Array(randomBytes(20_000));
  const name = { preferred: { fwPkgID: '1.3.6.1.4.1.32473.7.1', verNum: 3 } };
  const plain = await fw.addPackage({ id: 'wire', image, name, targetHardware: ['1.3.6.1.4.1.32473.8.1'] });
  // The compressed one carries every attribute; decode_cms.py decodes its signed attributes (the id-ct-compressedData
  // content stays hex: the script does not load rfc3274).
  const z = await fw.addPackage({ id: 'wire-z', image, name, stale: { preferredStaleVerNum: 2 }, targetHardware: ['1.3.6.1.4.1.32473.8.1'], communities: [{ communityOID: '1.3.6.1.4.1.32473.9.1' }], packageInfo: { fwPkgType: 1, dependencies: [{ preferred: { fwPkgID: '1.3.6.1.4.1.32473.7.5', verNum: 1 } }] }, compress: true });
  const [c] = pyDecodeMany('decode_cms.py', [readFileSync(z.path)]);
  assert.ok(c.signedData.derExact);
  assert.is(c.signedData.eContentType, '1.2.840.113549.1.9.16.1.9', 'id-ct-compressedData');
  const si = c.signedData.signerInfos[0];
  assert.ok(si.signedAttrsAreDer && si.messageDigestOk, JSON.stringify(si));
  const a = si.signedAttrs;
  assert.equal(a['1.2.840.113549.1.9.3'], ['1.2.840.113549.1.9.16.1.9']);
  assert.equal(a['1.2.840.113549.1.9.16.2.35'], [{ name: { preferred: { fwPkgID: '1.3.6.1.4.1.32473.7.1', verNum: 3 } }, stale: { preferredStaleVerNum: 2 } }]);
  assert.equal(a['1.2.840.113549.1.9.16.2.36'], [['1.3.6.1.4.1.32473.8.1']]);
  assert.equal(a['1.2.840.113549.1.9.16.2.40'], [[{ communityOID: '1.3.6.1.4.1.32473.9.1' }]]);
  assert.equal(a['1.2.840.113549.1.9.16.2.42'], [{ fwPkgType: 1, dependencies: [{ preferred: { fwPkgID: '1.3.6.1.4.1.32473.7.5', verNum: 1 } }] }]);
  assert.is(a['1.2.840.113549.1.9.16.2.41'][0].msgDigest, createHash('sha256').update(image).digest('hex'), 'digest of the image, not of the compressed content');
  assert.equal(opensslVerify(readFileSync(plain.path), fw.trustAnchorPem), image);
  const compressed = opensslVerify(readFileSync(z.path), fw.trustAnchorPem);
  // RFC 3274 §1.1 CompressedData { version 0, compressionAlgorithm id-alg-zlibCompress, encapContentInfo { id-ct-firmwarePackage, zlib(image) } }
  // (this openssl has no zlib for `cms -uncompress`: asn1js reads the structure, node's zlib inflates)
  const cd = asn1js.fromBER(compressed).result as asn1js.Sequence;
  const [version, alg, encap] = cd.valueBlock.value as [asn1js.Integer, asn1js.Sequence, asn1js.Sequence];
  assert.is(version.valueBlock.valueDec, 0);
  assert.is((alg.valueBlock.value[0] as asn1js.ObjectIdentifier).valueBlock.toString(), '1.2.840.113549.1.9.16.3.8');
  assert.is((encap.valueBlock.value[0] as asn1js.ObjectIdentifier).valueBlock.toString(), '1.2.840.113549.1.9.16.1.16');
  const zlibbed = ((encap.valueBlock.value[1] as asn1js.Constructed).valueBlock.value[0] as asn1js.OctetString).getValue();
  assert.equal(new Uint8Array(inflateSync(Buffer.from(zlibbed))), image);
});

/** The bytes the lab answers a GET of `url` with (its own route handler, no agent code on the way). */
async function served(url: string): Promise<Uint8Array> {
  const u = new URL(url);
  const m = router.match('GET', u.pathname);
  assert.ok(m && 'handler' in m, `no lab route for ${u.pathname}`);
  const res = await m.handler({ method: 'GET', path: u.pathname, query: u.searchParams, headers: {}, body: Buffer.alloc(0), params: m.params, tls: { protocol: 'TLSv1.3', peerChain: [] }, remoteAddress: '127.0.0.1' });
  assert.is(res.status, 200);
  return new Uint8Array(res.body as Uint8Array);
}

test('firmware packages as the lab serves them (RFC 4108 §2.1.5: the eContent octets are the image): pyasn1 rfc4108/rfc3274 decode both forms, openssl verifies both', async () => {
  const image = new Uint8Array(randomBytes(30_000));
  const digest = createHash('sha256').update(image).digest('hex');
  const name = { preferred: { fwPkgID: '1.3.6.1.4.1.32473.7.2', verNum: 4 } };
  const plain = await served((await fw.addPackage({ id: 'served', image, name, targetHardware: ['1.3.6.1.4.1.32473.8.1'] })).url);
  const z = await served((await fw.addPackage({ id: 'served-z', image, name, targetHardware: ['1.3.6.1.4.1.32473.8.1'], compress: true })).url);
  const [p, c] = pyDecodeMany('decode_cms.py', [plain, z]);
  // uncompressed: eContentType id-ct-firmwarePackage, eContent = FirmwarePkgData = the image; messageDigest over it
  assert.is(p.signedData.eContentType, '1.2.840.113549.1.9.16.1.16');
  assert.equal(p.signedData.eContent.firmwarePkgData, { length: image.length, sha256: digest });
  const ps = p.signedData.signerInfos[0];
  assert.ok(ps.signedAttrsAreDer && ps.messageDigestOk, JSON.stringify(ps));
  assert.equal(ps.signedAttrs['1.2.840.113549.1.9.16.2.41'][0].msgDigest, ps.signedAttrs['1.2.840.113549.1.9.4'][0], 'fwPkgMessageDigest = messageDigest when not compressed (§2.2.7)');
  // compressed: CompressedData (rfc3274) whose inflated eContent is the FirmwarePkgData
  assert.is(c.signedData.eContent.name, 'compressedData');
  assert.is(c.signedData.eContent.value.compressionAlgorithm.algorithm, '1.2.840.113549.1.9.16.3.8', 'id-alg-zlibCompress');
  assert.is(c.signedData.eContent.encapsulated.type, '1.2.840.113549.1.9.16.1.16');
  assert.equal(c.signedData.eContent.encapsulated.firmwarePkgData, { length: image.length, sha256: digest });
  assert.ok(c.signedData.signerInfos[0].messageDigestOk);
  assert.equal(opensslVerify(plain, fw.trustAnchorPem), image);
  assert.is(opensslVerify(z, fw.trustAnchorPem)[0], 0x30, 'CompressedData SEQUENCE');
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
