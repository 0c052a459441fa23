// EncryptedPOP and DecryptedPOP controls (RFC 5272 §6.7, indirect proof of possession for keys that cannot sign):
//   EncryptedPOP ::= SEQUENCE { request TaggedRequest, cms ContentInfo, thePOPAlgID AlgorithmIdentifier,
//                               witnessAlgID AlgorithmIdentifier, witness OCTET STRING }
//   DecryptedPOP ::= SEQUENCE { bodyPartID BodyPartID, thePOPAlgID AlgorithmIdentifier, thePOP OCTET STRING }
// The CA encrypts a random value y to the new key (EnvelopedData), witness = witnessAlgID(y); thePOP =
// thePOPAlgID(key = y, the DER certificationRequest) — see pop-algorithms.ts. The AlgorithmIdentifiers keep their
// parameters (DER) so that DecryptedPOP copies thePOPAlgID exactly (rfc5272bis §6.7 step 4).
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from '../../pki/asn1/errors.js';
import { encodeNode, parseDer, readOctets, readOid, seqChildren, verifySchema, type AsnNode } from '../../pki/asn1/der.js';
import { bodyPartIdSchema, readBodyPartId } from './body-part-reference.js';
import { TaggedCertificationRequest } from './tagged-request.js';

function algId(oid: string, params?: Uint8Array): asn1js.Sequence {
  return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: oid }), ...(params ? [parseDer(params, 'parameters') as asn1js.BaseBlock] : [])] });
}
function readAlgId(node: AsnNode | undefined, path: string): { oid: string; params?: Uint8Array } {
  const c = seqChildren(node, path);
  if (c.length < 1 || c.length > 2) throw new Asn1DecodeError('constraint', path, 'AlgorithmIdentifier must have 1 or 2 elements');
  return { oid: readOid(c[0], `${path}.algorithm`), ...(c[1] ? { params: encodeNode(c[1]) } : {}) };
}

export interface EncryptedPOPParams {
  request: TaggedCertificationRequest;
  /** DER ContentInfo (EnvelopedData carrying y). */
  cms: Uint8Array;
  thePOPAlgID: string;
  witnessAlgID: string;
  witness: Uint8Array;
  /** DER parameters of thePOPAlgID / witnessAlgID (absent: undefined). */
  thePOPAlgParams?: Uint8Array;
  witnessAlgParams?: Uint8Array;
}

export class EncryptedPOP {
  readonly request: TaggedCertificationRequest;
  /** DER ContentInfo (EnvelopedData carrying y). */
  readonly cms: Uint8Array;
  readonly thePOPAlgID: string;
  readonly witnessAlgID: string;
  readonly witness: Uint8Array;
  readonly thePOPAlgParams: Uint8Array | undefined;
  readonly witnessAlgParams: Uint8Array | undefined;

  constructor(params: EncryptedPOPParams) {
    this.request = params.request;
    this.cms = params.cms;
    this.thePOPAlgID = params.thePOPAlgID;
    this.witnessAlgID = params.witnessAlgID;
    this.witness = params.witness;
    this.thePOPAlgParams = params.thePOPAlgParams;
    this.witnessAlgParams = params.witnessAlgParams;
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.Any({ name: 'request' }),
        new asn1js.Sequence({ name: 'cms' }),
        new asn1js.Sequence({ name: 'thePOPAlgID' }),
        new asn1js.Sequence({ name: 'witnessAlgID' }),
        new asn1js.OctetString({ name: 'witness' }),
      ],
    });
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [this.request.toSchema(), parseDer(this.cms, 'cms') as asn1js.BaseBlock, algId(this.thePOPAlgID, this.thePOPAlgParams), algId(this.witnessAlgID, this.witnessAlgParams), new asn1js.OctetString({ valueHex: this.witness })],
    });
  }

  static fromSchema(node: AsnNode, path = 'EncryptedPOP'): EncryptedPOP {
    const m = verifySchema(node, EncryptedPOP.schema(), path);
    const pop = readAlgId(m.thePOPAlgID, `${path}.thePOPAlgID`);
    const wit = readAlgId(m.witnessAlgID, `${path}.witnessAlgID`);
    return new EncryptedPOP({
      request: TaggedCertificationRequest.fromSchema(m.request, `${path}.request`),
      cms: encodeNode(m.cms),
      thePOPAlgID: pop.oid,
      witnessAlgID: wit.oid,
      witness: readOctets(m.witness, `${path}.witness`),
      ...(pop.params ? { thePOPAlgParams: pop.params } : {}),
      ...(wit.params ? { witnessAlgParams: wit.params } : {}),
    });
  }
}

export interface DecryptedPOPParams {
  bodyPartID: number;
  thePOPAlgID: string;
  thePOP: Uint8Array;
  thePOPAlgParams?: Uint8Array;
}

export class DecryptedPOP {
  readonly bodyPartID: number;
  readonly thePOPAlgID: string;
  readonly thePOP: Uint8Array;
  readonly thePOPAlgParams: Uint8Array | undefined;

  constructor(params: DecryptedPOPParams) {
    this.bodyPartID = params.bodyPartID;
    this.thePOPAlgID = params.thePOPAlgID;
    this.thePOP = params.thePOP;
    this.thePOPAlgParams = params.thePOPAlgParams;
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.Integer({ name: 'bodyPartID' }), new asn1js.Sequence({ name: 'thePOPAlgID' }), new asn1js.OctetString({ name: 'thePOP' })] });
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [bodyPartIdSchema(this.bodyPartID), algId(this.thePOPAlgID, this.thePOPAlgParams), new asn1js.OctetString({ valueHex: this.thePOP })] });
  }

  static fromSchema(node: AsnNode, path = 'DecryptedPOP'): DecryptedPOP {
    const m = verifySchema(node, DecryptedPOP.schema(), path);
    const pop = readAlgId(m.thePOPAlgID, `${path}.thePOPAlgID`);
    return new DecryptedPOP({ bodyPartID: readBodyPartId(m.bodyPartID, `${path}.bodyPartID`), thePOPAlgID: pop.oid, thePOP: readOctets(m.thePOP, `${path}.thePOP`), ...(pop.params ? { thePOPAlgParams: pop.params } : {}) });
  }
}
