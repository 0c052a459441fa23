// RFC 4108 §2.2.5 decrypt-key-identifier signed attribute: names the symmetric key that decrypts an encrypted package (no structure imposed).
//   DecryptKeyIdentifier ::= OCTET STRING
import * as asn1js from 'asn1js';
import { type AsnNode, type Bytes, encodeNode, hex, parseDer, readOctets } from './der.js';
import { OID_AA_DECRYPT_KEY_ID } from './firmware-oids.js';

export class DecryptKeyIdentifier {
  static readonly CLASS_NAME = 'DecryptKeyIdentifier';
  static readonly ATTRIBUTE_OID = OID_AA_DECRYPT_KEY_ID;
  value: Uint8Array;

  constructor(params: { schema: AsnNode } | { value: Uint8Array }) {
    this.value = 'schema' in params ? new Uint8Array() : new Uint8Array(params.value);
    if ('schema' in params) this.fromSchema(params.schema);
  }

  static schema(parameters: { names?: { blockName?: string } } = {}): asn1js.OctetString {
    return new asn1js.OctetString({ name: parameters.names?.blockName ?? '' });
  }

  fromSchema(schema: AsnNode, path = DecryptKeyIdentifier.CLASS_NAME): void {
    this.value = readOctets(schema, path);
  }

  toSchema(): asn1js.OctetString {
    return new asn1js.OctetString({ valueHex: this.value });
  }

  toJSON(): { value: string } {
    return { value: hex(this.value) };
  }

  static fromNode(node: AsnNode, path?: string): DecryptKeyIdentifier {
    const o = new DecryptKeyIdentifier({ value: new Uint8Array() });
    o.fromSchema(node, path);
    return o;
  }

  static fromBER(bytes: Bytes): DecryptKeyIdentifier {
    return DecryptKeyIdentifier.fromNode(parseDer(bytes, DecryptKeyIdentifier.CLASS_NAME));
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
