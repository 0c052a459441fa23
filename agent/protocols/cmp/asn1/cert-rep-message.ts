// CertRepMessage, RFC 4210 §5.3.4 (EXPLICIT TAGS):
//   CertRepMessage ::= SEQUENCE { caPubs [1] SEQUENCE SIZE (1..MAX) OF CMPCertificate OPTIONAL, response SEQUENCE OF CertResponse }
//   CertResponse ::= SEQUENCE { certReqId INTEGER, status PKIStatusInfo, certifiedKeyPair CertifiedKeyPair OPTIONAL, rspInfo OCTET STRING OPTIONAL }
//   CertifiedKeyPair ::= SEQUENCE { certOrEncCert CertOrEncCert, privateKey [0] OPTIONAL, publicationInfo [1] OPTIONAL }
//   CertOrEncCert ::= CHOICE { certificate [0] CMPCertificate, encryptedCert [1] EncryptedKey }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from '../../../pki/asn1/errors.js';
import { type AsnNode, Tag, encodeNode, isUniversal, parseDer, readSmallInt, seqChildren } from '../../../pki/asn1/der.js';
import { PKIStatusInfo } from './pki-status-info.js';
import { contextTag, explicit, unwrapExplicit } from './tags.js';

export interface CertResponse {
  certReqId: number;
  status: PKIStatusInfo;
  /** DER certificate (certOrEncCert.certificate); encryptedCert is refused. */
  certificate?: Uint8Array;
}

export class CertRepMessage {
  constructor(public response: CertResponse[] = [], public caPubs: Uint8Array[] = []) {}

  toSchema(): asn1js.Sequence {
    const value: AsnNode[] = [];
    if (this.caPubs.length) value.push(explicit(1, new asn1js.Sequence({ value: this.caPubs.map((c) => parseDer(c, 'caPubs')) })));
    value.push(new asn1js.Sequence({
      value: this.response.map((r) => {
        const v: AsnNode[] = [new asn1js.Integer({ value: r.certReqId }), r.status.toSchema()];
        if (r.certificate) v.push(new asn1js.Sequence({ value: [explicit(0, parseDer(r.certificate, 'certificate'))] }));
        return new asn1js.Sequence({ value: v });
      }),
    }));
    return new asn1js.Sequence({ value });
  }

  static fromSchema(node: AsnNode, path = 'CertRepMessage'): CertRepMessage {
    const kids = seqChildren(node, path);
    let i = 0;
    const caPubs: Uint8Array[] = [];
    if (contextTag(kids[0]) === 1) {
      for (const c of seqChildren(unwrapExplicit(kids[i++]!, `${path}.caPubs`), `${path}.caPubs`)) caPubs.push(encodeNode(c));
    }
    const responses = seqChildren(kids[i++], `${path}.response`).map((r, j): CertResponse => {
      const p = `${path}.response[${j}]`;
      const f = seqChildren(r, p);
      const out: CertResponse = { certReqId: readSmallInt(f[0], `${p}.certReqId`, -1, 2 ** 31 - 1), status: PKIStatusInfo.fromSchema(f[1]!, `${p}.status`) };
      if (isUniversal(f[2], Tag.SEQUENCE)) {
        const ckp = seqChildren(f[2], `${p}.certifiedKeyPair`);
        const t = contextTag(ckp[0]);
        if (t !== 0) throw new Asn1DecodeError('constraint', `${p}.certifiedKeyPair`, t === 1 ? 'encryptedCert is not supported (the key never leaves the TPM)' : 'expected certificate [0]');
        const cert = unwrapExplicit(ckp[0]!, `${p}.certificate`);
        seqChildren(cert, `${p}.certificate`);
        out.certificate = encodeNode(cert);
      }
      return out;
    });
    if (i < kids.length) throw new Asn1DecodeError('extra-field', `${path}[${i}]`, 'unexpected element');
    return new CertRepMessage(responses, caPubs);
  }
}
