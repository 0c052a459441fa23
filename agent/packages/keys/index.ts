// Key package handlers (RFC 8295 0020–0025) for createPackageRegistry({ handlers }). The composition root builds one
// KeyPackagesConfig (TPM keystore, state dir, device name, key-package TAs, the device key as return signer) and
// the CSR subject for /serverkeygen.
import type { PackageHandler } from '../../pal/dispatch.js';
import type { PackageContext } from '../context.js';
import { ServerKeygen, type ServerKeygenConfig } from './serverkeygen.js';
import { SymmetricKeyPackages } from './symmetric.js';

export { KeyPackageRefused, KeysStateFile, type KeyPackagesConfig } from './common.js';
export { ServerKeygen, type ServerKeygenConfig } from './serverkeygen.js';
export { SymmetricKeyPackages } from './symmetric.js';

/** The handlers for 0020–0023 (server-generated keys) and 0024–0025 (symmetric key packages). */
export function createKeyPackageHandlers(cfg: ServerKeygenConfig): PackageHandler<PackageContext>[] {
  return [new SymmetricKeyPackages(cfg).handler(), new ServerKeygen(cfg).handler()];
}
