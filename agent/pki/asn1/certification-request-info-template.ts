// CertificationRequestInfoTemplate, RFC 9908 §3.4 (module CsrAttrs-2023), the value of the CSR attribute
// id-aa-certificationRequestInfoTemplate in a /csrattrs answer: a partially filled CertificationRequestInfo.
//   CertificationRequestInfoTemplate ::= SEQUENCE {
//      version       INTEGER { v1(0) } (v1, ... ),
//      subject       NameTemplate OPTIONAL,
//      subjectPKInfo [0] SubjectPublicKeyInfoTemplate{{ PKInfoAlgorithms }} OPTIONAL,
//      attributes    [1] Attributes{{ CRIAttributes }} }
//   NameTemplate ::= CHOICE { rdnSequence RDNSequenceTemplate }   -- SEQUENCE OF SET OF SingleAttributeTemplate
//   SingleAttributeTemplate ::= SEQUENCE { type ATTRIBUTE.&id, value ATTRIBUTE.&Type OPTIONAL }
//   SubjectPublicKeyInfoTemplate ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING OPTIONAL }
// The tagged fields are IMPLICIT (the module's default), so [0] and [1] replace the SEQUENCE / SET tags. An
// attribute with an empty value SET names a type the client is to fill in.
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, Tag, cloneNode, contextChildren, encodeNode, isContext, isUniversal, parseDer, readOid, readSmallInt, seqChildren, verifySchema } from './der.js';

/** One name attribute: a fixed value (to be used as is) or only a type (the client supplies the value). */
export interface NameAttributeTemplate {
  type: string;
  value?: AsnNode;
}

export interface PublicKeyInfoTemplate {
  algorithm: string;
  /** The AlgorithmIdentifier parameters (e.g. the named curve OID), when present. */
  parameters?: AsnNode;
  /** A public key of the wanted shape (some servers put one in to convey an RSA size), when present. */
  subjectPublicKey?: Uint8Array;
}

export interface TemplateAttribute {
  type: string;
  /** Empty: the server names the type and leaves the value to the client. */
  values: AsnNode[];
}

export class CertificationRequestInfoTemplate {
  static readonly CLASS_NAME = 'CertificationRequestInfoTemplate';
  version = 0;
  /** RDNs in order, each a set of attribute templates; undefined when the server does not constrain the subject. */
  subject?: NameAttributeTemplate[][];
  subjectPKInfo?: PublicKeyInfoTemplate;
  attributes: TemplateAttribute[] = [];

  constructor(params: { subject?: NameAttributeTemplate[][]; subjectPKInfo?: PublicKeyInfoTemplate; attributes?: TemplateAttribute[] } = {}) {
    if (params.subject) this.subject = params.subject;
    if (params.subjectPKInfo) this.subjectPKInfo = params.subjectPKInfo;
    this.attributes = params.attributes ?? [];
  }

  /** Elements past version are named by tag; their readers check the content so errors name `path.field`. */
  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.Integer({ name: 'version' }),
        new asn1js.Sequence({ name: 'subject', optional: true }),
        new asn1js.Constructed({ name: 'subjectPKInfo', optional: true, idBlock: { tagClass: 3, tagNumber: 0 } }),
        new asn1js.Constructed({ name: 'attributes', idBlock: { tagClass: 3, tagNumber: 1 } }),
      ],
    });
  }

  static fromSchema(schema: AsnNode, path = CertificationRequestInfoTemplate.CLASS_NAME): CertificationRequestInfoTemplate {
    const t = new CertificationRequestInfoTemplate();
    t.readFields(schema, path);
    verifySchema(schema, CertificationRequestInfoTemplate.schema(), path);
    return t;
  }

  private readFields(schema: AsnNode, path: string): void {
    const kids = seqChildren(schema, path);
    delete this.subject;
    delete this.subjectPKInfo;
    // version v1(0); the extension marker allows later versions, which this decoder does not understand
    this.version = readSmallInt(kids[0], `${path}.version`, 0, 0);
    let i = 1;
    if (isUniversal(kids[i], Tag.SEQUENCE)) {
      this.subject = seqChildren(kids[i], `${path}.subject`).map((rdn, r) => {
        const atvs = seqChildren(rdn, `${path}.subject[${r}]`, Tag.SET);
        if (atvs.length === 0) throw new Asn1DecodeError('constraint', `${path}.subject[${r}]`, 'empty RelativeDistinguishedName');
        return atvs.map((atv, a): NameAttributeTemplate => {
          const p = `${path}.subject[${r}][${a}]`;
          const f = seqChildren(atv, p);
          if (f.length > 2) throw new Asn1DecodeError('extra-field', `${p}[2]`, 'unexpected element');
          const type = readOid(f[0], `${p}.type`);
          return f[1] !== undefined ? { type, value: cloneNode(f[1], `${p}.value`) } : { type };
        });
      });
      i++;
    }
    if (isContext(kids[i], 0, true)) {
      const p = `${path}.subjectPKInfo`;
      const f = contextChildren(kids[i]!, p);
      const alg = seqChildren(f[0], `${p}.algorithm`);
      if (alg.length > 2) throw new Asn1DecodeError('extra-field', `${p}.algorithm[2]`, 'unexpected element');
      const info: PublicKeyInfoTemplate = { algorithm: readOid(alg[0], `${p}.algorithm.algorithm`) };
      if (alg[1] !== undefined) info.parameters = cloneNode(alg[1], `${p}.algorithm.parameters`);
      if (f[1] !== undefined) {
        if (!(f[1] instanceof asn1js.BitString)) throw new Asn1DecodeError('bad-tag', `${p}.subjectPublicKey`, 'expected BIT STRING');
        info.subjectPublicKey = new Uint8Array(f[1].valueBlock.valueHexView);
      }
      if (f.length > 2) throw new Asn1DecodeError('extra-field', `${p}[2]`, 'unexpected element');
      this.subjectPKInfo = info;
      i++;
    }
    if (!isContext(kids[i], 1, true)) throw new Asn1DecodeError('missing-field', `${path}.attributes`, 'expected [1] Attributes');
    this.attributes = contextChildren(kids[i]!, `${path}.attributes`).map((a, n) => {
      const p = `${path}.attributes[${n}]`;
      const f = seqChildren(a, p);
      if (f.length !== 2) throw new Asn1DecodeError(f.length < 2 ? 'missing-field' : 'extra-field', p, 'Attribute is SEQUENCE { type, values }');
      return { type: readOid(f[0], `${p}.type`), values: seqChildren(f[1], `${p}.values`, Tag.SET).map((v, k) => cloneNode(v, `${p}.values[${k}]`)) };
    });
    i++;
    if (i < kids.length) throw new Asn1DecodeError('extra-field', `${path}[${i}]`, `unexpected element after ${i} field(s)`);
  }

  toSchema(): asn1js.Sequence {
    const value: AsnNode[] = [new asn1js.Integer({ value: this.version })];
    if (this.subject) {
      value.push(
        new asn1js.Sequence({
          value: this.subject.map(
            (rdn) => new asn1js.Set({ value: rdn.map((t) => new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: t.type }), ...(t.value ? [t.value] : [])] })) }),
          ),
        }),
      );
    }
    if (this.subjectPKInfo) {
      const k = this.subjectPKInfo;
      const alg = new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: k.algorithm }), ...(k.parameters ? [k.parameters] : [])] });
      value.push(
        new asn1js.Constructed({
          idBlock: { tagClass: 3, tagNumber: 0 },
          value: [alg, ...(k.subjectPublicKey ? [new asn1js.BitString({ valueHex: k.subjectPublicKey.slice().buffer })] : [])],
        }),
      );
    }
    value.push(
      new asn1js.Constructed({
        idBlock: { tagClass: 3, tagNumber: 1 },
        value: this.attributes.map((a) => new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: a.type }), new asn1js.Set({ value: a.values })] })),
      }),
    );
    return new asn1js.Sequence({ value });
  }

  static fromBER(bytes: Bytes): CertificationRequestInfoTemplate {
    return CertificationRequestInfoTemplate.fromSchema(parseDer(bytes, CertificationRequestInfoTemplate.CLASS_NAME));
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
