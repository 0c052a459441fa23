// RFC 4108 §2.2.5 decrypt-key-identifier signed attribute: names the symmetric key that decrypts an encrypted package (no structure imposed).
//   DecryptKeyIdentifier ::= OCTET STRING
import * as asn1js from 'asn1js';
import { type AsnNode, type Bytes, encodeNode, hex, parseDer, readOctets, verifySchema } from './der.js';
import { OID_AA_DECRYPT_KEY_ID } from './firmware-oids.js';

export interface DecryptKeyIdentifierParams {
  value: Uint8Array;
}

export class DecryptKeyIdentifier {
  static readonly CLASS_NAME = 'DecryptKeyIdentifier';
  static readonly ATTRIBUTE_OID = OID_AA_DECRYPT_KEY_ID;
  value: Uint8Array;

  constructor(params: DecryptKeyIdentifierParams) {
    this.value = new Uint8Array(params.value);
  }

  static schema(): asn1js.OctetString {
    return new asn1js.OctetString({ name: 'value' });
  }

  static fromSchema(node: AsnNode, path = DecryptKeyIdentifier.CLASS_NAME): DecryptKeyIdentifier {
    const m = verifySchema(node, DecryptKeyIdentifier.schema(), path);
    return new DecryptKeyIdentifier({ value: readOctets(m.value, path) });
  }

  toSchema(): asn1js.OctetString {
    return new asn1js.OctetString({ valueHex: this.value });
  }

  toJSON(): { value: string } {
    return { value: hex(this.value) };
  }

  /** Same as fromSchema (the name the package verifiers use). */
  static fromNode(node: AsnNode, path?: string): DecryptKeyIdentifier {
    return DecryptKeyIdentifier.fromSchema(node, path);
  }

  static fromBER(bytes: Bytes): DecryptKeyIdentifier {
    return DecryptKeyIdentifier.fromSchema(parseDer(bytes, DecryptKeyIdentifier.CLASS_NAME));
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
