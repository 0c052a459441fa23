// RFC 4108 load receipts (§3) and load error reports (§4): built after every package attempt, kept in the on-disk
// outbox (outbox.ts: a crash between apply and return loses nothing), and POSTed to /firmware/return (RFC 8295 §6,
// PAL type 0027) as application/cms; the server answers 204. Signed with the configured Signer (TPM key) + certificate as
// SignedData when configured (RECOMMENDED by §3/§4), otherwise the unsigned ContentInfo form the RFC allows.
import { type SignerWithChain, createSignedData, createUnsignedContentInfo, signerWithChainOptions } from '../../pki/asn1/cms-signed-data-create.js';
import { FirmwarePackageLoadError } from '../../pki/asn1/firmware-load-error.js';
import { FirmwarePackageLoadReceipt } from '../../pki/asn1/firmware-load-receipt.js';
import { FirmwareErrorCode, type FirmwareErrorCodeName } from '../../pki/asn1/firmware-oids.js';
import { PreferredOrLegacyPackageIdentifier } from '../../pki/asn1/firmware-package-name.js';
import type { FirmwareState } from './state.js';
import type { DeviceIdentity } from './verify.js';

// the on-disk outbox and its POST need no ASN.1 stack (outbox.ts): re-exported for the callers that import them here
export { Outbox, postOutbox, type OutboxItem, type PostResult } from './outbox.js';

export interface ReportOptions {
  device: DeviceIdentity;
  /** The signing key, its certificate and intermediates (all included in the SignedData): the device credential's. */
  signer?: SignerWithChain;
  /** signing-time value; undefined = no real-time clock (attribute omitted). */
  now?: () => Date;
}

async function wrap(contentType: string, content: Uint8Array, o: ReportOptions): Promise<{ der: Uint8Array; signed: boolean }> {
  if (!o.signer) return { der: createUnsignedContentInfo(contentType, content), signed: false };
  return {
    der: await createSignedData({
      eContentType: contentType,
      eContent: content,
      ...signerWithChainOptions(o.signer),
      ...(o.now ? { signingTime: o.now() } : {}),
    }),
    signed: true,
  };
}

export async function buildReceipt(
  name: PreferredOrLegacyPackageIdentifier,
  trustAnchorKeyID: Uint8Array | undefined,
  o: ReportOptions,
  decryptKeyID?: Uint8Array,
): Promise<{ der: Uint8Array; signed: boolean }> {
  const r = new FirmwarePackageLoadReceipt({
    hwType: o.device.hwType,
    hwSerialNum: o.device.hwSerialNum,
    fwPkgName: name,
    ...(trustAnchorKeyID ? { trustAnchorKeyID } : {}),
    ...(decryptKeyID ? { decryptKeyID } : {}),
  });
  return wrap(FirmwarePackageLoadReceipt.CONTENT_TYPE, r.toDER(), o);
}

/** The current configuration for the error report's `config` field: the installed and pending packages. */
export function currentConfig(state: FirmwareState): Array<{ fwPkgType?: bigint; fwPkgName: PreferredOrLegacyPackageIdentifier }> {
  return [state.installed, state.pending]
    .filter((r) => r !== undefined)
    .map((r) => ({ ...(r!.fwPkgType !== undefined ? { fwPkgType: BigInt(r!.fwPkgType) } : {}), fwPkgName: PreferredOrLegacyPackageIdentifier.fromJSON(r!.name) }));
}

export async function buildLoadError(
  code: FirmwareErrorCodeName,
  vendorErrorCode: number | undefined,
  name: PreferredOrLegacyPackageIdentifier | undefined,
  state: FirmwareState,
  o: ReportOptions,
): Promise<{ der: Uint8Array; signed: boolean }> {
  const config = currentConfig(state);
  const e = new FirmwarePackageLoadError({
    hwType: o.device.hwType,
    hwSerialNum: o.device.hwSerialNum,
    errorCode: FirmwareErrorCode[code],
    ...(vendorErrorCode !== undefined || code === 'otherError' ? { vendorErrorCode: vendorErrorCode ?? 0 } : {}),
    ...(name ? { fwPkgName: name } : {}),
    ...(config.length ? { config } : {}),
  });
  return wrap(FirmwarePackageLoadError.CONTENT_TYPE, e.toDER(), o);
}
