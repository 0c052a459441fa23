// EncryptedPOP and DecryptedPOP controls (RFC 5272 §6.7, indirect proof of possession for keys that cannot sign):
//   EncryptedPOP ::= SEQUENCE { request TaggedRequest, cms ContentInfo, thePOPAlgID AlgorithmIdentifier,
//                               witnessAlgID AlgorithmIdentifier, witness OCTET STRING }
//   DecryptedPOP ::= SEQUENCE { bodyPartID BodyPartID, thePOPAlgID AlgorithmIdentifier, thePOP OCTET STRING }
// The classic variant: the CA encrypts a random value y to the new key (EnvelopedData), witness = SHA-256(y);
// thePOP = HMAC-SHA256(key = y, the DER certificationRequest). (The CMCbis drafts move to KMAC/SHAKE; node:crypto
// has no KMAC, so that variant is not implemented.)
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from '../../pki/asn1/errors.js';
import { encodeNode, parseDer, readOctets, readOid, seqChildren, verifySchema, type AsnNode } from '../../pki/asn1/der.js';
import { bodyPartIdSchema, readBodyPartId } from './body-part-reference.js';
import { TaggedCertificationRequest } from './tagged-request.js';

function algId(oid: string): asn1js.Sequence {
  return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: oid })] });
}
function readAlgId(node: AsnNode | undefined, path: string): string {
  const c = seqChildren(node, path);
  if (c.length < 1 || c.length > 2) throw new Asn1DecodeError('constraint', path, 'AlgorithmIdentifier must have 1 or 2 elements');
  return readOid(c[0], `${path}.algorithm`);
}

export interface EncryptedPOPParams {
  request: TaggedCertificationRequest;
  /** DER ContentInfo (EnvelopedData carrying y). */
  cms: Uint8Array;
  thePOPAlgID: string;
  witnessAlgID: string;
  witness: Uint8Array;
}

export class EncryptedPOP {
  readonly request: TaggedCertificationRequest;
  /** DER ContentInfo (EnvelopedData carrying y). */
  readonly cms: Uint8Array;
  readonly thePOPAlgID: string;
  readonly witnessAlgID: string;
  readonly witness: Uint8Array;

  constructor(params: EncryptedPOPParams) {
    this.request = params.request;
    this.cms = params.cms;
    this.thePOPAlgID = params.thePOPAlgID;
    this.witnessAlgID = params.witnessAlgID;
    this.witness = params.witness;
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
      value: [this.request.toSchema(), parseDer(this.cms, 'cms') as asn1js.BaseBlock, algId(this.thePOPAlgID), algId(this.witnessAlgID), new asn1js.OctetString({ valueHex: this.witness })],
    });
  }

  static fromSchema(node: AsnNode, path = 'EncryptedPOP'): EncryptedPOP {
    const m = verifySchema(node, EncryptedPOP.schema(), path);
    return new EncryptedPOP({
      request: TaggedCertificationRequest.fromSchema(m.request, `${path}.request`),
      cms: encodeNode(m.cms),
      thePOPAlgID: readAlgId(m.thePOPAlgID, `${path}.thePOPAlgID`),
      witnessAlgID: readAlgId(m.witnessAlgID, `${path}.witnessAlgID`),
      witness: readOctets(m.witness, `${path}.witness`),
    });
  }
}

export interface DecryptedPOPParams {
  bodyPartID: number;
  thePOPAlgID: string;
  thePOP: Uint8Array;
}

export class DecryptedPOP {
  readonly bodyPartID: number;
  readonly thePOPAlgID: string;
  readonly thePOP: Uint8Array;

  constructor(params: DecryptedPOPParams) {
    this.bodyPartID = params.bodyPartID;
    this.thePOPAlgID = params.thePOPAlgID;
    this.thePOP = params.thePOP;
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.Integer({ name: 'bodyPartID' }), new asn1js.Sequence({ name: 'thePOPAlgID' }), new asn1js.OctetString({ name: 'thePOP' })] });
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [bodyPartIdSchema(this.bodyPartID), algId(this.thePOPAlgID), new asn1js.OctetString({ valueHex: this.thePOP })] });
  }

  static fromSchema(node: AsnNode, path = 'DecryptedPOP'): DecryptedPOP {
    const m = verifySchema(node, DecryptedPOP.schema(), path);
    return new DecryptedPOP({ bodyPartID: readBodyPartId(m.bodyPartID, `${path}.bodyPartID`), thePOPAlgID: readAlgId(m.thePOPAlgID, `${path}.thePOPAlgID`), thePOP: readOctets(m.thePOP, `${path}.thePOP`) });
  }
}
