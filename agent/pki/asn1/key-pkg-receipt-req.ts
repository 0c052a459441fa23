// RFC 7191 §2 KeyPkgReceiptReq ::= SEQUENCE {
//   encryptReceipt BOOLEAN DEFAULT FALSE,
//   receiptsFrom [0] SIREntityNames OPTIONAL,      -- IMPLICIT
//   receiptsTo SIREntityNames }
// SIREntityNames ::= SEQUENCE SIZE (1..MAX) OF SIREntityName
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { type AsnNode, contextChildren, isContext, isUniversal, seqChildren, verifySchema } from './der.js';
import { SIREntityName } from './siren-entity-name.js';

const BOOLEAN = 1;

export interface KeyPkgReceiptReqFields {
  encryptReceipt?: boolean;
  receiptsFrom?: SIREntityName[];
  receiptsTo: SIREntityName[];
}

export class KeyPkgReceiptReq {
  encryptReceipt: boolean;
  receiptsFrom?: SIREntityName[];
  receiptsTo: SIREntityName[];

  static schema(parameters: { name?: string; optional?: boolean } = {}): asn1js.Sequence {
    return new asn1js.Sequence({
      name: parameters.name ?? '',
      optional: parameters.optional ?? false,
      value: [
        new asn1js.Boolean({ name: 'encryptReceipt', optional: true }),
        new asn1js.Constructed({ name: 'receiptsFrom', optional: true, idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.Repeated({ value: SIREntityName.schema() })] }),
        new asn1js.Sequence({ name: 'receiptsTo', value: [new asn1js.Repeated({ value: SIREntityName.schema() })] }),
      ],
    });
  }

  constructor(params: { schema: AsnNode } | KeyPkgReceiptReqFields) {
    if ('schema' in params) {
      const path = 'KeyPkgReceiptReq';
      const kids = seqChildren(params.schema, path);
      let i = 0;
      this.encryptReceipt = false;
      if (isUniversal(kids[i], BOOLEAN)) {
        const v = (kids[i] as asn1js.Boolean).valueBlock.value;
        if (!v) throw new Asn1DecodeError('not-der', `${path}.encryptReceipt`, 'DEFAULT FALSE encoded explicitly');
        this.encryptReceipt = true;
        i++;
      }
      if (isContext(kids[i], 0, true)) {
        const names = contextChildren(kids[i]!, `${path}.receiptsFrom`);
        if (names.length === 0) throw new Asn1DecodeError('constraint', `${path}.receiptsFrom`, 'empty SIREntityNames');
        this.receiptsFrom = names.map((n) => SIREntityName.fromSchema(n));
        i++;
      }
      const to = seqChildren(kids[i], `${path}.receiptsTo`);
      if (to.length === 0) throw new Asn1DecodeError('constraint', `${path}.receiptsTo`, 'empty SIREntityNames');
      this.receiptsTo = to.map((n) => SIREntityName.fromSchema(n));
      if (kids.length > i + 1) throw new Asn1DecodeError('extra-field', path, `${kids.length - i - 1} extra element(s)`);
      verifySchema(params.schema, KeyPkgReceiptReq.schema(), path);
      return;
    }
    if (params.receiptsTo.length === 0) throw new Asn1EncodeError('KeyPkgReceiptReq.receiptsTo must not be empty');
    if (params.receiptsFrom && params.receiptsFrom.length === 0) throw new Asn1EncodeError('KeyPkgReceiptReq.receiptsFrom must not be empty');
    this.encryptReceipt = params.encryptReceipt ?? false;
    if (params.receiptsFrom) this.receiptsFrom = params.receiptsFrom;
    this.receiptsTo = params.receiptsTo;
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        ...(this.encryptReceipt ? [new asn1js.Boolean({ value: true })] : []),
        ...(this.receiptsFrom
          ? [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: this.receiptsFrom.map((n) => n.toSchema()) })]
          : []),
        new asn1js.Sequence({ value: this.receiptsTo.map((n) => n.toSchema()) }),
      ],
    });
  }
}
