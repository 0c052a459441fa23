// The enrollment family, 0006–0019 (RFC 8295 §2.1.1 with RFC 7030 semantics, and §9). The handler never enrolls
// by itself — the lifecycle owns keys, CSRs, the pending request and the commit — it asks the lifecycle:
//
//   start:    0006/0013 "Start DS/KE certificate enrollment with CSR attribute" → GET the entry's /csrattrs, then
//             request an enrollment carrying those attributes;
//             0007/0014 "Start … enrollment" → request an enrollment;
//             0010/0017 "Start … re-enrollment" → request a re-enrollment (rekey/renew).
//             With a dn / ski / iasn info the entry names the certificate concerned (§2.1); a notice for a
//             certificate that is not ours is refused (enroll.not_our_certificate) rather than acted upon.
//   retrieve: 0008/0015 "(success)", 0009/0016 "(failure)" (enrollment), 0011/0018, 0012/0019 (re-enrollment):
//             §9 — a client that lost its connection, or could not stay connected, learns from the PAL whether its
//             request was processed and then "use[s] the operation path of /simpleenroll, /simplereenroll, or
//             /fullcmc, based on the PAL entry, with an HTTP GET to get the success or failure response.
//             Responses are as specified in [RFC7030]." So the entry's URI is fetched with GET and the response
//             read as an RFC 7030 §4.2.3 enrollment response: 200 certs-only → the issued certificate (it must
//             certify the key of the request in flight and validate to the TA store), 202 → still pending,
//             4xx/5xx → the CA's rejection with its text. The outcome goes to the lifecycle
//             (onEnrollmentRetrieval); without that hook an issued certificate triggers a renewal request, which
//             makes the lifecycle repeat its pending request and receive the same certificate (RFC 7030 §4.2.3).
//             /fullcmc (CMC, RFC 5272) is not implemented: such entries fail with enroll.fullcmc_unsupported.
import { packageTypeInfo, PackageType, type PalEntry } from '../pal/model.js';
import type { HandlerContext, HandlerResult, PackageHandler } from '../pal/dispatch.js';
import { certificateHasKey, certificateToPem } from '../pki/cert.js';
import { validateChain } from '../pki/chain.js';
import { EST_OPERATIONS } from '../protocols/est/constants.js';
import type { EstIssued } from '../protocols/est/enroll-response.js';
import { certsOnlyFrom } from '../protocols/est/certs-only-response.js';
import { pendingFrom, serverText } from '../protocols/est/response.js';
import { clientFor, entryUri, failed, infoNamesCertificate } from './common.js';
import type { EnrollmentRetrieval, PackageContext } from './context.js';

type Action =
  | { action: 'start'; op: 'enroll' | 'reenroll'; usage: 'ds' | 'ke'; csrattrs: boolean }
  | { action: 'retrieve'; op: 'enroll' | 'reenroll'; usage: 'ds' | 'ke'; expect: 'success' | 'failure' };

const T = PackageType;
/** §2.1.1 types 0006–0019 → what they ask. */
export const ENROLLMENT_ACTIONS: Readonly<Record<string, Action>> = {
  [T.StartDsEnrollmentWithCsrAttr]: { action: 'start', op: 'enroll', usage: 'ds', csrattrs: true },
  [T.StartDsEnrollment]: { action: 'start', op: 'enroll', usage: 'ds', csrattrs: false },
  [T.DsEnrollmentSuccess]: { action: 'retrieve', op: 'enroll', usage: 'ds', expect: 'success' },
  [T.DsEnrollmentFailure]: { action: 'retrieve', op: 'enroll', usage: 'ds', expect: 'failure' },
  [T.StartDsReenrollment]: { action: 'start', op: 'reenroll', usage: 'ds', csrattrs: false },
  [T.DsReenrollmentSuccess]: { action: 'retrieve', op: 'reenroll', usage: 'ds', expect: 'success' },
  [T.DsReenrollmentFailure]: { action: 'retrieve', op: 'reenroll', usage: 'ds', expect: 'failure' },
  [T.StartKeEnrollmentWithCsrAttr]: { action: 'start', op: 'enroll', usage: 'ke', csrattrs: true },
  [T.StartKeEnrollment]: { action: 'start', op: 'enroll', usage: 'ke', csrattrs: false },
  [T.KeEnrollmentSuccess]: { action: 'retrieve', op: 'enroll', usage: 'ke', expect: 'success' },
  [T.KeEnrollmentFailure]: { action: 'retrieve', op: 'enroll', usage: 'ke', expect: 'failure' },
  [T.StartKeReenrollment]: { action: 'start', op: 'reenroll', usage: 'ke', csrattrs: false },
  [T.KeReenrollmentSuccess]: { action: 'retrieve', op: 'reenroll', usage: 'ke', expect: 'success' },
  [T.KeReenrollmentFailure]: { action: 'retrieve', op: 'reenroll', usage: 'ke', expect: 'failure' },
};

export class EnrollmentHandler implements PackageHandler<PackageContext> {
  readonly types = Object.keys(ENROLLMENT_ACTIONS).sort();

  async handle(entry: PalEntry, hctx: HandlerContext<PackageContext>): Promise<HandlerResult> {
    const a = ENROLLMENT_ACTIONS[entry.type];
    if (!a) return failed('enroll.unknown_type', `type ${entry.type} is not an enrollment type`);
    const s = hctx.shared;
    // Path components the type allows (§2.1.1 per-type text, model.ts); a retrieval's URI is mandatory.
    const paths = [...(packageTypeInfo(entry.type)?.paths ?? [])];
    if (a.action === 'retrieve') return this.retrieve(entry, a, paths, hctx);

    const named = s.credential ? infoNamesCertificate(entry.info, s.credential.certificate) : undefined;
    if (named === false) {
      return failed('enroll.not_our_certificate', `the ${entry.info.kind} in the entry does not name the current certificate`);
    }
    if (a.op === 'reenroll' && !s.credential) return failed('enroll.no_credential', 're-enrollment requested but the device has no certificate yet');
    const resolved = entryUri(entry, s, paths);
    if (resolved?.operation === EST_OPERATIONS.fullcmc) return failed('enroll.fullcmc_unsupported', '/fullcmc (CMC) enrollment is not supported');
    let csrAttrs;
    if (a.csrattrs) csrAttrs = await clientFor(s, resolved).csrattrs();
    s.requestRenewal({ type: entry.type, reason: a.op, usage: a.usage, ...(csrAttrs ? { csrAttrs } : {}) });
    return { status: 'ok', detail: `${a.op} requested (${a.usage.toUpperCase()}${csrAttrs ? `, ${csrAttrs.oids.length + csrAttrs.attributes.length} CSR attribute(s)` : ''})` };
  }

  private async retrieve(entry: PalEntry, a: Extract<Action, { action: 'retrieve' }>, paths: string[], hctx: HandlerContext<PackageContext>): Promise<HandlerResult> {
    const s = hctx.shared;
    const resolved = entryUri(entry, s, paths);
    if (!resolved) return failed('enroll.no_uri', `a ${a.expect} retrieval entry must carry the URI to GET (§9)`);
    if (resolved.operation === EST_OPERATIONS.fullcmc) return failed('enroll.fullcmc_unsupported', '/fullcmc (CMC) responses are not supported');
    const op = resolved.operation;
    const ctx = s.est.ctx;
    const res = await ctx.transport.request({
      method: 'GET',
      url: resolved.url,
      ...(ctx.maxResponseBytes !== undefined ? { maxResponseBytes: ctx.maxResponseBytes } : {}),
      ...(hctx.signal ? { signal: hctx.signal } : {}),
    });
    const now = s.clock.now();
    let outcome: EnrollmentRetrieval;
    if (res.status === 200) {
      if (!s.pendingKeySpki) return failed('enroll.no_pending', `${op}: a certificate was offered but no enrollment is in flight`);
      const { certificates, certificatesDer } = certsOnlyFrom(res, op);
      const idx = certificates.findIndex((c) => certificateHasKey(c, s.pendingKeySpki!));
      if (idx < 0) return failed('enroll.key_mismatch', `${op}: no returned certificate certifies the key of the pending request`);
      const certificate = certificates[idx]!;
      const chain = certificates.filter((_, i) => i !== idx);
      const chainDer = certificatesDer.filter((_, i) => i !== idx);
      await validateChain({
        leaf: certificate,
        intermediates: [...chainDer, ...s.intermediates],
        trustAnchors: s.taStore.certificatesFor(s.policy.certificateUse ?? 'cacerts'),
        at: now,
      });
      const issued: EstIssued = { kind: 'issued', certificate, certificateDer: certificatesDer[idx]!, certificatePem: certificateToPem(certificatesDer[idx]!), chain, chainDer };
      outcome = { kind: 'issued', type: entry.type, operation: op, issued };
    } else if (res.status === 202) {
      const p = pendingFrom(res, op, now);
      outcome = { kind: 'pending', type: entry.type, operation: op, retryAfterSeconds: p.retryAfterSeconds };
    } else if (res.status >= 400) {
      outcome = { kind: 'rejected', type: entry.type, operation: op, status: res.status, text: serverText(res.body) };
    } else {
      return failed('enroll.unexpected_status', `${op}: HTTP ${res.status} is not an enrollment response`);
    }

    if (s.onEnrollmentRetrieval) await s.onEnrollmentRetrieval(outcome);
    else if (outcome.kind === 'issued') s.requestRenewal({ type: entry.type, reason: 'retrieve', usage: a.usage });

    if (outcome.kind === 'rejected') {
      return failed('enroll.rejected', `${op}: the CA rejected the ${a.op === 'enroll' ? 'enrollment' : 're-enrollment'}: HTTP ${outcome.status}${outcome.text ? ` — ${outcome.text}` : ''}`);
    }
    if (a.expect === 'failure') hctx.log?.warn('enroll.retrieve.unexpected', { type: entry.type, got: outcome.kind });
    return { status: 'ok', detail: outcome.kind === 'issued' ? `${op}: certificate retrieved` : `${op}: still pending (retry after ${outcome.retryAfterSeconds}s)` };
  }
}
