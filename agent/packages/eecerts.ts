// 0003 "X.509 EE certificate" (RFC 8295 §2.1.1, §3): fetch the certs-only message of peer certificates from the
// entry's /eecerts URI. §3.2: "Clients MUST reject EE certificates that do not validate to an authorized TA" —
// each end-entity certificate is validated to the TAs authorized for certificates (CA certificates in the message
// and those validated earlier in this run serve as untrusted intermediates) and checked against the stored CRLs of
// every issuer on its path. The accepted ones replace what this URI delivered before in the peer store.
import type { HandlerContext, HandlerResult, PackageHandler } from '../pal/dispatch.js';
import { PackageType, type PalEntry } from '../pal/model.js';
import { certificateFingerprint, describeName } from '../pki/cert.js';
import { validateChain } from '../pki/chain.js';
import { EST_EXT_OPERATIONS } from '../protocols/est/constants.js';
import { getEeCerts } from '../protocols/est/eecerts.js';
import { clientFor, entryUri, failed } from './common.js';
import type { PackageContext, PeerCertificate, PeerCertificateStore } from './context.js';

/** In-memory peer store (tests, and until a persistent one is wired). */
export class MemoryPeerCertificateStore implements PeerCertificateStore {
  private readonly bySource = new Map<string, PeerCertificate[]>();
  async replace(source: string, certs: PeerCertificate[]): Promise<void> {
    this.bySource.set(source, [...certs]);
  }
  list(): PeerCertificate[] {
    const seen = new Set<string>();
    return [...this.bySource.values()].flat().filter((c) => (seen.has(c.fingerprint) ? false : (seen.add(c.fingerprint), true)));
  }
}

export class EeCertsHandler implements PackageHandler<PackageContext> {
  readonly types = [PackageType.EeCertificate] as const;

  async handle(entry: PalEntry, hctx: HandlerContext<PackageContext>): Promise<HandlerResult> {
    const s = hctx.shared;
    const log = s.log.child({ pkg: entry.type });
    if (!s.peers) return failed('eecerts.no_store', 'no peer certificate store configured');
    const resolved = entryUri(entry, s, [EST_EXT_OPERATIONS.eecerts]);
    const client = clientFor(s, resolved);
    const r = await getEeCerts(client.ctx, {
      ...(resolved ? { uri: resolved.url } : {}),
      ...(s.policy.allowedOrigins ? { allowedOrigins: s.policy.allowedOrigins } : {}),
      ...(hctx.signal ? { signal: hctx.signal } : {}),
    });
    const at = s.clock.now();
    const anchors = s.taStore.certificatesFor(s.policy.certificateUse ?? 'cacerts');
    const intermediates = [...r.caIndexes.map((i) => r.certificatesDer[i]!), ...s.intermediates];
    // the stored CRLs, decoded here: an unusable CRL store fails the package before any peer is judged or replaced
    const isRevoked = await s.crlStore.revocationCheck();
    const accepted: PeerCertificate[] = [];
    const rejected: string[] = [];
    for (const i of r.eeIndexes) {
      const cert = r.certificates[i]!;
      const subject = describeName(cert.subject);
      try {
        const { path } = await validateChain({ leaf: cert, intermediates, trustAnchors: anchors, at });
        const revoked = path.find((c) => isRevoked(c));
        if (revoked) throw new Error(`${describeName(revoked.subject)} is revoked`);
        const der = r.certificatesDer[i]!;
        accepted.push({ der, subject, fingerprint: certificateFingerprint(der), notAfter: cert.notAfter.value });
      } catch (e) {
        rejected.push(`${subject}: ${(e as Error).message}`);
        log.warn('eecerts.rejected', { subject, error: e as Error });
      }
    }
    const source = resolved?.url.href ?? client.ctx.baseUrl;
    await s.peers.replace(source, accepted);
    const detail = `${accepted.length} peer certificate(s) stored, ${rejected.length} rejected, ${r.caIndexes.length} CA certificate(s) in the message`;
    if (rejected.length > 0) return failed('eecerts.untrusted', `${rejected.join('; ')}; ${detail}`);
    return { status: 'ok', detail };
  }
}
