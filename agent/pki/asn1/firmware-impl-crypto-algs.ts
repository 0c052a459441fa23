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
  static fromNode(node: AsnNode, path?: string): ImplementedCryptoAlgorithms {
    const o = new ImplementedCryptoAlgorithms({ oids: [] });
    o.fromSchema(node, path);
    return o;
  }
  static fromBER(bytes: Bytes): ImplementedCryptoAlgorithms {
    const o = new ImplementedCryptoAlgorithms({ oids: [] });
    o.fromSchema(parseDer(bytes, o.className()));
    return o;
  }
}
