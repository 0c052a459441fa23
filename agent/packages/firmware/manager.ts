// Firmware package processing (RFC 8295 §6 + RFC 4108) and the PAL handler for package types 0026 ("Firmware
// Package": GET the package from the entry's URI) and 0027 ("Firmware Package Receipt or Error": POST the queued
// receipts/errors to the entry's URI, the /firmware/return path component).
//
// One package run:   lock → download (streamed, resumable, size-capped) → verify (verify.ts) → hook (A/B installer,
//                    timeout) → state: pending-reboot (atomic, only after the hook exits 0) → receipt queued;
//                    any rejection → load error queued, hook not run, state unchanged.
// Work dir layout (created 0700; files 0600): firmwareLayout(workDir) in store/layout.ts (package.der with its
// .part/.part.json, content.bin, image.bin, outbox/, lock); firmware-state.json in <stateDir> (default the work dir).
import { crashpoint } from '../../util/crashpoint.js';
import { chmod, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { HandlerContext, HandlerResult, PackageHandler } from '../../pal/dispatch.js';
import type { PalEntry } from '../../pal/model.js';
import type { PreferredOrLegacyPackageIdentifier } from '../../pki/asn1/firmware-package-name.js';
import { FIRMWARE_PATH, FIRMWARE_RETURN_PATH } from '../../pki/asn1/firmware-media-types.js';
import type { Transport } from '../../protocols/http/transport.js';
import type { Logger } from '../../util/log.js';
import { removeDeadWritersTemps } from '../../store/atomic-file.js';
import { firmwareLayout, type FirmwareLayout } from '../../store/layout.js';
import { downloadToFile, type StreamingHttpClient } from './download.js';
import { DownloadProgress, type DownloadProgressReport } from './progress.js';
import { EnrolldError } from '../../util/errors.js';
import { FirmwareConfigError, FirmwareDownloadError, FirmwareLoadFailure, VendorErrorCode } from './errors.js';
import { runHook, type HookSpec } from './hook.js';
import type { SignerWithChain } from '../../pki/asn1/cms-signed-data-create.js';
import { Outbox, postOutbox, type PostResult } from './outbox.js';
import type { ReportOptions } from './report.js';
import { loadState, saveState, withApplied, withBootConfirmed, type FirmwareState, type LegacyCompare } from './state.js';
import type { DeviceIdentity, TrustAnchorsProvider, VerifiedPackage } from './verify.js';
import { lazyModule } from '../../util/lazy-import.js';

// The package verifier (CMS, certificate path) and the receipt/error builders (DER, CMS SignedData) load at the first
// package run: composition, the state, boot confirmation and returning queued reports do not need the ASN.1 stack.
const loadVerify = lazyModule('the firmware package verifier', () => import('./verify.js'));
const loadReports = lazyModule('the firmware receipt builder', () => import('./report.js'));

export const FIRMWARE_PACKAGE_TYPE = '0026';
export const FIRMWARE_RETURN_TYPE = '0027';
/** Cap when the PAL entry gives no size (size 0). */
export const DEFAULT_MAX_PACKAGE_BYTES = 1024 ** 3;

export interface FirmwareConfig {
  /** Private work directory (created/forced to mode 0700). */
  workDir: string;
  /** Where firmware-state.json lives (default workDir). */
  stateDir?: string;
  device: DeviceIdentity;
  trustAnchors: TrustAnchorsProvider;
  hook: HookSpec;
  /** Streaming GET client for /firmware. */
  http: StreamingHttpClient;
  /** Transport for the /firmware/return POST. */
  transport: Transport;
  /**
   * Sign receipts/errors (recommended); unsigned when absent. A function is asked at signing time, so the agent
   * signs with whichever device credential is current then (it may have been renewed since start).
   */
  returnSigner?: SignerWithChain | (() => Promise<SignerWithChain | undefined>);
  /** POST target when a 0027 entry carries no URI; default: the package URL with /firmware → /firmware/return. */
  returnUrl?: string;
  /** Send receipts/errors base64-encoded (RFC 7030 style) instead of binary. */
  returnBase64?: boolean;
  maxPackageBytes?: number;
  maxImageBytes?: number;
  /** Firmware-decryption keys by decrypt-key-identifier (RFC 4108 §2.2.5); see VerifyOptions.decryptKey. */
  decryptKey?: (keyId: Uint8Array) => Promise<Uint8Array | undefined>;
  idleTimeoutMs?: number;
  compareLegacy?: LegacyCompare;
  supportedPackageTypes?: readonly bigint[];
  /** Certificate validation / signing time. */
  now?: () => Date;
  /** Omit signing-time in signed reports (a module without a real-time clock). */
  noSigningTime?: boolean;
  log?: Logger;
  /** Progress reports (start, every 10 % and 30 s, end, failure): logged, kept in the work dir, and passed here. */
  onDownloadProgress?: (r: DownloadProgressReport) => void;
  /** Minimum time between progress reports, ms (default 30 s). */
  progressIntervalMs?: number;
  /** Download progress (bytes so far); awaited. */
  onProgress?: (bytes: number) => void | Promise<void>;
}

export type FirmwareOutcome =
  | { status: 'applied'; name: PreferredOrLegacyPackageIdentifier; verified: VerifiedPackage; download: { bytes: number; sha256: string; resumedFrom: number } }
  | { status: 'rejected'; code: string; rfcCode: string; message: string; name?: PreferredOrLegacyPackageIdentifier }
  | { status: 'download-failed'; code: string; message: string };

/** Derives the /firmware/return URL that belongs to a /firmware URL (same EST base and label). */
export function returnUrlFor(packageUrl: string): string | undefined {
  const u = new URL(packageUrl);
  const i = u.pathname.lastIndexOf(`/${FIRMWARE_PATH}`);
  if (i < 0) return undefined;
  u.pathname = `${u.pathname.slice(0, i)}/${FIRMWARE_RETURN_PATH}`;
  u.search = '';
  return u.toString();
}

export class FirmwareManager {
  readonly outbox: Outbox;
  /** The work directory's files. */
  readonly files: FirmwareLayout;
  private lastPackageUrl: string | undefined;

  constructor(readonly cfg: FirmwareConfig) {
    if (!cfg.hook?.path || !path.isAbsolute(cfg.hook.path)) throw new FirmwareConfigError('firmware hook must be an absolute executable path');
    this.files = firmwareLayout(cfg.workDir);
    this.outbox = new Outbox(this.files.outbox);
  }

  private get stateDir(): string {
    return this.cfg.stateDir ?? this.cfg.workDir;
  }

  state(): Promise<FirmwareState> {
    return loadState(this.stateDir);
  }

  /** Call once the device runs the pending image: pending-reboot → installed. */
  async confirmBoot(): Promise<FirmwareState> {
    const next = withBootConfirmed(await this.state());
    await saveState(this.stateDir, next);
    return next;
  }

  private async prepareWorkDir(): Promise<void> {
    await mkdir(this.cfg.workDir, { recursive: true, mode: 0o700 });
    await chmod(this.cfg.workDir, 0o700);
    await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
    // an image or content file half-written by a process that was killed: its temp file goes (live writers' stay)
    await removeDeadWritersTemps(this.cfg.workDir);
  }

  /** A lock file holding our pid; a lock whose pid is gone (kill -9, power cut) is taken over. */
  private async lock(): Promise<() => Promise<void>> {
    const file = this.files.lock;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fh = await open(file, 'wx', 0o600);
        await fh.writeFile(String(process.pid));
        await fh.close();
        return () => rm(file, { force: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
        let alive = false;
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
          try {
            process.kill(pid, 0);
            alive = true;
          } catch (err) {
            alive = (err as NodeJS.ErrnoException).code === 'EPERM';
          }
        }
        if (alive) throw new FirmwareConfigError(`firmware work dir is in use by pid ${pid}`);
        await rm(file, { force: true });
      }
    }
    throw new FirmwareConfigError('could not take the firmware work dir lock');
  }

  private async reportOptions(): Promise<ReportOptions> {
    const rs = this.cfg.returnSigner;
    const signer = typeof rs === 'function' ? await rs() : rs;
    return {
      device: this.cfg.device,
      ...(signer ? { signer } : {}),
      ...(this.cfg.noSigningTime ? {} : { now: this.cfg.now ?? (() => new Date()) }),
    };
  }

  /** Downloads, verifies and applies one package; queues the receipt or load error. Never throws for package problems. */
  async processPackage(url: string, palSize: number, signal?: AbortSignal): Promise<FirmwareOutcome> {
    const log = this.cfg.log;
    // before anything is touched: a failed load (module.load) fails this run only and leaves no report
    const [{ verifyFirmwarePackage }, { buildLoadError, buildReceipt }] = await Promise.all([loadVerify(), loadReports()]);
    await this.prepareWorkDir();
    const unlock = await this.lock();
    this.lastPackageUrl = url;
    const pkg = this.files.package;
    let name: PreferredOrLegacyPackageIdentifier | undefined;
    try {
      const maxBytes = palSize > 0 ? palSize : (this.cfg.maxPackageBytes ?? DEFAULT_MAX_PACKAGE_BYTES);
      let dl: Awaited<ReturnType<typeof downloadToFile>>;
      const progress = new DownloadProgress({
        url,
        dir: this.cfg.workDir,
        ...(log ? { log } : {}),
        ...(this.cfg.onDownloadProgress ? { onReport: this.cfg.onDownloadProgress } : {}),
        ...(this.cfg.progressIntervalMs !== undefined ? { intervalMs: this.cfg.progressIntervalMs } : {}),
      });
      try {
        dl = await downloadToFile(this.cfg.http, url, pkg, {
          maxBytes,
          progress,
          ...(palSize > 0 ? { expectedBytes: palSize } : {}),
          ...(signal ? { signal } : {}),
          ...(this.cfg.idleTimeoutMs ? { idleTimeoutMs: this.cfg.idleTimeoutMs } : {}),
          ...(this.cfg.onProgress ? { onProgress: this.cfg.onProgress } : {}),
        });
      } catch (e) {
        progress.fail(e instanceof EnrolldError ? e.code : 'internal');
        if (e instanceof FirmwareDownloadError) {
          log?.warn('firmware.download.failed', { url, error: e.message });
          return { status: 'download-failed', code: e.code, message: e.message };
        }
        throw e;
      }
      log?.info('firmware.downloaded', { url, bytes: dl.bytes, sha256: dl.sha256, resumedFrom: dl.resumedFrom });
      const state = await this.state();
      const verified = await verifyFirmwarePackage(pkg, {
        device: this.cfg.device,
        trustAnchors: this.cfg.trustAnchors,
        state,
        workDir: this.cfg.workDir,
        ...(this.cfg.now ? { at: this.cfg.now() } : {}),
        ...(this.cfg.compareLegacy ? { compareLegacy: this.cfg.compareLegacy } : {}),
        ...(this.cfg.supportedPackageTypes ? { supportedPackageTypes: this.cfg.supportedPackageTypes } : {}),
        ...(this.cfg.maxImageBytes ? { maxImageBytes: this.cfg.maxImageBytes } : {}),
        ...(this.cfg.decryptKey ? { decryptKey: this.cfg.decryptKey } : {}),
      });
      name = verified.identifier.name;
      await rm(pkg, { force: true });
      const n = verified.identifier.name;
      const hook = await runHook(this.cfg.hook, [verified.imagePath, n.toString()], {
        ENROLLD_FW_IMAGE: verified.imagePath,
        ENROLLD_FW_IMAGE_SIZE: String(verified.imageSize),
        ENROLLD_FW_IMAGE_SHA256: verified.imageSha256,
        ENROLLD_FW_NAME: n.toString(),
        ...(n.preferred ? { ENROLLD_FW_PKG_ID: n.preferred.fwPkgID, ENROLLD_FW_VERSION: n.preferred.verNum.toString() } : { ENROLLD_FW_LEGACY_NAME: Buffer.from(n.legacy!).toString('hex') }),
        ...(verified.packageInfo?.fwPkgType !== undefined ? { ENROLLD_FW_PKG_TYPE: verified.packageInfo.fwPkgType.toString() } : {}),
        ENROLLD_FW_HW_TYPE: this.cfg.device.hwType,
        ENROLLD_FW_SIGNER: verified.signerSubject,
      }, signal);
      if (!hook.ok) {
        log?.error('firmware.hook.failed', { name: n.toString(), exitCode: hook.exitCode, signal: hook.signal, timedOut: hook.timedOut, stderr: hook.stderr.slice(-512), spawnError: hook.spawnError });
        throw new FirmwareLoadFailure('otherError', hook.timedOut ? `apply hook timed out after ${this.cfg.hook.timeoutMs ?? 600_000} ms and was killed` : `apply hook failed (${hook.spawnError ?? (hook.signal ? `signal ${hook.signal}` : `exit ${hook.exitCode}`)})`, {
          code: hook.timedOut ? 'firmware.hook_timeout' : 'firmware.hook_failed',
          vendorErrorCode: hook.timedOut ? VendorErrorCode.hookTimeout : VendorErrorCode.hookFailed,
          fwPkgName: n,
        });
      }
      // The hook installed the image in the inactive slot: record pending-reboot (one atomic write), then the receipt.
      crashpoint('firmware.after-apply');
      await saveState(
        this.stateDir,
        withApplied(state, verified.identifier, {
          imageSha256: verified.imageSha256,
          at: (this.cfg.now ?? (() => new Date()))().toISOString(),
          ...(verified.packageInfo?.fwPkgType !== undefined ? { fwPkgType: verified.packageInfo.fwPkgType.toString() } : {}),
        }),
      );
      log?.info('firmware.applied', { name: n.toString(), status: 'pending-reboot', imageSha256: verified.imageSha256, ms: hook.durationMs });
      await this.outbox.add('receipt', await buildReceipt(n, verified.trustAnchorKeyId, await this.reportOptions(), verified.decryptKeyId), n.toString());
      return { status: 'applied', name: n, verified, download: { bytes: dl.bytes, sha256: dl.sha256, resumedFrom: dl.resumedFrom } };
    } catch (e) {
      const f =
        e instanceof FirmwareLoadFailure
          ? e
          : new FirmwareLoadFailure('otherError', `internal error: ${(e as Error).message}`, { code: 'firmware.internal', vendorErrorCode: VendorErrorCode.internal, cause: e });
      const pkgName = f.fwPkgName ?? name;
      log?.warn('firmware.rejected', { url, code: f.code, rfcCode: f.rfcCode, name: pkgName?.toString(), error: f.message });
      await this.outbox.add('error', await buildLoadError(f.rfcCode, f.vendorErrorCode, pkgName, await this.state(), await this.reportOptions()), `${pkgName?.toString() ?? '?'} ${f.rfcCode}`);
      return { status: 'rejected', code: f.code, rfcCode: f.rfcCode, message: f.message, ...(pkgName ? { name: pkgName } : {}) };
    } finally {
      // Keep a .part for resume; drop everything else from this attempt.
      await rm(pkg, { force: true });
      await rm(this.files.content, { force: true });
      await rm(this.files.image, { force: true });
      await unlock();
    }
  }

  /** POSTs every queued receipt/error to `url` (or the configured / derived return URL). */
  async returnReports(url?: string, signal?: AbortSignal): Promise<PostResult> {
    const target = url ?? this.cfg.returnUrl ?? (this.lastPackageUrl ? returnUrlFor(this.lastPackageUrl) : undefined);
    if (!target) throw new FirmwareConfigError('no /firmware/return URL: the 0027 entry has no URI and none is configured');
    const r = await postOutbox(this.outbox, this.cfg.transport, target, { ...(this.cfg.returnBase64 ? { base64: true } : {}), ...(signal ? { signal } : {}) });
    for (const s of r.sent) this.cfg.log?.info('firmware.return.sent', { kind: s.kind, summary: s.summary });
    for (const f of r.failed) this.cfg.log?.warn('firmware.return.failed', { kind: f.item.kind, status: f.status, error: f.error });
    return r;
  }

  /** The PackageHandler for 0026 and 0027. */
  handler(): PackageHandler {
    return {
      types: [FIRMWARE_PACKAGE_TYPE, FIRMWARE_RETURN_TYPE],
      handle: (entry: PalEntry, ctx: HandlerContext): Promise<HandlerResult> => this.handle(entry, ctx.signal),
    };
  }

  private async handle(entry: PalEntry, signal: AbortSignal | undefined): Promise<HandlerResult> {
    if (entry.type === FIRMWARE_PACKAGE_TYPE) {
      if (entry.info.kind !== 'uri') return { status: 'failed', code: 'firmware.pal_entry', message: 'a 0026 entry must carry the package URI (info.uri)' };
      const r = await this.processPackage(entry.info.uri, entry.size, signal);
      if (r.status === 'applied') return { status: 'ok', detail: `${r.name.toString()} pending-reboot` };
      return { status: 'failed', code: r.code, message: r.message };
    }
    if (entry.type === FIRMWARE_RETURN_TYPE) {
      const r = await this.returnReports(entry.info.kind === 'uri' ? entry.info.uri : undefined, signal);
      if (r.failed.length) return { status: 'failed', code: 'firmware.return', message: r.failed.map((f) => f.error).join('; ') };
      return { status: 'ok', detail: `${r.sent.length} report(s) returned` };
    }
    return { status: 'failed', code: 'firmware.pal_entry', message: `type ${entry.type} is not a firmware type` };
  }

  /** True when a partially downloaded package is waiting to be resumed. */
  async hasPartialDownload(): Promise<boolean> {
    return stat(this.files.packagePart).then(
      () => true,
      () => false,
    );
  }
}
