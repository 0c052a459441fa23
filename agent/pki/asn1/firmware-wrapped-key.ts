// RFC 4108 §2.3.1 wrapped-firmware-decryption-key unsigned attribute (id-aa-wrappedFirmwareKey):
//   WrappedFirmwareKey ::= EnvelopedData
// An EnvelopedData WITHOUT encryptedContent (the ciphertext is the EncryptedData eContent) whose recipientInfos carry
// the firmware-decryption key; unprotectedAttrs MUST NOT be present. The EnvelopedData syntax itself is pkijs's.
import * as pkijs from 'pkijs';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, encodeNode, parseDer, verifySchema } from './der.js';
import { OID_AA_WRAPPED_FIRMWARE_KEY } from './firmware-oids.js';

export interface WrappedFirmwareKeyParams {
  envelopedData: pkijs.EnvelopedData;
}

export class WrappedFirmwareKey {
  static readonly CLASS_NAME = 'WrappedFirmwareKey';
  static readonly ATTRIBUTE_OID = OID_AA_WRAPPED_FIRMWARE_KEY;
  envelopedData: pkijs.EnvelopedData;

  constructor(params: WrappedFirmwareKeyParams) {
    this.envelopedData = params.envelopedData;
  }

  static schema(): ReturnType<typeof pkijs.EnvelopedData.schema> {
    return pkijs.EnvelopedData.schema();
  }

  static fromSchema(node: AsnNode, path = WrappedFirmwareKey.CLASS_NAME): WrappedFirmwareKey {
    let env: pkijs.EnvelopedData;
    try {
      verifySchema(node, WrappedFirmwareKey.schema(), path);
      env = new pkijs.EnvelopedData({ schema: node });
    } catch (cause) {
      throw new Asn1DecodeError('bad-value', path, `not an EnvelopedData: ${(cause as Error).message}`, { cause });
    }
    if (env.unprotectedAttrs && env.unprotectedAttrs.length > 0) throw new Asn1DecodeError('constraint', `${path}.unprotectedAttrs`, 'MUST NOT be present (§2.3.1)');
    if (env.encryptedContentInfo.encryptedContent !== undefined) {
      throw new Asn1DecodeError('constraint', `${path}.encryptedContentInfo.encryptedContent`, 'MUST NOT be present (§2.3.1)');
    }
    return new WrappedFirmwareKey({ envelopedData: env });
  }

  toSchema(): AsnNode {
    return this.envelopedData.toSchema();
  }

  toJSON(): unknown {
    return this.envelopedData.toJSON();
  }

  /** Same as fromSchema (the name the package verifiers use). */
  static fromNode(node: AsnNode, path?: string): WrappedFirmwareKey {
    return WrappedFirmwareKey.fromSchema(node, path);
  }

  static fromBER(bytes: Bytes): WrappedFirmwareKey {
    return WrappedFirmwareKey.fromSchema(parseDer(bytes, WrappedFirmwareKey.CLASS_NAME));
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
