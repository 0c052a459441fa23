// RootCaKeyUpdateContent, RFC 9480 §2.15 (id-it-rootCaKeyUpdate in genp; request: id-it-rootCaCert with the old root):
//   RootCaKeyUpdateContent ::= SEQUENCE { newWithNew CMPCertificate, newWithOld [0] CMPCertificate OPTIONAL,
//                                         oldWithNew [1] CMPCertificate OPTIONAL }
// (PKIXCMP-2021 is EXPLICIT TAGS.) Also CaCertsValue ::= SEQUENCE SIZE (1..MAX) OF CMPCertificate (§2.14, id-it-caCerts).
import * as asn1js from 'asn1js';
import { type AsnNode, encodeNode, explicitSchema, parseDer, seqChildren, verifySchema } from '../../../pki/asn1/der.js';
import { explicit, unwrapExplicit } from './tags.js';

export interface RootCaKeyUpdateContentParams {
  newWithNew: Uint8Array;
  newWithOld?: Uint8Array;
  oldWithNew?: Uint8Array;
}

export class RootCaKeyUpdateContent {
  newWithNew: Uint8Array;
  newWithOld?: Uint8Array;
  oldWithNew?: Uint8Array;

  constructor(params: RootCaKeyUpdateContentParams) {
    this.newWithNew = params.newWithNew;
    if (params.newWithOld) this.newWithOld = params.newWithOld;
    if (params.oldWithNew) this.oldWithNew = params.oldWithNew;
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.Sequence({ name: 'newWithNew' }), explicitSchema(0, 'newWithOld'), explicitSchema(1, 'oldWithNew')] });
  }

  toSchema(): asn1js.Sequence {
    const v: AsnNode[] = [parseDer(this.newWithNew, 'newWithNew')];
    if (this.newWithOld) v.push(explicit(0, parseDer(this.newWithOld, 'newWithOld')));
    if (this.oldWithNew) v.push(explicit(1, parseDer(this.oldWithNew, 'oldWithNew')));
    return new asn1js.Sequence({ value: v });
  }

  static fromSchema(node: AsnNode, path = 'RootCaKeyUpdateContent'): RootCaKeyUpdateContent {
    const m = verifySchema(node, RootCaKeyUpdateContent.schema(), path);
    const cert = (n: AsnNode | undefined, t: number): Uint8Array | undefined => {
      if (!n) return undefined;
      const c = unwrapExplicit(n, `${path}[${t}]`);
      seqChildren(c, `${path}[${t}]`);
      return encodeNode(c);
    };
    const out = new RootCaKeyUpdateContent({ newWithNew: encodeNode(m.newWithNew) });
    const nwo = cert(m.newWithOld, 0);
    const own = cert(m.oldWithNew, 1);
    if (nwo) out.newWithOld = nwo;
    if (own) out.oldWithNew = own;
    return out;
  }
}

/** CaCertsValue ::= SEQUENCE SIZE (1..MAX) OF CMPCertificate. */
export function caCertsValue(certs: Uint8Array[]): asn1js.Sequence {
  return new asn1js.Sequence({ value: certs.map((c) => parseDer(c, 'caCerts')) });
}

export function readCaCertsValue(node: AsnNode, path = 'caCerts'): Uint8Array[] {
  return seqChildren(node, path).map((c, i) => {
    seqChildren(c, `${path}[${i}]`);
    return encodeNode(c);
  });
}
