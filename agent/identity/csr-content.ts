// What the device asks to be certified as: the configured subject and DNS names for a first enrollment, the issued
// Subject and subjectAltName for a renewal (RFC 7030 §4.2.2), attestation evidence of the new key when enabled, and
// whatever the protocol's plan adds (RFC 7030 §4.5 /csrattrs).
import type { Config } from '../config.js';
import type { Attestation, ProtocolPart } from '../features/feature.js';
import type { EnrollerDeps } from '../lifecycle/enroller.js';
import type { BuildCsrOptions } from '../pki/csr.js';
import { lazyModule } from '../util/lazy-import.js';

// The PKCS#10 encoder and the certificate decoder (pkijs) load at the first request built.
const csrModules = lazyModule('the CSR encoder', async () => {
  const [cert, csr, reenroll] = await Promise.all([import('../pki/cert.js'), import('../pki/csr.js'), import('../protocols/est/simplereenroll.js')]);
  return { sharedCertificatesFromPem: cert.sharedCertificatesFromPem, buildCsr: csr.buildCsr, reenrollIdentity: reenroll.reenrollIdentity };
});

export function csrBuilder(identity: Config['identity'], part: ProtocolPart, attestation?: Attestation): EnrollerDeps['buildCsr'] {
  const { protocol } = part;
  return async (key, signer, ctx) => {
    const attributes = attestation && protocol.nonce ? [await attestation.csrAttribute(key, protocol, ctx)] : [];
    const { sharedCertificatesFromPem, buildCsr, reenrollIdentity } = await csrModules();
    const renewed = ctx.operation === 'reenroll' && ctx.current ? reenrollIdentity(sharedCertificatesFromPem(ctx.current.certPem)[0]!) : undefined;
    const base: BuildCsrOptions = {
      subject: renewed?.subject ?? identity.subject,
      signer,
      ...(renewed ? { extensions: renewed.extensions } : identity.dnsNames.length ? { san: { dns: identity.dnsNames } } : {}),
      ...(attributes.length ? { attributes } : {}),
    };
    const options = part.refineCsr ? part.refineCsr(base, key, ctx) : base;
    return (await buildCsr(options)).der;
  };
}
