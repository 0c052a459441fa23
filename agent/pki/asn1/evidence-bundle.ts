// AttestationBundle, draft-ietf-lamps-csr-attestation-28 §4.1 and Appendix B (module CSR-ATTESTATION-2025).
// Named EvidenceBundle (field `evidences`) in drafts up to -22; drafts -08..-10 wrapped it in
// EvidenceBundles ::= SEQUENCE OF EvidenceBundle, which no later draft has.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { AttestationStatement, type AttestationDecodeOptions, type AttestationStatementJson } from './evidence-statement.js';
import { type AsnNode, type Bytes, contextChildren, encodeNode, hex, isContext, isUniversal, parseDer, seqChildren, Tag, verifySchema } from './der.js';

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

  constructor(params: AttestationBundleFields) {
    this.attestations = [...params.attestations];
    if (params.certs && params.certs.length > 0) this.certs = [...params.certs];
  }

  /** The elements are Any: their readers check them so a bad one is named `path.attestations[i]` / `path.certs[i]`. */
  static schema(parameters: { names?: { blockName?: string; attestations?: string; certs?: string } } = {}): asn1js.Sequence {
    const names = parameters.names ?? {};
    return new asn1js.Sequence({
      name: names.blockName ?? '',
      value: [
        new asn1js.Sequence({ value: [new asn1js.Repeated({ name: names.attestations ?? 'attestations', value: new asn1js.Any() })] }),
        new asn1js.Sequence({ optional: true, value: [new asn1js.Repeated({ name: names.certs ?? 'certs', value: new asn1js.Any() })] }),
      ],
    });
  }

  /** Strict decode from an asn1js element; throws Asn1DecodeError naming `path`. */
  static fromSchema(node: AsnNode, path = 'AttestationBundle', options: AttestationDecodeOptions = {}): AttestationBundle {
    const kids = seqChildren(node, path);
    if (kids.length === 0) throw new Asn1DecodeError('missing-field', `${path}.attestations`, 'absent');
    if (kids.length > 2) throw new Asn1DecodeError('extra-field', `${path}[2]`, `AttestationBundle has ${kids.length} elements, expected 1 or 2`);
    const stmts = seqChildren(kids[0], `${path}.attestations`);
    if (stmts.length === 0) throw new Asn1DecodeError('constraint', `${path}.attestations`, 'SIZE (1..MAX): empty');
    const attestations = stmts.map((s, i) => AttestationStatement.fromSchema(s, `${path}.attestations[${i}]`, options));
    let certs: LimitedCertChoice[] | undefined;
    if (kids.length === 2) {
      const list = seqChildren(kids[1], `${path}.certs`);
      if (list.length === 0) throw new Asn1DecodeError('constraint', `${path}.certs`, 'SIZE (1..MAX): empty');
      certs = list.map((c, i) => decodeCertChoice(c, `${path}.certs[${i}]`));
    }
    verifySchema(node, AttestationBundle.schema(), path);
    return new AttestationBundle({ attestations, ...(certs ? { certs } : {}) });
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

  static fromBER(bytes: Bytes, options?: AttestationDecodeOptions): AttestationBundle {
    return AttestationBundle.fromSchema(parseDer(bytes, AttestationBundle.CLASS_NAME), AttestationBundle.CLASS_NAME, options);
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}

/** @deprecated pre-23 name of {@link AttestationBundle}. */
export const EvidenceBundle = AttestationBundle;
/** @deprecated pre-23 name of {@link AttestationBundle}. */
export type EvidenceBundle = AttestationBundle;
