// CertConfirmContent, RFC 4210 §5.3.18 / RFC 9480 §2.10:
//   CertConfirmContent ::= SEQUENCE OF CertStatus
//   CertStatus ::= SEQUENCE { certHash OCTET STRING, certReqId INTEGER, statusInfo PKIStatusInfo OPTIONAL,
//                             hashAlg [0] AlgorithmIdentifier OPTIONAL }  -- hashAlg only with pvno 3
import * as asn1js from 'asn1js';
import { type AsnNode, Tag, isUniversal, readOctets, readSmallInt, seqChildren } from '../../../pki/asn1/der.js';
import { PKIStatusInfo } from './pki-status-info.js';

export interface CertStatus {
  certHash: Uint8Array;
  certReqId: number;
  statusInfo?: PKIStatusInfo;
}

export class CertConfirmContent {
  constructor(public statuses: CertStatus[] = []) {}

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: this.statuses.map((s) => {
        const v: AsnNode[] = [new asn1js.OctetString({ valueHex: s.certHash }), new asn1js.Integer({ value: s.certReqId })];
        if (s.statusInfo) v.push(s.statusInfo.toSchema());
        return new asn1js.Sequence({ value: v });
      }),
    });
  }

  static fromSchema(node: AsnNode, path = 'CertConfirmContent'): CertConfirmContent {
    return new CertConfirmContent(seqChildren(node, path).map((k, i) => {
      const f = seqChildren(k, `${path}[${i}]`);
      const s: CertStatus = { certHash: readOctets(f[0], `${path}[${i}].certHash`), certReqId: readSmallInt(f[1], `${path}[${i}].certReqId`, -1, 2 ** 31 - 1) };
      if (isUniversal(f[2], Tag.SEQUENCE)) s.statusInfo = PKIStatusInfo.fromSchema(f[2]!, `${path}[${i}].statusInfo`);
      return s;
    }));
  }
}
