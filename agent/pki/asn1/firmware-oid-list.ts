// SEQUENCE OF OBJECT IDENTIFIER, the syntax RFC 4108 uses for three signed attributes (§2.2.4, §2.2.6, §2.2.7):
// TargetHardwareIdentifiers, ImplementedCryptoAlgorithms, ImplementedCompressAlgorithms. Each of those files is a
// thin named subclass of this base.
import * as asn1js from 'asn1js';
import { type AsnNode, checkOid, encodeNode, readOid, verifySchema } from './der.js';

export interface FirmwareOidListParams {
  oids: readonly string[];
}

export abstract class FirmwareOidList {
  oids: string[];

  constructor(params: FirmwareOidListParams) {
    params.oids.forEach((o, i) => checkOid(`${this.className()}[${i}]`, o));
    this.oids = [...params.oids];
  }

  /** Name used in error paths. */
  abstract className(): string;

  /** SEQUENCE OF OBJECT IDENTIFIER; each element is read by readOid so a bad one is named `path[i]`. */
  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.Repeated({ name: 'oids', optional: true, value: new asn1js.Any() })] });
  }

  /** The parse step the subclasses' fromSchema share. */
  protected static readOidList(node: AsnNode, path: string): string[] {
    const m = verifySchema(node, FirmwareOidList.schema(), path);
    return ((m.oids ?? []) as AsnNode[]).map((k, i) => readOid(k, `${path}[${i}]`));
  }

  includes(oid: string): boolean {
    return this.oids.includes(oid);
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: this.oids.map((o) => new asn1js.ObjectIdentifier({ value: o })) });
  }

  toJSON(): string[] {
    return [...this.oids];
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
