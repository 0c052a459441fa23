// Key package handlers (RFC 8295 0020–0025) for createPackageRegistry({ handlers }). The composition root builds one
// KeyPackagesConfig (TPM keystore, state dir, key-package TAs, the device key as return signer) and the CSR subject
// for /serverkeygen. Light: the handlers register their types at start-up and return queued reports (0023, 0025:
// returns.ts) without the ASN.1 stack; their package modules (CMS, DER) load at the first key package (0020–0022,
// 0024), and the device's DER Name (receivedBy / errorBy) is encoded then. A module that fails to load fails that
// entry (ModuleLoadError, code module.load, transient) and is loaded again at the next one.
import type { HandlerContext, HandlerResult, PackageHandler } from '../../pal/dispatch.js';
import type { PalEntry } from '../../pal/model.js';
import { lazyModule } from '../../util/lazy-import.js';
import type { PackageContext } from '../context.js';
import type { KeyPackagesConfig } from './common.js';
import { SERVERKEYGEN_RETURN_TYPE, SERVERKEYGEN_TYPES, SYMMETRIC_KEY_PACKAGE_TYPE, SYMMETRIC_KEY_RETURN_TYPE } from './package-types.js';
import { handleReturnEntry } from './returns.js';
import type { ServerKeygenConfig } from './serverkeygen.js';
import { KeysStateFile, type OutboxItem } from './state.js';

export type { KeyPackagesConfig } from './common.js';
export type { ServerKeygenConfig } from './serverkeygen.js';
export { KeysStateFile } from './state.js';

const loadSymmetric = lazyModule('the symmetric key package handler', () => import('./symmetric.js'));
const loadServerKeygen = lazyModule('the server-generated key handler', () => import('./serverkeygen.js'));
const loadName = lazyModule('the distinguished name encoder', () => import('../../pki/name.js'));

/** ServerKeygenConfig whose deviceName may be left out: then it is the DER of `subject`, encoded at the first entry. */
export type KeyPackageHandlersConfig = Omit<ServerKeygenConfig, 'deviceName'> & Partial<Pick<KeyPackagesConfig, 'deviceName'>>;

/** The return entry of a handler: its type, its outbox path, keys.json. */
interface ReturnEntry {
  type: string;
  which: OutboxItem['path'];
  state: KeysStateFile;
}

/** A handler registered by its types: its return entry handled here, the package handler made (once; again after a
 * failure) at the first package entry. */
class DeferredHandler implements PackageHandler<PackageContext> {
  private made: Promise<PackageHandler<PackageContext>> | undefined;
  readonly types: readonly string[];
  constructor(
    packageTypes: readonly string[],
    private readonly ret: ReturnEntry,
    private readonly make: () => Promise<PackageHandler<PackageContext>>,
  ) {
    this.types = [...packageTypes, ret.type];
  }
  async handle(entry: PalEntry, ctx: HandlerContext<PackageContext>): Promise<HandlerResult> {
    if (entry.type === this.ret.type) return handleReturnEntry(this.ret.state, this.ret.which, entry, ctx);
    const made = (this.made ??= this.make().catch((err: unknown) => {
      this.made = undefined;
      throw err;
    }));
    return (await made).handle(entry, ctx);
  }
}

/** The handlers for 0020–0023 (server-generated keys) and 0024–0025 (symmetric key packages). */
export function createKeyPackageHandlers(cfg: KeyPackageHandlersConfig): PackageHandler<PackageContext>[] {
  const state = new KeysStateFile(cfg.stateDir);
  let deviceName: Uint8Array | undefined = cfg.deviceName;
  // the SIREntityName id-dn of receipts and errors (RFC 7191 §2, §3): the device certificate's subject
  const full = async (): Promise<ServerKeygenConfig> => {
    deviceName ??= new Uint8Array((await loadName()).buildName(cfg.subject).toSchema().toBER(false));
    return { ...cfg, deviceName };
  };
  return [
    new DeferredHandler([SYMMETRIC_KEY_PACKAGE_TYPE], { type: SYMMETRIC_KEY_RETURN_TYPE, which: 'symmetrickeys', state }, async () => {
      const [{ SymmetricKeyPackages }, c] = await Promise.all([loadSymmetric(), full()]);
      return new SymmetricKeyPackages(c).handler();
    }),
    new DeferredHandler(SERVERKEYGEN_TYPES, { type: SERVERKEYGEN_RETURN_TYPE, which: 'serverkeygen', state }, async () => {
      const [{ ServerKeygen }, c] = await Promise.all([loadServerKeygen(), full()]);
      return new ServerKeygen(c).handler();
    }),
  ];
}
