// A device holding CRLs starts without pkijs/asn1js (ARCHITECTURE.md §Start-up path): a child process opens a state
// directory whose crls.json holds two real CRLs from the lab CA, while a module hook records every pkijs/asn1js
// module loaded. The first revocation check after that restart loads them and answers from the stored CRLs; a
// decoder that cannot be loaded fails that check with module.load and leaves the file as it was.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { asn1LoadsOf as loadsOf } from '../harness/asn1-loads.js';
import { CrlStore } from '../../agent/store/crl-store.js';
import { TrustAnchorStore } from '../../agent/store/ta-store.js';
import { LabCa } from '../../deploy/lab/ca.js';
import { issueLabCrl } from '../../deploy/lab/pal.js';

const NOW = new Date();
const H = 3_600_000;
const ca = await LabCa.create({ now: NOW });
const dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-light-crl-'));
const taFile = path.join(dir, 'trust-anchors.json');
const crlsFile = path.join(dir, 'crls.json');

const leaf = async (cn: string) => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return ca.issue({
    subject: { CN: cn },
    spki: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })),
    notBefore: new Date(NOW.getTime() - H),
    notAfter: new Date(NOW.getTime() + 24 * H),
    profile: 'client',
  });
};
const revokedPeer = await leaf('revoked-peer');
const goodPeer = await leaf('good-peer');

// what an earlier run left: the lab root in the TA store, the issuing CA's CRL (revoking one peer) and a root CRL
const ta = await TrustAnchorStore.open(taFile, { now: () => NOW });
await ta.add({ name: 'lab-root', source: 'config', uses: ['cacerts', 'crl'], certificate: ca.root.der });
const seed = await CrlStore.open(crlsFile, { taStore: ta, now: () => NOW });
const thisUpdate = new Date(NOW.getTime() - H);
await seed.offer(await issueLabCrl(ca.issuing, { thisUpdate, crlNumber: 7n, revoked: [{ serial: revokedPeer }] }), { intermediates: [ca.issuing.der] });
await seed.offer(await issueLabCrl(ca.root, { thisUpdate, crlNumber: 2n }));
assert.is(seed.size, 2);
const stored = readFileSync(crlsFile);

const agent = (p: string): string => new URL(`../../agent/${p}`, import.meta.url).href;
const asn1LoadsOf = (body: string): string[] => loadsOf(dir, body);

const startUp = `
const { TrustAnchorStore } = await import(${JSON.stringify(agent('store/ta-store.js'))});
const { CrlStore } = await import(${JSON.stringify(agent('store/crl-store.js'))});
const ta = await TrustAnchorStore.open(${JSON.stringify(taFile)});
const crl = await CrlStore.open(${JSON.stringify(crlsFile)}, { taStore: ta });
if (crl.size !== 2) throw new Error('CRL store size ' + crl.size);
`;

test('opening a state directory whose crls.json holds CRLs loads no pkijs/asn1js module', () => {
  assert.equal(asn1LoadsOf(startUp), []);
});

test('the first revocation check after the restart decodes the stored CRLs (and loads them)', () => {
  const loads = asn1LoadsOf(`${startUp}
const { loadCert } = await import(${JSON.stringify(agent('pki/lazy-modules.js'))});
const { certificateFromDer } = await loadCert(); // the caller holds decoded certificates (eecerts: the validated path)
const revoked = certificateFromDer(new Uint8Array(Buffer.from(${JSON.stringify(Buffer.from(revokedPeer.toSchema().toBER(false)).toString('base64'))}, 'base64')));
const good = certificateFromDer(new Uint8Array(Buffer.from(${JSON.stringify(Buffer.from(goodPeer.toSchema().toBER(false)).toString('base64'))}, 'base64')));
const isRevoked = await crl.revocationCheck();
if (!isRevoked(revoked) || isRevoked(good)) throw new Error('revocation answers ' + isRevoked(revoked) + ' ' + isRevoked(good));
const list = await crl.list();
const numbers = list.map((e) => e.scope + ':' + e.crlNumber + ':' + e.revokedCount).sort().join(',');
if (numbers !== 'crl:2:0,crl:7:1') throw new Error('stored ' + numbers);
if ((await crl.forIssuer(ta.list()[0].certificate)).length !== 1) throw new Error('root CRL by issuer');
`);
  assert.ok(loads.some((u) => u.includes('/pkijs/')), loads.join('\n'));
  assert.equal(readFileSync(crlsFile), stored, 'a query writes nothing');
});

test('a CRL decoder that cannot be loaded: the check fails with module.load, the daemon goes on, crls.json stays', () => {
  asn1LoadsOf(`${startUp}

// register: imported by the harness's script; this hook runs after its recorder
register('data:text/javascript,' + encodeURIComponent("export async function load(u, c, n) { if (u.endsWith('/store/crl-decode.js')) throw new Error('a broken installation'); return n(u, c); }"));
for (const attempt of [() => crl.revocationCheck(), () => crl.isRevoked({}), () => crl.offer(new Uint8Array([0x30, 0x00]))]) {
  const e = await attempt().then(() => undefined, (e) => e);
  if (e?.code !== 'module.load' || !/the CRL decoder/.test(e.message)) throw new Error('expected module.load, got ' + (e?.stack ?? e));
}
if (crl.size !== 2) throw new Error('held CRLs lost');
`);
  assert.equal(readFileSync(crlsFile), stored, 'the stored CRLs are kept as they were');
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
