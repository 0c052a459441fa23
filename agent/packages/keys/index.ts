// Key package handlers (RFC 8295 0020–0025) for createPackageRegistry({ handlers }). The composition root builds one
// KeyPackagesConfig (TPM keystore, state dir, key-package TAs, the device key as return signer) and the CSR subject
// for /serverkeygen. Light: the handlers register their types at start-up; their modules (CMS, DER: the ASN.1 stack)
// load at the first entry of their types, and the device's DER Name (receivedBy / errorBy) is encoded then. A module
// that fails to load fails that entry (ModuleLoadError, code module.load, transient) and is loaded again next time.
import type { HandlerContext, HandlerResult, PackageHandler } from '../../pal/dispatch.js';
import type { PalEntry } from '../../pal/model.js';
import { lazyModule } from '../../pki/lazy-modules.js';
import type { PackageContext } from '../context.js';
import type { KeyPackagesConfig } from './common.js';
import { SERVERKEYGEN_RETURN_TYPE, SERVERKEYGEN_TYPES, SYMMETRIC_KEY_PACKAGE_TYPE, SYMMETRIC_KEY_RETURN_TYPE } from './package-types.js';
import type { ServerKeygenConfig } from './serverkeygen.js';

export type { KeyPackagesConfig } from './common.js';
export type { ServerKeygenConfig } from './serverkeygen.js';
export { KeysStateFile } from './state.js';

const loadSymmetric = lazyModule('the symmetric key package handler', () => import('./symmetric.js'));
const loadServerKeygen = lazyModule('the server-generated key handler', () => import('./serverkeygen.js'));
const loadName = lazyModule('the distinguished name encoder', () => import('../../pki/name.js'));

/** ServerKeygenConfig whose deviceName may be left out: then it is the DER of `subject`, encoded at the first entry. */
export type KeyPackageHandlersConfig = Omit<ServerKeygenConfig, 'deviceName'> & Partial<Pick<KeyPackagesConfig, 'deviceName'>>;

/** A handler registered by its types, made (once; again after a failure) at the first entry of one of them. */
class DeferredHandler implements PackageHandler<PackageContext> {
  private made: Promise<PackageHandler<PackageContext>> | undefined;
  constructor(
    readonly types: readonly string[],
    private readonly make: () => Promise<PackageHandler<PackageContext>>,
  ) {}
  async handle(entry: PalEntry, ctx: HandlerContext<PackageContext>): Promise<HandlerResult> {
    const made = (this.made ??= this.make().catch((err: unknown) => {
      this.made = undefined;
      throw err;
    }));
    return (await made).handle(entry, ctx);
  }
}

/** The handlers for 0020–0023 (server-generated keys) and 0024–0025 (symmetric key packages). */
export function createKeyPackageHandlers(cfg: KeyPackageHandlersConfig): PackageHandler<PackageContext>[] {
  let deviceName: Uint8Array | undefined = cfg.deviceName;
  // the SIREntityName id-dn of receipts and errors (RFC 7191 §2, §3): the device certificate's subject
  const full = async (): Promise<ServerKeygenConfig> => {
    deviceName ??= new Uint8Array((await loadName()).buildName(cfg.subject).toSchema().toBER(false));
    return { ...cfg, deviceName };
  };
  return [
    new DeferredHandler([SYMMETRIC_KEY_PACKAGE_TYPE, SYMMETRIC_KEY_RETURN_TYPE], async () => {
      const [{ SymmetricKeyPackages }, c] = await Promise.all([loadSymmetric(), full()]);
      return new SymmetricKeyPackages(c).handler();
    }),
    new DeferredHandler([...SERVERKEYGEN_TYPES, SERVERKEYGEN_RETURN_TYPE], async () => {
      const [{ ServerKeygen }, c] = await Promise.all([loadServerKeygen(), full()]);
      return new ServerKeygen(c).handler();
    }),
  ];
}
