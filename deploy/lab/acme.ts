// Lab ACME server (RFC 8555) with remote attestation as draft-ietf-acme-rats-01 (and -02, same text) describes it, written from the
// texts (the draft, msg-wrap-23) without the agent's ACME code or constants. Pebble covers the base flow in the
// tests; this exists because no packaged ACME server verifies TPM evidence. Under /acme on the lab server:
//   GET  /acme/directory                 directory (§7.1.1)
//   HEAD /acme/new-nonce                 Replay-Nonce (§7.2)
//   POST /acme/new-account               JWS with jwk (§7.3); same key → the existing account (200)
//   POST /acme/new-order                 dns identifiers, plus "remote-attestation" identifiers the client offers;
//                                        the lab adds one (requireAttestation) when the client offered none (the
//                                        draft lets the server challenge for attestation the client did not offer)
//   POST /acme/authz/:id                 POST-as-GET; {"status":"deactivated"} deactivates (§7.5.2)
//   POST /acme/chall/:id                 dns-01/http-01: validated by validateIdentifier (the lab's stand-in for
//                                        its DNS operator / VA). remote-attest-01: the JWS payload is the CMW (or a
//                                        compact JWE of it to the offered verifierEncryptionCredential), checked by
//                                        acme-rats.ts: extraData == this challenge's freshness_nonce (32 random
//                                        bytes, one per challenge, never accepted twice), AK chain and signature;
//                                        the certified key is remembered on the order
//   POST /acme/encr-key/:id              POST-as-GET: the verifierEncryptionCredential JWK (URL form)
//   POST /acme/finalize/:id              the CSR's key must be the attested key; identifiers must match
//   POST /acme/cert/:id                  application/pem-certificate-chain
// Every JWS is verified (nonce, url, kid/jwk, then alg ES256/RS256 and the signature with jose, RFC 7515 §5.2);
// errors are problem documents.
import { createHash, createPublicKey, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { errors as joseErrors, flattenedVerify } from 'jose';
import * as pkijs from 'pkijs';
import { certificatePem, findExtension } from './pki/cert.js';
import { OID } from './pki/oids.js';
import { csrExtensions, csrSpki, verifyPkcs10 } from './pki/pkcs10.js';
import { decodeAnswer, labEncryptionKey, RATS, RatsRefusal, spkiJwk, verifyTpmEvidence, type DecodedAnswer, type LabEncryptionKey } from './acme-rats.js';
import type { LabCa } from './ca.js';
import type { AttestReason, LabAttestation } from './attestation.js';
import type { LabRequest, LabResponse, Router } from './router.js';

export interface LabAcmeOptions {
  /** "https://127.0.0.1:<port>" of the lab server. */
  baseUrl: string;
  ca: LabCa;
  /** Its attestation-CA roots verify the AK certificates in remote-attest-01 evidence. */
  attestation: LabAttestation;
  certValiditySeconds?: number;
  now?: () => Date;
  /** The "remote-attestation" identifier value added when the client offers none; false: attestation only if offered. */
  requireAttestation?: string | false;
  /** verifierEncryptionCredential: none, the JWK inline, or a URL to fetch it from (default none). */
  encryption?: 'none' | 'jwk' | 'url';
  /** The lab's DNS operator: whether dns-01/http-01 for this name succeeds (default: always). */
  validateIdentifier?: (name: string) => boolean;
}

type Identifier = { type: string; value: string };
interface Account {
  url: string;
  key: KeyObject;
  thumbprint: string;
}
interface Chall {
  id: string;
  type: string;
  status: 'pending' | 'processing' | 'valid' | 'invalid';
  error?: { type: string; detail: string };
  token?: string;
  /** remote-attest-01: the freshness_nonce bytes and the offered encryption key / credential. */
  nonce?: Uint8Array;
  key?: LabEncryptionKey;
  credential?: unknown;
}
interface Authz {
  id: string;
  account: string;
  identifier: Identifier;
  status: 'pending' | 'valid' | 'invalid' | 'deactivated';
  challenges: Chall[];
}
interface Order {
  id: string;
  account: string;
  identifiers: Identifier[];
  authzs: string[];
  status: 'pending' | 'ready' | 'processing' | 'valid' | 'invalid';
  /** Keys certified by the TPM evidence of this order's remote-attest-01 challenges (JWK members). */
  attestedKeys: Array<Record<string, string>>;
  certPem?: string;
  error?: { type: string; detail: string };
}

const NS = 'urn:ietf:params:acme:error:';
const id = (): string => randomBytes(12).toString('base64url');
const sameJwk = (a: Record<string, string>, b: Record<string, string>): boolean => JSON.stringify(a) === JSON.stringify(b);

class Problem extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    detail: string,
  ) {
    super(detail);
  }
}

/** RFC 7638 §3.2: the required members, lexicographic order, no whitespace; SHA-256, base64url. */
function thumbprint(jwk: Record<string, unknown>): string {
  const members = jwk.kty === 'EC' ? ['crv', 'kty', 'x', 'y'] : jwk.kty === 'RSA' ? ['e', 'kty', 'n'] : undefined;
  if (!members || members.some((m) => typeof jwk[m] !== 'string')) throw new Problem(400, `${NS}badPublicKey`, 'jwk is not an EC or RSA public key');
  return createHash('sha256').update(JSON.stringify(Object.fromEntries(members.map((m) => [m, jwk[m]])))).digest('base64url');
}

/** The DNS names a CSR asks for (subjectAltName dNSName, else CN). */
function csrNames(csr: pkijs.CertificationRequest): string[] {
  const names: string[] = [];
  const san = findExtension(csrExtensions(csr), OID.subjectAltName);
  const parsed = san?.parsedValue as unknown;
  if (parsed instanceof pkijs.GeneralNames) for (const n of parsed.names) if (n.type === 2 && typeof n.value === 'string') names.push(n.value);
  if (names.length === 0) {
    const cn = csr.subject.typesAndValues.find((tv) => tv.type === '2.5.4.3')?.value.valueBlock as { value?: unknown } | undefined;
    if (typeof cn?.value === 'string') names.push(cn.value);
  }
  return names;
}

/** The lab verifier log's reason for a refusal. */
function reasonOf(detail: string): AttestReason {
  if (/replayed/.test(detail)) return 'attest.nonce-replayed';
  if (/freshness_nonce/.test(detail)) return 'attest.nonce-unknown';
  if (/signature over/.test(detail)) return 'attest.bad-signature';
  if (/AK certificate|chain|not valid now|signed by/.test(detail)) return 'attest.ak-untrusted';
  if (/certified (Name|key)|TPM-resident/.test(detail)) return 'attest.wrong-key';
  return 'attest.bad-structure';
}

export class LabAcme {
  private readonly nonces = new Set<string>();
  readonly accounts = new Map<string, Account>();
  readonly authzs = new Map<string, Authz>();
  readonly orders = new Map<string, Order>();
  private readonly challs = new Map<string, { authz: Authz; chall: Chall }>();
  /** Every freshness_nonce issued (base64url): a nonce is never valid for any challenge but its own. */
  private readonly issuedNonces = new Set<string>();
  /** remote-attest-01 outcomes, newest last (tests read them). */
  readonly events: Array<{ ok: boolean; detail?: string }> = [];
  /** Decoded remote-attest-01 answers and the raw JWS payloads, newest last (tests decode them independently). */
  readonly answers: Array<{ payload: Uint8Array; nonce: Uint8Array; decoded?: DecodedAnswer }> = [];
  /** Authorizations the client deactivated (§7.5.2). */
  readonly deactivated: Authz[] = [];
  /** Test hook: offer this value as verifierEncryptionCredential instead of the lab's own key. */
  credentialOverride: unknown;
  /** Test hook: challenges without freshness_nonce (a server the agent must not answer). */
  omitFreshnessNonce = false;
  readonly directoryUrl: string;
  private readonly now: () => Date;
  private readonly roots: X509Certificate[];

  constructor(private readonly o: LabAcmeOptions) {
    this.directoryUrl = `${o.baseUrl}/acme/directory`;
    this.now = o.now ?? ((): Date => new Date());
    this.roots = o.attestation.anchors.map((d) => new X509Certificate(Buffer.from(d)));
  }

  /** Options tests may change between runs. */
  get settings(): LabAcmeOptions {
    return this.o;
  }

  private url(path: string): string {
    return `${this.o.baseUrl}/acme/${path}`;
  }

  private nonce(): string {
    const n = randomBytes(16).toString('base64url');
    this.nonces.add(n);
    if (this.nonces.size > 10_000) this.nonces.delete(this.nonces.values().next().value!);
    return n;
  }

  private respond(status: number, body: unknown, headers: Record<string, string> = {}): LabResponse {
    return { status, headers: { 'replay-nonce': this.nonce(), 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }, body: JSON.stringify(body) };
  }

  private problem(p: Problem): LabResponse {
    return { status: p.status, headers: { 'replay-nonce': this.nonce(), 'content-type': 'application/problem+json' }, body: JSON.stringify({ type: p.type, detail: p.message, status: p.status }) };
  }

  /** §6.2–§6.4: the JWS, its nonce, URL and key; returns the payload bytes and, when it is JSON, the parsed value. */
  private async verifyJws(req: LabRequest, opts: { newAccount?: boolean; rawPayload?: boolean } = {}): Promise<{ payload: unknown; raw: Uint8Array; account?: Account; jwk?: Record<string, unknown>; key: KeyObject }> {
    if (!/^application\/jose\+json\b/i.test(String(req.headers['content-type'] ?? ''))) throw new Problem(415, `${NS}malformed`, 'Content-Type must be application/jose+json');
    let jws: { protected?: unknown; payload?: unknown; signature?: unknown };
    try {
      jws = JSON.parse(req.body.toString('utf8')) as typeof jws;
    } catch {
      throw new Problem(400, `${NS}malformed`, 'body is not JSON');
    }
    if (typeof jws.protected !== 'string' || typeof jws.payload !== 'string' || typeof jws.signature !== 'string') throw new Problem(400, `${NS}malformed`, 'not a flattened JWS');
    let header: { alg?: string; nonce?: string; url?: string; kid?: string; jwk?: Record<string, unknown> };
    try {
      header = JSON.parse(Buffer.from(jws.protected, 'base64url').toString('utf8')) as typeof header;
    } catch {
      throw new Problem(400, `${NS}malformed`, 'protected header is not JSON');
    }
    if (!header.nonce || !this.nonces.delete(header.nonce)) throw new Problem(400, `${NS}badNonce`, 'unknown or used nonce');
    if (header.url !== `${this.o.baseUrl}${req.path}`) throw new Problem(401, `${NS}unauthorized`, `JWS url ${header.url} ≠ ${this.o.baseUrl}${req.path}`);
    if (header.alg !== 'ES256' && header.alg !== 'RS256') throw new Problem(400, `${NS}badSignatureAlgorithm`, `alg ${header.alg}`);
    let key: KeyObject;
    let account: Account | undefined;
    if (opts.newAccount) {
      if (!header.jwk || header.kid) throw new Problem(400, `${NS}malformed`, 'newAccount needs jwk, not kid');
      key = createPublicKey({ key: header.jwk as unknown as import('node:crypto').JsonWebKey, format: 'jwk' });
    } else {
      if (!header.kid || header.jwk) throw new Problem(400, `${NS}malformed`, 'requests need kid, not jwk');
      account = this.accounts.get(header.kid);
      if (!account) throw new Problem(400, `${NS}accountDoesNotExist`, header.kid);
      key = account.key;
    }
    let verified: Awaited<ReturnType<typeof flattenedVerify>>;
    try {
      verified = await flattenedVerify({ protected: jws.protected, payload: jws.payload, signature: jws.signature }, key, { algorithms: ['ES256', 'RS256'] });
    } catch (e) {
      if (e instanceof joseErrors.JWSSignatureVerificationFailed) throw new Problem(401, `${NS}unauthorized`, 'JWS signature does not verify');
      if (e instanceof joseErrors.JOSEAlgNotAllowed) throw new Problem(400, `${NS}badSignatureAlgorithm`, `alg ${header.alg}`);
      throw new Problem(400, `${NS}malformed`, `JWS: ${(e as Error).message}`);
    }
    const raw = new Uint8Array(verified.payload);
    let payload: unknown;
    if (raw.length > 0) {
      try {
        payload = JSON.parse(Buffer.from(raw).toString('utf8'));
      } catch {
        if (!opts.rawPayload) throw new Problem(400, `${NS}malformed`, 'payload is not JSON');
      }
    }
    return { payload, raw, key, ...(account ? { account } : {}), ...(header.jwk ? { jwk: header.jwk } : {}) };
  }

  private orderJson(o: Order): unknown {
    return {
      status: o.status,
      identifiers: o.identifiers,
      authorizations: o.authzs.map((a) => this.url(`authz/${a}`)),
      finalize: this.url(`finalize/${o.id}`),
      ...(o.certPem ? { certificate: this.url(`cert/${o.id}`) } : {}),
      ...(o.error ? { error: o.error } : {}),
    };
  }

  private challJson(c: Chall): Record<string, unknown> {
    return {
      type: c.type,
      url: this.url(`chall/${c.id}`),
      status: c.status,
      ...(c.token ? { token: c.token } : {}),
      ...(c.nonce && !this.omitFreshnessNonce ? { freshness_nonce: Buffer.from(c.nonce).toString('base64url') } : {}),
      ...(c.credential !== undefined ? { verifierEncryptionCredential: c.credential } : {}),
      ...(c.error ? { error: c.error } : {}),
    };
  }

  private authzJson(a: Authz): unknown {
    return { status: a.status, identifier: a.identifier, challenges: a.challenges.map((c) => this.challJson(c)) };
  }

  private owned<T extends { account: string }>(map: Map<string, T>, key: string | undefined, acct: Account | undefined): T {
    const v = key ? map.get(key) : undefined;
    if (!v || !acct || v.account !== acct.url) throw new Problem(404, `${NS}malformed`, 'no such resource');
    return v;
  }

  private newAuthz(account: string, identifier: Identifier): Authz {
    const a: Authz = { id: id(), account, identifier, status: 'pending', challenges: [] };
    if (identifier.type === RATS.identifierType) {
      // draft-ietf-acme-rats-01: freshness_nonce per challenge; no token.
      const c: Chall = { id: id(), type: RATS.challengeType, status: 'pending', nonce: randomBytes(32) };
      this.issuedNonces.add(Buffer.from(c.nonce!).toString('base64url'));
      const enc = this.o.encryption ?? 'none';
      if (this.credentialOverride !== undefined) c.credential = this.credentialOverride;
      else if (enc !== 'none') {
        c.key = labEncryptionKey();
        c.credential = enc === 'jwk' ? c.key.jwk : this.url(`encr-key/${c.id}`);
      }
      a.challenges.push(c);
    } else {
      for (const type of ['dns-01', 'http-01']) a.challenges.push({ id: id(), type, status: 'pending', token: randomBytes(32).toString('base64url') });
    }
    for (const c of a.challenges) this.challs.set(c.id, { authz: a, chall: c });
    this.authzs.set(a.id, a);
    return a;
  }

  private async answer(a: Authz, c: Chall, order: Order | undefined, raw: Uint8Array): Promise<void> {
    const fail = (detail: string): void => {
      c.status = 'invalid';
      c.error = { type: `${NS}incorrectResponse`, detail };
      a.status = 'invalid';
      if (c.type === RATS.challengeType) {
        this.events.push({ ok: false, detail });
        this.o.attestation.events.push({ ok: false, reason: reasonOf(detail), detail }); // the lab's shared verifier log
      }
    };
    if (c.type !== RATS.challengeType) {
      if ((this.o.validateIdentifier ?? (() => true))(a.identifier.value)) {
        c.status = 'valid';
        a.status = 'valid';
      } else fail(`${c.type} validation of ${a.identifier.value} failed`);
      return;
    }
    const rec: { payload: Uint8Array; nonce: Uint8Array; decoded?: DecodedAnswer } = { payload: raw, nonce: c.nonce! };
    this.answers.push(rec);
    try {
      if (c.credential !== undefined && !c.key) throw new RatsRefusal('this challenge offered a credential the lab holds no key for');
      rec.decoded = await decodeAnswer(raw, c.key);
      const { jwk } = verifyTpmEvidence(rec.decoded.record, {
        nonce: c.nonce!,
        roots: this.roots,
        now: this.now(),
        usedBefore: (x) => this.issuedNonces.has(Buffer.from(x).toString('base64url')),
      });
      order?.attestedKeys.push(jwk);
      c.status = 'valid';
      a.status = 'valid';
      this.events.push({ ok: true });
      this.o.attestation.events.push({ ok: true });
    } catch (e) {
      if (!(e instanceof RatsRefusal)) throw e;
      fail(e.message);
    }
  }

  private orderOf(authzId: string): Order | undefined {
    return [...this.orders.values()].find((o) => o.authzs.includes(authzId));
  }

  private refresh(o: Order): void {
    if (o.status !== 'pending') return;
    const states = o.authzs.map((x) => this.authzs.get(x)!.status);
    if (states.every((s) => s === 'valid')) o.status = 'ready';
    else if (states.some((s) => s === 'invalid' || s === 'deactivated')) o.status = 'invalid';
  }

  private async finalize(o: Order, payload: unknown): Promise<void> {
    if (o.status !== 'ready') throw new Problem(403, `${NS}orderNotReady`, `order is ${o.status}`);
    const csrB64 = (payload as { csr?: unknown } | undefined)?.csr;
    if (typeof csrB64 !== 'string') throw new Problem(400, `${NS}malformed`, 'finalize needs csr');
    let csr: pkijs.CertificationRequest;
    try {
      csr = verifyPkcs10(new Uint8Array(Buffer.from(csrB64, 'base64url'))).csr;
    } catch (e) {
      throw new Problem(400, `${NS}badCSR`, (e as Error).message);
    }
    // remote-attestation identifiers name no subject (draft-ietf-acme-rats-01); the others must match the CSR.
    const want = o.identifiers.filter((i) => i.type !== RATS.identifierType).map((i) => i.value).sort().join(',');
    const got = csrNames(csr).sort().join(',');
    if (want !== got) throw new Problem(400, `${NS}badCSR`, `CSR names ${got}, the order ${want}`);
    const csrKey = spkiJwk(csrSpki(csr));
    for (const k of o.attestedKeys) {
      if (!sameJwk(k, csrKey)) {
        o.status = 'invalid';
        o.error = { type: `${NS}badCSR`, detail: 'the CSR key is not the key the TPM evidence certified' };
        throw new Problem(403, `${NS}badCSR`, o.error.detail);
      }
    }
    const t = this.now();
    const san = findExtension(csrExtensions(csr), OID.subjectAltName);
    const cert = await this.o.ca.issue({
      subject: csr.subject,
      spki: csr.subjectPublicKeyInfo,
      notBefore: new Date(t.getTime() - 60_000),
      notAfter: new Date(t.getTime() + (this.o.certValiditySeconds ?? 7 * 86_400) * 1000),
      profile: 'client',
      ...(san ? { extensions: [san] } : {}),
    });
    o.certPem = certificatePem(cert) + this.o.ca.issuing.pem;
    o.status = 'valid';
  }

  register(router: Router): void {
    const wrap = (h: (req: LabRequest) => Promise<LabResponse> | LabResponse) => async (req: LabRequest): Promise<LabResponse> => {
      try {
        return await h(req);
      } catch (e) {
        if (e instanceof Problem) return this.problem(e);
        throw e;
      }
    };
    router.register('GET', '/acme/directory', () => ({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ newNonce: this.url('new-nonce'), newAccount: this.url('new-account'), newOrder: this.url('new-order') }),
    }));
    router.register('HEAD', '/acme/new-nonce', () => ({ status: 200, headers: { 'replay-nonce': this.nonce(), 'cache-control': 'no-store' } }));
    router.register('GET', '/acme/new-nonce', () => ({ status: 204, headers: { 'replay-nonce': this.nonce(), 'cache-control': 'no-store' } }));
    router.register(
      'POST',
      '/acme/new-account',
      wrap(async (req) => {
        const { jwk, key } = await this.verifyJws(req, { newAccount: true });
        const tp = thumbprint(jwk!);
        const existing = [...this.accounts.values()].find((a) => a.thumbprint === tp);
        if (existing) return this.respond(200, { status: 'valid' }, { location: existing.url });
        const url = this.url(`acct/${id()}`);
        this.accounts.set(url, { url, key, thumbprint: tp });
        return this.respond(201, { status: 'valid' }, { location: url });
      }),
    );
    router.register(
      'POST',
      '/acme/new-order',
      wrap(async (req) => {
        const { payload, account } = await this.verifyJws(req);
        const ids = (payload as { identifiers?: unknown } | undefined)?.identifiers;
        const ok = (i: unknown): boolean => typeof (i as Identifier)?.value === 'string' && ((i as Identifier).type === 'dns' ? (i as Identifier).value !== '' : (i as Identifier).type === RATS.identifierType);
        if (!Array.isArray(ids) || !ids.some((i) => (i as Identifier)?.type === 'dns') || !ids.every(ok)) throw new Problem(400, `${NS}rejectedIdentifier`, `dns identifiers, optionally with ${RATS.identifierType} ones`);
        const identifiers = (ids as Identifier[]).map((i) => ({ type: i.type, value: i.value }));
        const req0 = this.o.requireAttestation ?? 'hsm';
        if (req0 !== false && !identifiers.some((i) => i.type === RATS.identifierType)) identifiers.push({ type: RATS.identifierType, value: req0 });
        const order: Order = { id: id(), account: account!.url, identifiers, authzs: [], status: 'pending', attestedKeys: [] };
        for (const ident of identifiers) order.authzs.push(this.newAuthz(account!.url, ident).id);
        this.orders.set(order.id, order);
        return this.respond(201, this.orderJson(order), { location: this.url(`order/${order.id}`) });
      }),
    );
    router.register(
      'POST',
      '/acme/authz/:id',
      wrap(async (req) => {
        const { account, payload } = await this.verifyJws(req);
        const a = this.owned(this.authzs, req.params.id, account);
        if ((payload as { status?: unknown } | undefined)?.status === 'deactivated') {
          if (a.status === 'pending' || a.status === 'valid') {
            a.status = 'deactivated';
            this.deactivated.push(a);
            const o = this.orderOf(a.id);
            if (o) this.refresh(o);
          }
        } else if (payload !== undefined) throw new Problem(400, `${NS}malformed`, 'an authorization takes POST-as-GET or {"status":"deactivated"}');
        return this.respond(200, this.authzJson(a));
      }),
    );
    router.register(
      'POST',
      '/acme/chall/:id',
      wrap(async (req) => {
        const { account, raw } = await this.verifyJws(req, { rawPayload: true });
        const found = this.challs.get(req.params.id ?? '');
        if (!found || found.authz.account !== account?.url) throw new Problem(404, `${NS}malformed`, 'no such challenge');
        const { authz: a, chall: c } = found;
        const order = this.orderOf(a.id);
        if (c.status === 'pending' && a.status === 'pending') await this.answer(a, c, order, raw);
        if (order) this.refresh(order);
        return this.respond(200, this.challJson(c), { link: `<${this.url(`authz/${a.id}`)}>;rel="up"` });
      }),
    );
    router.register(
      'POST',
      '/acme/encr-key/:id',
      wrap(async (req) => {
        const { account } = await this.verifyJws(req);
        const found = this.challs.get(req.params.id ?? '');
        if (!found?.chall.key || found.authz.account !== account?.url) throw new Problem(404, `${NS}malformed`, 'no such key');
        return { status: 200, headers: { 'replay-nonce': this.nonce(), 'content-type': 'application/jwk+json' }, body: JSON.stringify(found.chall.key.jwk) };
      }),
    );
    router.register(
      'POST',
      '/acme/order/:id',
      wrap(async (req) => {
        const { account } = await this.verifyJws(req);
        return this.respond(200, this.orderJson(this.owned(this.orders, req.params.id, account)));
      }),
    );
    router.register(
      'POST',
      '/acme/finalize/:id',
      wrap(async (req) => {
        const { account, payload } = await this.verifyJws(req);
        const o = this.owned(this.orders, req.params.id, account);
        await this.finalize(o, payload);
        return this.respond(200, this.orderJson(o), { location: this.url(`order/${o.id}`) });
      }),
    );
    router.register(
      'POST',
      '/acme/cert/:id',
      wrap(async (req) => {
        const { account } = await this.verifyJws(req);
        const o = this.owned(this.orders, req.params.id, account);
        if (!o.certPem) throw new Problem(404, `${NS}malformed`, 'no certificate yet');
        return { status: 200, headers: { 'replay-nonce': this.nonce(), 'content-type': 'application/pem-certificate-chain' }, body: o.certPem };
      }),
    );
  }
}

/** Registers the lab ACME server on `router`; its directory is `${baseUrl}/acme/directory`. */
export function registerAcmeHandlers(router: Router, o: LabAcmeOptions): LabAcme {
  const acme = new LabAcme(o);
  acme.register(router);
  return acme;
}
