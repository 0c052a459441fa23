// Lab CMC over EST: POST /.well-known/est[/<label>]/fullcmc (RFC 7030 §4.3, RFC 5272 Full PKI Request/Response).
// The request is a SignedData{PKIData} whose signer certificate must validate to the lab CA (re-enrollment: same
// subject as the CSR) or to a configured IDevID CA (initial enrollment); HTTP Basic, when sent, must be valid and is
// recorded, but the PKIData signature is always required and checked.
// Transport-level problems (media type, base64, undecodable or unverifiable CMS) are 4xx with a text reason; CMC-level
// refusals are HTTP 200 with statusInfoV2 failed + CMCFailInfo. Pending: statusInfoV2 pending + PendInfo
// (pendToken, pendTime); the client repeats with queryPending. Responses are signed by the issuing CA key.
// The CMC structures are the lab's own (deploy/lab/asn1/cmc.ts), not the agent's.
import { randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { EstLabConfig } from './est.js';
import type { LabCa } from './ca.js';
import { checkBasic } from './auth.js';
import { text, type LabRequest, type LabResponse, type Router } from './router.js';
import type { NonceService } from './nonce-service.js';
import { base64Body, bodyDer } from './pki/base64-body.js';
import { certificateDer, describeName, findExtension, nameDer } from './pki/cert.js';
import { validateChain } from './pki/chain.js';
import { bytesEqual, der } from './pki/der.js';
import { keyIdentifier, keyObject } from './pki/issue.js';
import { OID } from './pki/oids.js';
import { csrExtensions, parsePkcs10, verifyPkcs10 } from './pki/pkcs10.js';
import { signSignedData } from './pki/signed-data.js';
import {
  CMC_OID, type CmcFailName, type CmcStatusName, type OtherStatusInfo, type PKIData, control, encryptedPOP, integer, pkiResponse,
  readDecryptedPOP, readPKIData, readQueryPending, readSenderNonce, readStatusInfoV2, readTransactionId, statusInfoV2, taggedAttribute,
} from './asn1/cmc.js';
import { type PopAlgorithm, type PopChallengeOptions, constantTimeEqual, createPopChallenge, expectedPop, popAlgorithmOf } from './cmc-pop.js';
import { FRESHNESS_OIDS, type NonceRequest, nonceResponse, readNonceRequest } from './asn1/freshness.js';

const EST_WELL_KNOWN_PATH = '/.well-known/est'; // RFC 7030 §3.2.2
/** The labels the lab accepts (RFC 7030 §3.2.2: one path segment; the lab allows unreserved characters). */
const EST_LABEL = /^[A-Za-z0-9._~-]{1,64}$/;
/** RFC 5273 §3 / RFC 7030 §4.3. */
export const CMC_MEDIA_TYPES = {
  request: 'application/pkcs7-mime; smime-type=CMC-request',
  response: 'application/pkcs7-mime; smime-type=CMC-response',
  essence: 'application/pkcs7-mime',
} as const;

/** What the handler needs from the lab (an EstLabState's config fits; tests pass `{ ca: lab.ca, … }`). */
export type CmcLabConfig = { ca: LabCa } & Partial<Pick<EstLabConfig, 'users' | 'idevidCaDers' | 'certValiditySeconds' | 'labels' | 'now' | 'log' | 'checkEvidence'>>;

export interface CmcLabOptions {
  /** Freshness nonces (draft-ietf-lamps-attestation-freshness-08 §7): answered for an id-data PKIData carrying the
   *  nonce request control, bound to its transactionId; without it such a request fails (noSupport). */
  nonces?: NonceService;
  /** Control OIDs of the nonce request/response (TBD4/TBD5; placeholders unless given). */
  nonceControls?: { request: string; response: string };
  /** Answer new requests with pending; approve after this many queryPending polls (undefined: only via approve()). */
  pending?: { approveAfterPolls?: number; retryAfterSeconds?: number };
  /** The encryptedPOP challenge form (recipient info, content cipher, POP algorithm; see cmc-pop.ts). */
  pop?: PopChallengeOptions;
}

export interface CmcPendingEntry {
  pendToken: string; // hex
  transactionId: bigint;
  csr: pkijs.CertificationRequest;
  operation: 'enroll' | 'reenroll';
  polls: number;
  approved: boolean;
  authenticatedAs: string;
  /** Body part ID of the original TaggedRequest (statuses keep referencing it). */
  bodyPartID: number;
}

export interface CmcIssuedRecord {
  operation: 'enroll' | 'reenroll';
  subject: string;
  der: Uint8Array;
  authenticatedAs: string;
  transactionId: bigint;
}

export interface CmcLab {
  options: CmcLabOptions;
  pending: Map<string, CmcPendingEntry>;
  issued: CmcIssuedRecord[];
  /** Every request seen: transactionId, whether it was a queryPending, the CMC status answered. */
  requests: Array<{ transactionId: bigint | undefined; query: boolean; status: CmcStatusName | number }>;
  approve(): number;
  /** Outstanding encryptedPOP challenges by transactionId: the random value y and the request it belongs to. */
  popChallenges: Map<string, { y: Uint8Array; csrDer: Uint8Array; pop: PopAlgorithm; thePOPAlgIDDer: Uint8Array }>;
  /** Every encryptedPOP sent (DER EnvelopedData ContentInfo) and every client abort (RFC 5272 §6.7 step 3). */
  popEnvelopes: Uint8Array[];
  popAborts: Array<{ transactionId: bigint; failInfo: CmcFailName | undefined }>;
}

function cmcResponseType(): Record<string, string> {
  return { 'content-type': CMC_MEDIA_TYPES.response, 'content-transfer-encoding': 'base64' };
}

class Malformed extends Error {}

interface OpenedSignedData {
  eContent: Uint8Array;
  signer: pkijs.Certificate;
  /** The other certificates of the SignedData (DER). */
  others: Uint8Array[];
}

/** ContentInfo{SignedData} (RFC 5652 §5) of `eContentType`: one SignerInfo with content-type and message-digest
 *  signed attributes (§5.3), its signature verified with the included signer certificate. */
async function openSignedData(bytes: Uint8Array, eContentType: string): Promise<OpenedSignedData> {
  let sd: pkijs.SignedData;
  try {
    const ci = new pkijs.ContentInfo({ schema: der(bytes, 'ContentInfo') });
    if (ci.contentType !== OID.signedData) throw new Malformed(`ContentInfo ${ci.contentType} is not SignedData`);
    sd = new pkijs.SignedData({ schema: ci.content });
  } catch (e) {
    throw e instanceof Malformed ? e : new Malformed(`malformed SignedData: ${(e as Error).message}`);
  }
  if (sd.encapContentInfo.eContentType !== eContentType) throw new Malformed(`encapsulated ${sd.encapContentInfo.eContentType}, ${eContentType} expected`);
  const content = sd.encapContentInfo.eContent;
  if (!content) throw new Malformed('SignedData has no encapsulated content');
  if (sd.signerInfos.length !== 1) throw new Malformed(`${sd.signerInfos.length} SignerInfos, exactly one expected`);
  const attrs = sd.signerInfos[0]!.signedAttrs?.attributes ?? [];
  const ct = attrs.filter((a) => a.type === OID.contentType);
  if (ct.length !== 1 || !(ct[0]!.values[0] instanceof asn1js.ObjectIdentifier) || ct[0]!.values[0].valueBlock.toString() !== eContentType) {
    throw new Malformed('the content-type signed attribute is missing or differs from eContentType (RFC 5652 §5.3, §11.1)');
  }
  if (attrs.filter((a) => a.type === OID.messageDigest).length !== 1) throw new Malformed('exactly one message-digest signed attribute expected (RFC 5652 §11.2)');
  let r: pkijs.SignedDataVerifyResult;
  try {
    r = await sd.verify({ signer: 0, checkChain: false, extendedMode: true });
  } catch (e) {
    throw new Malformed(`signature does not verify: ${(e as { message?: string }).message ?? String(e)}`);
  }
  if (!r.signatureVerified || !r.signerCertificate) throw new Malformed('signature does not verify');
  const signerDer = certificateDer(r.signerCertificate);
  const others = (sd.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate).map(certificateDer).filter((d) => !bytesEqual(d, signerDer));
  return { eContent: new Uint8Array(content.getValue()), signer: r.signerCertificate, others };
}

/** id-alg-noSignature PKCS#10 (RFC 10002 Appendix C.1, from rfc5272bis-11): parameters "MUST be present and MUST be
 *  encoded as NULL"; the value (SHA-1 of the request) "SHOULD be ignored", so the lab does not look at it. */
function noSignatureParamsOk(csr: pkijs.CertificationRequest): boolean {
  return csr.signatureAlgorithm.algorithmParams instanceof asn1js.Null;
}

export function registerCmcHandlers(router: Router, config: CmcLabConfig, options: CmcLabOptions = {}): CmcLab {
  const lab: CmcLab = {
    options,
    pending: new Map(),
    issued: [],
    requests: [],
    popChallenges: new Map(),
    popEnvelopes: [],
    popAborts: [],
    approve() {
      let n = 0;
      for (const p of lab.pending.values()) if (!p.approved) ((p.approved = true), n++);
      return n;
    },
  };
  const cfg = {
    users: {},
    idevidCaDers: [],
    certValiditySeconds: 30 * 86_400,
    labels: undefined,
    now: (): Date => new Date(),
    log: (): void => {},
    ...config,
  } satisfies Omit<EstLabConfig, 'requireAuth' | 'manualApproval' | 'csrAttrs' | 'includeChainInEnroll' | 'base64'>;
  const sign = (eContent: Uint8Array, certs: Uint8Array[] = []): LabResponse => {
    const d = signSignedData({ eContentType: CMC_OID.pkiResponse, eContent, signingKey: keyObject(cfg.ca.issuing.privateKey), certificate: cfg.ca.issuing.der, extraCertificates: certs });
    return { status: 200, headers: cmcResponseType(), body: base64Body(d) };
  };

  /** Whether the request being answered is a queryPending (for `requests`). */
  const current = { query: false };

  // §6.1.1, §6.6: every response carries statusInfoV2, the transactionId, recipientNonce (= the request's senderNonce), a fresh senderNonce.
  function respond(tid: bigint, nonce: Uint8Array, status: CmcStatusName, bodyPartID: number, other?: OtherStatusInfo, statusString?: string, certs: Uint8Array[] = [], extra: asn1js.BaseBlock[] = []): LabResponse {
    lab.requests.push({ transactionId: tid, query: current.query, status });
    return sign(pkiResponse([
      taggedAttribute(1, CMC_OID.statusInfoV2, [statusInfoV2(status, [bodyPartID], statusString, other)]),
      taggedAttribute(2, CMC_OID.transactionId, [integer(tid)]),
      taggedAttribute(3, CMC_OID.recipientNonce, [new asn1js.OctetString({ valueHex: nonce })]),
      taggedAttribute(4, CMC_OID.senderNonce, [new asn1js.OctetString({ valueHex: randomBytes(16) })]),
      ...extra,
    ]), certs);
  }

  const failed = (tid: bigint, nonce: Uint8Array, id: number, fail: CmcFailName, why: string): LabResponse => {
    cfg.log(`cmc failed ${fail}: ${why}`);
    return respond(tid, nonce, 'failed', id, { failInfo: fail }, why);
  };

  async function issue(p: { csr: pkijs.CertificationRequest; operation: 'enroll' | 'reenroll'; authenticatedAs: string; transactionId: bigint }): Promise<Uint8Array> {
    const t = cfg.now();
    const san = findExtension(csrExtensions(p.csr), OID.subjectAltName);
    const cert = await cfg.ca.issue({
      subject: p.csr.subject,
      spki: p.csr.subjectPublicKeyInfo,
      notBefore: new Date(t.getTime() - 60_000),
      notAfter: new Date(t.getTime() + cfg.certValiditySeconds * 1000),
      profile: 'client',
      ...(san ? { extensions: [san] } : {}),
    });
    const d = certificateDer(cert);
    lab.issued.push({ operation: p.operation, subject: describeName(cert.subject), der: d, authenticatedAs: p.authenticatedAs, transactionId: p.transactionId });
    cfg.log(`cmc ${p.operation} issued subject="${describeName(cert.subject)}" auth=${p.authenticatedAs}`);
    return d;
  }

  const nonceCtl = options.nonceControls ?? { request: FRESHNESS_OIDS.cmcNonceReq, response: FRESHNESS_OIDS.cmcNonceResp };

  /** A ContentInfo{id-data, PKIData} (the unsigned form freshness-08 §7 uses for the nonce request), else undefined. */
  function unsignedPkiData(bytes: Uint8Array): Uint8Array | Error | undefined {
    const top = asn1js.fromBER(bytes);
    if (top.offset === -1 || !(top.result instanceof asn1js.Sequence)) return undefined;
    const [oid, content] = top.result.valueBlock.value;
    if (!(oid instanceof asn1js.ObjectIdentifier) || oid.valueBlock.toString() !== OID.data) return undefined;
    const inner = content instanceof asn1js.Constructed ? content.valueBlock.value[0] : undefined;
    if (!(inner instanceof asn1js.OctetString)) return new Error('id-data content is not an OCTET STRING');
    return new Uint8Array(inner.getValue());
  }

  /** freshness-08 §7: only transactionId, senderNonce and the nonce request control; answered signed, bound to the transactionId. */
  function nonceExchange(pkiData: Uint8Array | Error): LabResponse {
    let data: PKIData;
    let tid: bigint | undefined;
    let sn: Uint8Array | undefined;
    try {
      if (pkiData instanceof Error) throw pkiData;
      data = readPKIData(pkiData);
      tid = readTransactionId(data);
      sn = readSenderNonce(data);
    } catch (e) {
      return text(400, `bad unsigned CMC request: ${(e as Error).message}`);
    }
    if (tid === undefined || sn === undefined) return text(400, 'CMC request without transactionId or senderNonce (RFC 5272 §6.6)');
    const reqs = data.controlSequence.filter((c) => c.attrType === nonceCtl.request);
    const others = data.controlSequence.filter((c) => c.attrType !== nonceCtl.request && c.attrType !== CMC_OID.transactionId && c.attrType !== CMC_OID.senderNonce);
    if (reqs.length !== 1 || others.length > 0 || data.reqSequence.length > 0 || data.cmsSequence > 0) {
      return failed(tid, sn, 0, 'badRequest', 'an unsigned (id-data) PKIData may carry only transactionId, senderNonce and one nonce request control');
    }
    if (!options.nonces) return respond(tid, sn, 'noSupport', 0, undefined, 'no nonce service');
    let nr: NonceRequest;
    try {
      if (reqs[0]!.attrValues.length !== 1) throw new Error('the control must have one value');
      nr = readNonceRequest(reqs[0]!.attrValues[0]);
    } catch (e) {
      return failed(tid, sn, reqs[0]!.bodyPartID, 'badRequest', `malformed NonceRequest: ${(e as Error).message}`);
    }
    let issued;
    try {
      issued = options.nonces.issue({ ...(nr.len !== undefined ? { len: nr.len } : {}), ...(nr.type ? { type: nr.type } : {}) }, cfg.now(), { transaction: tid.toString(16) });
    } catch (e) {
      return failed(tid, sn, reqs[0]!.bodyPartID, 'badRequest', (e as Error).message);
    }
    // reqInfo is echoed as respInfo (the lab's type-specific rule)
    const rsp = nonceResponse({ nonce: issued.nonce, expiry: issued.ttlSeconds, ...(issued.type ? { type: issued.type, ...(nr.reqInfo ? { respInfo: nr.reqInfo } : {}) } : {}) });
    lab.requests.push({ transactionId: tid, query: false, status: 'success' });
    return sign(pkiResponse([
      taggedAttribute(1, CMC_OID.transactionId, [integer(tid)]),
      taggedAttribute(2, CMC_OID.senderNonce, [new asn1js.OctetString({ valueHex: randomBytes(16) })]),
      taggedAttribute(3, CMC_OID.recipientNonce, [new asn1js.OctetString({ valueHex: sn })]),
      taggedAttribute(4, nonceCtl.response, [rsp]),
    ]));
  }

  router.register('POST', `${EST_WELL_KNOWN_PATH}/:label?/fullcmc`, async (req: LabRequest) => {
    const label = req.params.label;
    if (label !== undefined && (!EST_LABEL.test(label) || (cfg.labels && !cfg.labels.includes(label)))) return text(404, `unknown EST label "${label}"`);
    const ctype = typeof req.headers['content-type'] === 'string' ? req.headers['content-type'].split(';')[0]!.trim().toLowerCase() : undefined;
    if (ctype !== CMC_MEDIA_TYPES.essence) return text(415, `Content-Type must be ${CMC_MEDIA_TYPES.request}`);
    const basic = checkBasic(req, cfg.users);
    if (basic.kind === 'invalid') return text(401, basic.reason, { 'www-authenticate': 'Basic realm="enrolld-lab-est", charset="UTF-8"' });
    let body: Uint8Array;
    try {
      body = bodyDer(new Uint8Array(req.body), 'CMC request');
    } catch (e) {
      return text(400, `bad CMC request: ${(e as Error).message}`);
    }
    const unsigned = unsignedPkiData(body);
    if (unsigned) return nonceExchange(unsigned);
    let opened: OpenedSignedData;
    let data: PKIData;
    try {
      opened = await openSignedData(body, CMC_OID.pkiData);
      data = readPKIData(opened.eContent);
    } catch (e) {
      return text(400, `bad CMC request: ${(e as Error).message}`);
    }
    let tid: bigint | undefined;
    let nonce: Uint8Array | undefined;
    let pendToken: Uint8Array | undefined;
    try {
      tid = readTransactionId(data);
      nonce = readSenderNonce(data);
      pendToken = readQueryPending(data);
    } catch (e) {
      return text(400, `bad CMC controls: ${(e as Error).message}`);
    }
    if (tid === undefined || nonce === undefined) return text(400, 'CMC request without transactionId or senderNonce (RFC 5272 §6.6)');
    // Who signed: a lab-issued certificate (re-enrollment) or an IDevID (initial enrollment).
    const at = cfg.now();
    let signerKind: 'lab' | 'idevid' | undefined;
    try {
      await validateChain({ leaf: opened.signer, intermediates: [...opened.others, cfg.ca.issuing.der], trustAnchors: [cfg.ca.root.der], at });
      signerKind = 'lab';
    } catch {
      if (cfg.idevidCaDers.length > 0) {
        try {
          await validateChain({ leaf: opened.signer, intermediates: opened.others, trustAnchors: cfg.idevidCaDers, at });
          signerKind = 'idevid';
        } catch {
          /* not an IDevID either */
        }
      }
    }
    const signerName = describeName(opened.signer.subject);
    if (!signerKind) return failed(tid, nonce, 0, 'badIdentity', `PKIData signer "${signerName}" is not trusted`);

    current.query = pendToken !== undefined;
    if (pendToken !== undefined) {
      const p = lab.pending.get(Buffer.from(pendToken).toString('hex'));
      if (!p || p.transactionId !== tid) return failed(tid, nonce, 1, 'badRequest', 'unknown pendToken for this transactionId');
      p.polls++;
      const approveAfter = options.pending?.approveAfterPolls;
      if (approveAfter !== undefined && p.polls >= approveAfter) p.approved = true;
      if (!p.approved) return pendingResponse(p);
      lab.pending.delete(p.pendToken);
      const d = await issue(p);
      return respond(tid, nonce, 'success', p.bodyPartID, undefined, undefined, [d, cfg.ca.issuing.der]);
    }

    if (data.reqSequence.length === 0 && lab.popChallenges.has(tid.toString())) {
      // RFC 5272 §6.7 step 3: the client aborts a POP it cannot answer with a Status Info control (popFailed).
      let st: ReturnType<typeof readStatusInfoV2> | undefined;
      try {
        const v = control(data, CMC_OID.statusInfoV2, 'statusInfoV2');
        st = v === undefined ? undefined : readStatusInfoV2(v);
      } catch (e) {
        return failed(tid, nonce, 0, 'badRequest', `malformed statusInfoV2: ${(e as Error).message}`);
      }
      if (st && st.status === 2) {
        lab.popChallenges.delete(tid.toString());
        lab.popAborts.push({ transactionId: tid, failInfo: st.failInfo });
        cfg.log(`cmc pop aborted by the client tid=${tid} failInfo=${st.failInfo ?? '-'}`);
        return respond(tid, nonce, 'failed', st.bodyList[0] ?? 0, { failInfo: st.failInfo ?? 'popFailed' }, 'proof of possession abandoned by the client');
      }
    }
    if (data.reqSequence.length !== 1) return failed(tid, nonce, 0, 'badRequest', `${data.reqSequence.length} requests; exactly one tcr expected`);
    const tcr = data.reqSequence[0]!;
    let csr: pkijs.CertificationRequest;
    let parsed: pkijs.CertificationRequest;
    try {
      parsed = parsePkcs10(tcr.certificationRequest);
    } catch (e) {
      return failed(tid, nonce, tcr.bodyPartID, 'badRequest', `invalid PKCS#10: ${(e as Error).message}`);
    }
    if (parsed.signatureAlgorithm.algorithmId === CMC_OID.noSignature) {
      // A key that cannot sign: indirect POP (RFC 5272 §6.7) — popRequired + encryptedPOP, then decryptedPOP.
      if (!noSignatureParamsOk(parsed)) return failed(tid, nonce, tcr.bodyPartID, 'badAlg', 'id-alg-noSignature parameters must be present and NULL');
      const spki = new Uint8Array(parsed.subjectPublicKeyInfo.toSchema().toBER(false));
      const key = tid.toString();
      let decrypted: asn1js.AsnType | undefined;
      try {
        decrypted = control(data, CMC_OID.decryptedPOP, 'decryptedPOP');
      } catch (e) {
        return failed(tid, nonce, tcr.bodyPartID, 'badRequest', (e as Error).message);
      }
      if (decrypted === undefined) {
        const alg = parsed.subjectPublicKeyInfo.algorithm;
        const isP256 = alg.algorithmId === OID.ecPublicKey && alg.algorithmParams instanceof asn1js.ObjectIdentifier && alg.algorithmParams.valueBlock.toString() === '1.2.840.10045.3.1.7';
        if (alg.algorithmId !== OID.rsaEncryption && !isP256) return failed(tid, nonce, tcr.bodyPartID, 'badAlg', 'indirect POP is offered for RSA and P-256 keys only');
        const skiExt = findExtension(csrExtensions(parsed), OID.subjectKeyIdentifier);
        const skiInner = skiExt ? asn1js.fromBER(skiExt.extnValue.valueBlock.valueHexView).result : undefined;
        const popOpts = options.pop ?? {};
        const ch = createPopChallenge(spki, { ...popOpts, bodyPartID: tcr.bodyPartID, ...(skiInner instanceof asn1js.OctetString ? { csrSki: new Uint8Array(skiInner.valueBlock.valueHexView) } : {}) });
        lab.popChallenges.set(key, { y: ch.y, csrDer: tcr.certificationRequest, pop: popOpts.pop ?? 'hmac-sha256', thePOPAlgIDDer: ch.thePOPAlgIDDer });
        lab.popEnvelopes.push(ch.cms);
        const ep = encryptedPOP({ tcr: tcr.tcr, cms: ch.cms, thePOPAlgIDNode: ch.thePOPAlgID, witnessAlgIDNode: ch.witnessAlgID, witness: ch.witness });
        cfg.log(`cmc popRequired tid=${key}`);
        return respond(tid, nonce, 'popRequired', tcr.bodyPartID, undefined, 'decrypt the encryptedPOP and return decryptedPOP', [], [taggedAttribute(10, CMC_OID.encryptedPOP, [ep])]);
      }
      const ch = lab.popChallenges.get(key);
      if (!ch || !bytesEqual(ch.csrDer, tcr.certificationRequest)) return failed(tid, nonce, tcr.bodyPartID, 'popFailed', 'no encryptedPOP outstanding for this transaction and request');
      let dp: ReturnType<typeof readDecryptedPOP>;
      try {
        dp = readDecryptedPOP(decrypted);
      } catch (e) {
        return failed(tid, nonce, tcr.bodyPartID, 'badRequest', `malformed decryptedPOP: ${(e as Error).message}`);
      }
      lab.popChallenges.delete(key);
      // §6.7 step 4: thePOPAlgID is copied from the encryptedPOP; step 5: the server recomputes thePOP.
      if (!popAlgorithmOf(dp.thePOPAlgID)) return failed(tid, nonce, tcr.bodyPartID, 'badAlg', `unknown thePOPAlgID ${dp.thePOPAlgID}`);
      if (!bytesEqual(dp.thePOPAlgIDDer, ch.thePOPAlgIDDer)) return failed(tid, nonce, tcr.bodyPartID, 'popFailed', 'decryptedPOP thePOPAlgID differs from the encryptedPOP');
      const expected = expectedPop(ch.pop, ch.y, tcr.certificationRequest);
      if (dp.bodyPartID !== tcr.bodyPartID || !constantTimeEqual(dp.thePOP, expected)) {
        return failed(tid, nonce, tcr.bodyPartID, 'popFailed', 'decryptedPOP does not match');
      }
      csr = parsed;
    } else {
      try {
        csr = verifyPkcs10(tcr.certificationRequest).csr;
      } catch (e) {
        return failed(tid, nonce, tcr.bodyPartID, 'badRequest', `invalid PKCS#10: ${(e as Error).message}`);
      }
    }
    let operation: 'enroll' | 'reenroll';
    let authenticatedAs: string;
    if (signerKind === 'lab') {
      // Re-enrollment signed with the certificate being renewed: subject and SAN must match (as RFC 7030 §4.2.2).
      const cert = opened.signer;
      if (!bytesEqual(nameDer(csr.subject), nameDer(cert.subject)) && !csr.subject.isEqual(cert.subject)) {
        return failed(tid, nonce, tcr.bodyPartID, 'badIdentity', `CSR subject differs from the signer certificate ("${signerName}")`);
      }
      const a = findExtension(cert.extensions, OID.subjectAltName)?.extnValue.valueBlock.valueHexView;
      const b = findExtension(csrExtensions(csr), OID.subjectAltName)?.extnValue.valueBlock.valueHexView;
      if ((a === undefined) !== (b === undefined) || (a && b && !bytesEqual(a, b))) {
        return failed(tid, nonce, tcr.bodyPartID, 'badIdentity', 'CSR subjectAltName differs from the signer certificate');
      }
      operation = 'reenroll';
      authenticatedAs = `cmc-signer:lab:${signerName}`;
    } else {
      operation = 'enroll';
      authenticatedAs = `cmc-signer:idevid:${signerName}${basic.kind === 'ok' ? ` basic:${basic.user}` : ''}`;
    }
    if (cfg.checkEvidence) {
      // freshness-08 §7: the nonce must come from this transaction's nonce exchange
      const refused = await cfg.checkEvidence(csr, { transaction: tid.toString(16) });
      if (refused) return failed(tid, nonce, tcr.bodyPartID, 'badRequest', `evidence refused: ${String(refused.body ?? refused.status).trim()}`);
    }
    if (options.pending) {
      const p: CmcPendingEntry = { pendToken: randomBytes(16).toString('hex'), transactionId: tid, csr, operation, polls: 0, approved: false, authenticatedAs, bodyPartID: tcr.bodyPartID };
      lab.pending.set(p.pendToken, p);
      return pendingResponse(p);
    }
    const d = await issue({ csr, operation, authenticatedAs, transactionId: tid });
    return respond(tid, nonce, 'success', tcr.bodyPartID, undefined, undefined, [d, cfg.ca.issuing.der]);

    function pendingResponse(p: CmcPendingEntry): LabResponse {
      const secs = options.pending?.retryAfterSeconds ?? 1;
      const pendTime = new Date(cfg.now().getTime() + secs * 1000);
      cfg.log(`cmc pending token=${p.pendToken.slice(0, 12)} polls=${p.polls}`);
      return respond(tid!, nonce!, 'pending', p.bodyPartID, { pendInfo: { pendToken: new Uint8Array(Buffer.from(p.pendToken, 'hex')), pendTime } }, 'awaiting approval');
    }
  });
  return lab;
}
