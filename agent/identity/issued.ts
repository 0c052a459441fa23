// An issued certificate is accepted only with a valid path to the device's CA anchors: the TA store's `cacerts`
// anchors plus those the protocol names (ACME issuer anchors); with none of those, the manufacture-time EST anchors.
import type * as pkijs from 'pkijs';
import type { EnrollerDeps } from '../lifecycle/enroller.js';
import { lazyModule } from '../util/lazy-import.js';
import type { TrustAnchorStore } from '../store/ta-store.js';

// The path validator (pkijs) loads at the first issued certificate.
const chainModule = lazyModule('the certificate path validator', () => import('../pki/chain.js'));

export function issuedVerifier(taStore: TrustAnchorStore, issuerAnchors: pkijs.Certificate[], fallback: () => Promise<pkijs.Certificate[]>): EnrollerDeps['verifyIssued'] {
  return async (cert, chain, at) => {
    const anchors = [...taStore.certificatesFor('cacerts'), ...issuerAnchors];
    const { validateChain } = await chainModule();
    await validateChain({ leaf: cert, intermediates: chain, trustAnchors: anchors.length ? anchors : await fallback(), at });
  };
}
