// AttestationBundle, draft-ietf-lamps-csr-attestation-28 §4.1 and Appendix B (module CSR-ATTESTATION-2025).
// Named EvidenceBundle (field `evidences`) in drafts up to -22; drafts -08..-10 wrapped it in
// EvidenceBundles ::= SEQUENCE OF EvidenceBundle, which no later draft has.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { AttestationStatement, type AttestationDecodeOptions, type AttestationStatementJson } from './evidence-statement.js';
import { type AsnNode, type Bytes, contextChildren, encodeNode, hex, isContext, isUniversal, parseDer, seqChildren, Tag } from './der.js';

/*
 * AttestationBundle ::= SEQUENCE {
 *    attestations SEQUENCE SIZE (1..MAX) OF AttestationStatement,
 *    certs SEQUENCE SIZE (1..MAX) OF LimitedCertChoices OPTIONAL
 * }
 * LimitedCertChoices ::= CertificateChoices (WITH COMPONENTS {certificate, other})
 *   -- certificate Certificate | other [3] IMPLICIT OtherCertificateFormat   (RFC 6268, IMPLICIT TAGS module)
 */

/** A certificate the bundle may carry: an X.509 certificate or `other [3]` (OtherCertificateFormat). */
export type LimitedCertChoice = pkijs.Certificate | pkijs.OtherCertificateFormat;

export interface AttestationBundleFields {
  attestations: AttestationStatement[];
  /** Omitted from the encoding when absent or empty. */
  certs?: LimitedCertChoice[];
}

export interface AttestationBundleJson {
  attestations: AttestationStatementJson[];
  certs?: Array<{ certificate: string } | { other: { otherCertFormat: string; otherCert: string } }>;
}

function decodeCertChoice(node: AsnNode, path: string): LimitedCertChoice {
  if (isUniversal(node, Tag.SEQUENCE)) {
    try {
      return new pkijs.Certificate({ schema: node });
    } catch (cause) {
      throw new Asn1DecodeError('bad-value', path, 'not an X.509 Certificate', { cause });
    }
  }
  if (isContext(node, 3, true)) {
    const kids = contextChildren(node, path);
    if (kids.length !== 2) throw new Asn1DecodeError(kids.length < 2 ? 'missing-field' : 'extra-field', path, `OtherCertificateFormat has ${kids.length} elements, expected 2`);
    const seq = new asn1js.Sequence({ value: kids });
    try {
      return new pkijs.OtherCertificateFormat({ schema: parseDer(seq.toBER(false), path) });
    } catch (cause) {
      if (cause instanceof Asn1DecodeError) throw cause;
      throw new Asn1DecodeError('bad-value', path, 'not an OtherCertificateFormat', { cause });
    }
  }
  if (isContext(node, 0) || isContext(node, 1) || isContext(node, 2)) {
    throw new Asn1DecodeError('constraint', path, 'CertificateChoices arm not allowed in LimitedCertChoices (only certificate and other [3])');
  }
  throw new Asn1DecodeError('bad-tag', path, 'expected Certificate or [3] OtherCertificateFormat');
}

function encodeCertChoice(c: LimitedCertChoice): AsnNode {
  if (c instanceof pkijs.Certificate) return c.toSchema();
  if (c instanceof pkijs.OtherCertificateFormat) {
    const seq = c.toSchema();
    return new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 3 }, value: seq.valueBlock.value });
  }
  throw new Asn1EncodeError('AttestationBundle.certs: each entry must be a pkijs Certificate or OtherCertificateFormat');
}

export class AttestationBundle {
  static readonly CLASS_NAME = 'AttestationBundle';
  attestations: AttestationStatement[];
  certs?: LimitedCertChoice[];

  constructor(params: { schema: AsnNode; options?: AttestationDecodeOptions } | AttestationBundleFields) {
    if ('schema' in params) {
      this.attestations = [];
      this.fromSchema(params.schema, params.options);
    } else {
      this.attestations = [...params.attestations];
      if (params.certs && params.certs.length > 0) this.certs = [...params.certs];
    }
  }

  static schema(parameters: { names?: { blockName?: string; attestations?: string; certs?: string } } = {}): asn1js.Sequence {
    const names = parameters.names ?? {};
    return new asn1js.Sequence({
      name: names.blockName ?? '',
      value: [
        new asn1js.Sequence({ value: [new asn1js.Repeated({ name: names.attestations ?? 'attestations', value: AttestationStatement.schema() })] }),
        new asn1js.Sequence({ optional: true, value: [new asn1js.Repeated({ name: names.certs ?? 'certs', value: new asn1js.Any() })] }),
      ],
    });
  }

  fromSchema(schema: AsnNode, options: AttestationDecodeOptions = {}, path = 'AttestationBundle'): void {
    const kids = seqChildren(schema, path);
    if (kids.length === 0) throw new Asn1DecodeError('missing-field', `${path}.attestations`, 'absent');
    if (kids.length > 2) throw new Asn1DecodeError('extra-field', `${path}[2]`, `AttestationBundle has ${kids.length} elements, expected 1 or 2`);
    const stmts = seqChildren(kids[0], `${path}.attestations`);
    if (stmts.length === 0) throw new Asn1DecodeError('constraint', `${path}.attestations`, 'SIZE (1..MAX): empty');
    this.attestations = stmts.map((s, i) => AttestationStatement.fromNode(s, options, `${path}.attestations[${i}]`));
    delete this.certs;
    if (kids.length === 2) {
      const certs = seqChildren(kids[1], `${path}.certs`);
      if (certs.length === 0) throw new Asn1DecodeError('constraint', `${path}.certs`, 'SIZE (1..MAX): empty');
      this.certs = certs.map((c, i) => decodeCertChoice(c, `${path}.certs[${i}]`));
    }
  }

  toSchema(): asn1js.Sequence {
    if (this.attestations.length === 0) throw new Asn1EncodeError('AttestationBundle.attestations: SIZE (1..MAX), got none');
    const value: AsnNode[] = [new asn1js.Sequence({ value: this.attestations.map((a) => a.toSchema()) })];
    if (this.certs && this.certs.length > 0) value.push(new asn1js.Sequence({ value: this.certs.map(encodeCertChoice) }));
    return new asn1js.Sequence({ value });
  }

  toJSON(): AttestationBundleJson {
    const j: AttestationBundleJson = { attestations: this.attestations.map((a) => a.toJSON()) };
    if (this.certs) {
      j.certs = this.certs.map((c) =>
        c instanceof pkijs.Certificate
          ? { certificate: hex(encodeNode(c.toSchema())) }
          : { other: { otherCertFormat: c.otherCertFormat, otherCert: hex(encodeNode(c.otherCert as AsnNode)) } },
      );
    }
    return j;
  }

  /** Statements of one type, in order. */
  statementsOfType(type: string): AttestationStatement[] {
    return this.attestations.filter((a) => a.type === type);
  }

  /** The X.509 certificates among `certs` (skipping `other`). */
  x509Certificates(): pkijs.Certificate[] {
    return (this.certs ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate);
  }

  /** Strict decode of an already-parsed element, with `path` used in error messages. */
  static fromNode(node: AsnNode, options: AttestationDecodeOptions = {}, path = 'AttestationBundle'): AttestationBundle {
    const b = Object.create(AttestationBundle.prototype) as AttestationBundle;
    b.attestations = [];
    b.fromSchema(node, options, path);
    return b;
  }

  static fromBER(bytes: Bytes, options?: AttestationDecodeOptions): AttestationBundle {
    return new AttestationBundle({ schema: parseDer(bytes, AttestationBundle.CLASS_NAME), ...(options ? { options } : {}) });
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}

/** @deprecated pre-23 name of {@link AttestationBundle}. */
export const EvidenceBundle = AttestationBundle;
/** @deprecated pre-23 name of {@link AttestationBundle}. */
export type EvidenceBundle = AttestationBundle;
