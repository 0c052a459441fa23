// ExtensionTemplate, RFC 9908 §3.4 (module CsrAttrs-2023): an X.509 Extension whose value the client may have to
// fill in.
//   ExtensionTemplate {EXTENSION:ExtensionSet} ::= SEQUENCE {
//      extnID      EXTENSION.&id({ExtensionSet}),
//      critical    BOOLEAN DEFAULT FALSE,
//      extnValue   OCTET STRING (CONTAINING ...) OPTIONAL }
//   ExtensionTemplates ::= SEQUENCE SIZE (1..MAX) OF ExtensionTemplate   -- value of id-aa-extensionReqTemplate
// An absent extnValue means "the client provides the value"; a present one is to be copied into the request.
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, Tag, checkOid, encodeNode, isUniversal, parseDer, readOctets, readOid, seqChildren, toArrayBuffer } from './der.js';

export interface ExtensionTemplateJson {
  extnID: string;
  critical: boolean;
  extnValue?: string;
}

export class ExtensionTemplate {
  static readonly CLASS_NAME = 'ExtensionTemplate';
  extnID = '';
  critical = false;
  extnValue?: Uint8Array;

  constructor(params: { schema: AsnNode; path?: string } | { extnID: string; critical?: boolean; extnValue?: Uint8Array } = { extnID: '2.5.29.17' }) {
    if ('schema' in params) {
      this.fromSchema(params.schema, params.path);
    } else {
      checkOid('ExtensionTemplate.extnID', params.extnID);
      this.extnID = params.extnID;
      this.critical = params.critical ?? false;
      if (params.extnValue !== undefined) this.extnValue = params.extnValue;
    }
  }

  static schema(parameters: { names?: { blockName?: string } } = {}): asn1js.Sequence {
    return new asn1js.Sequence({
      name: parameters.names?.blockName ?? '',
      value: [
        new asn1js.ObjectIdentifier({ name: 'extnID' }),
        new asn1js.Boolean({ name: 'critical', optional: true }),
        new asn1js.OctetString({ name: 'extnValue', optional: true }),
      ],
    });
  }

  fromSchema(schema: AsnNode, path = 'ExtensionTemplate'): void {
    const kids = seqChildren(schema, path);
    this.extnID = readOid(kids[0], `${path}.extnID`);
    this.critical = false;
    delete this.extnValue;
    let i = 1;
    if (kids[i] instanceof asn1js.Boolean) {
      // DER: DEFAULT FALSE is never encoded explicitly
      if (!(kids[i] as asn1js.Boolean).getValue()) throw new Asn1DecodeError('not-der', `${path}.critical`, 'DEFAULT FALSE encoded explicitly');
      this.critical = true;
      i++;
    }
    if (kids[i] !== undefined) {
      if (!isUniversal(kids[i], Tag.OCTET_STRING)) throw new Asn1DecodeError('bad-tag', `${path}[${i}]`, 'expected BOOLEAN critical or OCTET STRING extnValue');
      this.extnValue = readOctets(kids[i++], `${path}.extnValue`);
    }
    if (i < kids.length) throw new Asn1DecodeError('extra-field', `${path}[${i}]`, `unexpected element after ${i} field(s)`);
  }

  toSchema(): asn1js.Sequence {
    const value: AsnNode[] = [new asn1js.ObjectIdentifier({ value: this.extnID })];
    if (this.critical) value.push(new asn1js.Boolean({ value: true }));
    if (this.extnValue !== undefined) value.push(new asn1js.OctetString({ valueHex: toArrayBuffer(this.extnValue) }));
    return new asn1js.Sequence({ value });
  }

  toJSON(): ExtensionTemplateJson {
    return { extnID: this.extnID, critical: this.critical, ...(this.extnValue ? { extnValue: Buffer.from(this.extnValue).toString('hex') } : {}) };
  }

  static fromBER(bytes: Bytes): ExtensionTemplate {
    return new ExtensionTemplate({ schema: parseDer(bytes, ExtensionTemplate.CLASS_NAME) });
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}

/** ExtensionTemplates ::= SEQUENCE SIZE (1..MAX) OF ExtensionTemplate. */
export function extensionTemplatesFromSchema(schema: AsnNode, path = 'ExtensionTemplates'): ExtensionTemplate[] {
  const kids = seqChildren(schema, path);
  if (kids.length === 0) throw new Asn1DecodeError('constraint', path, 'SIZE (1..MAX): empty');
  return kids.map((k, i) => new ExtensionTemplate({ schema: k, path: `${path}[${i}]` }));
}
