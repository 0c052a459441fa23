// Dotted-decimal OBJECT IDENTIFIER text (X.660), checked without the ASN.1 stack: der.ts re-exports checkOid, and
// the light JSON forms (firmware-package-name-json.ts) use it directly.
import { Asn1EncodeError } from './errors.js';

export function checkOid(name: string, oid: string): void {
  if (typeof oid !== 'string' || !/^[0-2](\.(0|[1-9]\d*))+$/.test(oid)) throw new Asn1EncodeError(`${name} is not a dotted-decimal OID: ${String(oid)}`);
}
