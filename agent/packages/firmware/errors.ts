// Firmware package failures. Every rejection carries the RFC 4108 §4.1.3 error code that goes into the load error
// report, plus a stable enrolld code (logs, PAL dispatch results, MQTT status).
import type { FirmwareErrorCodeName } from '../../pki/asn1/firmware-oids.js';
import type { PreferredOrLegacyPackageIdentifier } from '../../pki/asn1/firmware-package-name.js';
import { EnrolldError } from '../../util/errors.js';

/** Vendor error codes (VendorLoadErrorCode) enrolld puts beside otherError. */
export const VendorErrorCode = {
  hookFailed: 1,
  hookTimeout: 2,
  internal: 3,
  downloadIncomplete: 4,
} as const;

const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export class FirmwareLoadFailure extends EnrolldError {
  readonly rfcCode: FirmwareErrorCodeName;
  readonly vendorErrorCode: number | undefined;
  /** The package name, when it was decoded before the failure (reported in the load error). */
  fwPkgName: PreferredOrLegacyPackageIdentifier | undefined;
  constructor(
    rfcCode: FirmwareErrorCodeName,
    message: string,
    opts: { code?: string; vendorErrorCode?: number; fwPkgName?: PreferredOrLegacyPackageIdentifier; cause?: unknown } = {},
  ) {
    super(opts.code ?? `firmware.${snake(rfcCode)}`, message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.rfcCode = rfcCode;
    this.vendorErrorCode = opts.vendorErrorCode;
    this.fwPkgName = opts.fwPkgName;
  }
}

/** Not a package problem: the download did not complete (network, TLS, HTTP status). Retried on the next run. */
export class FirmwareDownloadError extends EnrolldError {
  constructor(message: string, readonly httpStatus?: number, options?: { cause?: unknown }) {
    super('firmware.download', message, options);
  }
}

/** Misconfiguration (no hook, bad work dir permissions, …). */
export class FirmwareConfigError extends EnrolldError {
  constructor(message: string) {
    super('firmware.config', message);
  }
}
