// The start-up path's core modules (TA and CRL stores, device identity, enroller, CSR builder, issued-certificate
// verifier, attestation, TPM keystore, the decryption-key status reader, the config checks) load pkijs/asn1js only
// at their first DER operation: a child process imports them and does what start-up and an idle cycle do with them,
// while a module hook records every pkijs/asn1js module loaded. Then the first DER operations load them.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { asn1LoadsOf as loadsOf } from '../harness/asn1-loads.js';
import { TrustAnchorStore } from '../../agent/store/ta-store.js';
import { LabCa } from '../../deploy/lab/ca.js';

const NOW = new Date('2026-04-01T00:00:00Z');
const ca = await LabCa.create({ now: NOW });
const dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-light-'));
const taFile = path.join(dir, 'trust-anchors.json');
await (await TrustAnchorStore.open(taFile, { now: () => NOW })).add({ name: 'lab-root', source: 'config', uses: ['cacerts', 'crl'], certificate: ca.root.der });

const agent = (p: string): string => new URL(`../../agent/${p}`, import.meta.url).href;

const asn1LoadsOf = (body: string): string[] => loadsOf(dir, body);

const startUp = `
const { TrustAnchorStore } = await import(${JSON.stringify(agent('store/ta-store.js'))});
const { CrlStore } = await import(${JSON.stringify(agent('store/crl-store.js'))});
const { DeviceCredential, DeviceIdentity } = await import(${JSON.stringify(agent('identity/device-identity.js'))});
await import(${JSON.stringify(agent('lifecycle/enroller.js'))});
const { csrBuilder } = await import(${JSON.stringify(agent('identity/csr-content.js'))});
const { issuedVerifier } = await import(${JSON.stringify(agent('identity/issued.js'))});
const { createAttestation } = await import(${JSON.stringify(agent('features/attestation/index.js'))});
await import(${JSON.stringify(agent('keystore/tpm.js'))});
const { readDecryptionKeyStatus } = await import(${JSON.stringify(agent('features/cmc/decryption-key-state.js'))});
const { checkAnchorsPem } = await import(${JSON.stringify(agent('features/config-checks.js'))});
checkAnchorsPem(${JSON.stringify(ca.root.pem)}, 'ta.pem');
const ta = await TrustAnchorStore.open(${JSON.stringify(taFile)});
if (ta.size !== 1 || ta.certificatesFor('cacerts').length !== 1 || !ta.get('lab-root') || !ta.find(ta.list()[0].der) || !ta.digest()) throw new Error('TA store');
const crl = await CrlStore.open(${JSON.stringify(path.join(dir, 'crls.json'))}, { taStore: ta });
if (crl.size !== 0 || (await crl.list()).length !== 0 || (await crl.crls()).length !== 0 || (await crl.revocationCheck())({}) !== false) throw new Error('CRL store');
const record = { key: { id: 'k', algorithm: 'ecc-p256', spki: '', location: {} }, certPem: ${JSON.stringify(ca.issuing.pem)}, chainPem: [${JSON.stringify(ca.root.pem)}], subject: 's', serial: '01', notBefore: '', notAfter: '', renewAt: '' };
const c = new DeviceCredential(record, { signer: () => ({}) });
if (c.certDer.length === 0 || c.chainDer.length !== 1 || !c.signer) throw new Error('credential');
const identity = new DeviceIdentity({ keystore: {}, log: console, load: async () => record });
await identity.current();
csrBuilder({ subject: 'CN=x', dnsNames: [] }, { protocol: { name: 'est' } });
issuedVerifier(ta, [], async () => []);
createAttestation({ pcrs: [], pcrBank: 'sha256' }, {}, { now: () => new Date() });
await readDecryptionKeyStatus(${JSON.stringify(dir)});
`;

test('start-up and an idle cycle of the core modules load no pkijs/asn1js module', () => {
  assert.equal(asn1LoadsOf(startUp), []);
});

test('the first DER operation loads them: a TA certificate read after loadCert, a TA added', () => {
  const loads = asn1LoadsOf(`${startUp}
const { loadCert } = await import(${JSON.stringify(agent('pki/lazy-modules.js'))});
let early;
try { ta.list()[0].certificate; } catch (e) { early = e.code; }
if (early !== 'pki.not-loaded') throw new Error('read before loadCert: ' + early);
await loadCert();
if (!ta.list()[0].subject.includes('CN=')) throw new Error('subject ' + ta.list()[0].subject);
await ta.add({ name: 'again', source: 'config', uses: ['crl'], certificate: ${JSON.stringify(ca.issuing.pem)} });
`);
  assert.ok(loads.some((u) => u.includes('/pkijs/')), loads.join('\n'));
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
