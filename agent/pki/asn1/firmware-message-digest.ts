// RFC 4108 §2.2.10 firmware-package-message-digest signed attribute (id-aa-fwPkgMessageDigest; the OID and type are
// missing from Appendix A — Errata ID 4093 adds them): the digest of the firmware package before any compression,
// encryption or signing, which the loader MAY check after removing all layers.
//   FirmwarePackageMessageDigest ::= SEQUENCE {
//     algorithm AlgorithmIdentifier,
//     msgDigest OCTET STRING }
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, encodeNode, hex, parseDer, readOctets, seqChildren } from './der.js';
import { OID_AA_FW_PKG_MESSAGE_DIGEST } from './firmware-oids.js';

export class FirmwarePackageMessageDigest {
  static readonly CLASS_NAME = 'FirmwarePackageMessageDigest';
  static readonly ATTRIBUTE_OID = OID_AA_FW_PKG_MESSAGE_DIGEST;
  algorithm: pkijs.AlgorithmIdentifier;
  msgDigest: Uint8Array;

  constructor(params: { schema: AsnNode } | { algorithm: pkijs.AlgorithmIdentifier | string; msgDigest: Uint8Array }) {
    if ('schema' in params) {
      this.algorithm = new pkijs.AlgorithmIdentifier();
      this.msgDigest = new Uint8Array();
      this.fromSchema(params.schema);
    } else {
      this.algorithm = typeof params.algorithm === 'string' ? new pkijs.AlgorithmIdentifier({ algorithmId: params.algorithm }) : params.algorithm;
      this.msgDigest = new Uint8Array(params.msgDigest);
    }
  }

  static schema(parameters: { names?: { blockName?: string } } = {}): asn1js.Sequence {
    return new asn1js.Sequence({ name: parameters.names?.blockName ?? '', value: [pkijs.AlgorithmIdentifier.schema(), new asn1js.OctetString()] });
  }

  fromSchema(schema: AsnNode, path = FirmwarePackageMessageDigest.CLASS_NAME): void {
    const kids = seqChildren(schema, path);
    if (kids.length !== 2) throw new Asn1DecodeError('bad-value', path, `expected 2 elements, got ${kids.length}`);
    try {
      this.algorithm = new pkijs.AlgorithmIdentifier({ schema: kids[0] });
    } catch (cause) {
      throw new Asn1DecodeError('bad-value', `${path}.algorithm`, 'not an AlgorithmIdentifier', { cause });
    }
    this.msgDigest = readOctets(kids[1], `${path}.msgDigest`);
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [this.algorithm.toSchema(), new asn1js.OctetString({ valueHex: this.msgDigest })] });
  }

  toJSON(): { algorithm: string; msgDigest: string } {
    return { algorithm: this.algorithm.algorithmId, msgDigest: hex(this.msgDigest) };
  }

  static fromNode(node: AsnNode, path?: string): FirmwarePackageMessageDigest {
    const f = new FirmwarePackageMessageDigest({ algorithm: '1.1', msgDigest: new Uint8Array() });
    f.fromSchema(node, path);
    return f;
  }

  static fromBER(bytes: Bytes): FirmwarePackageMessageDigest {
    return FirmwarePackageMessageDigest.fromNode(parseDer(bytes, FirmwarePackageMessageDigest.CLASS_NAME));
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
