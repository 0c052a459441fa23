// An issued certificate is accepted only with a valid path to the device's CA anchors: the TA store's `cacerts`
// anchors plus those the protocol names (ACME issuer anchors); with none of those, the manufacture-time EST anchors.
import type * as pkijs from 'pkijs';
import type { EnrollerDeps } from '../lifecycle/enroller.js';
import { validateChain } from '../pki/chain.js';
import type { TrustAnchorStore } from '../store/ta-store.js';

export function issuedVerifier(taStore: TrustAnchorStore, issuerAnchors: pkijs.Certificate[], fallback: () => pkijs.Certificate[]): EnrollerDeps['verifyIssued'] {
  return async (cert, chain, at) => {
    const anchors = [...taStore.certificatesFor('cacerts'), ...issuerAnchors];
    await validateChain({ leaf: cert, intermediates: chain, trustAnchors: anchors.length ? anchors : fallback(), at });
  };
}
