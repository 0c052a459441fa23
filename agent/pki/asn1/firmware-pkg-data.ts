// RFC 4108 §2.1.5 FirmwarePkgData, the content type (id-ct-firmwarePackage) that carries the firmware image itself. It need not be DER encoded as a whole, but it is a plain OCTET STRING; large images are never decoded through this class (see cms-signed-data-stream.ts), it is for small packages and tests.
//   FirmwarePkgData ::= OCTET STRING
import * as asn1js from 'asn1js';
import { type AsnNode, type Bytes, encodeNode, hex, parseDer, readOctets } from './der.js';
import { OID_CT_FIRMWARE_PACKAGE } from './firmware-oids.js';

export class FirmwarePkgData {
  static readonly CLASS_NAME = 'FirmwarePkgData';
  static readonly CONTENT_TYPE_OID = OID_CT_FIRMWARE_PACKAGE;
  value: Uint8Array;

  constructor(params: { schema: AsnNode } | { value: Uint8Array }) {
    this.value = 'schema' in params ? new Uint8Array() : new Uint8Array(params.value);
    if ('schema' in params) this.fromSchema(params.schema);
  }

  static schema(parameters: { names?: { blockName?: string } } = {}): asn1js.OctetString {
    return new asn1js.OctetString({ name: parameters.names?.blockName ?? '' });
  }

  fromSchema(schema: AsnNode, path = FirmwarePkgData.CLASS_NAME): void {
    this.value = readOctets(schema, path);
  }

  toSchema(): asn1js.OctetString {
    return new asn1js.OctetString({ valueHex: this.value });
  }

  toJSON(): { value: string } {
    return { value: hex(this.value) };
  }

  static fromNode(node: AsnNode, path?: string): FirmwarePkgData {
    const o = new FirmwarePkgData({ value: new Uint8Array() });
    o.fromSchema(node, path);
    return o;
  }

  static fromBER(bytes: Bytes): FirmwarePkgData {
    return FirmwarePkgData.fromNode(parseDer(bytes, FirmwarePkgData.CLASS_NAME));
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
