// Lab ACME server (RFC 8555) with the remote-attestation challenge (draft-ietf-acme-rats; type string per the
// issue, see agent/protocols/acme/constants.ts). Pebble covers the base flow in the tests; this exists because no
// packaged ACME server verifies TPM evidence. Under /acme on the lab server:
//   GET  /acme/directory                 directory (§7.1.1)
//   HEAD /acme/new-nonce                 Replay-Nonce (§7.2)
//   POST /acme/new-account               JWS with jwk (§7.3); same key → the existing account (200)
//   POST /acme/new-order                 dns identifiers (§7.4) → one authorization each, one remote-attest-01 challenge
//   POST /acme/authz/:id, /acme/order/:id  POST-as-GET
//   POST /acme/chall/:id                 {cmw: [media type, base64url DER AttestationBundle]}: the TPM2_Certify
//                                        evidence is verified with LabAttestation; its extraData must be
//                                        SHA-256(keyAuthorization) (§8.1), so it is bound to the token and the
//                                        account key; the certified key's SPKI is remembered on the authorization
//   POST /acme/finalize/:id              the CSR's key must be the attested key; identifiers must match
//   POST /acme/cert/:id                  application/pem-certificate-chain
// Every JWS is verified (alg ES256/RS256, nonce, url, kid/jwk); errors are problem documents.
import { createHash, createPublicKey, randomBytes, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type * as pkijs from 'pkijs';
import { certificateToPem } from '../../agent/pki/cert.js';
import { bytesEqual } from '../../agent/pki/der.js';
import { csrExtensions, csrSpki, OID_SUBJECT_ALT_NAME, verifyCsr } from '../../agent/pki/csr.js';
import { findExtension } from '../../agent/pki/cert.js';
import { AttestationBundle } from '../../agent/pki/asn1/evidence-bundle.js';
import { CMW_ATTESTATION_BUNDLE, REMOTE_ATTEST_01 } from '../../agent/protocols/acme/constants.js';
import { jwkThumbprint, type Jwk } from '../../agent/protocols/acme/jws.js';
import { csrIdentifiers } from '../../agent/protocols/acme/enrollment.js';
import type { LabCa } from './ca.js';
import type { LabAttestation } from './attestation.js';
import type { LabRequest, LabResponse, Router } from './router.js';

export interface LabAcmeOptions {
  /** "https://127.0.0.1:<port>" of the lab server. */
  baseUrl: string;
  ca: LabCa;
  attestation: LabAttestation;
  certValiditySeconds?: number;
  now?: () => Date;
}

interface Account {
  url: string;
  key: KeyObject;
  thumbprint: string;
}
interface Authz {
  id: string;
  account: string;
  identifier: { type: string; value: string };
  status: 'pending' | 'valid' | 'invalid';
  token: string;
  challenge: { status: 'pending' | 'valid' | 'invalid'; error?: { type: string; detail: string } };
  attestedSpki?: Uint8Array;
}
interface Order {
  id: string;
  account: string;
  identifiers: Array<{ type: string; value: string }>;
  authzs: string[];
  status: 'pending' | 'ready' | 'processing' | 'valid' | 'invalid';
  certPem?: string;
  error?: { type: string; detail: string };
}

const NS = 'urn:ietf:params:acme:error:';
const id = (): string => randomBytes(12).toString('base64url');

class Problem extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    detail: string,
  ) {
    super(detail);
  }
}

export class LabAcme {
  private readonly nonces = new Set<string>();
  readonly accounts = new Map<string, Account>();
  readonly authzs = new Map<string, Authz>();
  readonly orders = new Map<string, Order>();
  /** Challenge outcomes, newest last (tests read them). */
  readonly events: Array<{ ok: boolean; detail?: string }> = [];
  readonly directoryUrl: string;
  private readonly now: () => Date;

  constructor(private readonly o: LabAcmeOptions) {
    this.directoryUrl = `${o.baseUrl}/acme/directory`;
    this.now = o.now ?? ((): Date => new Date());
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

  /** §6.2–§6.4: the JWS, its nonce, URL and key; returns the payload (undefined for POST-as-GET). */
  private verifyJws(req: LabRequest, opts: { newAccount?: boolean } = {}): { payload: unknown; account?: Account; jwk?: Jwk; key: KeyObject } {
    if (!/^application\/jose\+json\b/i.test(String(req.headers['content-type'] ?? ''))) throw new Problem(415, `${NS}malformed`, 'Content-Type must be application/jose+json');
    let jws: { protected?: unknown; payload?: unknown; signature?: unknown };
    try {
      jws = JSON.parse(req.body.toString('utf8')) as typeof jws;
    } catch {
      throw new Problem(400, `${NS}malformed`, 'body is not JSON');
    }
    if (typeof jws.protected !== 'string' || typeof jws.payload !== 'string' || typeof jws.signature !== 'string') throw new Problem(400, `${NS}malformed`, 'not a flattened JWS');
    let header: { alg?: string; nonce?: string; url?: string; kid?: string; jwk?: Jwk };
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
    const ok = cryptoVerify(
      'sha256',
      Buffer.from(`${jws.protected}.${jws.payload}`, 'ascii'),
      header.alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key,
      Buffer.from(jws.signature, 'base64url'),
    );
    if (!ok) throw new Problem(401, `${NS}unauthorized`, 'JWS signature does not verify');
    let payload: unknown;
    if (jws.payload !== '') {
      try {
        payload = JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8'));
      } catch {
        throw new Problem(400, `${NS}malformed`, 'payload is not JSON');
      }
    }
    return { payload, key, ...(account ? { account } : {}), ...(header.jwk ? { jwk: header.jwk } : {}) };
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

  private authzJson(a: Authz): unknown {
    return {
      status: a.status,
      identifier: a.identifier,
      challenges: [{ type: REMOTE_ATTEST_01, url: this.url(`chall/${a.id}`), token: a.token, status: a.challenge.status, ...(a.challenge.error ? { error: a.challenge.error } : {}) }],
    };
  }

  private owned<T extends { account: string }>(map: Map<string, T>, key: string | undefined, acct: Account | undefined): T {
    const v = key ? map.get(key) : undefined;
    if (!v || !acct || v.account !== acct.url) throw new Problem(404, `${NS}malformed`, 'no such resource');
    return v;
  }

  private async challenge(a: Authz, acct: Account, payload: unknown): Promise<void> {
    const fail = (detail: string): void => {
      a.challenge = { status: 'invalid', error: { type: `${NS}unauthorized`, detail } };
      a.status = 'invalid';
      this.events.push({ ok: false, detail });
    };
    const cmw = (payload as { cmw?: unknown } | undefined)?.cmw;
    if (!Array.isArray(cmw) || cmw.length !== 2 || cmw[0] !== CMW_ATTESTATION_BUNDLE || typeof cmw[1] !== 'string') return fail(`expected {cmw: ["${CMW_ATTESTATION_BUNDLE}", base64url]}`);
    let bundle: AttestationBundle;
    try {
      bundle = AttestationBundle.fromBER(Buffer.from(cmw[1], 'base64url'));
    } catch (e) {
      return fail(`attest.bad-structure: ${(e as Error).message}`);
    }
    const expected = createHash('sha256').update(`${a.token}.${acct.thumbprint}`).digest();
    const r = await this.o.attestation.verifyBundle(bundle, (extraData) => {
      if (!bytesEqual(extraData, expected)) throw new Error('extraData is not SHA-256 of this challenge key authorization (wrong token or account key)');
    });
    if ('reason' in r) return fail(`${r.reason}: ${r.detail}`);
    a.attestedSpki = r.spki;
    a.challenge = { status: 'valid' };
    a.status = 'valid';
    this.events.push({ ok: true });
  }

  private async finalize(o: Order, payload: unknown): Promise<void> {
    if (o.status !== 'ready') throw new Problem(403, `${NS}orderNotReady`, `order is ${o.status}`);
    const csrB64 = (payload as { csr?: unknown } | undefined)?.csr;
    if (typeof csrB64 !== 'string') throw new Problem(400, `${NS}malformed`, 'finalize needs csr');
    let csr: pkijs.CertificationRequest;
    try {
      csr = await verifyCsr(new Uint8Array(Buffer.from(csrB64, 'base64url')));
    } catch (e) {
      throw new Problem(400, `${NS}badCSR`, (e as Error).message);
    }
    const want = o.identifiers.map((i) => i.value).sort().join(',');
    const got = csrIdentifiers(new Uint8Array(Buffer.from(csrB64, 'base64url'))).map((i) => i.value).sort().join(',');
    if (want !== got) throw new Problem(400, `${NS}badCSR`, `CSR names ${got}, the order ${want}`);
    for (const aid of o.authzs) {
      const a = this.authzs.get(aid)!;
      if (a.attestedSpki && !bytesEqual(a.attestedSpki, csrSpki(csr))) {
        o.status = 'invalid';
        o.error = { type: `${NS}badCSR`, detail: 'the CSR key is not the key the TPM evidence certified' };
        throw new Problem(403, `${NS}badCSR`, o.error.detail);
      }
    }
    const t = this.now();
    const san = findExtension(csrExtensions(csr), OID_SUBJECT_ALT_NAME);
    const cert = await this.o.ca.issue({
      subject: csr.subject,
      spki: csr.subjectPublicKeyInfo,
      notBefore: new Date(t.getTime() - 60_000),
      notAfter: new Date(t.getTime() + (this.o.certValiditySeconds ?? 7 * 86_400) * 1000),
      profile: 'client',
      ...(san ? { extensions: [san] } : {}),
    });
    o.certPem = certificateToPem(cert) + this.o.ca.issuing.pem;
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
      wrap((req) => {
        const { jwk, key } = this.verifyJws(req, { newAccount: true });
        const thumbprint = jwkThumbprint(jwk!);
        const existing = [...this.accounts.values()].find((a) => a.thumbprint === thumbprint);
        if (existing) return this.respond(200, { status: 'valid' }, { location: existing.url });
        const url = this.url(`acct/${id()}`);
        this.accounts.set(url, { url, key, thumbprint });
        return this.respond(201, { status: 'valid' }, { location: url });
      }),
    );
    router.register(
      'POST',
      '/acme/new-order',
      wrap((req) => {
        const { payload, account } = this.verifyJws(req);
        const ids = (payload as { identifiers?: unknown } | undefined)?.identifiers;
        if (!Array.isArray(ids) || ids.length === 0 || ids.some((i) => typeof i?.value !== 'string' || i?.type !== 'dns')) throw new Problem(400, `${NS}rejectedIdentifier`, 'dns identifiers only');
        const order: Order = { id: id(), account: account!.url, identifiers: ids as Order['identifiers'], authzs: [], status: 'pending' };
        for (const ident of order.identifiers) {
          const a: Authz = { id: id(), account: account!.url, identifier: ident, status: 'pending', token: randomBytes(32).toString('base64url'), challenge: { status: 'pending' } };
          this.authzs.set(a.id, a);
          order.authzs.push(a.id);
        }
        this.orders.set(order.id, order);
        return this.respond(201, this.orderJson(order), { location: this.url(`order/${order.id}`) });
      }),
    );
    router.register(
      'POST',
      '/acme/authz/:id',
      wrap((req) => {
        const { account } = this.verifyJws(req);
        return this.respond(200, this.authzJson(this.owned(this.authzs, req.params.id, account)));
      }),
    );
    router.register(
      'POST',
      '/acme/chall/:id',
      wrap(async (req) => {
        const { account, payload } = this.verifyJws(req);
        const a = this.owned(this.authzs, req.params.id, account);
        if (a.challenge.status === 'pending') await this.challenge(a, account!, payload);
        for (const o of this.orders.values()) {
          if (o.status === 'pending' && o.authzs.includes(a.id)) {
            const states = o.authzs.map((x) => this.authzs.get(x)!.status);
            if (states.every((s) => s === 'valid')) o.status = 'ready';
            else if (states.some((s) => s === 'invalid')) o.status = 'invalid';
          }
        }
        return this.respond(200, { type: REMOTE_ATTEST_01, url: this.url(`chall/${a.id}`), token: a.token, status: a.challenge.status, ...(a.challenge.error ? { error: a.challenge.error } : {}) }, { link: `<${this.url(`authz/${a.id}`)}>;rel="up"` });
      }),
    );
    router.register(
      'POST',
      '/acme/order/:id',
      wrap((req) => {
        const { account } = this.verifyJws(req);
        return this.respond(200, this.orderJson(this.owned(this.orders, req.params.id, account)));
      }),
    );
    router.register(
      'POST',
      '/acme/finalize/:id',
      wrap(async (req) => {
        const { account, payload } = this.verifyJws(req);
        const o = this.owned(this.orders, req.params.id, account);
        await this.finalize(o, payload);
        return this.respond(200, this.orderJson(o), { location: this.url(`order/${o.id}`) });
      }),
    );
    router.register(
      'POST',
      '/acme/cert/:id',
      wrap((req) => {
        const { account } = this.verifyJws(req);
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
