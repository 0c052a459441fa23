// CertReqMsg, RFC 4211 §3-§4 (IMPLICIT TAGS):
//   CertReqMessages ::= SEQUENCE SIZE (1..MAX) OF CertReqMsg
//   CertReqMsg ::= SEQUENCE { certReq CertRequest, popo ProofOfPossession OPTIONAL, regInfo SEQUENCE OF AttributeTypeAndValue OPTIONAL }
//   CertRequest ::= SEQUENCE { certReqId INTEGER, certTemplate CertTemplate, controls Controls OPTIONAL }
//   ProofOfPossession ::= CHOICE { raVerified [0] NULL, signature [1] POPOSigningKey, ... }
//   POPOSigningKey ::= SEQUENCE { poposkInput [0] POPOSigningKeyInput OPTIONAL, algorithmIdentifier AlgorithmIdentifier, signature BIT STRING }
// §4.1: without poposkInput the signature is computed over the DER CertRequest.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { Asn1DecodeError } from '../../../pki/asn1/errors.js';
import { type AsnNode, encodeNode, readSmallInt, seqChildren, verifySchema } from '../../../pki/asn1/der.js';
import { signatureAlgorithmFor } from '../../../pki/sign.js';
import type { Signer } from '../../../pki/signer.js';
import { CertTemplate } from './cert-template.js';

export interface PopoSigningKey {
  algorithm: pkijs.AlgorithmIdentifier;
  signature: Uint8Array;
}

export interface CertReqMsgParams {
  certReqId?: number;
  certTemplate?: CertTemplate;
  controls?: AsnNode[];
  popo?: PopoSigningKey | 'raVerified';
  regInfo?: AsnNode[];
}

export class CertReqMsg {
  certReqId = 0;
  certTemplate = new CertTemplate();
  /** Controls / regInfo: AttributeTypeAndValue SEQUENCEs, kept as nodes. */
  controls?: AsnNode[];
  popo?: PopoSigningKey | 'raVerified';
  regInfo?: AsnNode[];

  constructor(params: CertReqMsgParams = {}) {
    if (params.certReqId !== undefined) this.certReqId = params.certReqId;
    if (params.certTemplate) this.certTemplate = params.certTemplate;
    if (params.controls) this.controls = params.controls;
    if (params.popo) this.popo = params.popo;
    if (params.regInfo) this.regInfo = params.regInfo;
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.Sequence({
          name: 'certReq',
          value: [new asn1js.Integer({ name: 'certReqId' }), new asn1js.Sequence({ name: 'certTemplate' }), new asn1js.Sequence({ name: 'controls', optional: true })],
        }),
        new asn1js.Choice({
          optional: true,
          value: [
            new asn1js.Primitive({ name: 'raVerified', idBlock: { tagClass: 3, tagNumber: 0 } }),
            new asn1js.Constructed({ name: 'signature', idBlock: { tagClass: 3, tagNumber: 1 } }),
            new asn1js.Constructed({ name: 'otherPopo', idBlock: { tagClass: 3, tagNumber: 2 } }),
            new asn1js.Constructed({ name: 'otherPopo', idBlock: { tagClass: 3, tagNumber: 3 } }),
            new asn1js.Primitive({ name: 'otherPopo', idBlock: { tagClass: 3, tagNumber: 2 } }),
            new asn1js.Primitive({ name: 'otherPopo', idBlock: { tagClass: 3, tagNumber: 3 } }),
          ],
        }),
        new asn1js.Sequence({ name: 'regInfo', optional: true }),
      ],
    });
  }

  /** POPOSigningKey (the [1] IMPLICIT SEQUENCE). */
  static popoSigningKeySchema(): asn1js.Constructed {
    return new asn1js.Constructed({
      idBlock: { tagClass: 3, tagNumber: 1 },
      value: [
        new asn1js.Constructed({ name: 'poposkInput', optional: true, idBlock: { tagClass: 3, tagNumber: 0 } }),
        new asn1js.Sequence({ name: 'algorithmIdentifier' }),
        new asn1js.BitString({ name: 'signature' }),
      ],
    });
  }

  certRequestSchema(): asn1js.Sequence {
    const value: AsnNode[] = [new asn1js.Integer({ value: this.certReqId }), this.certTemplate.toSchema()];
    if (this.controls?.length) value.push(new asn1js.Sequence({ value: this.controls }));
    return new asn1js.Sequence({ value });
  }

  /** The DER CertRequest the POP signature covers. */
  certRequestDer(): Uint8Array {
    return encodeNode(this.certRequestSchema());
  }

  /** POP by signature with the key being certified (RFC 4211 §4.1, RFC 9483 §4.1.1). */
  async signPop(signer: Signer): Promise<void> {
    this.popo = { algorithm: signatureAlgorithmFor(signer.algorithm), signature: await signer.sign(this.certRequestDer()) };
  }

  toSchema(): asn1js.Sequence {
    const value: AsnNode[] = [this.certRequestSchema()];
    if (this.popo === 'raVerified') value.push(new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: new ArrayBuffer(0) }));
    else if (this.popo) {
      value.push(new asn1js.Constructed({
        idBlock: { tagClass: 3, tagNumber: 1 },
        value: [this.popo.algorithm.toSchema(), new asn1js.BitString({ valueHex: this.popo.signature })],
      }));
    }
    if (this.regInfo?.length) value.push(new asn1js.Sequence({ value: this.regInfo }));
    return new asn1js.Sequence({ value });
  }

  static fromSchema(node: AsnNode, path = 'CertReqMsg'): CertReqMsg {
    const f = verifySchema(node, CertReqMsg.schema(), path);
    const m = new CertReqMsg({
      certReqId: readSmallInt(f.certReqId, `${path}.certReq.certReqId`, -1, 2 ** 31 - 1),
      certTemplate: CertTemplate.fromSchema(f.certTemplate, `${path}.certReq.certTemplate`),
    });
    if (f.controls) m.controls = seqChildren(f.controls, `${path}.certReq.controls`);
    if (f.raVerified) m.popo = 'raVerified';
    else if (f.signature) {
      const p = verifySchema(f.signature, CertReqMsg.popoSigningKeySchema(), `${path}.popo`);
      if (p.poposkInput) throw new Asn1DecodeError('constraint', `${path}.popo`, 'poposkInput is not supported');
      try {
        m.popo = { algorithm: new pkijs.AlgorithmIdentifier({ schema: p.algorithmIdentifier }), signature: new Uint8Array((p.signature as asn1js.BitString).valueBlock.valueHexView) };
      } catch (cause) {
        throw new Asn1DecodeError('bad-value', `${path}.popo.algorithmIdentifier`, 'not an AlgorithmIdentifier', { cause });
      }
    } else if (f.otherPopo) {
      throw new Asn1DecodeError('constraint', `${path}.popo`, `unsupported ProofOfPossession [${(f.otherPopo as asn1js.BaseBlock).idBlock.tagNumber}]`);
    }
    if (f.regInfo) m.regInfo = seqChildren(f.regInfo, `${path}.regInfo`);
    return m;
  }
}

/** CertReqMessages ::= SEQUENCE SIZE (1..MAX) OF CertReqMsg. */
export function certReqMessages(msgs: CertReqMsg[]): asn1js.Sequence {
  return new asn1js.Sequence({ value: msgs.map((m) => m.toSchema()) });
}

export function readCertReqMessages(node: AsnNode, path = 'CertReqMessages'): CertReqMsg[] {
  const kids = seqChildren(node, path);
  if (!kids.length) throw new Asn1DecodeError('constraint', path, 'empty');
  return kids.map((k, i) => CertReqMsg.fromSchema(k, `${path}[${i}]`));
}
