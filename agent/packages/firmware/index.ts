// RFC 4108 firmware packages over RFC 8295 /firmware and /firmware/return (PAL package types 0026 and 0027).
export { FirmwareManager, returnUrlFor, FIRMWARE_PACKAGE_TYPE, FIRMWARE_RETURN_TYPE, DEFAULT_MAX_PACKAGE_BYTES, type FirmwareConfig, type FirmwareOutcome } from './manager.js';
export { createStreamingHttpsClient, downloadToFile, type StreamingHttpClient, type StreamingHttpsOptions, type DownloadOptions, type DownloadResult } from './download.js';
export { verifyFirmwarePackage, type DeviceIdentity, type TrustAnchorsProvider, type VerifiedPackage, type VerifyOptions } from './verify.js';
export { runHook, type HookSpec, type HookResult } from './hook.js';
export { Outbox, buildLoadError, buildReceipt, postOutbox } from './report.js';
export { loadState, saveState, checkStale, compareLegacyNames, withApplied, withBootConfirmed, type FirmwareState } from './state.js';
export { FirmwareLoadFailure, FirmwareDownloadError, FirmwareConfigError, VendorErrorCode } from './errors.js';
