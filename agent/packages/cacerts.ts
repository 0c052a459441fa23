// 0002 "X.509 CA certificate" (RFC 8295 §2.1.1 → RFC 7030 §4.1): fetch /cacerts and update the TA store — but
// never silently trust a new root. A self-signed certificate from the response is added only when
//   (a) the configuration trusts it explicitly (policy.trustedRootFingerprints, SHA-256 of the DER), or
//   (b) it is a root rollover that an existing TA vouches for: RFC 7030 §4.1.3 puts a NewWithOld certificate (the
//       new root's subject and key, signed by the old root) in the response; when such a certificate validates to a
//       TA authorized for CA certificates, the new root joins with that TA's uses (source "cacerts-rollover").
// Any other new root is refused and reported (code cacerts.untrusted_root); the TA store stays as it was.
// CA certificates that are not roots are validated to the (possibly updated) TA store; the valid ones become this
// run's intermediates for /crls and /eecerts. A rollover asks the lifecycle to re-enroll under the new CA.
// Roots are told apart by their signature (self-signed), not by their names: in a root key update the old and new
// roots usually share one DN, so NewWithOld and OldWithNew are self-issued too (RFC 5280 §6.1) but not self-signed.
// The same handler serves a PAL 0002 entry and the agent's own RFC 7030 /cacerts refresh when there is no PAL.
import { X509Certificate } from 'node:crypto';
import type * as pkijs from 'pkijs';
import type { HandlerContext, HandlerResult, PackageHandler } from '../pal/dispatch.js';
import { PackageType, type PalEntry } from '../pal/model.js';
import { certificateFingerprint, certificateHasKey, certificateSpki, certificateToDer, describeName, isSelfIssued } from '../pki/cert.js';
import { validateChain } from '../pki/chain.js';
import { EST_OPERATIONS } from '../protocols/est/constants.js';
import { isRootLink } from '../protocols/est/cacerts.js';
import type { TaUse, TrustAnchorInput } from '../store/ta-store.js';
import { clientFor, entryUri, failed } from './common.js';
import type { PackageContext } from './context.js';

const DEFAULT_TRUSTED_ROOT_USES: readonly TaUse[] = ['est-server', 'cacerts'];

export class CaCertsHandler implements PackageHandler<PackageContext> {
  readonly types = [PackageType.CaCertificate] as const;

  async handle(entry: PalEntry, hctx: HandlerContext<PackageContext>): Promise<HandlerResult> {
    const s = hctx.shared;
    const log = s.log.child({ pkg: entry.type });
    const use = s.policy.certificateUse ?? 'cacerts';
    const at = s.clock.now();
    const resolved = entryUri(entry, s, [EST_OPERATIONS.cacerts]);
    const client = clientFor(s, resolved);
    // The transport authenticates the server against the TA store; the response's certificates are still only
    // candidates until validated here against the store itself (never against roots from the same response).
    const r = await client.cacerts();
    const certs = r.certificates;
    const ders = r.certificatesDer;
    const explicit = new Set((s.policy.trustedRootFingerprints ?? []).map((f) => f.toLowerCase().replace(/:/g, '')));

    const toAdd: TrustAnchorInput[] = [];
    const refused: string[] = [];
    let rollover = false;
    const selfSigned = ders.map(isSelfSigned);
    for (let i = 0; i < certs.length; i++) {
      const root = certs[i]!;
      if (!selfSigned[i]) continue;
      if (s.taStore.find(ders[i]!)) continue;
      const fp = certificateFingerprint(ders[i]!);
      const name = `${describeName(root.subject).slice(0, 80)} ${fp.slice(0, 16)}`;
      if (explicit.has(fp)) {
        toAdd.push({ name, source: 'config', uses: s.policy.trustedRootUses ?? DEFAULT_TRUSTED_ROOT_USES, certificate: ders[i]! });
        log.info('cacerts.root.trusted_by_config', { subject: describeName(root.subject), sha256: fp });
        continue;
      }
      const uses = this.vouchedUses(root, certs, ders, at, s);
      if (uses) {
        toAdd.push({ name, source: 'cacerts-rollover', uses, certificate: ders[i]! });
        rollover = true;
        log.info('cacerts.root.rollover', { subject: describeName(root.subject), sha256: fp });
        continue;
      }
      refused.push(`${describeName(root.subject)} (sha256 ${fp})`);
      log.warn('cacerts.root.untrusted', { subject: describeName(root.subject), sha256: fp });
    }
    if (toAdd.length > 0) await s.taStore.add(toAdd);

    // Intermediates: validated to the TA store as it is now.
    const anchors = s.taStore.certificatesFor(use);
    const roots = certs.filter((_c, i) => selfSigned[i]);
    const notIntermediate = (c: pkijs.Certificate, i: number): boolean => selfSigned[i]! || isSelfIssued(c) || isRootLink(c, roots);
    const others = certs.filter((c, i) => !notIntermediate(c, i));
    let accepted = 0;
    for (let i = 0; i < certs.length; i++) {
      const c = certs[i]!;
      if (notIntermediate(c, i)) continue; // roots and root-key-update links are not intermediates (and would form a cycle)
      try {
        await validateChain({ leaf: c, intermediates: others.filter((o) => o !== c), trustAnchors: anchors, at });
        if (!s.intermediates.some((d) => Buffer.compare(Buffer.from(d), Buffer.from(ders[i]!)) === 0)) s.intermediates.push(ders[i]!);
        accepted++;
      } catch (e) {
        log.info('cacerts.intermediate.ignored', { subject: describeName(c.subject), error: e as Error });
      }
    }
    if (rollover) s.requestRenewal({ type: entry.type, reason: 'ca-change' });
    const detail = `${toAdd.length} TA(s) added, ${accepted} CA certificate(s) validated`;
    if (refused.length > 0) {
      return failed('cacerts.untrusted_root', `refused ${refused.length} new root(s) that no TA vouches for: ${refused.join('; ')}; ${detail}`);
    }
    return { status: 'ok', detail };
  }

  /**
   * The uses of the TA that vouches for `root` through a NewWithOld certificate in the response (RFC 7030 §4.1.3:
   * the new root's subject and key, signed by a current TA's key, valid now), or undefined. The link is checked
   * directly against each TA (signature, issuer name, validity): a chain builder keyed on names cannot tell the
   * old and the new root apart when they share a DN.
   */
  private vouchedUses(root: pkijs.Certificate, certs: pkijs.Certificate[], ders: Uint8Array[], at: Date, s: PackageContext): TaUse[] | undefined {
    const use = s.policy.certificateUse ?? 'cacerts';
    const spki = certificateSpki(root);
    const anchors = s.taStore.anchorsFor(use);
    if (anchors.length === 0) return undefined;
    for (let i = 0; i < certs.length; i++) {
      const link = certs[i]!;
      if (link === root || !link.subject.isEqual(root.subject) || !certificateHasKey(link, spki) || isSelfSigned(ders[i]!)) continue;
      const x = new X509Certificate(Buffer.from(ders[i]!));
      if (Date.parse(x.validFrom) > at.getTime() || Date.parse(x.validTo) < at.getTime()) continue;
      for (const ta of anchors) {
        const t = new X509Certificate(Buffer.from(ta.der));
        if (x.checkIssued(t) && x.verify(t.publicKey)) return [...ta.uses];
      }
    }
    return undefined;
  }
}

/** True when the certificate's signature verifies with its own public key (a root, e.g. OldWithOld / NewWithNew). */
export function isSelfSigned(der: Uint8Array): boolean {
  try {
    const x = new X509Certificate(Buffer.from(der));
    return x.checkIssued(x) && x.verify(x.publicKey);
  } catch {
    return false;
  }
}
