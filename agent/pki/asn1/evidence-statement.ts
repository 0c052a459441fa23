// AttestationStatement, draft-ietf-lamps-csr-attestation-28 §4.1 and Appendix B (module CSR-ATTESTATION-2025).
// Named EvidenceStatement in drafts up to -22 (which also carried `hint IA5String OPTIONAL`, removed in -23).
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { type AsnNode, type Bytes, Tag, checkOid, cloneNode, encodeNode, hex, isUniversal, parseDer, readIa5OrUtf8, readOid, seqChildren, verifySchema } from './der.js';

/*
 * AttestationStatement ::= SEQUENCE {
 *    type   ATTESTATION-STATEMENT.&id({AttestationStatementSet}),
 *    stmt   ATTESTATION-STATEMENT.&Type({AttestationStatementSet}{@type})
 * }
 */

export interface AttestationDecodeOptions {
  /**
   * Accept a third element `hint` (IA5String, -17..-22; UTF8String, -08..-16) as written by pre-23 drafts and
   * the draft repository's older TPM sample. Off by default: the current text has exactly two elements.
   */
  allowLegacyHint?: boolean;
}

export interface AttestationStatementFields {
  /** Dotted OID identifying the format of `stmt`. */
  type: string;
  /** The statement: an asn1js element, or its DER encoding. */
  stmt: AsnNode | Uint8Array;
}

export interface AttestationStatementJson {
  type: string;
  stmt: string; // hex DER
  legacyHint?: string;
}

export class AttestationStatement {
  static readonly CLASS_NAME = 'AttestationStatement';
  type: string;
  /** The `stmt` element (ANY DEFINED BY type). */
  stmt: AsnNode;
  /** Only set when decoded with allowLegacyHint from a pre-23 EvidenceStatement; never encoded. */
  legacyHint?: string;

  constructor(params: AttestationStatementFields & { legacyHint?: string }) {
    checkOid('AttestationStatement.type', params.type);
    this.type = params.type;
    this.stmt = params.stmt instanceof Uint8Array ? parseDer(params.stmt, 'AttestationStatement.stmt') : params.stmt;
    if (!this.stmt || typeof (this.stmt as asn1js.BaseBlock).toBER !== 'function') throw new Asn1EncodeError('AttestationStatement.stmt must be an ASN.1 element');
    if (params.legacyHint !== undefined) this.legacyHint = params.legacyHint;
  }

  /** asn1js schema in PKI.js style (for embedding in larger compareSchema() schemas); type is Any so readOid names it. */
  static schema(parameters: { names?: { blockName?: string; type?: string; stmt?: string; hint?: string } } = {}): asn1js.Sequence {
    const names = parameters.names ?? {};
    return new asn1js.Sequence({
      name: names.blockName ?? '',
      value: [new asn1js.Any({ name: names.type ?? 'type' }), new asn1js.Any({ name: names.stmt ?? 'stmt' }), new asn1js.Any({ name: names.hint ?? 'hint', optional: true })],
    });
  }

  /** Strict decode from an asn1js element; throws Asn1DecodeError naming `path`. */
  static fromSchema(node: AsnNode, path = 'AttestationStatement', options: AttestationDecodeOptions = {}): AttestationStatement {
    const kids = seqChildren(node, path);
    const type = readOid(kids[0], `${path}.type`);
    if (kids[1] === undefined) throw new Asn1DecodeError('missing-field', `${path}.stmt`, 'absent');
    let legacyHint: string | undefined;
    if (kids.length > 2) {
      const legacy = kids.length === 3 && options.allowLegacyHint && (isUniversal(kids[2], Tag.IA5String) || isUniversal(kids[2], Tag.UTF8String));
      if (!legacy) throw new Asn1DecodeError('extra-field', `${path}[2]`, `AttestationStatement has ${kids.length} elements, expected 2`);
      legacyHint = readIa5OrUtf8(kids[2], `${path}.hint`);
    }
    const m = verifySchema(node, AttestationStatement.schema(), path);
    return new AttestationStatement({ type, stmt: cloneNode(m.stmt, `${path}.stmt`), ...(legacyHint !== undefined ? { legacyHint } : {}) });
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: this.type }), cloneNode(this.stmt, 'AttestationStatement.stmt')] });
  }

  toJSON(): AttestationStatementJson {
    const j: AttestationStatementJson = { type: this.type, stmt: hex(this.stmtDER()) };
    if (this.legacyHint !== undefined) j.legacyHint = this.legacyHint;
    return j;
  }

  /** DER of the `stmt` element alone. */
  stmtDER(): Uint8Array {
    return encodeNode(this.stmt);
  }

  static fromBER(bytes: Bytes, options?: AttestationDecodeOptions): AttestationStatement {
    return AttestationStatement.fromSchema(parseDer(bytes, AttestationStatement.CLASS_NAME), AttestationStatement.CLASS_NAME, options);
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}

/** @deprecated pre-23 name of {@link AttestationStatement}. */
export const EvidenceStatement = AttestationStatement;
/** @deprecated pre-23 name of {@link AttestationStatement}. */
export type EvidenceStatement = AttestationStatement;
