// Independent decoding of the CMC and EST structures: the agent's SignedData{PKIData} (signed by a TPM-held IDevID)
// and the PKIResponse it reads, EST certs-only (/cacerts, /simpleenroll) and the agent's own certs-only encoder —
// decoded by pyasn1-modules (rfc5652, rfc6402, rfc2986) and openssl; and the other way round, a PKIResponse built by
// pyasn1 and signed by openssl (its own CA, RA and end-entity certificates) read by the agent's CMC response reader,
// certs-only from openssl crl2pkcs7 and from pyasn1 read by the agent's parser. One swtpm and one lab for the file.
import { X509Certificate, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import { buildCsr } from '../../agent/pki/csr.js';
import { createCertsOnly, parseCertsOnly } from '../../agent/pki/certs-only.js';
import { createHttpsTransport } from '../../agent/protocols/http/transport.js';
import { EstClient } from '../../agent/protocols/est/client.js';
import { CmcEnrollment, CmcFailedError, type CmcEnrollmentOptions } from '../../agent/protocols/cmc/index.js';
import { readCmcResponse } from '../../agent/protocols/cmc/response.js';
import { pemDecode } from '../../agent/pki/pem.js';
import { registerCmcHandlers } from '../../deploy/lab/cmc.js';
import { startAgentEnv, type AgentEnv } from '../harness/agent-env.js';
import { cmcIdevidOptions, createTpmIdevid } from '../harness/tpm-idevid.js';
import { hex, openssl, opensslText, pyDecode, pyEncode, requirePyasn1, tapRouter, unbase64, type Tapped } from '../harness/pydecode.js';

const OID_PKIDATA = '1.3.6.1.5.5.7.12.2';
const OID_PKIRESPONSE = '1.3.6.1.5.5.7.12.3';
const ID_CMC = '1.3.6.1.5.5.7.7';
let env: AgentEnv;
let ks: TpmKeyStore;
let wire: Tapped[];
let options: CmcEnrollmentOptions;
let idevidDer: Uint8Array;

test.before(async () => {
  requirePyasn1();
  env = await startAgentEnv();
  ks = await TpmKeyStore.open({ tcti: env.tpm.tcti });
  const idevid = await createTpmIdevid(ks);
  idevidDer = idevid.der;
  registerCmcHandlers(env.lab.router, { ca: env.lab.ca, users: { 'dev-0001': 'factory-secret' }, idevidCaDers: [idevid.mfg.root.der] });
  wire = tapRouter(env.lab.router);
  options = cmcIdevidOptions(env, ks, idevid, { basicAuth: { username: 'dev-0001', password: 'factory-secret' } });
});

test.after(async () => {
  await ks?.close().catch(() => undefined);
  await env?.stop();
});

/** The IDevID's subjectKeyIdentifier extension value, hex, as pyasn1 decodes it from the certificate. */
function idevidSki(): string {
  const text = opensslText(['x509', '-inform', 'DER', '-in', '{dir}/c.der', '-noout', '-ext', 'subjectKeyIdentifier'], { 'c.der': idevidDer });
  return text.split('\n')[1]!.trim().replaceAll(':', '').toLowerCase();
}

const body = (b: Uint8Array): Uint8Array => (b[0] === 0x30 ? b : unbase64(b));
const control = (controls: any[], arc: number): any => controls.find((c) => c.attrType === `${ID_CMC}.${arc}`);

test('CMC /fullcmc on the wire: SignedData{PKIData} from the TPM IDevID and the lab PKIResponse, decoded by pyasn1 rfc5652/rfc6402', async () => {
  wire.length = 0;
  const cmc = new CmcEnrollment(options);
  const key = await ks.createKey('cmc-1', 'ecc-p256');
  const csr = (await buildCsr({ subject: 'CN=dev-0001,O=enrolld demo', signer: ks.signer(key) })).der;
  const r = await cmc.enroll({ operation: 'enroll', csr });
  assert.is(r.kind, 'issued');
  const t = wire.find((w) => w.path.endsWith('/fullcmc'))!;
  assert.ok(t, 'request seen');
  assert.is(t.contentType?.split(';')[0], 'application/pkcs7-mime');
  const reqDer = body(t.request);
  assert.is(hex(reqDer), hex(cmc.lastRequestDer!));
  const req = pyDecode('decode_cms.py', reqDer);
  assert.is(req.contentType, '1.2.840.113549.1.7.2');
  const sd = req.signedData;
  assert.is(sd.version, 3, 'RFC 5652 §5.1: version 3 when eContentType is not id-data');
  assert.is(sd.eContentType, OID_PKIDATA);
  assert.equal(sd.digestAlgorithms, ['2.16.840.1.101.3.4.2.1']);
  assert.is(sd.signerInfos.length, 1);
  const si = sd.signerInfos[0];
  const idevid = new X509Certificate(Buffer.from(idevidDer));
  // RFC 5652 §5.3: version 1 with issuerAndSerialNumber, 3 with subjectKeyIdentifier
  if (si.sid.subjectKeyIdentifier) {
    assert.is(si.version, 3, JSON.stringify(si.sid));
    assert.is(si.sid.subjectKeyIdentifier, idevidSki(), 'signer = the IDevID (its subjectKeyIdentifier)');
  } else {
    assert.is(si.version, 1, JSON.stringify(si.sid));
    assert.is(BigInt(si.sid.serialNumber).toString(16), BigInt(`0x${idevid.serialNumber}`).toString(16), 'signer = the IDevID');
    assert.match(si.sid.issuer, /CN=enrolld manufacturer/);
  }
  assert.is(si.digestAlgorithm, '2.16.840.1.101.3.4.2.1');
  assert.is(si.signatureAlgorithm.algorithm, '1.2.840.10045.4.3.2');
  assert.equal(si.signedAttrs['1.2.840.113549.1.9.3'], [OID_PKIDATA], 'contentType attribute = id-cct-PKIData');
  assert.is(si.messageDigestOk, true, 'messageDigest = SHA-256(eContent)');
  assert.is(si.signedAttrsAreDer, true, 'signedAttrs sent in DER (RFC 5652 §5.3), sorted SET OF');
  assert.ok(sd.certificates.some((c: any) => c.der === hex(idevidDer)), 'IDevID certificate included');
  const pkiData = sd.eContent.value;
  const tid = control(pkiData.controlSequence, 5);
  const nonce = control(pkiData.controlSequence, 6);
  assert.ok(tid && nonce, JSON.stringify(pkiData.controlSequence));
  assert.is(typeof tid.attrValues[0], 'number');
  assert.is(nonce.attrValues[0].length, 32, '16-byte senderNonce');
  assert.equal(pkiData.cmsSequence, []);
  assert.equal(pkiData.otherMsgSequence, []);
  assert.is(sd.eContent.requests.length, 1);
  assert.is(sd.eContent.requests[0].bodyPartID, 1);
  assert.is(sd.eContent.requests[0].csr.spki.publicKey, hex(key.spki).slice(-130));
  assert.is(sd.eContent.requests[0].csr.subject, 'O=enrolld demo,CN=dev-0001');
  // openssl verifies the TPM ECDSA signature over the signed attributes
  opensslText(['cms', '-verify', '-inform', 'DER', '-in', '{dir}/req.der', '-noverify', '-out', '{dir}/content.der'], { 'req.der': reqDer });

  // The lab's Full PKI Response, read the same way
  const res = pyDecode('decode_cms.py', body(t.response));
  assert.is(res.signedData.eContentType, OID_PKIRESPONSE);
  const pr = res.signedData.eContent.value;
  assert.equal(control(pr.controlSequence, 5).attrValues, tid.attrValues, 'transactionId echoed');
  assert.equal(control(pr.controlSequence, 7).attrValues, nonce.attrValues, 'recipientNonce = our senderNonce');
  const st = control(pr.controlSequence, 25).attrValues[0];
  assert.is(st.cMCStatus, 0, 'success');
  assert.equal(st.bodyList, [{ bodyPartID: 1 }]);
  assert.ok(res.signedData.certificates.some((c: any) => c.der === hex(r.kind === 'issued' ? r.cert : new Uint8Array())));
  assert.equal(await ks.listHandles(), []);
});

/** An openssl CA (root → RA, root → end entity) in `dir`: nothing from this repository. */
function opensslPki(dir: string): { rootDer: Uint8Array; eeDer: Uint8Array; eeSpki: Uint8Array } {
  const sh = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  sh(['req', '-x509', ...ec, '-keyout', 'root.key', '-out', 'root.pem', '-subj', '/CN=openssl CMC root', '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  for (const [n, serial] of [['ra', '7'], ['ee', '8']] as const) {
    sh(['req', '-new', ...ec, '-keyout', `${n}.key`, '-out', `${n}.csr`, '-subj', n === 'ra' ? '/CN=openssl CMC RA' : '/CN=dev-0001']);
    sh(['x509', '-req', '-in', `${n}.csr`, '-CA', 'root.pem', '-CAkey', 'root.key', '-set_serial', serial, '-days', '2', '-out', `${n}.pem`]);
  }
  const der = (f: string) => pemDecode(readFileSync(path.join(dir, f), 'utf8'), 'CERTIFICATE');
  const eeDer = der('ee.pem');
  return { rootDer: der('root.pem'), eeDer, eeSpki: new Uint8Array(new X509Certificate(Buffer.from(eeDer)).publicKey.export({ type: 'spki', format: 'der' })) };
}

test('agent reads a PKIResponse built by pyasn1 and signed by openssl: success, pending, failed', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-decode-cmc-'));
  try {
    const pki = opensslPki(dir);
    const senderNonce = new Uint8Array(randomBytes(16));
    const txid = 10132985123483401n;
    const signed = (args: string[]): Uint8Array => {
      writeFileSync(path.join(dir, 'resp.der'), pyEncode('pki-response', [`--txid=${txid}`, `--recipient-nonce=${hex(senderNonce)}`, '--body-part=1', ...args]));
      execFileSync('openssl', ['cms', '-sign', '-binary', '-nodetach', '-nosmimecap', '-md', 'sha256', '-econtent_type', OID_PKIRESPONSE, '-in', 'resp.der', '-signer', 'ra.pem', '-inkey', 'ra.key', '-certfile', 'ee.pem', '-outform', 'DER', '-out', 'signed.der'], { cwd: dir, stdio: 'pipe' });
      return new Uint8Array(readFileSync(path.join(dir, 'signed.der')));
    };
    const exp = { transactionId: txid, senderNonce, bodyPartID: 1, spki: pki.eeSpki, trustAnchors: [pki.rootDer], at: new Date() };
    const ok = await readCmcResponse(signed(['--status=success']), exp);
    assert.is(ok.kind, 'issued');
    assert.is(hex(ok.kind === 'issued' ? ok.cert : new Uint8Array()), hex(pki.eeDer));
    const pending = await readCmcResponse(signed(['--status=pending', '--pend-token=c0ffee', '--pend-time=20261202120000Z']), exp);
    assert.is(pending.kind, 'pending');
    if (pending.kind === 'pending') {
      assert.is(hex(pending.pendInfo.pendToken), 'c0ffee');
      assert.is(pending.pendInfo.pendTime.toISOString(), '2026-12-02T12:00:00.000Z');
    }
    const err = await readCmcResponse(signed(['--status=failed', '--fail-info=3', '--status-string=pyasn1 says no']), exp).catch((e: unknown) => e);
    assert.instance(err, CmcFailedError);
    assert.is((err as CmcFailedError).failInfo, 'badTime', 'CMCFailInfo 3 = badTime (RFC 5272 §6.1.4)');
    // a response for someone else's transaction is refused
    await readCmcResponse(signed(['--status=success']), { ...exp, transactionId: txid + 1n }).then(
      () => assert.unreachable('wrong transactionId accepted'),
      (e: Error) => assert.match(e.message, /transactionId/),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('EST certs-only on the wire (/cacerts, /simpleenroll) and the agent encoder, decoded by pyasn1; openssl and pyasn1 certs-only parsed by the agent', async () => {
  wire.length = 0;
  const est = new EstClient({ baseUrl: env.lab.url, transport: createHttpsTransport({ trustAnchors: [env.lab.trustAnchorPem], basicAuth: { username: 'dev-0001', password: 'factory-secret' } }) });
  await est.cacerts();
  const key = await ks.createKey('est-1', 'ecc-p256');
  const csr = (await buildCsr({ subject: 'CN=dev-0001,O=enrolld demo', signer: ks.signer(key), san: { dns: ['dev-0001.devices.example'] } })).der;
  const r = await est.simpleEnroll(csr);
  assert.is(r.kind, 'issued');
  const ca = wire.find((w) => w.path.endsWith('/cacerts'))!;
  assert.is(ca.responseType?.split(';')[0], 'application/pkcs7-mime');
  const caJson = pyDecode('decode_cms.py', unbase64(ca.response));
  assert.is(caJson.signedData.certsOnly, true);
  assert.is(caJson.signedData.version, 1);
  assert.equal(caJson.signedData.digestAlgorithms, []);
  assert.ok(caJson.signedData.certificates.some((c: any) => c.der === hex(env.lab.ca.root.der)));
  const en = wire.find((w) => w.path.endsWith('/simpleenroll'))!;
  assert.is(en.contentType?.split(';')[0], 'application/pkcs10');
  const sentCsr = pyDecode('decode_csr.py', unbase64(en.request));
  assert.is(sentCsr.spki.publicKey, hex(key.spki).slice(-130));
  const enJson = pyDecode('decode_cms.py', unbase64(en.response));
  assert.is(enJson.signedData.certsOnly, true);
  assert.is(enJson.signedData.certificates[0].spki.publicKey, hex(key.spki).slice(-130), 'issued certificate first');

  // the agent's certs-only encoder
  const mine = pyDecode('decode_cms.py', createCertsOnly([env.lab.ca.issuing.der, env.lab.ca.root.der]));
  assert.is(mine.signedData.certsOnly, true);
  assert.equal(mine.signedData.certificates.map((c: any) => c.der), [hex(env.lab.ca.issuing.der), hex(env.lab.ca.root.der)]);
  // openssl's and pyasn1's certs-only parsed by the agent
  const pem = [env.lab.ca.issuing.pem, env.lab.ca.root.pem].join('\n');
  const fromOpenssl = openssl(['crl2pkcs7', '-nocrl', '-certfile', '{dir}/ca.pem', '-outform', 'DER'], { 'ca.pem': pem });
  fromOpenssl.cleanup();
  for (const [who, der] of [['openssl', new Uint8Array(fromOpenssl.stdout)], ['pyasn1', pyEncodeCerts([env.lab.ca.issuing.der, env.lab.ca.root.der])]] as const) {
    const parsed = parseCertsOnly(der);
    assert.equal(parsed.certificatesDer.map(hex).sort(), [hex(env.lab.ca.issuing.der), hex(env.lab.ca.root.der)].sort(), who);
  }
  assert.equal(await ks.listHandles(), []);
});

function pyEncodeCerts(ders: Uint8Array[]): Uint8Array {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-decode-co-'));
  try {
    const files = ders.map((d, i) => {
      const f = path.join(dir, `${i}.der`);
      writeFileSync(f, d);
      return f;
    });
    return pyEncode('certs-only', files);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test.run();
