// RFC 4108 §2.2.6 implemented-crypto-algorithms: algorithm OIDs (no parameters) the package makes available at the module interface (MAY be present).
//   ImplementedCryptoAlgorithms ::= SEQUENCE OF OBJECT IDENTIFIER
import { type AsnNode, type Bytes, parseDer } from './der.js';
import { FirmwareOidList } from './firmware-oid-list.js';
import { OID_AA_IMPL_CRYPTO_ALGS } from './firmware-oids.js';

export class ImplementedCryptoAlgorithms extends FirmwareOidList {
  static readonly CLASS_NAME = 'ImplementedCryptoAlgorithms';
  static readonly ATTRIBUTE_OID = OID_AA_IMPL_CRYPTO_ALGS;
  className(): string {
    return ImplementedCryptoAlgorithms.CLASS_NAME;
  }
  static fromSchema(node: AsnNode, path = ImplementedCryptoAlgorithms.CLASS_NAME): ImplementedCryptoAlgorithms {
    return new ImplementedCryptoAlgorithms({ oids: FirmwareOidList.readOidList(node, path) });
  }
  /** Same as fromSchema (the name the package verifiers use). */
  static fromNode(node: AsnNode, path?: string): ImplementedCryptoAlgorithms {
    return ImplementedCryptoAlgorithms.fromSchema(node, path);
  }
  static fromBER(bytes: Bytes): ImplementedCryptoAlgorithms {
    return ImplementedCryptoAlgorithms.fromSchema(parseDer(bytes, ImplementedCryptoAlgorithms.CLASS_NAME));
  }
}
