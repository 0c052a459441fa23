// RootCaKeyUpdateContent, RFC 9480 §2.14 (id-it-rootCaKeyUpdate in genp; request: id-it-rootCaCert with the old root):
//   RootCaKeyUpdateContent ::= SEQUENCE { newWithNew CMPCertificate, newWithOld [0] CMPCertificate OPTIONAL,
//                                         oldWithNew [1] CMPCertificate OPTIONAL }
// (PKIXCMP-2021 is EXPLICIT TAGS.) Also CaCertsValue ::= SEQUENCE SIZE (1..MAX) OF CMPCertificate (§2.14, id-it-caCerts).
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from '../../../pki/asn1/errors.js';
import { type AsnNode, encodeNode, parseDer, seqChildren } from '../../../pki/asn1/der.js';
import { contextTag, explicit, unwrapExplicit } from './tags.js';

export class RootCaKeyUpdateContent {
  constructor(public newWithNew: Uint8Array, public newWithOld?: Uint8Array, public oldWithNew?: Uint8Array) {}

  toSchema(): asn1js.Sequence {
    const v: AsnNode[] = [parseDer(this.newWithNew, 'newWithNew')];
    if (this.newWithOld) v.push(explicit(0, parseDer(this.newWithOld, 'newWithOld')));
    if (this.oldWithNew) v.push(explicit(1, parseDer(this.oldWithNew, 'oldWithNew')));
    return new asn1js.Sequence({ value: v });
  }

  static fromSchema(node: AsnNode, path = 'RootCaKeyUpdateContent'): RootCaKeyUpdateContent {
    const f = seqChildren(node, path);
    seqChildren(f[0], `${path}.newWithNew`);
    const out = new RootCaKeyUpdateContent(encodeNode(f[0]!));
    let last = -1;
    for (let i = 1; i < f.length; i++) {
      const t = contextTag(f[i]);
      if (t === undefined || t <= last || t > 1) throw new Asn1DecodeError('bad-tag', `${path}[${i}]`, 'expected [0] newWithOld or [1] oldWithNew');
      last = t;
      const c = unwrapExplicit(f[i]!, `${path}[${t}]`);
      seqChildren(c, `${path}[${t}]`);
      if (t === 0) out.newWithOld = encodeNode(c);
      else out.oldWithNew = encodeNode(c);
    }
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
