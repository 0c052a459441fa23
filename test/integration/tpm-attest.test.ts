// TPM evidence against a real (manufactured) swtpm: TPM2_Certify and TPM2_Quote verified in TypeScript, the quote also
// by tpm2_checkquote (tpm2-tools 5.x), and the EK certificate read from NV.
import { X509Certificate, createPublicKey, randomBytes, verify } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { KeyRecord } from '../../agent/keystore/keystore.js';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import {
  TPM_ALG,
  TPM_GENERATED_VALUE,
  TPM_HT,
  TPM_ST,
  objectName,
  pcrCompositeDigest,
  publicArea,
  unmarshalAttest,
  unmarshalSignature,
} from '../../agent/tpm2/index.js';
import { startSwtpm, type Swtpm } from '../harness/swtpm.js';

let swtpm: Swtpm;
let store: TpmKeyStore;
let ak: KeyRecord;
let key: KeyRecord;
let tmp: string;

const spkiKey = (r: KeyRecord) => createPublicKey({ key: Buffer.from(r.spki), format: 'der', type: 'spki' });
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const pubBytes = (r: KeyRecord) => new Uint8Array(Buffer.from(r.location.public as string, 'base64'));

function tools(args: string[], tcti?: string) {
  return spawnSync(args[0]!, args.slice(1), {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, ...(tcti ? { TPM2TOOLS_TCTI: tcti } : {}), TSS2_LOG: 'all+none' },
  });
}

test.before(async () => {
  swtpm = await startSwtpm({ ekCert: true });
  tmp = mkdtempSync(path.join(os.tmpdir(), 'enrolld-attest-'));
  // non-zero PCR values to quote (before our connection: swtpm serves one client at a time)
  for (const [pcr, data] of [[7, 'aa'], [10, 'bb'], [16, 'cc']] as const) {
    const r = tools(['tpm2_pcrextend', `${pcr}:sha256=${data.repeat(32)}`], swtpm.tcti);
    assert.is(r.status, 0, r.stderr);
  }
  store = await TpmKeyStore.open({ tcti: swtpm.tcti });
  ak = await store.createAttestationKey('ak');
  key = await store.createKey('ldevid', 'ecc-p256');
});

test.after(async () => {
  await store?.close();
  await swtpm?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('TPM2_Certify: AK signature, magic/type, nonce, certified Name = Name(key public)', async () => {
  const nonce = randomBytes(32);
  const { attest, signature, signatureDer } = await store.certify(key, ak, nonce);
  assert.ok(verify('sha256', attest, spkiKey(ak), signatureDer), 'AK signature over TPMS_ATTEST');
  assert.is(unmarshalSignature(signature).sigAlg, TPM_ALG.ECDSA);
  const a = unmarshalAttest(attest);
  assert.is(a.magic, TPM_GENERATED_VALUE);
  assert.is(a.type, TPM_ST.ATTEST_CERTIFY);
  assert.is(hex(a.extraData), hex(nonce));
  assert.is(hex(a.certify!.name), hex(objectName(publicArea(pubBytes(key)))));
  assert.is(hex(a.qualifiedSigner.subarray(0, 2)), '000b');
  assert.not.ok(verify('sha256', attest, spkiKey(key), signatureDer), 'not signed by the certified key');
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
});

async function quoteVerifiedInTs(pcrs: number[]) {
  const nonce = randomBytes(20);
  const q = await store.quote(ak, nonce, pcrs);
  assert.ok(verify('sha256', q.quoted, spkiKey(ak), q.signatureDer), 'AK signature over TPMS_ATTEST');
  const a = unmarshalAttest(q.quoted);
  assert.is(a.magic, TPM_GENERATED_VALUE);
  assert.is(a.type, TPM_ST.ATTEST_QUOTE);
  assert.is(hex(a.extraData), hex(nonce));
  assert.equal(a.quote!.pcrSelect, [{ hashAlg: TPM_ALG.SHA256, pcrs }]);
  assert.equal(q.pcrDigests.map((d) => d.pcr), pcrs);
  const values = new Map(q.pcrDigests.map((d) => [d.pcr, d.digest]));
  const digest = pcrCompositeDigest(TPM_ALG.SHA256, a.quote!.pcrSelect, (_b, p) => values.get(p)!);
  assert.is(hex(digest), hex(a.quote!.pcrDigest));
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
  return { nonce, q, values };
}

test('TPM2_Quote of 12 PCRs verified in TypeScript (signature, nonce, PCR digest; 2 PCR_Read calls)', async () => {
  const reads = store.stats().pcrRead?.count ?? 0;
  const { values } = await quoteVerifiedInTs([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16]);
  assert.ok((store.stats().pcrRead?.count ?? 0) - reads >= 2);
  assert.is.not(hex(values.get(7)!), '00'.repeat(32), 'PCR 7 was extended');
});

test('TPM2_Quote verified by tpm2_checkquote (and rejected with a wrong nonce / PCR value)', async () => {
  // tpm2-tools 5.4 drops the 8th value of a raw PCR file read with -l (tools/misc/tpm2_checkquote.c
  // parse_selection_data_from_selection_string), so quote fewer than 8 PCRs here.
  const pcrs = [0, 7, 10, 16];
  const { nonce, q } = await quoteVerifiedInTs(pcrs);
  // PEM AK, TPMS_ATTEST message, TPMT_SIGNATURE, PCR values concatenated in selection order (-l)
  const f = (n: string) => path.join(tmp, n);
  writeFileSync(f('ak.pem'), spkiKey(ak).export({ type: 'spki', format: 'pem' }));
  writeFileSync(f('quote.msg'), q.quoted);
  writeFileSync(f('quote.sig'), q.signature);
  writeFileSync(f('pcrs.bin'), Buffer.concat(q.pcrDigests.map((d) => d.digest)));
  const args = ['tpm2_checkquote', '-u', f('ak.pem'), '-m', f('quote.msg'), '-s', f('quote.sig'), '-f', f('pcrs.bin'),
    '-l', `sha256:${pcrs.join(',')}`, '-g', 'sha256'];
  const ok = tools([...args, '-q', hex(nonce)]);
  assert.is(ok.status, 0, `tpm2_checkquote: ${ok.stderr}${ok.stdout}`);
  const wrongNonce = tools([...args, '-q', hex(randomBytes(20))]);
  assert.is.not(wrongNonce.status, 0, 'checkquote must reject a different nonce');
  const pcrsBad = Buffer.from(readFileSync(f('pcrs.bin')));
  pcrsBad[0]! ^= 1;
  writeFileSync(f('pcrs.bin'), pcrsBad);
  const wrongPcr = tools([...args, '-q', hex(nonce)]);
  assert.is.not(wrongPcr.status, 0, 'checkquote must reject different PCR values');
});

test('EK certificate read from NV (chunked NV_Read) parses as X.509 and matches the EK CA', async () => {
  const der = await store.readEkCertificate('rsa');
  assert.ok(der);
  const cert = new X509Certificate(Buffer.from(der!));
  assert.ok(der!.byteLength > 0);
  const issuer = new X509Certificate(readFileSync(path.join(path.dirname(swtpm.caCertPem!), 'issuercert.pem')));
  assert.ok(cert.verify(issuer.publicKey), 'EK certificate signed by the swtpm-localca issuer');
  assert.is(cert.publicKey.asymmetricKeyType, 'rsa');
  const eccCert = await store.readEkCertificate('ecc');
  assert.ok(eccCert);
  assert.is(new X509Certificate(Buffer.from(eccCert!)).publicKey.asymmetricKeyType, 'ec');
  assert.is(hex((await store.readEkCertificate())!), hex(der!));
  assert.equal(await store.listHandles(TPM_HT.TRANSIENT), []);
});

test.run();
