// Persisted firmware state (RFC 4108 §1.2.3.1/§1.2.3.2 "non-volatile storage"): the installed package name, the one
// applied by the A/B hook and waiting for a reboot, and the stale-version list. One DocumentStore file (checksummed,
// previous-good copy, atomic, 0600): a power cut leaves either the old or the new state, and a torn or damaged file
// falls back to the previous good copy — never to an empty state, which would re-admit a downgrade.
//
// Stale / downgrade rules enforced by checkStale():
//  - preferred names: a package with the same fwPkgID as the installed or pending package must have a strictly
//    greater verNum (no downgrade, no re-install of the same version); a package whose fwPkgID is on the stale list
//    with verNum <= the stale version number is refused (§1.2.3.2);
//  - legacy names: the same with a configurable ordering (§1.2.2: "we assume that the firmware signer and the
//    bootstrap loader will be able to determine which one represents the newer version"), default compareLegacyNames;
//  - a package of a different fwPkgID (or the other name form) than the installed one is not comparable and is
//    allowed (it replaces a different package line).
// After a successful apply, withApplied() stores the new name as pending-reboot and adds its stale designation to
// the list (bounded: the oldest entries are dropped, the limitation §6.3 describes).
import { writeFileAtomic } from '../../store/atomic-file.js';
import { DocumentStore } from '../../store/document-store.js';
import { FIRMWARE_STATE_FILE } from '../../store/layout.js';
import type { FirmwarePackageIdentifier } from '../../pki/asn1/firmware-package-identifier.js';
import { firmwarePackageNameFromJson, firmwarePackageNameText, type FirmwarePackageNameJson } from '../../pki/asn1/firmware-package-name-json.js';

export { FIRMWARE_STATE_FILE };
export const MAX_STALE_ENTRIES = 64;

export interface FirmwareRecord {
  name: FirmwarePackageNameJson;
  fwPkgType?: string;
  imageSha256: string;
  at: string;
}

export type StaleRecord = { fwPkgID: string; staleVerNum: string } | { legacyStaleVersion: string };

export interface FirmwareState {
  version: 1;
  /** The running firmware (after confirmBoot), if known. */
  installed?: FirmwareRecord;
  /** Applied by the hook; the device runs the old firmware until it reboots into this one. */
  pending?: FirmwareRecord & { status: 'pending-reboot' };
  stale: StaleRecord[];
}

export const emptyState = (): FirmwareState => ({ version: 1, stale: [] });

const isFirmwareState = (s: unknown): s is FirmwareState =>
  typeof s === 'object' && s !== null && (s as FirmwareState).version === 1 && Array.isArray((s as FirmwareState).stale);

/** The firmware state document of a work directory (the version-1 bare JSON of earlier releases is converted once). */
export function firmwareStateStore(dir: string): DocumentStore<FirmwareState> {
  return new DocumentStore<FirmwareState>({ dir, name: FIRMWARE_STATE_FILE, kind: 'enrolld-firmware-state', version: 1, validate: isFirmwareState, legacy: (j) => (isFirmwareState(j) ? j : undefined) });
}

/** The persisted state (empty when none was ever saved); both copies unusable → StateCorruptError. */
export async function loadState(dir: string): Promise<FirmwareState> {
  return (await firmwareStateStore(dir).load()) ?? emptyState();
}

/** Writes `data` to `file` atomically and durably (the store's one implementation: temp, fsync, rename, dir fsync). */
export async function atomicWriteFile(file: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  await writeFileAtomic(file, data, { mode });
}

export async function saveState(dir: string, state: FirmwareState): Promise<void> {
  await firmwareStateStore(dir).save(state);
}

/**
 * Default ordering of legacy names: when both are printable dotted/dashed numeric versions ("1.2.10", "R12-3") the
 * numeric components compare in order; otherwise unsigned big-endian byte comparison (shorter = older).
 */
export function compareLegacyNames(a: Uint8Array, b: Uint8Array): number {
  const ascii = (x: Uint8Array): string | undefined => (x.every((c) => c >= 0x20 && c < 0x7f) ? Buffer.from(x).toString('latin1') : undefined);
  const sa = ascii(a);
  const sb = ascii(b);
  // Same shape (non-digit parts equal): compare the numeric components in order.
  if (sa !== undefined && sb !== undefined && sa.replace(/\d+/g, '0') === sb.replace(/\d+/g, '0') && /\d/.test(sa)) {
    const na = sa.match(/\d+/g)!.map((d) => BigInt(d));
    const nb = sb.match(/\d+/g)!.map((d) => BigInt(d));
    for (let i = 0; i < na.length; i++) if (na[i] !== nb[i]) return na[i]! < nb[i]! ? -1 : 1;
    return 0;
  }
  if (a.length !== b.length) return a.length - b.length;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export type LegacyCompare = (a: Uint8Array, b: Uint8Array) => number;

/** Returns a reason string when the package is stale / a downgrade, undefined when it may be loaded. */
export function checkStale(state: FirmwareState, id: FirmwarePackageIdentifier, compareLegacy: LegacyCompare = compareLegacyNames): string | undefined {
  const known = [state.installed, state.pending].filter((r): r is FirmwareRecord => r !== undefined).map((r) => firmwarePackageNameFromJson(r.name));
  const name = id.name;
  for (const k of known) {
    if (name.preferred && k.preferred && k.preferred.fwPkgID === name.preferred.fwPkgID && name.preferred.verNum <= k.preferred.verNum) {
      return `version ${name.preferred.verNum} of ${name.preferred.fwPkgID} is not newer than the installed/pending version ${k.preferred.verNum}`;
    }
    if (name.legacy && k.legacy && compareLegacy(name.legacy, k.legacy) <= 0) return `legacy package ${name.toString()} is not newer than ${firmwarePackageNameText(k)}`;
  }
  for (const s of state.stale) {
    if (name.preferred && 'fwPkgID' in s && s.fwPkgID === name.preferred.fwPkgID && name.preferred.verNum <= BigInt(s.staleVerNum)) {
      return `version ${name.preferred.verNum} of ${s.fwPkgID} is at or below the stale version ${s.staleVerNum}`;
    }
    if (name.legacy && 'legacyStaleVersion' in s && compareLegacy(name.legacy, new Uint8Array(Buffer.from(s.legacyStaleVersion, 'hex'))) <= 0) {
      return `legacy package ${name.toString()} is at or below the stale legacy version ${s.legacyStaleVersion}`;
    }
  }
  return undefined;
}

/** The state after a successful apply (pure; the caller saves it). */
export function withApplied(state: FirmwareState, id: FirmwarePackageIdentifier, rec: Omit<FirmwareRecord, 'name'>): FirmwareState {
  const stale = [...state.stale];
  if (id.stale) {
    const entry: StaleRecord =
      'preferredStaleVerNum' in id.stale
        ? { fwPkgID: id.name.preferred!.fwPkgID, staleVerNum: id.stale.preferredStaleVerNum.toString() }
        : { legacyStaleVersion: Buffer.from(id.stale.legacyStaleVersion).toString('hex') };
    // One entry per fwPkgID (keep the highest); legacy entries are kept as a list.
    const i = 'fwPkgID' in entry ? stale.findIndex((s) => 'fwPkgID' in s && s.fwPkgID === entry.fwPkgID) : -1;
    if (i >= 0) {
      const old = stale[i] as { staleVerNum: string };
      if (BigInt(old.staleVerNum) < BigInt((entry as { staleVerNum: string }).staleVerNum)) stale[i] = entry;
    } else stale.push(entry);
    while (stale.length > MAX_STALE_ENTRIES) stale.shift();
  }
  return { ...state, pending: { name: id.name.toJSON(), ...rec, status: 'pending-reboot' }, stale };
}

/** After the device booted the pending image: it becomes the installed one. */
export function withBootConfirmed(state: FirmwareState): FirmwareState {
  if (!state.pending) return state;
  const { status: _status, ...rec } = state.pending;
  const next: FirmwareState = { ...state, installed: rec };
  delete next.pending;
  return next;
}
