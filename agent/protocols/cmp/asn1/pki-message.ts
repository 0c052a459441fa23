// PKIMessage, RFC 4210 §5.1 (EXPLICIT TAGS):
//   PKIMessage ::= SEQUENCE { header PKIHeader, body PKIBody, protection [0] PKIProtection OPTIONAL,
//                             extraCerts [1] SEQUENCE SIZE (1..MAX) OF CMPCertificate OPTIONAL }
//   PKIBody ::= CHOICE { ir [0] CertReqMessages, ip [1] CertRepMessage, ... }  (all arms [n] EXPLICIT)
//   ProtectedPart ::= SEQUENCE { header PKIHeader, body PKIBody }   -- what the protection covers (§5.1.3)
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from '../../../pki/asn1/errors.js';
import { type AsnNode, encodeNode, explicitSchema, parseDer, seqChildren, verifySchema } from '../../../pki/asn1/der.js';
import { BodyTag, type BodyType, bodyName } from '../constants.js';
import { PKIHeader } from './pki-header.js';
import { explicit, unwrapExplicit } from './tags.js';

export class PKIMessage {
  static readonly CLASS_NAME = 'PKIMessage';
  header: PKIHeader;
  /** PKIBody CHOICE tag number (see BodyTag). */
  bodyTag: number;
  /** The content inside the body's explicit tag. */
  body: AsnNode;
  protection?: Uint8Array;
  /** DER certificates. */
  extraCerts: Uint8Array[];

  constructor(init: { header: PKIHeader; bodyType: BodyType | number; body: AsnNode; protection?: Uint8Array; extraCerts?: Uint8Array[] }) {
    this.header = init.header;
    this.bodyTag = typeof init.bodyType === 'number' ? init.bodyType : BodyTag[init.bodyType];
    this.body = init.body;
    if (init.protection) this.protection = init.protection;
    this.extraCerts = init.extraCerts ?? [];
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.Sequence({ name: 'header' }),
        // PKIBody: every arm is [n] EXPLICIT, n in 0..26
        new asn1js.Choice({ value: Array.from({ length: 27 }, (_, n) => explicitSchema(n, 'body', false)) }),
        explicitSchema(0, 'protection'),
        explicitSchema(1, 'extraCerts'),
      ],
    });
  }

  get bodyType(): string {
    return bodyName(this.bodyTag);
  }

  /** DER of ProtectedPart ::= SEQUENCE { header, body }. */
  protectedPart(): Uint8Array {
    return encodeNode(new asn1js.Sequence({ value: [this.header.toSchema(), explicit(this.bodyTag, this.body)] }));
  }

  toSchema(): asn1js.Sequence {
    const value: AsnNode[] = [this.header.toSchema(), explicit(this.bodyTag, this.body)];
    if (this.protection) value.push(explicit(0, new asn1js.BitString({ valueHex: this.protection })));
    if (this.extraCerts.length) value.push(explicit(1, new asn1js.Sequence({ value: this.extraCerts.map((c) => parseDer(c, 'extraCerts')) })));
    return new asn1js.Sequence({ value });
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }

  static fromSchema(node: AsnNode, path = 'PKIMessage'): PKIMessage {
    const m = verifySchema(node, PKIMessage.schema(), path);
    const header = PKIHeader.fromSchema(m.header, `${path}.header`);
    if (!m.body) throw new Asn1DecodeError('bad-tag', `${path}.body`, 'expected a PKIBody [0..26]');
    const body = unwrapExplicit(m.body, `${path}.body`);
    const msg = new PKIMessage({ header, bodyType: (m.body as asn1js.BaseBlock).idBlock.tagNumber, body });
    if (m.protection) {
      const bs = unwrapExplicit(m.protection, `${path}.protection`);
      if (!(bs instanceof asn1js.BitString)) throw new Asn1DecodeError('bad-tag', `${path}.protection`, 'expected BIT STRING');
      msg.protection = new Uint8Array(bs.valueBlock.valueHexView);
    }
    if (m.extraCerts) {
      msg.extraCerts = seqChildren(unwrapExplicit(m.extraCerts, `${path}.extraCerts`), `${path}.extraCerts`).map((c, j) => {
        seqChildren(c, `${path}.extraCerts[${j}]`);
        return encodeNode(c);
      });
    }
    return msg;
  }

  static fromBER(bytes: Uint8Array): PKIMessage {
    return PKIMessage.fromSchema(parseDer(bytes, PKIMessage.CLASS_NAME));
  }
}
