// RFC 4108 §2.2.4 target-hardware-module-identifiers: the hardware module types (model + revision OIDs) the package supports. The loader MUST reject the package when its own type is not listed.
//   TargetHardwareIdentifiers ::= SEQUENCE OF OBJECT IDENTIFIER
import { type AsnNode, type Bytes, parseDer } from './der.js';
import { FirmwareOidList } from './firmware-oid-list.js';
import { OID_AA_TARGET_HARDWARE_IDS } from './firmware-oids.js';

export class TargetHardwareIdentifiers extends FirmwareOidList {
  static readonly CLASS_NAME = 'TargetHardwareIdentifiers';
  static readonly ATTRIBUTE_OID = OID_AA_TARGET_HARDWARE_IDS;
  className(): string {
    return TargetHardwareIdentifiers.CLASS_NAME;
  }
  static fromSchema(node: AsnNode, path = TargetHardwareIdentifiers.CLASS_NAME): TargetHardwareIdentifiers {
    return new TargetHardwareIdentifiers({ oids: FirmwareOidList.readOidList(node, path) });
  }
  /** Same as fromSchema (the name the package verifiers use). */
  static fromNode(node: AsnNode, path?: string): TargetHardwareIdentifiers {
    return TargetHardwareIdentifiers.fromSchema(node, path);
  }
  static fromBER(bytes: Bytes): TargetHardwareIdentifiers {
    return TargetHardwareIdentifiers.fromSchema(parseDer(bytes, TargetHardwareIdentifiers.CLASS_NAME));
  }
}
