// Lab CMC over EST: POST /.well-known/est[/<label>]/fullcmc (RFC 7030 §4.3, RFC 5272 Full PKI Request/Response).
// The request is a SignedData{PKIData} whose signer certificate must validate to the lab CA (re-enrollment: same
// subject as the CSR) or to a configured IDevID CA (initial enrollment); HTTP Basic, when sent, must be valid and is
// recorded, but the PKIData signature is always required and checked.
// Transport-level problems (media type, base64, undecodable or unverifiable CMS) are 4xx with a text reason; CMC-level
// refusals are HTTP 200 with statusInfoV2 failed + CMCFailInfo. Pending: statusInfoV2 pending + PendInfo
// (pendToken, pendTime); the client repeats with queryPending. Responses are signed by the issuing CA key.
import { createHash, createHmac, KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';
import type * as pkijs from 'pkijs';
import { bytesEqual } from '../../agent/pki/der.js';
import { certificateToDer, describeName, findExtension, nameDer } from '../../agent/pki/cert.js';
import { validateChain } from '../../agent/pki/chain.js';
import { csrExtensions, OID_SUBJECT_ALT_NAME, verifyCsr } from '../../agent/pki/csr.js';
import { SoftwareSigner } from '../../agent/keystore/software.js';
import { decodeEstBody, encodeBase64Body } from '../../agent/protocols/est/base64-body.js';
import { EST_LABEL_PATTERN, EST_WELL_KNOWN_PATH } from '../../agent/protocols/est/constants.js';
import { parseMediaType } from '../../agent/protocols/http/media-type.js';
import { CMCStatusInfoV2, type OtherStatusInfo } from '../../agent/protocols/cmc/cmc-status-info-v2.js';
import { CMC_MEDIA_TYPES, OID_CCT_PKI_DATA, OID_CCT_PKI_RESPONSE, OID_CMC, OID_HMAC_SHA256, OID_SHA256, type CmcFailInfoName, type CmcStatusName } from '../../agent/protocols/cmc/constants.js';
import { readQueryPending, readSenderNonce, readTransactionId, recipientNonceControl, senderNonceControl, statusInfoV2Control, transactionIdControl } from '../../agent/protocols/cmc/controls.js';
import { PKIData } from '../../agent/protocols/cmc/pki-data.js';
import { DecryptedPOP, EncryptedPOP } from '../../agent/protocols/cmc/encrypted-pop.js';
import { checkNoSignatureCsr, isNoSignatureCsr } from '../../agent/protocols/cmc/no-signature-csr.js';
import { createPopEnvelope } from '../../agent/protocols/cmc/pop-envelope.js';
import { TaggedAttribute } from '../../agent/protocols/cmc/tagged-attribute.js';
import { PKIResponse } from '../../agent/protocols/cmc/pki-response.js';
import { openSignedCmc, signCmc } from '../../agent/protocols/cmc/signed-message.js';
import { withoutSigner } from '../../agent/protocols/cmc/response.js';
import type { EstLabConfig } from './est.js';
import type { LabCa } from './ca.js';
import { checkBasic } from './auth.js';
import { text, type LabRequest, type LabResponse, type Router } from './router.js';
import type { NonceService } from './nonce-service.js';
import * as asn1js from 'asn1js';
import { NonceRequest } from '../../agent/pki/asn1/nonce-request.js';
import { NonceResponse } from '../../agent/pki/asn1/nonce-response.js';
import { NonceResponseTypeInfo } from '../../agent/pki/asn1/nonce-response-type-info.js';
import { OID_ID_CMC_NONCE_REQ, OID_ID_CMC_NONCE_RESP } from '../../agent/pki/asn1/oids.js';

const OID_ID_DATA = '1.2.840.113549.1.7.1';

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
  popChallenges: Map<string, { y: Uint8Array; csrDer: Uint8Array }>;
}

function cmcResponseType(): Record<string, string> {
  return { 'content-type': CMC_MEDIA_TYPES.response, 'content-transfer-encoding': 'base64' };
}

export function registerCmcHandlers(router: Router, config: CmcLabConfig, options: CmcLabOptions = {}): CmcLab {
  const lab: CmcLab = {
    options,
    pending: new Map(),
    issued: [],
    requests: [],
    popChallenges: new Map(),
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
  const responder = new SoftwareSigner(KeyObject.from(cfg.ca.issuing.privateKey));

  /** Whether the request being answered is a queryPending (for `requests`). */
  const current = { query: false };

  async function respond(
    tid: bigint,
    nonce: Uint8Array,
    status: CmcStatusName,
    bodyPartID: number,
    other?: OtherStatusInfo,
    statusString?: string,
    certs: Uint8Array[] = [],
    extra: TaggedAttribute[] = [],
  ): Promise<LabResponse> {
    lab.requests.push({ transactionId: tid, query: current.query, status });
    const controls = [
      statusInfoV2Control(1, new CMCStatusInfoV2(status, [bodyPartID], statusString, other)),
      transactionIdControl(2, tid),
      recipientNonceControl(3, nonce),
      senderNonceControl(4, new Uint8Array(randomBytes(16))),
      ...extra,
    ];
    const der = await signCmc({
      eContentType: OID_CCT_PKI_RESPONSE,
      eContent: new PKIResponse(controls).toDer(),
      signer: responder,
      certificate: cfg.ca.issuing.der,
      extraCertificates: certs,
    });
    return { status: 200, headers: cmcResponseType(), body: encodeBase64Body(der) };
  }

  const failed = (tid: bigint, nonce: Uint8Array, id: number, fail: CmcFailInfoName, why: string): Promise<LabResponse> => {
    cfg.log(`cmc failed ${fail}: ${why}`);
    return respond(tid, nonce, 'failed', id, { failInfo: fail }, why);
  };

  async function issue(p: { csr: pkijs.CertificationRequest; operation: 'enroll' | 'reenroll'; authenticatedAs: string; transactionId: bigint }): Promise<Uint8Array> {
    const t = cfg.now();
    const san = findExtension(csrExtensions(p.csr), OID_SUBJECT_ALT_NAME);
    const cert = await cfg.ca.issue({
      subject: p.csr.subject,
      spki: p.csr.subjectPublicKeyInfo,
      notBefore: new Date(t.getTime() - 60_000),
      notAfter: new Date(t.getTime() + cfg.certValiditySeconds * 1000),
      profile: 'client',
      ...(san ? { extensions: [san] } : {}),
    });
    const der = certificateToDer(cert);
    lab.issued.push({ operation: p.operation, subject: describeName(cert.subject), der, authenticatedAs: p.authenticatedAs, transactionId: p.transactionId });
    cfg.log(`cmc ${p.operation} issued subject="${describeName(cert.subject)}" auth=${p.authenticatedAs}`);
    return der;
  }

  const nonceCtl = options.nonceControls ?? { request: OID_ID_CMC_NONCE_REQ, response: OID_ID_CMC_NONCE_RESP };

  /** A ContentInfo{id-data, PKIData} (the unsigned form freshness-08 §7 uses for the nonce request), else undefined. */
  function unsignedPkiData(der: Uint8Array): Uint8Array | Error | undefined {
    const top = asn1js.fromBER(der);
    if (top.offset === -1 || !(top.result instanceof asn1js.Sequence)) return undefined;
    const [oid, content] = top.result.valueBlock.value;
    if (!(oid instanceof asn1js.ObjectIdentifier) || oid.valueBlock.toString() !== OID_ID_DATA) return undefined;
    const inner = content instanceof asn1js.Constructed ? content.valueBlock.value[0] : undefined;
    if (!(inner instanceof asn1js.OctetString)) return new Error('id-data content is not an OCTET STRING');
    return new Uint8Array(inner.getValue());
  }

  /** freshness-08 §7: only transactionId, senderNonce and the nonce request control; answered signed, bound to the transactionId. */
  async function nonceExchange(pkiData: Uint8Array | Error): Promise<LabResponse> {
    let data: PKIData;
    let tid: bigint | undefined;
    let sn: Uint8Array | undefined;
    try {
      if (pkiData instanceof Error) throw pkiData;
      data = PKIData.fromDer(pkiData);
      tid = readTransactionId(data.controlSequence);
      sn = readSenderNonce(data.controlSequence);
    } catch (e) {
      return text(400, `bad unsigned CMC request: ${(e as Error).message}`);
    }
    if (tid === undefined || sn === undefined) return text(400, 'CMC request without transactionId or senderNonce (RFC 5272 §6.6)');
    const reqs = data.controls(nonceCtl.request);
    const others = data.controlSequence.filter((c) => c.attrType !== nonceCtl.request && c.attrType !== OID_CMC.transactionId && c.attrType !== OID_CMC.senderNonce);
    if (reqs.length !== 1 || others.length > 0 || data.reqSequence.length > 0 || data.cmsSequence.length > 0) {
      return failed(tid, sn, 0, 'badRequest', 'an unsigned (id-data) PKIData may carry only transactionId, senderNonce and one nonce request control');
    }
    if (!options.nonces) return respond(tid, sn, 'noSupport', 0, undefined, 'no nonce service');
    let nr: NonceRequest;
    try {
      nr = new NonceRequest({ schema: reqs[0]!.single('nonceReq') });
    } catch (e) {
      return failed(tid, sn, reqs[0]!.bodyPartID, 'badRequest', `malformed NonceRequest: ${(e as Error).message}`);
    }
    const type = nr.reqTypeInfo?.type;
    let issued;
    try {
      issued = options.nonces.issue({ ...(nr.len !== undefined ? { len: nr.len } : {}), ...(type ? { type } : {}) }, cfg.now(), { transaction: tid.toString(16) });
    } catch (e) {
      return failed(tid, sn, reqs[0]!.bodyPartID, 'badRequest', (e as Error).message);
    }
    const reqInfo = nr.reqTypeInfo?.reqInfo; // echoed as respInfo (the lab's type-specific rule)
    const rsp = new NonceResponse({ nonce: issued.nonce, expiry: issued.ttlSeconds, ...(issued.type ? { respTypeInfo: new NonceResponseTypeInfo({ type: issued.type, ...(reqInfo ? { respInfo: reqInfo } : {}) }) } : {}) });
    lab.requests.push({ transactionId: tid, query: false, status: 'success' });
    const der = await signCmc({
      eContentType: OID_CCT_PKI_RESPONSE,
      eContent: new PKIResponse([transactionIdControl(1, tid), senderNonceControl(2, new Uint8Array(randomBytes(16))), recipientNonceControl(3, sn), new TaggedAttribute(4, nonceCtl.response, [rsp.toSchema()])]).toDer(),
      signer: responder,
      certificate: cfg.ca.issuing.der,
    });
    return { status: 200, headers: cmcResponseType(), body: encodeBase64Body(der) };
  }

  router.register('POST', `${EST_WELL_KNOWN_PATH}/:label?/fullcmc`, async (req: LabRequest) => {
    const label = req.params.label;
    if (label !== undefined && (!EST_LABEL_PATTERN.test(label) || (cfg.labels && !cfg.labels.includes(label)))) return text(404, `unknown EST label "${label}"`);
    const mt = parseMediaType(typeof req.headers['content-type'] === 'string' ? req.headers['content-type'] : undefined);
    if (!mt || mt.essence !== CMC_MEDIA_TYPES.essence) return text(415, `Content-Type must be ${CMC_MEDIA_TYPES.request}`);
    const basic = checkBasic(req, cfg.users);
    if (basic.kind === 'invalid') return text(401, basic.reason, { 'www-authenticate': 'Basic realm="enrolld-lab-est", charset="UTF-8"' });
    let body: Uint8Array;
    try {
      body = decodeEstBody(new Uint8Array(req.body), 'CMC request');
    } catch (e) {
      return text(400, `bad CMC request: ${(e as Error).message}`);
    }
    const unsigned = unsignedPkiData(body);
    if (unsigned) return nonceExchange(unsigned);
    let opened;
    let data: PKIData;
    try {
      opened = await openSignedCmc(body, OID_CCT_PKI_DATA);
      data = PKIData.fromDer(opened.eContent);
    } catch (e) {
      return text(400, `bad CMC request: ${(e as Error).message}`);
    }
    let tid: bigint | undefined;
    let nonce: Uint8Array | undefined;
    let pendToken: Uint8Array | undefined;
    try {
      tid = readTransactionId(data.controlSequence);
      nonce = readSenderNonce(data.controlSequence);
      pendToken = readQueryPending(data.controlSequence);
    } catch (e) {
      return text(400, `bad CMC controls: ${(e as Error).message}`);
    }
    if (tid === undefined || nonce === undefined) return text(400, 'CMC request without transactionId or senderNonce (RFC 5272 §6.6)');
    // Who signed: a lab-issued certificate (re-enrollment) or an IDevID (initial enrollment).
    const at = cfg.now();
    let signerKind: 'lab' | 'idevid' | undefined;
    try {
      await validateChain({ leaf: opened.signerCertificate, intermediates: [...withoutSigner(opened), cfg.ca.issuing.der], trustAnchors: [cfg.ca.root.der], at });
      signerKind = 'lab';
    } catch {
      if (cfg.idevidCaDers.length > 0) {
        try {
          await validateChain({ leaf: opened.signerCertificate, intermediates: withoutSigner(opened), trustAnchors: cfg.idevidCaDers, at });
          signerKind = 'idevid';
        } catch {
          /* not an IDevID either */
        }
      }
    }
    const signerName = describeName(opened.signerCertificate.subject);
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
      const der = await issue(p);
      return respond(tid, nonce, 'success', p.bodyPartID, undefined, undefined, [der, cfg.ca.issuing.der]);
    }

    if (data.reqSequence.length !== 1) return failed(tid, nonce, 0, 'badRequest', `${data.reqSequence.length} requests; exactly one tcr expected`);
    const tcr = data.reqSequence[0]!;
    let csr: pkijs.CertificationRequest;
    let parsed: pkijs.CertificationRequest;
    try {
      parsed = tcr.csr();
    } catch (e) {
      return failed(tid, nonce, tcr.bodyPartID, 'badRequest', `invalid PKCS#10: ${(e as Error).message}`);
    }
    if (isNoSignatureCsr(parsed)) {
      // A key that cannot sign: indirect POP (RFC 5272 §6.7) — popRequired + encryptedPOP, then decryptedPOP.
      if (!checkNoSignatureCsr(parsed)) return failed(tid, nonce, tcr.bodyPartID, 'badRequest', 'noSignature value is not SHA-256 of the request info');
      const spki = new Uint8Array(parsed.subjectPublicKeyInfo.toSchema().toBER(false));
      const key = tid.toString();
      const decrypted = data.controls(OID_CMC.decryptedPOP);
      if (decrypted.length === 0) {
        if (parsed.subjectPublicKeyInfo.algorithm.algorithmId !== '1.2.840.113549.1.1.1') return failed(tid, nonce, tcr.bodyPartID, 'badAlg', 'indirect POP is offered for RSA keys only');
        const y = new Uint8Array(randomBytes(32));
        lab.popChallenges.set(key, { y, csrDer: tcr.certificationRequest });
        const ep = new EncryptedPOP(tcr, createPopEnvelope(spki, y), OID_HMAC_SHA256, OID_SHA256, new Uint8Array(createHash('sha256').update(y).digest()));
        cfg.log(`cmc popRequired tid=${key}`);
        return respond(tid, nonce, 'popRequired', tcr.bodyPartID, undefined, 'decrypt the encryptedPOP and return decryptedPOP', [], [new TaggedAttribute(10, OID_CMC.encryptedPOP, [ep.toSchema()])]);
      }
      const ch = lab.popChallenges.get(key);
      if (!ch || !bytesEqual(ch.csrDer, tcr.certificationRequest)) return failed(tid, nonce, tcr.bodyPartID, 'popFailed', 'no encryptedPOP outstanding for this transaction and request');
      let dp: DecryptedPOP;
      try {
        dp = DecryptedPOP.fromSchema(decrypted[0]!.single('decryptedPOP'));
      } catch (e) {
        return failed(tid, nonce, tcr.bodyPartID, 'badRequest', `malformed decryptedPOP: ${(e as Error).message}`);
      }
      const expected = createHmac('sha256', ch.y).update(tcr.certificationRequest).digest();
      if (dp.thePOPAlgID !== OID_HMAC_SHA256 || dp.bodyPartID !== tcr.bodyPartID || dp.thePOP.byteLength !== expected.byteLength || !timingSafeEqual(dp.thePOP, expected)) {
        lab.popChallenges.delete(key);
        return failed(tid, nonce, tcr.bodyPartID, 'popFailed', 'decryptedPOP does not match');
      }
      lab.popChallenges.delete(key);
      csr = parsed;
    } else {
      try {
        csr = await verifyCsr(tcr.certificationRequest);
      } catch (e) {
        return failed(tid, nonce, tcr.bodyPartID, 'badRequest', `invalid PKCS#10: ${(e as Error).message}`);
      }
    }
    let operation: 'enroll' | 'reenroll';
    let authenticatedAs: string;
    if (signerKind === 'lab') {
      // Re-enrollment signed with the certificate being renewed: subject and SAN must match (as RFC 7030 §4.2.2).
      const cert = opened.signerCertificate;
      if (!bytesEqual(nameDer(csr.subject), nameDer(cert.subject)) && !csr.subject.isEqual(cert.subject)) {
        return failed(tid, nonce, tcr.bodyPartID, 'badIdentity', `CSR subject differs from the signer certificate ("${signerName}")`);
      }
      const a = findExtension(cert.extensions, OID_SUBJECT_ALT_NAME)?.extnValue.valueBlock.valueHexView;
      const b = findExtension(csrExtensions(csr), OID_SUBJECT_ALT_NAME)?.extnValue.valueBlock.valueHexView;
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
    const der = await issue({ csr, operation, authenticatedAs, transactionId: tid });
    return respond(tid, nonce, 'success', tcr.bodyPartID, undefined, undefined, [der, cfg.ca.issuing.der]);

    function pendingResponse(p: CmcPendingEntry): Promise<LabResponse> {
      const secs = options.pending?.retryAfterSeconds ?? 1;
      const pendTime = new Date(cfg.now().getTime() + secs * 1000);
      cfg.log(`cmc pending token=${p.pendToken.slice(0, 12)} polls=${p.polls}`);
      return respond(tid!, nonce!, 'pending', p.bodyPartID, { pendInfo: { pendToken: new Uint8Array(Buffer.from(p.pendToken, 'hex')), pendTime } }, 'awaiting approval');
    }
  });
  return lab;
}
