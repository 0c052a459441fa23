// RFC 4108 §2.1.5 FirmwarePkgData, the content type (id-ct-firmwarePackage) that carries the firmware image itself.
// "A straightforward encapsulation in an octet string" that "need not be DER encoded": in a SignedData or
// CompressedData the eContent OCTET STRING is the FirmwarePkgData, so its octets are the image (as id-data's Data,
// RFC 5652 §4; §2.2.2 digests "the encapContentInfo eContent octet string [which] contains the firmware package").
// This class encodes the type as a DER value of its own (small packages, tests); large images are never decoded
// through it (see cms-signed-data-stream.ts).
//   FirmwarePkgData ::= OCTET STRING
import * as asn1js from 'asn1js';
import { type AsnNode, type Bytes, encodeNode, hex, parseDer, readOctets, verifySchema } from './der.js';
import { OID_CT_FIRMWARE_PACKAGE } from './firmware-oids.js';

export interface FirmwarePkgDataParams {
  value: Uint8Array;
}

export class FirmwarePkgData {
  static readonly CLASS_NAME = 'FirmwarePkgData';
  static readonly CONTENT_TYPE_OID = OID_CT_FIRMWARE_PACKAGE;
  value: Uint8Array;

  constructor(params: FirmwarePkgDataParams) {
    this.value = new Uint8Array(params.value);
  }

  static schema(): asn1js.OctetString {
    return new asn1js.OctetString({ name: 'value' });
  }

  static fromSchema(node: AsnNode, path = FirmwarePkgData.CLASS_NAME): FirmwarePkgData {
    const m = verifySchema(node, FirmwarePkgData.schema(), path);
    return new FirmwarePkgData({ value: readOctets(m.value, path) });
  }

  toSchema(): asn1js.OctetString {
    return new asn1js.OctetString({ valueHex: this.value });
  }

  toJSON(): { value: string } {
    return { value: hex(this.value) };
  }

  /** Same as fromSchema (the name the package verifiers use). */
  static fromNode(node: AsnNode, path?: string): FirmwarePkgData {
    return FirmwarePkgData.fromSchema(node, path);
  }

  static fromBER(bytes: Bytes): FirmwarePkgData {
    return FirmwarePkgData.fromSchema(parseDer(bytes, FirmwarePkgData.CLASS_NAME));
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
