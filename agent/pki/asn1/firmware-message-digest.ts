// RFC 4108 §2.2.10 firmware-package-message-digest signed attribute (id-aa-fwPkgMessageDigest; the OID and type are
// missing from Appendix A — Errata ID 4093 adds them): the digest of the firmware package before any compression,
// encryption or signing, which the loader MAY check after removing all layers.
//   FirmwarePackageMessageDigest ::= SEQUENCE {
//     algorithm AlgorithmIdentifier,
//     msgDigest OCTET STRING }
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, encodeNode, hex, parseDer, readOctets, seqChildren, verifySchema } from './der.js';
import { OID_AA_FW_PKG_MESSAGE_DIGEST } from './firmware-oids.js';

export interface FirmwarePackageMessageDigestParams {
  algorithm: pkijs.AlgorithmIdentifier | string;
  msgDigest: Uint8Array;
}

export class FirmwarePackageMessageDigest {
  static readonly CLASS_NAME = 'FirmwarePackageMessageDigest';
  static readonly ATTRIBUTE_OID = OID_AA_FW_PKG_MESSAGE_DIGEST;
  algorithm: pkijs.AlgorithmIdentifier;
  msgDigest: Uint8Array;

  constructor(params: FirmwarePackageMessageDigestParams) {
    this.algorithm = typeof params.algorithm === 'string' ? new pkijs.AlgorithmIdentifier({ algorithmId: params.algorithm }) : params.algorithm;
    this.msgDigest = new Uint8Array(params.msgDigest);
  }

  /** Both fields are Any here: their readers check them so a bad one is named `path.algorithm` / `path.msgDigest`. */
  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.Any({ name: 'algorithm' }), new asn1js.Any({ name: 'msgDigest' })] });
  }

  static fromSchema(node: AsnNode, path = FirmwarePackageMessageDigest.CLASS_NAME): FirmwarePackageMessageDigest {
    const kids = seqChildren(node, path);
    if (kids.length !== 2) throw new Asn1DecodeError('bad-value', path, `expected 2 elements, got ${kids.length}`);
    const m = verifySchema(node, FirmwarePackageMessageDigest.schema(), path);
    let algorithm: pkijs.AlgorithmIdentifier;
    try {
      algorithm = new pkijs.AlgorithmIdentifier({ schema: m.algorithm });
    } catch (cause) {
      throw new Asn1DecodeError('bad-value', `${path}.algorithm`, 'not an AlgorithmIdentifier', { cause });
    }
    return new FirmwarePackageMessageDigest({ algorithm, msgDigest: readOctets(m.msgDigest, `${path}.msgDigest`) });
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [this.algorithm.toSchema(), new asn1js.OctetString({ valueHex: this.msgDigest })] });
  }

  toJSON(): { algorithm: string; msgDigest: string } {
    return { algorithm: this.algorithm.algorithmId, msgDigest: hex(this.msgDigest) };
  }

  /** Same as fromSchema (the name the package verifiers use). */
  static fromNode(node: AsnNode, path?: string): FirmwarePackageMessageDigest {
    return FirmwarePackageMessageDigest.fromSchema(node, path);
  }

  static fromBER(bytes: Bytes): FirmwarePackageMessageDigest {
    return FirmwarePackageMessageDigest.fromSchema(parseDer(bytes, FirmwarePackageMessageDigest.CLASS_NAME));
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
