// CertRepMessage, RFC 4210 §5.3.4 (EXPLICIT TAGS):
//   CertRepMessage ::= SEQUENCE { caPubs [1] SEQUENCE SIZE (1..MAX) OF CMPCertificate OPTIONAL, response SEQUENCE OF CertResponse }
//   CertResponse ::= SEQUENCE { certReqId INTEGER, status PKIStatusInfo, certifiedKeyPair CertifiedKeyPair OPTIONAL, rspInfo OCTET STRING OPTIONAL }
//   CertifiedKeyPair ::= SEQUENCE { certOrEncCert CertOrEncCert, privateKey [0] OPTIONAL, publicationInfo [1] OPTIONAL }
//   CertOrEncCert ::= CHOICE { certificate [0] CMPCertificate, encryptedCert [1] EncryptedKey }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from '../../../pki/asn1/errors.js';
import { type AsnNode, encodeNode, explicitSchema, parseDer, readSmallInt, seqChildren, verifySchema } from '../../../pki/asn1/der.js';
import { PKIStatusInfo } from './pki-status-info.js';
import { contextTag, explicit, unwrapExplicit } from './tags.js';

export interface CertResponse {
  certReqId: number;
  status: PKIStatusInfo;
  /** DER certificate (certOrEncCert.certificate); encryptedCert is refused. */
  certificate?: Uint8Array;
}

export class CertRepMessage {
  response: CertResponse[];
  /** DER certificates. */
  caPubs: Uint8Array[];

  constructor(params: { response?: CertResponse[]; caPubs?: Uint8Array[] } = {}) {
    this.response = params.response ?? [];
    this.caPubs = params.caPubs ?? [];
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.Constructed({ name: 'caPubs', optional: true, idBlock: { tagClass: 3, tagNumber: 1 }, value: [new asn1js.Sequence({ name: 'caPubsSeq' })] }),
        new asn1js.Sequence({ name: 'response', value: [new asn1js.Repeated({ name: 'responses', value: new asn1js.Sequence() })] }),
      ],
    });
  }

  /** CertResponse. */
  static certResponseSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.Integer({ name: 'certReqId' }),
        new asn1js.Sequence({ name: 'status' }),
        new asn1js.Sequence({ name: 'certifiedKeyPair', optional: true }),
        new asn1js.OctetString({ name: 'rspInfo', optional: true }),
      ],
    });
  }

  /** CertifiedKeyPair. */
  static certifiedKeyPairSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [explicitSchema(0, 'certificate', false), explicitSchema(0, 'privateKey'), explicitSchema(1, 'publicationInfo')] });
  }

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
    const m = verifySchema(node, CertRepMessage.schema(), path);
    const caPubs = m.caPubsSeq ? seqChildren(m.caPubsSeq, `${path}.caPubs`).map((c) => encodeNode(c)) : [];
    const responses = ((m.responses ?? []) as AsnNode[]).map((r, j): CertResponse => {
      const p = `${path}.response[${j}]`;
      const f = verifySchema(r, CertRepMessage.certResponseSchema(), p);
      const out: CertResponse = { certReqId: readSmallInt(f.certReqId, `${p}.certReqId`, -1, 2 ** 31 - 1), status: PKIStatusInfo.fromSchema(f.status, `${p}.status`) };
      if (f.certifiedKeyPair) {
        const t = contextTag(seqChildren(f.certifiedKeyPair, `${p}.certifiedKeyPair`)[0]);
        if (t !== 0) throw new Asn1DecodeError('constraint', `${p}.certifiedKeyPair`, t === 1 ? 'encryptedCert is not supported (the key never leaves the TPM)' : 'expected certificate [0]');
        const ckp = verifySchema(f.certifiedKeyPair, CertRepMessage.certifiedKeyPairSchema(), `${p}.certifiedKeyPair`);
        const cert = unwrapExplicit(ckp.certificate, `${p}.certificate`);
        seqChildren(cert, `${p}.certificate`);
        out.certificate = encodeNode(cert);
      }
      return out;
    });
    return new CertRepMessage({ response: responses, caPubs });
  }
}
