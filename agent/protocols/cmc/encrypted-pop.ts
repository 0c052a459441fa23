// EncryptedPOP and DecryptedPOP controls (RFC 5272 §6.7, indirect proof of possession for keys that cannot sign):
//   EncryptedPOP ::= SEQUENCE { request TaggedRequest, cms ContentInfo, thePOPAlgID AlgorithmIdentifier,
//                               witnessAlgID AlgorithmIdentifier, witness OCTET STRING }
//   DecryptedPOP ::= SEQUENCE { bodyPartID BodyPartID, thePOPAlgID AlgorithmIdentifier, thePOP OCTET STRING }
// The classic variant: the CA encrypts a random value y to the new key (EnvelopedData), witness = SHA-256(y);
// thePOP = HMAC-SHA256(key = y, the DER certificationRequest). (The CMCbis drafts move to KMAC/SHAKE; node:crypto
// has no KMAC, so that variant is not implemented.)
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from '../../pki/asn1/errors.js';
import { encodeNode, parseDer, readOctets, readOid, seqChildren, type AsnNode } from '../../pki/asn1/der.js';
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

export class EncryptedPOP {
  constructor(
    readonly request: TaggedCertificationRequest,
    /** DER ContentInfo (EnvelopedData carrying y). */
    readonly cms: Uint8Array,
    readonly thePOPAlgID: string,
    readonly witnessAlgID: string,
    readonly witness: Uint8Array,
  ) {}

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [this.request.toSchema(), parseDer(this.cms, 'cms') as asn1js.BaseBlock, algId(this.thePOPAlgID), algId(this.witnessAlgID), new asn1js.OctetString({ valueHex: this.witness })],
    });
  }

  static fromSchema(node: AsnNode, path = 'EncryptedPOP'): EncryptedPOP {
    const c = seqChildren(node, path);
    if (c.length !== 5) throw new Asn1DecodeError(c.length < 5 ? 'missing-field' : 'extra-field', path, `${c.length} elements, 5 expected`);
    seqChildren(c[1], `${path}.cms`);
    return new EncryptedPOP(
      TaggedCertificationRequest.fromSchema(c[0]!, `${path}.request`),
      encodeNode(c[1]!),
      readAlgId(c[2], `${path}.thePOPAlgID`),
      readAlgId(c[3], `${path}.witnessAlgID`),
      readOctets(c[4], `${path}.witness`),
    );
  }
}

export class DecryptedPOP {
  constructor(
    readonly bodyPartID: number,
    readonly thePOPAlgID: string,
    readonly thePOP: Uint8Array,
  ) {}

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [bodyPartIdSchema(this.bodyPartID), algId(this.thePOPAlgID), new asn1js.OctetString({ valueHex: this.thePOP })] });
  }

  static fromSchema(node: AsnNode, path = 'DecryptedPOP'): DecryptedPOP {
    const c = seqChildren(node, path);
    if (c.length !== 3) throw new Asn1DecodeError(c.length < 3 ? 'missing-field' : 'extra-field', path, `${c.length} elements, 3 expected`);
    return new DecryptedPOP(readBodyPartId(c[0], `${path}.bodyPartID`), readAlgId(c[1], `${path}.thePOPAlgID`), readOctets(c[2], `${path}.thePOP`));
  }
}
