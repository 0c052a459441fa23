// RFC 6031 §2 OneSymmetricKey ::= SEQUENCE {
//   sKeyAttrs SEQUENCE SIZE (1..MAX) OF Attribute {{ SKeyAttributes }} OPTIONAL,
//   sKey OCTET STRING OPTIONAL }
//   ( WITH COMPONENTS { ..., sKeyAttrs PRESENT } | WITH COMPONENTS { ..., sKey PRESENT } )
// Attributes are kept generic ({type, values}); PSKC attribute readers for the ones enrolld uses (keyId, algorithm).
// An attribute type may occur once per list (RFC 6031 §2: "Attributes MUST NOT ... more than once" — the same rule
// enforced for sKeyPkgAttrs). sKey is secret: wipe() zeros it.
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { type AsnNode, Tag, checkOid, cloneNode, isUniversal, readOctets, readOid, seqChildren, verifySchema } from './der.js';
import { OID_PSKC_ALGORITHM, OID_PSKC_KEY_ID } from './key-package-oids.js';

export interface KeyAttribute {
  type: string;
  values: AsnNode[];
}

/** Reads a SEQUENCE SIZE (1..MAX) OF Attribute, refusing empty lists, empty value sets and repeated types. */
export function readAttributeList(node: AsnNode, path: string): KeyAttribute[] {
  const items = seqChildren(node, path);
  if (items.length === 0) throw new Asn1DecodeError('constraint', path, 'SIZE (1..MAX) list is empty');
  const seen = new Set<string>();
  return items.map((item, i) => {
    const p = `${path}[${i}]`;
    const [t, vs, ...extra] = seqChildren(item, p);
    if (extra.length) throw new Asn1DecodeError('extra-field', p, `${extra.length} extra element(s)`);
    const type = readOid(t, `${p}.attrType`);
    if (seen.has(type)) throw new Asn1DecodeError('duplicate', p, `attribute ${type} occurs more than once`);
    seen.add(type);
    const values = seqChildren(vs, `${p}.attrValues`, Tag.SET);
    if (values.length === 0) throw new Asn1DecodeError('constraint', `${p}.attrValues`, 'empty SET OF values');
    return { type, values: values.map((v, j) => cloneNode(v, `${p}.attrValues[${j}]`)) };
  });
}

export function attributeListSchema(attrs: KeyAttribute[]): asn1js.Sequence {
  return new asn1js.Sequence({
    value: attrs.map((a) => new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: a.type }), new asn1js.Set({ value: a.values })] })),
  });
}

export function checkAttributeList(name: string, attrs: KeyAttribute[]): void {
  if (attrs.length === 0) throw new Asn1EncodeError(`${name} must not be empty`);
  const seen = new Set<string>();
  for (const a of attrs) {
    checkOid(`${name}.type`, a.type);
    if (seen.has(a.type)) throw new Asn1EncodeError(`${name}: attribute ${a.type} repeated`);
    if (a.values.length === 0) throw new Asn1EncodeError(`${name}: attribute ${a.type} has no value`);
    seen.add(a.type);
  }
}

/** The single UTF8String value of attribute `type`, or undefined when absent. */
export function utf8Attribute(attrs: KeyAttribute[] | undefined, type: string, path: string): string | undefined {
  const a = attrs?.find((x) => x.type === type);
  if (!a) return undefined;
  if (a.values.length !== 1 || !(a.values[0] instanceof asn1js.Utf8String) || !isUniversal(a.values[0], Tag.UTF8String)) {
    throw new Asn1DecodeError('bad-value', path, `attribute ${type} must have one UTF8String value`);
  }
  return a.values[0].valueBlock.value;
}

export function utf8AttributeValue(type: string, value: string): KeyAttribute {
  return { type, values: [new asn1js.Utf8String({ value })] };
}

export class OneSymmetricKey {
  sKeyAttrs?: KeyAttribute[];
  sKey?: Uint8Array;

  /** Both fields OPTIONAL (one of them present, checked by the reader); the attributes by readAttributeList. */
  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.Sequence({ name: 'sKeyAttrs', optional: true }), new asn1js.OctetString({ name: 'sKey', optional: true })] });
  }

  constructor(params: { schema: AsnNode } | { sKeyAttrs?: KeyAttribute[]; sKey?: Uint8Array }) {
    if ('schema' in params) {
      const path = 'OneSymmetricKey';
      const kids = seqChildren(params.schema, path);
      let i = 0;
      if (isUniversal(kids[i], Tag.SEQUENCE)) this.sKeyAttrs = readAttributeList(kids[i++]!, `${path}.sKeyAttrs`);
      if (isUniversal(kids[i], Tag.OCTET_STRING)) this.sKey = readOctets(kids[i++], `${path}.sKey`);
      if (kids.length > i) throw new Asn1DecodeError('extra-field', path, `${kids.length - i} extra or misplaced element(s)`);
      if (!this.sKeyAttrs && !this.sKey) throw new Asn1DecodeError('missing-field', path, 'neither sKeyAttrs nor sKey present');
      try {
        verifySchema(params.schema, OneSymmetricKey.schema(), path);
      } catch (e) {
        this.wipe();
        throw e;
      }
      return;
    }
    if (!params.sKeyAttrs && !params.sKey) throw new Asn1EncodeError('OneSymmetricKey needs sKeyAttrs or sKey');
    if (params.sKeyAttrs) {
      checkAttributeList('OneSymmetricKey.sKeyAttrs', params.sKeyAttrs);
      this.sKeyAttrs = params.sKeyAttrs;
    }
    if (params.sKey) this.sKey = new Uint8Array(params.sKey);
  }

  /** PSKC keyId (RFC 6031 §3.2.1). */
  get keyId(): string | undefined {
    return utf8Attribute(this.sKeyAttrs, OID_PSKC_KEY_ID, 'OneSymmetricKey.sKeyAttrs.keyId');
  }

  /** PSKC algorithm URI (RFC 6031 §3.2.2). */
  get algorithm(): string | undefined {
    return utf8Attribute(this.sKeyAttrs, OID_PSKC_ALGORITHM, 'OneSymmetricKey.sKeyAttrs.algorithm');
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        ...(this.sKeyAttrs ? [attributeListSchema(this.sKeyAttrs)] : []),
        ...(this.sKey ? [new asn1js.OctetString({ valueHex: this.sKey })] : []),
      ],
    });
  }

  wipe(): void {
    this.sKey?.fill(0);
  }
}
