// Device attestation (attestation.enabled): TPM2_Certify of the key being certified by the provisioned AK, and a
// TPM2_Quote of attestation.pcrs by the same AK over the same nonce — in the
// CSR (id-aa-attestation, with the protocol's fresh nonce) or outside it (ACME remote-attest-01).
import type { Config } from '../../config.js';
import type { ProvisionedAk } from '../../attest/provision.js';
import type { KeyStore } from '../../keystore/keystore.js';
import type { Clock } from '../../lifecycle/clock.js';
import type { RequestContext } from '../../lifecycle/enroller.js';
import { fromStoredKey } from '../../lifecycle/state.js';
import type { NonceContext } from '../../protocols/protocol.js';
import { EnrolldError } from '../../util/errors.js';
import { lazyModule } from '../../util/lazy-import.js';
import type { Attestation } from '../feature.js';

// The evidence encoders and the AK certificate parse (pkijs) load at the first attestation.
const evidenceModule = lazyModule('the attestation evidence encoders', () => import('../../attest/evidence.js'));
const provisionModule = lazyModule('the attestation key loader', () => import('../../attest/provision.js'));

/** The nonce is fetched with the identity of the request it is for (freshness §6.1 binds it to that request). */
function nonceContext(ctx: RequestContext): NonceContext {
  return ctx.operation === 'reenroll' && ctx.current
    ? { operation: 'reenroll', current: { key: fromStoredKey(ctx.current.key), certPem: ctx.current.certPem, chainPem: ctx.current.chainPem } }
    : { operation: ctx.operation };
}

export function createAttestation(settings: Config['attestation'], keystore: KeyStore, clock: Clock): Attestation {
  let provisioned: ProvisionedAk | undefined;
  // Platform evidence beside the certify statement: TPM2_Quote of attestation.pcrs (none: certify only).
  const quote = { pcrs: settings.pcrs, bank: settings.pcrBank, type: settings.quoteOid };
  const loadAk = async (): Promise<ProvisionedAk> => {
    const { akKeyFile, akCertFile } = settings;
    if (!akKeyFile || !akCertFile) throw new EnrolldError('config.attestation', 'attestation.enabled needs attestation.akKeyFile and attestation.akCertFile');
    return (provisioned ??= await (await provisionModule()).loadProvisionedAk(akKeyFile, akCertFile));
  };
  const certifying = (ev: typeof import('../../attest/evidence.js')) => {
    if (!ev.isCertifyingKeyStore(keystore)) throw new EnrolldError('config.attestation', 'attestation needs a TPM keystore (TPM2_Certify)');
    return keystore;
  };
  return {
    async evidence(key, qualifyingData) {
      const ev = await evidenceModule();
      const ks = certifying(ev);
      const ak = await loadAk();
      return (await ev.buildCertifyEvidence({ keystore: ks, key, ak: ak.ak, akChain: ak.chain, nonce: qualifyingData, quote })).bundle.toDER();
    },
    async csrAttribute(key, protocol, ctx) {
      const ev = await evidenceModule();
      const ks = certifying(ev);
      if (!protocol.nonce) throw new EnrolldError('config.attestation', `the ${protocol.name} protocol offers no freshness nonce for attestation`);
      const ak = await loadAk();
      return ev.attestationAttribute({ keystore: ks, key, ak: ak.ak, akChain: ak.chain, quote, nonces: { nonce: (r) => protocol.nonce!(r, nonceContext(ctx)) }, now: () => clock.now() });
    },
  };
}
