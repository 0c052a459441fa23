// SEQUENCE OF OBJECT IDENTIFIER, the syntax RFC 4108 uses for three signed attributes (§2.2.4, §2.2.6, §2.2.7):
// TargetHardwareIdentifiers, ImplementedCryptoAlgorithms, ImplementedCompressAlgorithms. Each of those files is a
// thin named subclass of this base.
import * as asn1js from 'asn1js';
import { type AsnNode, checkOid, encodeNode, readOid, seqChildren } from './der.js';

export abstract class FirmwareOidList {
  oids: string[];

  constructor(params: { schema: AsnNode } | { oids: readonly string[] }) {
    if ('schema' in params) {
      this.oids = [];
      this.fromSchema(params.schema);
    } else {
      params.oids.forEach((o, i) => checkOid(`${this.className()}[${i}]`, o));
      this.oids = [...params.oids];
    }
  }

  /** Name used in error paths. */
  abstract className(): string;

  static schema(parameters: { names?: { blockName?: string; oids?: string } } = {}): asn1js.Sequence {
    return new asn1js.Sequence({
      name: parameters.names?.blockName ?? '',
      value: [new asn1js.Repeated({ name: parameters.names?.oids ?? 'oids', value: new asn1js.ObjectIdentifier() })],
    });
  }

  fromSchema(schema: AsnNode, path = this.className()): void {
    this.oids = seqChildren(schema, path).map((k, i) => readOid(k, `${path}[${i}]`));
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
