// Independent decoding of the agent's package answers, all signed by the device's TPM key (swtpm): RFC 4108
// firmware load receipts and errors, RFC 5934 TAMP status response / update confirm / error, RFC 7191 key package
// receipt and error — decoded field by field by pyasn1-modules (rfc5652 + rfc4108 / rfc5934 / rfc7191) and verified
// by `openssl cms -verify` with only the lab root as CA file (the answers carry the device certificate's chain).
// And what the lab sends for 0021: SignedData(AsymmetricKeyPackage) decoded by pyasn1 rfc5652 + rfc5958 (its key
// checked by node against the certificate's key), its EnvelopedData to the KEK by rfc5652.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import { ManualClock } from '../../agent/lifecycle/clock.js';
import type { AgentState } from '../../agent/lifecycle/state.js';
import type { PalEntry } from '../../agent/pal/model.js';
import { certificateSpki, certificateToDer } from '../../agent/pki/cert.js';
import { keyIdentifierFromSpki } from '../../agent/pki/asn1/cms-signed-data-create.js';
import { EstClient } from '../../agent/protocols/est/client.js';
import { createHttpsTransport } from '../../agent/protocols/http/transport.js';
import { PalPoller } from '../../agent/packages/pal-poller.js';
import { createPackageRegistry } from '../../agent/packages/registry.js';
import { FirmwareManager } from '../../agent/packages/firmware/manager.js';
import { createStreamingHttpsClient } from '../../agent/packages/firmware/download.js';
import { TampManager } from '../../agent/packages/tamp/manager.js';
import { SymmetricKeyPackages } from '../../agent/packages/keys/symmetric.js';
import { ServerKeygen, type ServerKeygenConfig } from '../../agent/packages/keys/serverkeygen.js';
import { KeysStateFile } from '../../agent/packages/keys/common.js';
import { ensureKek, kekPublicKeyPem } from '../../agent/packages/keys/kek.js';
import { createECDH } from 'node:crypto';
import { CrlStore } from '../../agent/store/crl-store.js';
import { TrustAnchorStore } from '../../agent/store/ta-store.js';
import { memoryLogger } from '../../agent/util/log.js';
import { FirmwareLab } from '../../deploy/lab/firmware.js';
import { registerKeyPackageHandlers } from '../../deploy/lab/keys.js';
import { labPal } from '../../deploy/lab/pal.js';
import { createLabServer } from '../../deploy/lab/server.js';
import { registerTampHandlers } from '../../deploy/lab/tamp.js';
import { startSwtpm } from '../harness/swtpm.js';
import { hex, opensslText, pyDecode, requirePyasn1, tapRouter } from '../harness/pydecode.js';

requirePyasn1();
const USERS = { device: 's3cret' };
const HW_TYPE = '1.3.6.1.4.1.32473.8.1';
const HW_SERIAL = new Uint8Array([0x00, 0xc0, 0xff, 0xee]);
const PKG = '1.3.6.1.4.1.32473.7.1';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'enrolld-decode-pkg-'));
const server = await createLabServer({ users: USERS });
const pal = labPal(server.router);
const tampLab = await registerTampHandlers(server.router, { baseUrl: server.url });
const keysLab = await registerKeyPackageHandlers(server.router, { baseUrl: server.url, issuer: server.ca });
const fwLab = await FirmwareLab.create(server.router, { dir: path.join(tmp, 'fwlab'), baseUrl: server.url });
const swtpm = await startSwtpm();
const store = await TpmKeyStore.open({ tcti: swtpm.tcti });
const deviceKey = await store.createKey('device-key', 'ecc-p256');
const t0 = new Date();
const deviceCert = await server.ca.issue({ subject: { CN: 'device-pkg-1' }, spki: deviceKey.spki, notBefore: new Date(t0.getTime() - 3600_000), notAfter: new Date(t0.getTime() + 86_400_000), profile: 'client' });
const deviceCertDer = certificateToDer(deviceCert);
const returnSigner = { signer: store.signer(deviceKey), certificate: deviceCertDer, chain: [server.ca.issuing.der] };
const deviceName = new Uint8Array(deviceCert.subject.toSchema().toBER(false));
const stateDir = path.join(tmp, 'state');
const taFile = path.join(stateDir, 'ta.json');
const apexFile = path.join(tmp, 'apex.pem');
writeFileSync(apexFile, tampLab.apex.root.pem);
const ta0 = await TrustAnchorStore.open(taFile);
await ta0.add([
  { name: 'lab-root', source: 'config', uses: ['est-server', 'cacerts', 'crl'], certificate: server.trustAnchorPem },
  { name: 'tamp-manager', source: 'config', uses: ['tamp'], certificate: tampLab.manager.root.der },
]);
const hook = path.join(tmp, 'hook.sh');
writeFileSync(hook, '#!/bin/sh\nexit 0\n');
chmodSync(hook, 0o755);

test.after(async () => {
  await store.close();
  await swtpm.stop();
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});

const tamp = () => new TampManager({ stateDir, apexTaFile: apexFile, module: { hwType: HW_TYPE, hwSerialNum: HW_SERIAL }, returnSigner });
const sym = () => new SymmetricKeyPackages({ keystore: store, stateDir, deviceName, trustAnchors: async () => [keysLab.trustAnchorDer], returnSigner, maxPackageBytes: 64 * 1024 });

const wire = tapRouter(server.router);
const skg = (o: Partial<ServerKeygenConfig> = {}) =>
  new ServerKeygen({ keystore: store, stateDir, deviceName, trustAnchors: async () => [keysLab.trustAnchorDer], returnSigner, subject: { CN: 'device-pkg-1 tls' }, ...o });
const kek = await ensureKek(new KeysStateFile(stateDir), store, new Date());
await keysLab.setKek(kekPublicKeyPem(kek));

async function poll(entries: PalEntry[], skgOptions?: Partial<ServerKeygenConfig>): Promise<void> {
  const clock = new ManualClock(new Date());
  const ta = await TrustAnchorStore.open(taFile);
  const crls = await CrlStore.open(path.join(tmp, 'crls.json'), { taStore: ta, now: () => clock.now() });
  const transport = createHttpsTransport({ trustAnchors: ta.certificatesFor('est-server'), basicAuth: { username: 'device', password: USERS.device } });
  const poller = new PalPoller({ est: new EstClient({ baseUrl: server.url, transport }), taStore: ta, crlStore: crls, log: memoryLogger('warn'), clock, registry: createPackageRegistry({ handlers: [tamp().handler(), sym().handler(), skg(skgOptions).handler()] }) });
  pal.setPal('device', entries);
  await poller.poll({ schema: 1, phase: 'enrolled', history: [] } as unknown as AgentState);
}

/** The SignedData checks every answer shares: TPM-key signer, DER signed attributes, digest, chain to the root. */
function assertSignedByDevice(der: Uint8Array, eContentType: string): any {
  const j = pyDecode('decode_cms.py', der);
  assert.is(j.contentType, '1.2.840.113549.1.7.2');
  const sd = j.signedData;
  assert.is(sd.eContentType, eContentType);
  assert.is(sd.version, 3, 'RFC 5652 §5.1: eContentType other than id-data → version 3');
  assert.is(sd.signerInfos.length, 1);
  const si = sd.signerInfos[0];
  if (si.sid.subjectKeyIdentifier) {
    assert.is(si.version, 3);
    assert.is(si.sid.subjectKeyIdentifier, hex(keyIdentifierFromSpki(deviceKey.spki)));
  } else {
    assert.is(si.version, 1);
    assert.is(BigInt(si.sid.serialNumber).toString(16), BigInt(`0x${Buffer.from(deviceCert.serialNumber.valueBlock.valueHexView).toString('hex')}`).toString(16));
  }
  assert.is(si.signatureAlgorithm.algorithm, '1.2.840.10045.4.3.2');
  assert.equal(si.signedAttrs['1.2.840.113549.1.9.3'], [eContentType]);
  assert.is(si.messageDigestOk, true);
  assert.is(si.signedAttrsAreDer, true);
  const certs = sd.certificates.map((c: any) => c.der);
  assert.ok(certs.includes(hex(deviceCertDer)) && certs.includes(hex(server.ca.issuing.der)), 'device certificate and its intermediate');
  opensslText(['cms', '-verify', '-inform', 'DER', '-in', '{dir}/m.der', '-CAfile', '{dir}/root.pem', '-purpose', 'any', '-binary', '-out', '{dir}/c.der'], { 'm.der': der, 'root.pem': server.ca.root.pem });
  return sd.eContent.value;
}

const firmware = (dir: string, signer: typeof returnSigner | undefined): FirmwareManager =>
  new FirmwareManager({
    workDir: path.join(tmp, dir),
    device: { hwType: HW_TYPE, hwSerialNum: HW_SERIAL },
    trustAnchors: async (purpose) => (purpose === 'firmware' ? [fwLab.trustAnchorDer] : [fwLab.trustAnchorDer, server.ca.root.der]),
    hook: { path: hook, timeoutMs: 10_000 },
    http: createStreamingHttpsClient({ trustAnchors: [server.trustAnchorPem] }),
    transport: createHttpsTransport({ trustAnchors: [server.trustAnchorPem] }),
    ...(signer ? { returnSigner: signer } : {}),
  });

test('RFC 4108 firmware load receipt and load error (signed by the TPM key) decoded by pyasn1 rfc4108', async () => {
  const m = firmware('fw', returnSigner);
  const p = await fwLab.addPackage({ id: 'v10', image: new Uint8Array(randomBytes(50_000)), name: { preferred: { fwPkgID: PKG, verNum: 10 } }, targetHardware: [HW_TYPE] });
  assert.is((await m.processPackage(p.url, p.palSize)).status, 'applied');
  await m.returnReports();
  const receipt = assertSignedByDevice(fwLab.returns.at(-1)!.der, '1.2.840.113549.1.9.16.1.17');
  assert.is(receipt.version, undefined, 'version DEFAULT v1 is omitted in DER (X.690 §11.5)');
  assert.is(receipt.hwType, HW_TYPE);
  assert.is(receipt.hwSerialNum, hex(HW_SERIAL));
  assert.equal(receipt.fwPkgName, { preferred: { fwPkgID: PKG, verNum: 10 } });
  assert.is(receipt.trustAnchorKeyID.length, 40, 'SHA-1 key identifier of the firmware TA');
  await m.confirmBoot();

  const bad = await fwLab.addPackage({ id: 'hw', image: new Uint8Array(randomBytes(1000)), name: { preferred: { fwPkgID: PKG, verNum: 11 } }, targetHardware: ['1.3.6.1.4.1.32473.8.2'] });
  assert.is((await m.processPackage(bad.url, bad.palSize)).status, 'rejected');
  await m.returnReports();
  const err = assertSignedByDevice(fwLab.returns.at(-1)!.der, '1.2.840.113549.1.9.16.1.18');
  assert.is(err.version, undefined, JSON.stringify(err));
  assert.is(err.hwType, HW_TYPE);
  assert.is(err.hwSerialNum, hex(HW_SERIAL));
  assert.is(err.errorCode, 'wrongHardware');
  assert.equal(err.fwPkgName, { preferred: { fwPkgID: PKG, verNum: 11 } });
  // without a return signer the load error travels as a bare ContentInfo (RFC 4108 §2.3)
  const unsignedMgr = firmware('fw-unsigned', undefined);
  await unsignedMgr.processPackage(bad.url, bad.palSize);
  await unsignedMgr.returnReports(`${server.url}/.well-known/est/firmware/return`);
  const bare = pyDecode('decode_cms.py', fwLab.returns.at(-1)!.der);
  assert.is(bare.contentType, '1.2.840.113549.1.9.16.1.18');
  assert.is(bare.content.value.errorCode, 'wrongHardware');
  assert.is(bare.content.value.hwSerialNum, hex(HW_SERIAL));
  assert.equal(err.config[0].fwPkgName, { preferred: { fwPkgID: PKG, verNum: 10 } }, `installed package in config: ${JSON.stringify(err.config)}`);
});

test('RFC 5934 TAMPStatusResponse, TAMPUpdateConfirm and TAMPError (signed by the TPM key) decoded by pyasn1 rfc5934', async () => {
  const q = await tampLab.publish({ kind: 'statusQuery' });
  await poll([q.entry]);
  const sr = assertSignedByDevice(tampLab.returns.at(-1)!.der, '2.16.840.1.101.2.1.2.77.2');
  assert.is(sr.version, undefined, `version DEFAULT v2 omitted: ${JSON.stringify(sr)}`);
  assert.equal(sr.query.target, { allModules: 'NULL' });
  assert.is(sr.query.seqNum, Number(q.seqNum));
  assert.is(sr.usesApex, undefined, 'usesApex DEFAULT TRUE omitted (the apex is in use)');
  const verbose = sr.response.verboseResponse;
  assert.is(verbose.taInfo.length, 3, 'apex + lab-root + tamp-manager');
  assert.ok(verbose.taInfo[0].certificate, 'apex as a certificate TrustAnchorChoice');

  const fresh = (await import('../../deploy/lab/ca.js')).LabCa;
  const extra = await fresh.create({ name: 'decode extra' });
  const u = await tampLab.publish({ kind: 'update', updates: [{ kind: 'add', ta: { kind: 'certificate', der: extra.root.der, certificate: extra.root.certificate } }] });
  await poll([u.entry]);
  const uc = assertSignedByDevice(tampLab.returns.at(-1)!.der, '2.16.840.1.101.2.1.2.77.4');
  assert.is(uc.version, undefined, JSON.stringify(uc));
  assert.is(uc.update.seqNum, Number(u.seqNum));
  assert.equal(uc.confirm.verboseConfirm.status, ['success'], JSON.stringify(uc.confirm));
  assert.is(uc.confirm.verboseConfirm.taInfo.length, 4, 'the added TA is listed');

  const cu = await tampLab.publish({ kind: 'communityUpdate', updates: { add: ['1.3.6.1.4.1.32473.50.1'] } });
  await poll([cu.entry]);
  const cc = assertSignedByDevice(tampLab.returns.at(-1)!.der, '2.16.840.1.101.2.1.2.77.8');
  assert.is(cc.update.seqNum, Number(cu.seqNum));
  const comm = cc.commConfirm.verboseCommConfirm ?? cc.commConfirm.terseCommConfirm;
  assert.is(comm.status, 'success', JSON.stringify(cc));
  if (cc.commConfirm.verboseCommConfirm) assert.ok(comm.communities.includes('1.3.6.1.4.1.32473.50.1'), JSON.stringify(comm));

  const adj = await tampLab.publish({ kind: 'seqAdjust' });
  await poll([adj.entry]);
  const ac = assertSignedByDevice(tampLab.returns.at(-1)!.der, '2.16.840.1.101.2.1.2.77.11');
  assert.is(ac.adjust.seqNum, Number(adj.seqNum));
  assert.is(ac.status, 'success', JSON.stringify(ac));

  const replay = await tampLab.publish({ kind: 'update', seqNum: tampLab.lastSeq.manager, updates: [{ kind: 'remove', pubKey: certificateSpki(extra.root.certificate) }] });
  await poll([replay.entry]);
  const te = assertSignedByDevice(tampLab.returns.at(-1)!.der, '2.16.840.1.101.2.1.2.77.9');
  assert.is(te.version, undefined, JSON.stringify(te));
  assert.is(te.msgType, '2.16.840.1.101.2.1.2.77.3', 'the TAMPUpdate content type');
  assert.is(te.status, 'seqNumFailure');
  assert.is(te.msgRef.seqNum, Number(replay.seqNum), 'msgRef names the refused message');
});

test('RFC 7191 key package receipt and error (signed by the TPM key) decoded by pyasn1 rfc7191', async () => {
  const p = await keysLab.addSymmetricPackage({ id: 'good', keys: [{ keyId: 'aes-1', key: new Uint8Array(32).fill(1) }] });
  await poll([keysLab.symmetricReturnEntry(), p.entry]);
  const rec = keysLab.returns.at(-1)!;
  assert.is(rec.kind, 'receipt');
  const r = assertSignedByDevice(rec.der, '2.16.840.1.101.2.1.2.78.3');
  assert.is(r.version, undefined, JSON.stringify(r));
  assert.equal(r.receiptOf, { pkgID: hex(p.pkgId) });
  assert.is(r.receivedBy.sirenType, '2.16.840.1.101.2.1.16.0', 'id-dn');
  assert.is(r.receivedBy.sirenValue, hex(deviceName));

  const bad = await keysLab.addSymmetricPackage({ id: 'bad-sig', keys: [{ keyId: 'k-bad', key: new Uint8Array(32).fill(2) }], variant: 'bad-signature' });
  await poll([keysLab.symmetricReturnEntry(), bad.entry]);
  const erec = keysLab.returns.at(-1)!;
  assert.is(erec.kind, 'error');
  const e = assertSignedByDevice(erec.der, '2.16.840.1.101.2.1.2.78.6');
  assert.is(e.version, undefined, JSON.stringify(e));
  assert.equal(e.errorOf, { pkgID: hex(bad.pkgId) });
  assert.is(e.errorBy.sirenValue, hex(deviceName));
  assert.equal(e.errorCode, { enum: 'signatureFailure' }, 'ErrorCodeChoice.enum (RFC 7191 §3)');
  assert.equal(await store.listHandles(), []);
});

/** The parts of the lab's last /serverkeygen answer (RFC 2046 multipart/mixed, base64 parts), split here by hand. */
function lastServerKeygenParts(): Array<{ contentType: string; der: Uint8Array }> {
  const t = wire.filter((w) => w.method === 'POST' && /\/serverkeygen$/.test(w.path)).at(-1)!;
  const boundary = /boundary=([^;\s]+)/.exec(t.responseType ?? '')![1]!;
  const text = Buffer.from(t.response).toString('latin1');
  return text
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((chunk) => {
      const [head, body] = chunk.split('\r\n\r\n') as [string, string];
      return { contentType: /Content-Type: ([^\r\n]+)/i.exec(head)![1]!, der: new Uint8Array(Buffer.from(body.replace(/\s/g, ''), 'base64')) };
    });
}

test('0021 as the lab sends it: SignedData(AsymmetricKeyPackage) decoded by pyasn1 rfc5958, its key the certificate’s; the agent’s receipt names its pkgID (rfc7191)', async () => {
  keysLab.serverKeygenVariant = 'cms-signed';
  keysLab.serverKeygenAlgorithm = 'ecc-p256';
  await poll([keysLab.serverKeygenEntry('0021'), keysLab.serverKeygenReturnEntry()]);
  const parts = lastServerKeygenParts();
  assert.equal(parts.map((p) => p.contentType), ['application/pkcs7-mime; smime-type=server-generated-key', 'application/pkcs7-mime; smime-type=certs-only']);
  const j = pyDecode('decode_cms.py', parts[0]!.der);
  assert.is(j.contentType, '1.2.840.113549.1.7.2');
  const sd = j.signedData;
  assert.is(sd.eContentType, '2.16.840.1.101.2.1.2.78.5', 'id-ct-KP-aKeyPackage (RFC 5958 §3)');
  assert.is(sd.version, 3);
  assert.is(sd.signerInfos.length, 1);
  assert.is(sd.signerInfos[0].messageDigestOk, true);
  const req = sd.signerInfos[0].signedAttrs['2.16.840.1.101.2.1.5.65'];
  assert.ok(req?.[0]?.pkgID, `keyPkgIdAndReceiptReq (RFC 7191 §2): ${JSON.stringify(sd.signerInfos[0].signedAttrs)}`);
  const akp = sd.eContent.value;
  assert.ok(Array.isArray(akp) && akp.length === 1, JSON.stringify(akp));
  const oak = akp[0];
  assert.is(oak.version, 0, 'OneAsymmetricKey v1(0): a PrivateKeyInfo');
  assert.is(oak.privateKeyAlgorithm.algorithm, '1.2.840.10045.2.1');
  // the privateKey OCTET STRING is an RFC 5915 ECPrivateKey { version 1, privateKey OCTET STRING (32), ... }: node's
  // ECDH derives the public point from that scalar; it is the point of the SPKI the lab generated (its last 65 bytes)
  const m = /^30(?:81)?[0-9a-f]{2}0201010420([0-9a-f]{64})/.exec(oak.privateKey);
  assert.ok(m, oak.privateKey.slice(0, 40));
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(Buffer.from(m[1]!, 'hex'));
  const point = ecdh.getPublicKey();
  assert.is(hex(point), hex(keysLab.generated.at(-1)!.subarray(-65)));
  const certs = pyDecode('decode_cms.py', parts[1]!.der).signedData;
  assert.is(certs.certsOnly, true);
  // the agent's receipt, decoded by rfc7191, names the package's pkgID
  const rec = keysLab.returns.at(-1)!;
  assert.is(rec.kind, 'receipt');
  const r = assertSignedByDevice(rec.der, '2.16.840.1.101.2.1.2.78.3');
  assert.equal(r.receiptOf, { pkgID: req[0].pkgID });
  assert.is(r.receivedBy.sirenValue, hex(deviceName));
  assert.equal(await store.listHandles(), []);
});

test('0021 enveloped to the KEK as the lab sends it (rfc5652 EnvelopedData, ktri by the KEK’s SKI); the agent’s receipt after opening it in the TPM names the inner pkgID', async () => {
  keysLab.serverKeygenVariant = 'cms';
  await poll([keysLab.serverKeygenEntry('0021'), keysLab.serverKeygenReturnEntry()]);
  const env = pyDecode('decode_envelope.py', lastServerKeygenParts()[0]!.der);
  assert.equal(env.recipientInfos.map((x: any) => [x.type, x.rid.ski, x.keyEncryptionAlgorithm.oid]), [['ktri', hex(kek.keyId), '1.2.840.113549.1.1.7']]);
  const rec = keysLab.returns.at(-1)!;
  assert.is(rec.kind, 'receipt');
  const r = assertSignedByDevice(rec.der, '2.16.840.1.101.2.1.2.78.3');
  assert.is(r.receiptOf.pkgID.length, 16, 'the 8-byte pkgID of the lab');
  assert.not.match(r.receiptOf.pkgID, /^(00)+$/, 'not a wiped buffer');
  assert.is(r.receiptOf.pkgID, rec.pkgId);
});

test('0021 with two OneAsymmetricKeys: pyasn1 rfc5958 decodes both; the agent’s KeyPackageError says unsupportedAsymmetricKeyPackage with the pkgID', async () => {
  keysLab.serverKeygenVariant = 'cms-multi';
  await poll([keysLab.serverKeygenEntry('0021'), keysLab.serverKeygenReturnEntry()]);
  const sd = pyDecode('decode_cms.py', lastServerKeygenParts()[0]!.der).signedData;
  assert.is(sd.eContent.value.length, 2);
  assert.equal(sd.eContent.value.map((k: any) => k.privateKeyAlgorithm.algorithm), ['1.2.840.10045.2.1', '1.2.840.10045.2.1']);
  const e = assertSignedByDevice(keysLab.returns.at(-1)!.der, '2.16.840.1.101.2.1.2.78.6');
  assert.equal(e.errorCode, { enum: 'unsupportedAsymmetricKeyPackage' });
  assert.equal(e.errorOf, { pkgID: sd.signerInfos[0].signedAttrs['2.16.840.1.101.2.1.5.65'][0].pkgID });
  keysLab.serverKeygenVariant = 'good';
});

test('0021 from a signer the device does not authorize: the agent’s KeyPackageError (rfc7191) says noTrustAnchor and names the pkgID', async () => {
  keysLab.serverKeygenVariant = 'cms-signed';
  await poll([keysLab.serverKeygenEntry('0021'), keysLab.serverKeygenReturnEntry()], { trustAnchors: async () => [server.ca.root.der] });
  const sent = pyDecode('decode_cms.py', lastServerKeygenParts()[0]!.der).signedData.signerInfos[0].signedAttrs['2.16.840.1.101.2.1.5.65'][0].pkgID;
  const erec = keysLab.returns.at(-1)!;
  assert.is(erec.kind, 'error');
  const e = assertSignedByDevice(erec.der, '2.16.840.1.101.2.1.2.78.6');
  assert.equal(e.errorCode, { enum: 'noTrustAnchor' });
  assert.equal(e.errorOf, { pkgID: sent });
  assert.is(e.errorBy.sirenValue, hex(deviceName));
  keysLab.serverKeygenVariant = 'good';
});

test.run();
