// TaggedRequest (RFC 5272 §3.2.1.2): CHOICE { tcr [0] TaggedCertificationRequest, crm [1] CertReqMsg, orm [2] … }.
// The CMC module uses IMPLICIT TAGS, so tcr is [0] constructed with the SEQUENCE's children directly. Only tcr
// (PKCS#10) is produced and accepted here; crm/orm decode to a typed 'constraint' error.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { Asn1DecodeError } from '../../pki/asn1/errors.js';
import { encodeNode, isContext, parseDer, verifySchema, type AsnNode } from '../../pki/asn1/der.js';
import { bodyPartIdSchema, readBodyPartId } from './body-part-reference.js';

export interface TaggedCertificationRequestParams {
  bodyPartID: number;
  /** DER PKCS#10 CertificationRequest. */
  certificationRequest: Uint8Array;
}

export class TaggedCertificationRequest {
  readonly bodyPartID: number;
  /** DER PKCS#10 CertificationRequest (kept byte-exact: its signature covers it). */
  readonly certificationRequest: Uint8Array;

  constructor(params: TaggedCertificationRequestParams) {
    this.bodyPartID = params.bodyPartID;
    this.certificationRequest = params.certificationRequest;
  }

  /** The tcr [0] arm: TaggedCertificationRequest ::= SEQUENCE { bodyPartID, certificationRequest }, IMPLICIT. */
  static schema(): asn1js.Constructed {
    return new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.Integer({ name: 'bodyPartID' }), new asn1js.Sequence({ name: 'certificationRequest' })] });
  }

  toSchema(): asn1js.Constructed {
    return new asn1js.Constructed({
      idBlock: { tagClass: 3, tagNumber: 0 },
      value: [bodyPartIdSchema(this.bodyPartID), parseDer(this.certificationRequest, 'certificationRequest') as asn1js.BaseBlock],
    });
  }

  /** The parsed PKCS#10 (pkijs). */
  csr(): pkijs.CertificationRequest {
    return new pkijs.CertificationRequest({ schema: parseDer(this.certificationRequest, 'certificationRequest') });
  }

  static fromSchema(node: AsnNode, path = 'TaggedRequest'): TaggedCertificationRequest {
    if (!isContext(node, 0, true)) {
      const tag = (node as asn1js.BaseBlock).idBlock;
      if (tag?.tagClass === 3 && (tag.tagNumber === 1 || tag.tagNumber === 2)) {
        throw new Asn1DecodeError('constraint', path, `TaggedRequest ${tag.tagNumber === 1 ? 'crm' : 'orm'} is not supported (only tcr)`);
      }
      throw new Asn1DecodeError('bad-tag', path, 'expected tcr [0]');
    }
    const m = verifySchema(node, TaggedCertificationRequest.schema(), path);
    const crDer = encodeNode(m.certificationRequest);
    try {
      new pkijs.CertificationRequest({ schema: parseDer(crDer, `${path}.certificationRequest`) });
    } catch (e) {
      if (e instanceof Asn1DecodeError) throw e;
      throw new Asn1DecodeError('bad-value', `${path}.certificationRequest`, `not a PKCS#10 request: ${(e as Error).message}`);
    }
    return new TaggedCertificationRequest({ bodyPartID: readBodyPartId(m.bodyPartID, `${path}.bodyPartID`), certificationRequest: crDer });
  }
}
