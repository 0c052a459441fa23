// Helpers the package handlers share: the entry's URI resolved against the EST server (origin and path checks in
// protocols/est/package-uri.ts), an EST client for the URI's label, and matching the dn / ski / iasn forms of
// info (RFC 8295 §2.1: they name "the certificate that is the subject of the notification") to the credential.
import type * as pkijs from 'pkijs';
import { findExtension } from '../pki/cert.js';
import { buildName } from '../pki/name.js';
import type { PalEntry } from '../pal/model.js';
import type { HandlerResult } from '../pal/dispatch.js';
import type { EstClient } from '../protocols/est/client.js';
import { resolvePackageUri, type ResolvedPackageUri } from '../protocols/est/package-uri.js';
import { EnrolldError } from '../util/errors.js';
import type { PackageContext } from './context.js';

/** A handler failure with a stable code (thrown; the dispatcher records code and message). */
export class PackageError extends EnrolldError {
  constructor(
    code: string,
    message: string,
    readonly fatal = false,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

export const failed = (code: string, message: string, fatal = false): HandlerResult => ({ status: 'failed', code, message, ...(fatal ? { fatal } : {}) });

/** The entry's URI (undefined for dn/ski/iasn entries), checked to name one of `operations` on our server. */
export function entryUri(entry: PalEntry, s: PackageContext, operations: readonly string[]): ResolvedPackageUri | undefined {
  if (entry.info.kind !== 'uri') return undefined;
  return resolvePackageUri(s.est.ctx, entry.info.uri, operations, s.policy.allowedOrigins ? { allowedOrigins: s.policy.allowedOrigins } : {});
}

/** The EST client for the label a resolved URI carries (same server and transport). */
export function clientFor(s: PackageContext, resolved: ResolvedPackageUri | undefined): EstClient {
  if (!resolved || resolved.label === s.est.ctx.label) return s.est;
  return s.est.withLabel(resolved.label);
}

function sameName(dn: string, name: pkijs.RelativeDistinguishedNames): boolean {
  try {
    return buildName(dn).isEqual(name);
  } catch {
    return false;
  }
}

const OID_SUBJECT_KEY_IDENTIFIER = '2.5.29.14';

/** Hex SKI of a certificate (the OCTET STRING inside the extension), lower case. */
export function subjectKeyIdentifierHex(cert: pkijs.Certificate): string | undefined {
  const ext = findExtension(cert.extensions, OID_SUBJECT_KEY_IDENTIFIER);
  const v = ext?.parsedValue as { valueBlock?: { valueHexView?: Uint8Array } } | undefined;
  const bytes = v?.valueBlock?.valueHexView;
  return bytes ? Buffer.from(bytes).toString('hex') : undefined;
}

export function serialOf(cert: pkijs.Certificate): bigint {
  const hex = Buffer.from(cert.serialNumber.valueBlock.valueHexView).toString('hex');
  return BigInt(`0x${hex || '0'}`);
}

/**
 * Does a dn / ski / iasn info name `cert`? (uri infos name a location, not a certificate: undefined.)
 * DN comparison is pkijs's RFC 5280 §7.1 name matching of the parsed RFC 4514 string.
 */
export function infoNamesCertificate(info: PalEntry['info'], cert: pkijs.Certificate): boolean | undefined {
  switch (info.kind) {
    case 'uri':
      return undefined;
    case 'dn':
      return sameName(info.dn, cert.subject);
    case 'ski':
      return subjectKeyIdentifierHex(cert) === info.ski.toLowerCase();
    case 'iasn':
      return sameName(info.issuer, cert.issuer) && serialOf(cert) === info.serial;
  }
}
