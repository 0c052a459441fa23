// The JSON form of RFC 4108 §2.2.3 firmware package names (PreferredOrLegacyPackageIdentifier, firmware-package-
// name.ts) as the firmware state file keeps them, read and compared without the ASN.1 stack: the state, the status
// snapshot and the stale-version check work on these; firmware-package-name.ts re-exports them.
import { checkOid } from './dotted-oid.js';
import { Asn1EncodeError } from './errors.js';

export type FirmwarePackageNameJson = { preferred: { fwPkgID: string; verNum: string } } | { legacy: string };

/** A package name's value: what PreferredOrLegacyPackageIdentifier holds (it is one), without its DER codec. */
export interface FirmwarePackageNameValue {
  preferred?: { fwPkgID: string; verNum: bigint };
  legacy?: Uint8Array;
}

export function checkNonNegative(name: string, v: bigint | number): bigint {
  const b = typeof v === 'bigint' ? v : Number.isSafeInteger(v) ? BigInt(v) : NaN;
  if (typeof b !== 'bigint' || b < 0n) throw new Asn1EncodeError(`${name} must be a non-negative integer (0..MAX), got ${String(v)}`);
  return b;
}

/** The value of a JSON name, with the checks PreferredOrLegacyPackageIdentifier.fromJSON makes. */
export function firmwarePackageNameFromJson(j: FirmwarePackageNameJson): FirmwarePackageNameValue {
  if ('preferred' in j) {
    const verNum = BigInt(j.preferred.verNum);
    checkOid('PreferredPackageIdentifier.fwPkgID', j.preferred.fwPkgID);
    return { preferred: { fwPkgID: j.preferred.fwPkgID, verNum: checkNonNegative('PreferredPackageIdentifier.verNum', verNum) } };
  }
  return { legacy: new Uint8Array(Buffer.from(j.legacy, 'hex')) };
}

/** Stable text form for logs and state (PreferredOrLegacyPackageIdentifier.toString): "oid#version" or "legacy:<hex>". */
export function firmwarePackageNameText(n: FirmwarePackageNameValue): string {
  const l = n.legacy ?? new Uint8Array();
  return n.preferred ? `${n.preferred.fwPkgID}#${n.preferred.verNum}` : `legacy:${Buffer.from(l.buffer, l.byteOffset, l.byteLength).toString('hex')}`;
}
