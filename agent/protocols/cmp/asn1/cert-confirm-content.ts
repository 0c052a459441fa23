// CertConfirmContent, RFC 4210 §5.3.18 / RFC 9480 §2.10:
//   CertConfirmContent ::= SEQUENCE OF CertStatus
//   CertStatus ::= SEQUENCE { certHash OCTET STRING, certReqId INTEGER, statusInfo PKIStatusInfo OPTIONAL,
//                             hashAlg [0] AlgorithmIdentifier OPTIONAL }  -- hashAlg only with pvno 3
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { Asn1DecodeError } from '../../../pki/asn1/errors.js';
import { type AsnNode, explicitSchema, readOctets, readSmallInt, verifySchema } from '../../../pki/asn1/der.js';
import { PKIStatusInfo } from './pki-status-info.js';
import { explicit, unwrapExplicit } from './tags.js';

export interface CertStatus {
  certHash: Uint8Array;
  certReqId: number;
  statusInfo?: PKIStatusInfo;
  /** OID of the hash over the certificate (RFC 9480 §2.10: only when its signatureAlgorithm names none, e.g. EdDSA). */
  hashAlg?: string;
}

export class CertConfirmContent {
  statuses: CertStatus[];

  constructor(params: { statuses?: CertStatus[] } = {}) {
    this.statuses = params.statuses ?? [];
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.Repeated({ name: 'statuses', value: new asn1js.Sequence() })] });
  }

  /** CertStatus. */
  static certStatusSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.OctetString({ name: 'certHash' }),
        new asn1js.Integer({ name: 'certReqId' }),
        new asn1js.Sequence({ name: 'statusInfo', optional: true }),
        explicitSchema(0, 'hashAlg'),
      ],
    });
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: this.statuses.map((s) => {
        const v: AsnNode[] = [new asn1js.OctetString({ valueHex: s.certHash }), new asn1js.Integer({ value: s.certReqId })];
        if (s.statusInfo) v.push(s.statusInfo.toSchema());
        // PKIXCMP-2023 is EXPLICIT TAGS; hash AlgorithmIdentifiers carry no parameters (RFC 5754 §2)
        if (s.hashAlg) v.push(explicit(0, new pkijs.AlgorithmIdentifier({ algorithmId: s.hashAlg }).toSchema() as AsnNode));
        return new asn1js.Sequence({ value: v });
      }),
    });
  }

  static fromSchema(node: AsnNode, path = 'CertConfirmContent'): CertConfirmContent {
    const statuses = (verifySchema(node, CertConfirmContent.schema(), path).statuses ?? []) as AsnNode[];
    return new CertConfirmContent({
      statuses: statuses.map((k, i) => {
        const p = `${path}[${i}]`;
        const m = verifySchema(k, CertConfirmContent.certStatusSchema(), p);
        const s: CertStatus = { certHash: readOctets(m.certHash, `${p}.certHash`), certReqId: readSmallInt(m.certReqId, `${p}.certReqId`, -1, 2 ** 31 - 1) };
        if (m.statusInfo) s.statusInfo = PKIStatusInfo.fromSchema(m.statusInfo, `${p}.statusInfo`);
        if (m.hashAlg) {
          try {
            s.hashAlg = new pkijs.AlgorithmIdentifier({ schema: unwrapExplicit(m.hashAlg, `${p}.hashAlg`) }).algorithmId;
          } catch (cause) {
            throw new Asn1DecodeError('bad-value', `${p}.hashAlg`, 'not an AlgorithmIdentifier', { cause });
          }
        }
        return s;
      }),
    });
  }
}
