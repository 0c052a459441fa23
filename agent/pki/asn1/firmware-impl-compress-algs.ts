// RFC 4108 §2.2.7 implemented-compress-algorithms: compression algorithm OIDs the package makes available (MAY be present).
//   ImplementedCompressAlgorithms ::= SEQUENCE OF OBJECT IDENTIFIER
import { type AsnNode, type Bytes, parseDer } from './der.js';
import { FirmwareOidList } from './firmware-oid-list.js';
import { OID_AA_IMPL_COMPRESS_ALGS } from './firmware-oids.js';

export class ImplementedCompressAlgorithms extends FirmwareOidList {
  static readonly CLASS_NAME = 'ImplementedCompressAlgorithms';
  static readonly ATTRIBUTE_OID = OID_AA_IMPL_COMPRESS_ALGS;
  className(): string {
    return ImplementedCompressAlgorithms.CLASS_NAME;
  }
  static fromSchema(node: AsnNode, path = ImplementedCompressAlgorithms.CLASS_NAME): ImplementedCompressAlgorithms {
    return new ImplementedCompressAlgorithms({ oids: FirmwareOidList.readOidList(node, path) });
  }
  /** Same as fromSchema (the name the package verifiers use). */
  static fromNode(node: AsnNode, path?: string): ImplementedCompressAlgorithms {
    return ImplementedCompressAlgorithms.fromSchema(node, path);
  }
  static fromBER(bytes: Bytes): ImplementedCompressAlgorithms {
    return ImplementedCompressAlgorithms.fromSchema(parseDer(bytes, ImplementedCompressAlgorithms.CLASS_NAME));
  }
}
