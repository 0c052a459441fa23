// RFC 4108 §2.2.3 (Appendix A) firmware package names, shared by the firmware-package-identifier attribute, the
// firmware-package-info dependencies, the load receipt and the load error:
//   PreferredOrLegacyPackageIdentifier ::= CHOICE {
//     preferred PreferredPackageIdentifier,
//     legacy OCTET STRING }
//   PreferredPackageIdentifier ::= SEQUENCE {
//     fwPkgID OBJECT IDENTIFIER,
//     verNum INTEGER (0..MAX) }
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { checkNonNegative, firmwarePackageNameText, type FirmwarePackageNameJson } from './firmware-package-name-json.js';
import { type AsnNode, type Bytes, Tag, checkOid, encodeNode, hex, isUniversal, parseDer, readBigInt, readOctets, readOid, seqChildren, verifySchema } from './der.js';

export type FirmwarePackageNameFields =
  /** Preferred form: package OID + monotonically increasing non-negative version. */
  | { preferred: { fwPkgID: string; verNum: bigint | number } }
  /** Legacy form: an opaque octet string whose ordering only the signer and the loader understand. */
  | { legacy: Uint8Array };

// the JSON form and the checks that need no ASN.1 stack (the firmware state reads them without it)
export { checkNonNegative, type FirmwarePackageNameJson } from './firmware-package-name-json.js';

export function readNonNegative(node: AsnNode | undefined, path: string): bigint {
  const v = readBigInt(node, path);
  if (v < 0n) throw new Asn1DecodeError('constraint', path, `${v} outside 0..MAX`);
  return v;
}

export class PreferredOrLegacyPackageIdentifier {
  static readonly CLASS_NAME = 'PreferredOrLegacyPackageIdentifier';
  preferred?: { fwPkgID: string; verNum: bigint };
  legacy?: Uint8Array;

  constructor(params: FirmwarePackageNameFields) {
    if ('preferred' in params) {
      checkOid('PreferredPackageIdentifier.fwPkgID', params.preferred.fwPkgID);
      this.preferred = { fwPkgID: params.preferred.fwPkgID, verNum: checkNonNegative('PreferredPackageIdentifier.verNum', params.preferred.verNum) };
    } else if ('legacy' in params && params.legacy instanceof Uint8Array) {
      this.legacy = new Uint8Array(params.legacy);
    } else throw new Asn1EncodeError('PreferredOrLegacyPackageIdentifier needs preferred or legacy');
  }

  /** The preferred fields are Any here: their readers check them so a bad one is named `path.preferred.fwPkgID` / `.verNum`. */
  static schema(): asn1js.Choice {
    return new asn1js.Choice({
      value: [
        new asn1js.Sequence({ name: 'preferred', value: [new asn1js.Any({ name: 'fwPkgID' }), new asn1js.Any({ name: 'verNum' })] }),
        new asn1js.OctetString({ name: 'legacy' }),
      ],
    });
  }

  static fromSchema(node: AsnNode, path = PreferredOrLegacyPackageIdentifier.CLASS_NAME): PreferredOrLegacyPackageIdentifier {
    if (isUniversal(node, Tag.OCTET_STRING)) {
      const m = verifySchema(node, PreferredOrLegacyPackageIdentifier.schema() as unknown as AsnNode, path);
      return new PreferredOrLegacyPackageIdentifier({ legacy: readOctets(m.legacy, `${path}.legacy`) });
    }
    const kids = seqChildren(node, `${path}.preferred`);
    if (kids.length !== 2) throw new Asn1DecodeError(kids.length < 2 ? 'missing-field' : 'extra-field', `${path}.preferred`, `expected 2 elements, got ${kids.length}`);
    const m = verifySchema(node, PreferredOrLegacyPackageIdentifier.schema() as unknown as AsnNode, path);
    return new PreferredOrLegacyPackageIdentifier({ preferred: { fwPkgID: readOid(m.fwPkgID, `${path}.preferred.fwPkgID`), verNum: readNonNegative(m.verNum, `${path}.preferred.verNum`) } });
  }

  toSchema(): AsnNode {
    if (this.preferred) {
      return new asn1js.Sequence({
        value: [new asn1js.ObjectIdentifier({ value: this.preferred.fwPkgID }), asn1js.Integer.fromBigInt(this.preferred.verNum)],
      });
    }
    if (this.legacy) return new asn1js.OctetString({ valueHex: this.legacy });
    throw new Asn1EncodeError('PreferredOrLegacyPackageIdentifier is empty');
  }

  /** Stable text form for logs and state: "oid#version" (preferred) or "legacy:<hex>". */
  toString(): string {
    return firmwarePackageNameText(this);
  }

  toJSON(): FirmwarePackageNameJson {
    return this.preferred
      ? { preferred: { fwPkgID: this.preferred.fwPkgID, verNum: this.preferred.verNum.toString() } }
      : { legacy: hex(this.legacy ?? new Uint8Array()) };
  }

  static fromJSON(j: FirmwarePackageNameJson): PreferredOrLegacyPackageIdentifier {
    return 'preferred' in j
      ? new PreferredOrLegacyPackageIdentifier({ preferred: { fwPkgID: j.preferred.fwPkgID, verNum: BigInt(j.preferred.verNum) } })
      : new PreferredOrLegacyPackageIdentifier({ legacy: new Uint8Array(Buffer.from(j.legacy, 'hex')) });
  }

  equals(other: PreferredOrLegacyPackageIdentifier): boolean {
    return this.toString() === other.toString();
  }

  /** Same as fromSchema (the name the package verifiers use). */
  static fromNode(node: AsnNode, path?: string): PreferredOrLegacyPackageIdentifier {
    return PreferredOrLegacyPackageIdentifier.fromSchema(node, path);
  }

  static fromBER(bytes: Bytes): PreferredOrLegacyPackageIdentifier {
    return PreferredOrLegacyPackageIdentifier.fromSchema(parseDer(bytes, PreferredOrLegacyPackageIdentifier.CLASS_NAME));
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
