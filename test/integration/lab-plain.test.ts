// The `plain` lab profile (deploy/lab/plain/) checked from outside with independent clients: raw node:https requests,
// CSRs, keys and certificates made and read by `openssl`, and the agent's EST client where it applies.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPlainLabServer, type PlainLabServer } from '../../deploy/lab/plain/server.js';
import { createHttpsTransport } from '../../agent/protocols/http/transport.js';
import { EstClient } from '../../agent/protocols/est/client.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'enrolld-plain-'));
const f = (name: string): string => path.join(tmp, name);
const ossl = (...args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
const lab = await createPlainLabServer({ users: { dev: 'pw' } });
const servers: PlainLabServer[] = [lab];
writeFileSync(f('root1.pem'), lab.trustAnchorPem);

interface Resp { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }
function request(l: PlainLabServer, method: string, p: string, o: { body?: string | Buffer; basic?: string; key?: string; cert?: string; ca?: string; contentType?: string } = {}): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const r = https.request(
      `${l.estUrl()}${p}`,
      {
        method,
        ca: o.ca ?? l.trustAnchorPem,
        agent: false,
        ...(o.key ? { key: o.key, cert: o.cert } : {}),
        headers: {
          ...(o.body !== undefined ? { 'content-type': o.contentType ?? 'application/pkcs10' } : {}),
          ...(o.basic ? { authorization: `Basic ${Buffer.from(o.basic).toString('base64')}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    r.on('error', reject);
    r.end(o.body);
  });
}

/** openssl req: a key and a base64 DER CSR. */
function makeCsr(name: string, opts: { key?: 'p384' | 'p256' | 'rsa3072'; subj?: string; san?: string; digest?: string; existingKey?: string; config?: string } = {}): { keyFile: string; b64: string; der: Buffer } {
  const keyFile = opts.existingKey ?? f(`${name}.key`);
  if (!opts.existingKey) {
    if (opts.key?.startsWith('rsa')) ossl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072', '-out', keyFile);
    else ossl('genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${opts.key === 'p256' ? 'P-256' : 'P-384'}`, '-out', keyFile);
  }
  const args = ['req', '-new', '-key', keyFile, `-${opts.digest ?? 'sha384'}`, '-outform', 'DER', '-out', f(`${name}.csr`)];
  if (opts.config) args.push('-config', opts.config);
  else args.push('-subj', opts.subj ?? '/CN=dev/O=Acme Devices', '-addext', `subjectAltName=${opts.san ?? 'DNS:dev.devices.example'}`);
  ossl(...args);
  const der = readFileSync(f(`${name}.csr`));
  return { keyFile, der, b64: der.toString('base64') };
}

/** The certificates of a base64 certs-only body, as PEM, read by openssl pkcs7. */
function certsOf(body: Buffer, name: string): string[] {
  writeFileSync(f(`${name}.p7`), Buffer.from(body.toString('latin1'), 'base64'));
  const out = ossl('pkcs7', '-inform', 'DER', '-in', f(`${name}.p7`), '-print_certs');
  return out.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? [];
}
const subjectOf = (certPem: string, name: string): string => {
  writeFileSync(f(`${name}.pem`), certPem);
  return ossl('x509', '-in', f(`${name}.pem`), '-noout', '-subject', '-nameopt', 'RFC2253').trim();
};

test('no /pal and no /nonce: 404 (a plain RFC 7030 server has neither)', async () => {
  for (const [m, p] of [['GET', '/pal'], ['GET', '/nonce'], ['POST', '/nonce'], ['GET', '/dev/pal']] as const) {
    const r = await request(lab, m, p, m === 'POST' ? { body: 'x' } : {});
    assert.is(r.status, 404, `${m} ${p}`);
  }
});

test('/cacerts: certs-only, base64, the root only; openssl reads it', async () => {
  const r = await request(lab, 'GET', '/cacerts');
  assert.is(r.status, 200);
  assert.is(r.headers['content-type'], 'application/pkcs7-mime; smime-type=certs-only');
  assert.is(r.headers['content-transfer-encoding'], 'base64');
  const certs = certsOf(r.body, 'cacerts');
  assert.is(certs.length, 1);
  assert.is(subjectOf(certs[0]!, 'cacert0'), 'subject=CN=plain EST root CA');
});

test('/csrattrs: P-384 + SHA-384 OID list, base64 followed by a NUL byte (libest); variants decode with openssl', async () => {
  const r = await request(lab, 'GET', '/csrattrs');
  assert.is(r.status, 200);
  assert.is(r.headers['content-type'], 'application/csrattrs');
  assert.is(r.body[r.body.length - 1], 0);
  const parse = (body: Buffer, name: string): string => {
    writeFileSync(f(name), Buffer.from(body.subarray(0, body.indexOf(0) < 0 ? body.length : body.indexOf(0)).toString('latin1'), 'base64'));
    return ossl('asn1parse', '-inform', 'DER', '-in', f(name));
  };
  const p384 = parse(r.body, 'csrattrs-p384.der');
  assert.match(p384, /OBJECT\s+:id-ecPublicKey/);
  assert.match(p384, /SET[\s\S]*OBJECT\s+:secp384r1/);
  assert.match(p384, /OBJECT\s+:ecdsa-with-SHA384/);
  assert.not.match(p384, /prime256v1/);
  try {
    lab.setCsrAttrs({ key: 'rsa3072', challengePassword: true, trailingNul: false });
    const rsa = await request(lab, 'GET', '/csrattrs');
    assert.is.not(rsa.body[rsa.body.length - 1], 0);
    const t = parse(rsa.body, 'csrattrs-rsa.der');
    assert.match(t, /OBJECT\s+:rsaEncryption/);
    assert.match(t, /INTEGER\s+:0C00/);
    assert.match(t, /OBJECT\s+:sha256WithRSAEncryption/);
    assert.match(t, /OBJECT\s+:challengePassword/);
    lab.setCsrAttrs({ form: 'template' });
    const tpl = parse(await request(lab, 'GET', '/csrattrs').then((x) => x.body), 'csrattrs-tpl.der');
    assert.match(tpl, /OBJECT\s+:1\.2\.840\.113549\.1\.9\.16\.2\.61/);
    assert.match(tpl, /cont \[ 0 \][\s\S]*OBJECT\s+:secp384r1/);
    lab.setCsrAttrs(null);
    assert.is((await request(lab, 'GET', '/csrattrs')).status, 204);
  } finally {
    lab.setCsrAttrs({});
  }
});

let enrolled: { keyFile: string; certPem: string } | undefined;

test('simpleenroll: 401 + WWW-Authenticate Basic without credentials; 202 + Retry-After 60, then issued; O= dropped', async () => {
  const csr = makeCsr('e1');
  let r = await request(lab, 'POST', '/simpleenroll', { body: csr.b64 });
  assert.is(r.status, 401);
  assert.match(String(r.headers['www-authenticate']), /^Basic realm=/);
  r = await request(lab, 'POST', '/simpleenroll', { body: csr.b64, basic: 'dev:wrong' });
  assert.is(r.status, 401);
  r = await request(lab, 'POST', '/simpleenroll', { body: csr.b64, basic: 'dev:pw' });
  assert.is(r.status, 202);
  assert.is(r.headers['retry-after'], '60');
  assert.is(lab.pending.size, 1);
  r = await request(lab, 'POST', '/simpleenroll', { body: csr.b64, basic: 'dev:pw' });
  assert.is(r.status, 200, r.body.toString());
  const [cert] = certsOf(r.body, 'e1');
  assert.is(subjectOf(cert!, 'e1cert'), 'subject=CN=dev');
  writeFileSync(f('e1cert.pem'), cert!);
  assert.match(ossl('verify', '-CAfile', f('root1.pem'), f('e1cert.pem')), /OK/);
  assert.match(ossl('x509', '-in', f('e1cert.pem'), '-noout', '-ext', 'subjectAltName'), /DNS:dev\.devices\.example/);
  const rec = lab.issued.at(-1)!;
  assert.is(rec.requestedSubject, 'CN=dev,O=Acme Devices');
  assert.is(rec.key, 'ec secp384r1');
  assert.is(rec.csrSignatureAlgorithm, '1.2.840.10045.4.3.3');
  assert.is(lab.pending.size, 0);
  enrolled = { keyFile: csr.keyFile, certPem: cert! };
});

test('the CSR signature is checked here: tampered → 400, RSA-3072/SHA-256 and P-256 accepted, garbage → 400, wrong type → 415', async () => {
  lab.setRetryAfter(null);
  try {
    const good = makeCsr('t1', { subj: '/CN=victim' });
    const bad = Buffer.from(good.der);
    bad[bad.indexOf(Buffer.from('victim'))] = 0x56;
    let r = await request(lab, 'POST', '/simpleenroll', { body: bad.toString('base64'), basic: 'dev:pw' });
    assert.is(r.status, 400);
    assert.match(r.body.toString(), /signature does not verify/);
    r = await request(lab, 'POST', '/simpleenroll', { body: '%%%', basic: 'dev:pw' });
    assert.is(r.status, 400);
    r = await request(lab, 'POST', '/simpleenroll', { body: good.b64, basic: 'dev:pw', contentType: 'text/plain' });
    assert.is(r.status, 415);
    const rsa = makeCsr('rsa', { key: 'rsa3072', digest: 'sha256' });
    r = await request(lab, 'POST', '/simpleenroll', { body: rsa.b64, basic: 'dev:pw' });
    assert.is(r.status, 200, r.body.toString());
    assert.is(lab.issued.at(-1)!.key, 'rsa 3072');
    const p256 = makeCsr('p256', { key: 'p256', digest: 'sha256' });
    r = await request(lab, 'POST', '/simpleenroll', { body: p256.b64, basic: 'dev:pw' });
    assert.is(r.status, 200);
    assert.is(lab.issued.at(-1)!.key, 'ec prime256v1');
  } finally {
    lab.setRetryAfter(60);
  }
});

test('simplereenroll: TLS client cert required, then HTTP Basic still demanded (401); subject must be the issued one', async () => {
  assert.ok(enrolled, 'needs the enrollment test');
  const tls = { key: readFileSync(enrolled!.keyFile, 'utf8'), cert: enrolled!.certPem };
  const sameAsCsr = makeCsr('r-old-subject', { existingKey: enrolled!.keyFile });
  let r = await request(lab, 'POST', '/simplereenroll', { body: sameAsCsr.b64, basic: 'dev:pw' });
  assert.is(r.status, 403, 'no client certificate');
  r = await request(lab, 'POST', '/simplereenroll', { body: sameAsCsr.b64, ...tls });
  assert.is(r.status, 401);
  assert.match(String(r.headers['www-authenticate']), /^Basic /);
  // The CSR repeats the configured subject (with O=): RFC 7030 §4.2.2 says it must be the certificate's.
  r = await request(lab, 'POST', '/simplereenroll', { body: sameAsCsr.b64, basic: 'dev:pw', ...tls });
  assert.is(r.status, 400);
  assert.match(r.body.toString(), /differs from the certificate being renewed/);
  const wrongSan = makeCsr('r-bad-san', { subj: '/CN=dev', san: 'DNS:other.example' });
  r = await request(lab, 'POST', '/simplereenroll', { body: wrongSan.b64, basic: 'dev:pw', ...tls });
  assert.is(r.status, 400);
  assert.match(r.body.toString(), /subjectAltName differs/);
  const renew = makeCsr('r-ok', { subj: '/CN=dev' });
  r = await request(lab, 'POST', '/simplereenroll', { body: renew.b64, basic: 'dev:pw', ...tls });
  assert.is(r.status, 202);
  r = await request(lab, 'POST', '/simplereenroll', { body: renew.b64, basic: 'dev:pw', ...tls });
  assert.is(r.status, 200, r.body.toString());
  const rec = lab.issued.at(-1)!;
  assert.is(rec.operation, 'simplereenroll');
  assert.equal(rec.authenticatedAs, ['tls:CN=dev', 'basic:dev']);
  // A certificate from another CA is refused outright.
  ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=dev', '-keyout', f('foreign.key'), '-out', f('foreign.pem'), '-days', '1');
  r = await request(lab, 'POST', '/simplereenroll', { body: renew.b64, basic: 'dev:pw', key: readFileSync(f('foreign.key'), 'utf8'), cert: readFileSync(f('foreign.pem'), 'utf8') });
  assert.is(r.status, 403);
});

test('serverkeygen: the key part is a PKCS#1 RSAPrivateKey (libest), or PrivateKeyInfo when configured', async () => {
  const parts = (r: Resp): Array<{ type: string; data: Buffer }> => {
    const boundary = /boundary=([^;\s]+)/.exec(String(r.headers['content-type']))![1]!;
    return r.body.toString('latin1').split(`--${boundary}`).slice(1, -1).map((p) => {
      const [head, body] = p.split('\r\n\r\n');
      return { type: /content-type:\s*([^\r\n]+)/i.exec(head!)![1]!, data: Buffer.from(body!.replace(/\s+/g, ''), 'base64') };
    });
  };
  const csr = makeCsr('skg', { subj: '/CN=dev/O=Acme' });
  let r = await request(lab, 'POST', '/serverkeygen', { body: csr.b64 });
  assert.is(r.status, 401);
  r = await request(lab, 'POST', '/serverkeygen', { body: csr.b64, basic: 'dev:pw' });
  assert.is(r.status, 200, r.body.toString());
  let [key, certs] = parts(r);
  assert.is(key!.type, 'application/pkcs8');
  assert.match(certs!.type, /smime-type=certs-only/);
  writeFileSync(f('skg.key.der'), key!.data);
  // PKCS#1: openssl reads it as an RSA key; as PKCS#8 it does not parse.
  assert.match(ossl('rsa', '-inform', 'DER', '-in', f('skg.key.der'), '-check', '-noout'), /RSA key ok/);
  assert.throws(() => ossl('pkcs8', '-inform', 'DER', '-nocrypt', '-in', f('skg.key.der')));
  const lab8 = await createPlainLabServer({ users: { dev: 'pw' }, serverKeygenFormat: 'pkcs8' });
  servers.push(lab8);
  r = await request(lab8, 'POST', '/serverkeygen', { body: csr.b64, basic: 'dev:pw' });
  [key, certs] = parts(r);
  writeFileSync(f('skg8.key.der'), key!.data);
  assert.match(ossl('pkcs8', '-inform', 'DER', '-nocrypt', '-in', f('skg8.key.der')), /BEGIN PRIVATE KEY/);
  const cert = certsOf(Buffer.from(certs!.data.toString('base64')), 'skg8')[0]!;
  assert.is(subjectOf(cert, 'skg8cert'), 'subject=CN=dev');
  // The certificate certifies the returned key.
  writeFileSync(f('skg8cert.pem'), cert);
  assert.is(ossl('x509', '-in', f('skg8cert.pem'), '-noout', '-pubkey'), ossl('pkey', '-inform', 'DER', '-in', f('skg8.key.der'), '-pubout'));
});

for (const rootNames of ['same', 'generation'] as const) {
test(`root key update on demand (root names: ${rootNames}): /cacerts carries NewWithNew, NewWithOld, OldWithNew; old and new holders both validate`, async () => {
  const l = await createPlainLabServer({ users: { dev: 'pw' }, retryAfterSeconds: null, rootNames });
  servers.push(l);
  writeFileSync(f('rootA.pem'), l.trustAnchorPem);
  const csr = makeCsr('ro1', { subj: '/CN=dev' });
  const first = certsOf((await request(l, 'POST', '/simpleenroll', { body: csr.b64, basic: 'dev:pw' })).body, 'ro1')[0]!;
  l.rollover();
  const r = await request(l, 'GET', '/cacerts');
  const certs = certsOf(r.body, 'ro-cacerts');
  assert.is(certs.length, 3);
  const names = certs.map((c, i) => {
    writeFileSync(f(`ro-c${i}.pem`), c);
    return ossl('x509', '-in', f(`ro-c${i}.pem`), '-noout', '-subject', '-issuer', '-nameopt', 'RFC2253').replace(/\n/g, ' ').trim();
  });
  const [g1, g2] = rootNames === 'same' ? ['', ''] : [' G1', ' G2'];
  assert.equal(names, [
    `subject=CN=plain EST root CA${g2} issuer=CN=plain EST root CA${g2}`,
    `subject=CN=plain EST root CA${g2} issuer=CN=plain EST root CA${g1}`,
    `subject=CN=plain EST root CA${g1} issuer=CN=plain EST root CA${g2}`,
  ]);
  // The keys tell the generations apart: NewWithNew and NewWithOld carry the new key, OldWithNew the old one.
  const pub = (i: number): string => ossl('x509', '-in', f(`ro-c${i}.pem`), '-noout', '-pubkey');
  assert.is(pub(0), pub(1));
  assert.is(pub(2), ossl('x509', '-in', f('rootA.pem'), '-noout', '-pubkey'));
  assert.is.not(pub(0), pub(2));
  // NewWithOld verifies under the old root; OldWithNew under the new one.
  assert.match(ossl('verify', '-CAfile', f('rootA.pem'), f('ro-c1.pem')), /OK/);
  assert.match(ossl('verify', '-CAfile', f('ro-c0.pem'), f('ro-c2.pem')), /OK/);
  // TLS still works for a client that only knows the old root (the server sends NewWithOld), and for one that
  // only knows the new root.
  assert.is((await request(l, 'GET', '/cacerts', { ca: l.trustAnchorPem })).status, 200);
  assert.is((await request(l, 'GET', '/cacerts', { ca: l.currentRootPem })).status, 200);
  // The certificate issued under G1 still authenticates a re-enrollment; the new one comes from G2.
  const renew = makeCsr('ro2', { subj: '/CN=dev', existingKey: csr.keyFile });
  const rr = await request(l, 'POST', '/simplereenroll', { body: renew.b64, basic: 'dev:pw', key: readFileSync(csr.keyFile, 'utf8'), cert: first });
  assert.is(rr.status, 200, rr.body.toString());
  assert.is(l.issued.at(-1)!.rootGeneration, 2);
  writeFileSync(f('ro2cert.pem'), certsOf(rr.body, 'ro2')[0]!);
  assert.match(ossl('verify', '-CAfile', f('rootA.pem'), '-untrusted', f('ro-c1.pem'), f('ro2cert.pem')), /OK/);
});
}

test('short-lived CA: issued certificates never outlive the root', async () => {
  const l = await createPlainLabServer({ users: { dev: 'pw' }, retryAfterSeconds: null, caValiditySeconds: 3600, certValiditySeconds: 86_400 });
  servers.push(l);
  const csr = makeCsr('sl', { subj: '/CN=dev' });
  const cert = certsOf((await request(l, 'POST', '/simpleenroll', { body: csr.b64, basic: 'dev:pw' })).body, 'sl')[0]!;
  writeFileSync(f('sl.pem'), cert);
  const end = (file: string): number => Date.parse(ossl('x509', '-in', file, '-noout', '-enddate').trim().replace('notAfter=', ''));
  writeFileSync(f('sl-root.pem'), l.trustAnchorPem);
  assert.ok(end(f('sl.pem')) <= end(f('sl-root.pem')));
  assert.ok(end(f('sl-root.pem')) - Date.now() <= 3_600_000 + 5_000);
});

test('challengePassword: asked for in /csrattrs; with the check on, a CSR without it is refused (400)', async () => {
  const l = await createPlainLabServer({ users: { dev: 'pw' }, retryAfterSeconds: null, csrAttrs: { challengePassword: true }, challengePasswordCheck: 'present' });
  servers.push(l);
  const without = makeCsr('cp0', { subj: '/CN=dev' });
  let r = await request(l, 'POST', '/simpleenroll', { body: without.b64, basic: 'dev:pw' });
  assert.is(r.status, 400);
  assert.match(r.body.toString(), /challengePassword/);
  writeFileSync(f('cp.cnf'), '[req]\nprompt = no\ndistinguished_name = dn\nattributes = attrs\n[dn]\nCN = dev\n[attrs]\nchallengePassword = one-time-secret\n');
  const withPw = makeCsr('cp1', { config: f('cp.cnf') });
  r = await request(l, 'POST', '/simpleenroll', { body: withPw.b64, basic: 'dev:pw' });
  assert.is(r.status, 200, r.body.toString());
  assert.is(l.issued.at(-1)!.challengePassword, 'one-time-secret');
});

test("the agent's EST client reads the plain profile's /cacerts and /csrattrs", async () => {
  const transport = createHttpsTransport({ trustAnchors: [lab.trustAnchorPem], basicAuth: { username: 'dev', password: 'pw' } });
  const est = new EstClient({ baseUrl: lab.url, transport });
  const ca = await est.cacerts({ trustAnchors: [] });
  assert.ok(ca.certificates.length >= 1);
  // The body ends in the NUL byte libest sends; the agent reads past it.
  const attrs = await est.csrattrs();
  assert.ok(attrs.oids.includes('1.2.840.10045.4.3.3'), 'ecdsa-with-SHA384 asked for');
  assert.ok(attrs.attributes.some((a) => a.type === '1.2.840.10045.2.1' && JSON.stringify(a.values).includes('06052b81040022')), 'secp384r1 asked for');
});

test('challengePassword linking (RFC 7030 §3.5): base64(tls-unique) of the same TLS 1.2 session accepted, another one refused', async () => {
  const l = await createPlainLabServer({ users: { dev: 'pw' }, retryAfterSeconds: null, csrAttrs: { challengePassword: true }, challengePasswordCheck: 'tls-unique' });
  servers.push(l);
  // One TLS 1.2 connection: read tls-unique (the client's Finished on a full handshake), put it in the CSR, send it
  // on that same connection.
  const post = (challenge: (sock: tls.TLSSocket) => string, name: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const sock = tls.connect({ host: l.host, port: l.port, ca: l.trustAnchorPem, maxVersion: 'TLSv1.2', servername: 'localhost' }, () => {
        writeFileSync(f(`${name}.cnf`), `[req]\nprompt = no\ndistinguished_name = dn\nattributes = attrs\n[dn]\nCN = dev\n[attrs]\nchallengePassword = ${challenge(sock)}\n`);
        const csr = makeCsr(name, { config: f(`${name}.cnf`), key: 'p256', digest: 'sha256' }).b64;
        const auth = Buffer.from('dev:pw').toString('base64');
        sock.write(`POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/pkcs10\r\nAuthorization: Basic ${auth}\r\nContent-Length: ${csr.length}\r\nConnection: close\r\n\r\n${csr}`);
      });
      let data = '';
      sock.on('data', (d: Buffer) => (data += d.toString('latin1')));
      sock.on('end', () => resolve(data));
      sock.on('error', reject);
    });
  const ok = await post((s) => s.getFinished()!.toString('base64'), 'tu-ok');
  assert.match(ok, /^HTTP\/1\.1 200/, ok);
  const bad = await post(() => Buffer.alloc(12, 7).toString('base64'), 'tu-bad');
  assert.match(bad, /^HTTP\/1\.1 400/);
  assert.match(bad, /does not match this TLS session/);
});

test('libest -o (httpAuth: false): re-enrollment with the TLS client certificate alone', async () => {
  const l = await createPlainLabServer({ users: { dev: 'pw' }, retryAfterSeconds: null, httpAuth: false });
  servers.push(l);
  const csr = makeCsr('o1', { subj: '/CN=dev' });
  let r = await request(l, 'POST', '/simpleenroll', { body: csr.b64 });
  assert.is(r.status, 401, 'first enrollment still needs some authentication');
  r = await request(l, 'POST', '/simpleenroll', { body: csr.b64, basic: 'dev:pw' });
  const cert = certsOf(r.body, 'o1')[0]!;
  r = await request(l, 'POST', '/simplereenroll', { body: makeCsr('o2', { subj: '/CN=dev', existingKey: csr.keyFile }).b64, key: readFileSync(csr.keyFile, 'utf8'), cert });
  assert.is(r.status, 200, r.body.toString());
  assert.equal(l.issued.at(-1)!.authenticatedAs, ['tls:CN=dev']);
});

test('the plain profile is independent: nothing it loads comes from agent/', () => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../deploy/lab');
  const seen = new Set<string>();
  const walk = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*from\s+'(\.[^']+)'/g)) walk(path.resolve(path.dirname(file), m[1]!));
  };
  walk(path.join(root, 'plain', 'server.js'));
  assert.ok(seen.size >= 6, [...seen].join(' '));
  const outside = [...seen].filter((p) => !p.startsWith(root + path.sep));
  assert.equal(outside, [], `imports outside deploy/lab: ${outside.join(', ')}`);
});

test.after(async () => {
  for (const s of servers) await s.close();
  rmSync(tmp, { recursive: true, force: true });
});

test.run();
