// TaggedContentInfo (RFC 5272 §3.2.1.3): SEQUENCE { bodyPartID, contentInfo ContentInfo }.
import * as asn1js from 'asn1js';
import { encodeNode, parseDer, readOid, seqChildren, verifySchema, type AsnNode } from '../../pki/asn1/der.js';
import { bodyPartIdSchema, readBodyPartId } from './body-part-reference.js';

export interface TaggedContentInfoParams {
  bodyPartID: number;
  /** DER ContentInfo. */
  contentInfo: Uint8Array;
}

export class TaggedContentInfo {
  readonly bodyPartID: number;
  /** DER ContentInfo. */
  readonly contentInfo: Uint8Array;

  constructor(params: TaggedContentInfoParams) {
    this.bodyPartID = params.bodyPartID;
    this.contentInfo = params.contentInfo;
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.Integer({ name: 'bodyPartID' }), new asn1js.Sequence({ name: 'contentInfo' })] });
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [bodyPartIdSchema(this.bodyPartID), parseDer(this.contentInfo, 'contentInfo') as asn1js.BaseBlock] });
  }

  static fromSchema(node: AsnNode, path = 'TaggedContentInfo'): TaggedContentInfo {
    const m = verifySchema(node, TaggedContentInfo.schema(), path);
    readOid(seqChildren(m.contentInfo, `${path}.contentInfo`)[0], `${path}.contentInfo.contentType`);
    return new TaggedContentInfo({ bodyPartID: readBodyPartId(m.bodyPartID, `${path}.bodyPartID`), contentInfo: encodeNode(m.contentInfo) });
  }
}
