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
import { type AsnNode, type Bytes, Tag, checkOid, encodeNode, isUniversal, parseDer, readOctets, readOid, seqChildren, toArrayBuffer, verifySchema } from './der.js';

export interface ExtensionTemplateJson {
  extnID: string;
  critical: boolean;
  extnValue?: string;
}

export interface ExtensionTemplateParams {
  extnID: string;
  critical?: boolean;
  extnValue?: Uint8Array;
}

export class ExtensionTemplate {
  static readonly CLASS_NAME = 'ExtensionTemplate';
  extnID: string;
  critical: boolean;
  extnValue?: Uint8Array;

  constructor(params: ExtensionTemplateParams) {
    checkOid('ExtensionTemplate.extnID', params.extnID);
    this.extnID = params.extnID;
    this.critical = params.critical ?? false;
    if (params.extnValue !== undefined) this.extnValue = params.extnValue;
  }

  /** extnID is Any here: readOid checks it so a bad one is named `path.extnID`. */
  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.Any({ name: 'extnID' }),
        new asn1js.Boolean({ name: 'critical', optional: true }),
        new asn1js.OctetString({ name: 'extnValue', optional: true }),
      ],
    });
  }

  static fromSchema(node: AsnNode, path = ExtensionTemplate.CLASS_NAME): ExtensionTemplate {
    const kids = seqChildren(node, path);
    const extnID = readOid(kids[0], `${path}.extnID`);
    // Element by element first, so a misplaced one is named as before (`path[i]`, `path.critical`).
    let i = 1;
    if (kids[i] instanceof asn1js.Boolean) {
      // DER: DEFAULT FALSE is never encoded explicitly
      if (!(kids[i] as asn1js.Boolean).getValue()) throw new Asn1DecodeError('not-der', `${path}.critical`, 'DEFAULT FALSE encoded explicitly');
      i++;
    }
    if (kids[i] !== undefined) {
      if (!isUniversal(kids[i], Tag.OCTET_STRING)) throw new Asn1DecodeError('bad-tag', `${path}[${i}]`, 'expected BOOLEAN critical or OCTET STRING extnValue');
      i++;
    }
    if (i < kids.length) throw new Asn1DecodeError('extra-field', `${path}[${i}]`, `unexpected element after ${i} field(s)`);
    const m = verifySchema(node, ExtensionTemplate.schema(), path);
    return new ExtensionTemplate({
      extnID,
      critical: m.critical !== undefined,
      ...(m.extnValue !== undefined ? { extnValue: readOctets(m.extnValue, `${path}.extnValue`) } : {}),
    });
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
    return ExtensionTemplate.fromSchema(parseDer(bytes, ExtensionTemplate.CLASS_NAME));
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}

/** ExtensionTemplates ::= SEQUENCE SIZE (1..MAX) OF ExtensionTemplate. */
export function extensionTemplatesFromSchema(schema: AsnNode, path = 'ExtensionTemplates'): ExtensionTemplate[] {
  const kids = seqChildren(schema, path);
  if (kids.length === 0) throw new Asn1DecodeError('constraint', path, 'SIZE (1..MAX): empty');
  return kids.map((k, i) => ExtensionTemplate.fromSchema(k, `${path}[${i}]`));
}
