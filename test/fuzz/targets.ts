// The parsers that read network (or operator) input, each with valid seed samples built here: PAL JSON and XML,
// EST base64 bodies, certs-only PKCS#7, PKCS#10, the freshness-nonce JSON, CSR attributes, multipart/mixed
// (/serverkeygen), PKCS#8, RFC 4108/7191/attestation ASN.1 types, the streamed firmware SignedData reader (a file),
// and the configuration text. Property: every call returns or throws an EnrolldError (typed, with a code).
import { constants, createPublicKey, diffieHellman, generateKeyPairSync, privateDecrypt, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parsePalJson } from '../../agent/pal/json.js';
import { parsePalXml } from '../../agent/pal/xml.js';
import { decodeBase64Body, encodeBase64Body } from '../../agent/protocols/est/base64-body.js';
import { createCertsOnly, parseCertsOnly } from '../../agent/pki/certs-only.js';
import { buildCsr, parseCsr } from '../../agent/pki/csr.js';
import { buildNonceResponse, parseNonceResponse } from '../../agent/attest/nonce.js';
import { encodeCsrAttrs, parseCsrAttrs } from '../../agent/protocols/est/csrattrs.js';
import { buildMultipartMixed, parseMultipartMixed } from '../../agent/protocols/est/multipart-mixed.js';
import { decodePrivateKey } from '../../agent/pki/private-key.js';
import { FirmwarePackageLoadReceipt } from '../../agent/pki/asn1/firmware-load-receipt.js';
import { FirmwarePackageLoadError } from '../../agent/pki/asn1/firmware-load-error.js';
import { readSignedDataLayout } from '../../agent/pki/asn1/cms-signed-data-stream.js';
import { csrIdentifiers } from '../../agent/protocols/acme/enrollment.js';
import { parseConfigText } from '../../agent/config.js';
import { decodeCbor, encodeCbor, statusPayload } from '../../agent/status/schema.js';
import { verifyFirmwarePackage } from '../../agent/packages/firmware/verify.js';
import { SoftwareSigner } from '../../agent/keystore/software.js';
import { LabCa } from '../../deploy/lab/ca.js';
import { createPopChallenge } from '../../deploy/lab/cmc-pop.js';
import { openPopEnvelope } from '../../agent/protocols/cmc/pop-envelope.js';

export interface FuzzTarget {
  name: string;
  seeds: Uint8Array[];
  run(input: Uint8Array): unknown;
  /** Relative cost: the short run gives it fewer iterations. */
  weight?: number;
}

const utf8 = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
const ROOT = process.cwd();

export async function buildTargets(): Promise<FuzzTarget[]> {
  const fx = (f: string): Uint8Array => new Uint8Array(readFileSync(path.join(ROOT, 'test/fixtures/pal', f)));
  const ca = await LabCa.create({ now: new Date() });
  const signer = SoftwareSigner.generate();
  const csr = (await buildCsr({ subject: 'CN=fuzz.example,O=enrolld', san: { dns: ['fuzz.example'] }, signer })).der;
  const certsOnly = createCertsOnly([ca.issuing.der, ca.root.der]);
  const pkcs8 = new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'der', type: 'pkcs8' }));
  const pkcs8Rsa = new Uint8Array(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'der', type: 'pkcs8' }));
  const boundary = 'est-fuzz-boundary';
  const multipart = bytes(buildMultipartMixed(boundary, [
    { contentType: 'application/pkcs8', body: new Uint8Array(Buffer.from(Buffer.from(pkcs8).toString('base64'))) },
    { contentType: 'application/pkcs7-mime; smime-type=certs-only', body: new Uint8Array(Buffer.from(Buffer.from(certsOnly).toString('base64'))) },
  ]));
  const receipt = new FirmwarePackageLoadReceipt({ hwType: '1.3.6.1.4.1.32473.8.1', hwSerialNum: new Uint8Array([0, 0xc0, 0xff, 0xee]), fwPkgName: { preferred: { fwPkgID: '1.3.6.1.4.1.32473.7.1', verNum: 5 } } }).toDER();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'enrolld-fuzz-'));
  const fwFile = path.join(tmp, 'pkg.der');
  let fwN = 0;
  // encryptedPOP EnvelopedData (RFC 5272 §6.7): ktri, KEMRecipientInfo and kari seeds from the lab, opened with software keys.
  const popRsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const popEc = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spkiOf = (k: { export(o: { format: 'der'; type: 'spki' }): Buffer }): Uint8Array => new Uint8Array(k.export({ format: 'der', type: 'spki' }));
  const popSeeds = [
    createPopChallenge(spkiOf(popRsa.publicKey), { bodyPartID: 1 }).cms,
    createPopChallenge(spkiOf(popRsa.publicKey), { bodyPartID: 1, recipient: 'kem-rsa-kdf3', content: 'aes128-cbc' }).cms,
    createPopChallenge(spkiOf(popEc.publicKey), { bodyPartID: 1 }).cms,
    createPopChallenge(spkiOf(popRsa.publicKey), { bodyPartID: 1, content: 'aes256-gcm' }).cms, // AuthEnvelopedData (RFC 10002 §6.7)
  ];
  // One recipient for all of them: the seeds name it by issuerAndSerialNumber <empty, bodyPartID 1>.
  const popRecipient = {
    spki: spkiOf(popRsa.publicKey),
    bodyPartID: 1,
    decrypt: async (ct: Uint8Array, s: { scheme: string; hash?: string }) =>
      new Uint8Array(privateDecrypt({ key: popRsa.privateKey, padding: s.scheme === 'oaep' ? constants.RSA_PKCS1_OAEP_PADDING : constants.RSA_NO_PADDING, ...(s.hash ? { oaepHash: s.hash } : {}) }, ct)),
    ecdhZGen: async (p: { x: Uint8Array; y: Uint8Array }) =>
      new Uint8Array(diffieHellman({ privateKey: popEc.privateKey, publicKey: createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: Buffer.from(p.x).toString('base64url'), y: Buffer.from(p.y).toString('base64url') }, format: 'jwk' }) })),
  };
  return [
    { name: 'cmc-pop-envelope', seeds: popSeeds, run: (b) => openPopEnvelope(b, popRecipient), weight: 4 },
    { name: 'pal-json', seeds: [fx('valid-all-info.json'), fx('rfc8295-example.json'), fx('valid-empty.json')], run: (b) => parsePalJson(b) },
    { name: 'pal-xml', seeds: [fx('valid-all-info.xml'), fx('valid-prefixed.xml'), fx('valid-empty.xml')], run: (b) => parsePalXml(b) },
    { name: 'est-base64', seeds: [bytes(encodeBase64Body(certsOnly)), bytes(encodeBase64Body(csr, { lineLength: 76, eol: '\n', finalNewline: false }))], run: (b) => decodeBase64Body(b) },
    { name: 'certs-only', seeds: [certsOnly], run: (b) => parseCertsOnly(b) },
    { name: 'pkcs10', seeds: [csr], run: (b) => (parseCsr(b), csrIdentifiers(b)) },
    {
      name: 'nonce-json',
      seeds: [bytes(buildNonceResponse({ nonce: new Uint8Array(randomBytes(32)), expirySeconds: 60 })), bytes(buildNonceResponse({ nonce: new Uint8Array(randomBytes(8)), expirySeconds: 5, type: '2.23.133.20.1' }))],
      run: (b) => parseNonceResponse(utf8(b), {}, new Date()),
    },
    { name: 'csrattrs', seeds: [encodeCsrAttrs({ oids: ['1.2.840.10045.4.3.2', '1.2.840.113549.1.9.7'], attributes: [] })], run: (b) => parseCsrAttrs(b) },
    { name: 'multipart', seeds: [multipart], run: (b) => parseMultipartMixed(b, `multipart/mixed; boundary=${boundary}`) },
    { name: 'pkcs8', seeds: [pkcs8, pkcs8Rsa], run: (b) => decodePrivateKey(b.slice()) },
    { name: 'fw-receipt', seeds: [receipt], run: (b) => FirmwarePackageLoadReceipt.fromBER(b) },
    { name: 'fw-load-error', seeds: [receipt], run: (b) => FirmwarePackageLoadError.fromBER(b) },
    {
      name: 'cms-signed-data-file',
      seeds: [certsOnly],
      weight: 4,
      run: async (b) => {
        // The streamed reader reads files (firmware packages are downloaded to disk first).
        const f = `${fwFile}.${fwN++ % 4}`;
        writeFileSync(f, b);
        return readSignedDataLayout(f);
      },
    },
    {
      name: 'status-cbor',
      seeds: [new Uint8Array(encodeCbor(statusPayload({ phase: 'enrolled', tpm: { ok: true }, enroll: { serial: '0a0b', notAfter: new Date().toISOString(), renewAt: new Date().toISOString(), subject: 'CN=x' } }, new Date(), 1)))],
      run: (b) => decodeCbor(b),
    },
    {
      name: 'firmware-package',
      seeds: [certsOnly],
      weight: 8,
      run: async (b) => {
        const f = `${fwFile}.fw${fwN++ % 4}`;
        writeFileSync(f, b);
        // RFC 4108 refusals are FirmwareLoadFailure (an EnrolldError); anything else fails the property.
        return verifyFirmwarePackage(f, { device: { hwType: '1.3.6.1.4.1.32473.8.1', hwSerialNum: new Uint8Array([1]) }, trustAnchors: async () => [ca.root.der], state: { version: 1, stale: [] }, workDir: tmp });
      },
    },
    { name: 'config', seeds: [new Uint8Array(readFileSync(path.join(ROOT, 'deploy/examples/config.json')))], run: (b) => parseConfigText(utf8(b), '/etc/enrolld') },
  ];
}
