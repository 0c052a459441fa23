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
import { type AsnNode, encodeNode, readSmallInt, seqChildren } from '../../../pki/asn1/der.js';
import { signatureAlgorithmFor } from '../../../pki/sign.js';
import type { Signer } from '../../../pki/signer.js';
import { CertTemplate } from './cert-template.js';
import { contextTag } from './tags.js';

export interface PopoSigningKey {
  algorithm: pkijs.AlgorithmIdentifier;
  signature: Uint8Array;
}

export class CertReqMsg {
  certReqId = 0;
  certTemplate = new CertTemplate();
  /** Controls / regInfo: AttributeTypeAndValue SEQUENCEs, kept as nodes. */
  controls?: AsnNode[];
  popo?: PopoSigningKey | 'raVerified';
  regInfo?: AsnNode[];

  constructor(init: Partial<CertReqMsg> = {}) {
    Object.assign(this, init);
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
    const kids = seqChildren(node, path);
    const req = seqChildren(kids[0], `${path}.certReq`);
    const m = new CertReqMsg();
    m.certReqId = readSmallInt(req[0], `${path}.certReq.certReqId`, -1, 2 ** 31 - 1);
    m.certTemplate = CertTemplate.fromSchema(req[1]!, `${path}.certReq.certTemplate`);
    if (req[2]) m.controls = seqChildren(req[2], `${path}.certReq.controls`);
    let i = 1;
    const t = contextTag(kids[i]);
    if (t === 0) {
      m.popo = 'raVerified';
      i++;
    } else if (t === 1) {
      const p = ((kids[i++] as asn1js.Constructed).valueBlock.value ?? []) as AsnNode[];
      if (contextTag(p[0]) === 0) throw new Asn1DecodeError('constraint', `${path}.popo`, 'poposkInput is not supported');
      if (!(p[1] instanceof asn1js.BitString)) throw new Asn1DecodeError('bad-tag', `${path}.popo.signature`, 'expected BIT STRING');
      try {
        m.popo = { algorithm: new pkijs.AlgorithmIdentifier({ schema: p[0] }), signature: new Uint8Array(p[1].valueBlock.valueHexView) };
      } catch (cause) {
        throw new Asn1DecodeError('bad-value', `${path}.popo.algorithmIdentifier`, 'not an AlgorithmIdentifier', { cause });
      }
    } else if (t !== undefined) {
      throw new Asn1DecodeError('constraint', `${path}.popo`, `unsupported ProofOfPossession [${t}]`);
    }
    if (kids[i]) m.regInfo = seqChildren(kids[i++], `${path}.regInfo`);
    if (i < kids.length) throw new Asn1DecodeError('extra-field', `${path}[${i}]`, 'unexpected element');
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
