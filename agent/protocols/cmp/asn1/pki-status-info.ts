// PKIStatusInfo, RFC 4210 §5.2.3:
//   PKIStatusInfo ::= SEQUENCE { status PKIStatus, statusString PKIFreeText OPTIONAL, failInfo PKIFailureInfo OPTIONAL }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from '../../../pki/asn1/errors.js';
import { type AsnNode, Tag, isUniversal, readSmallInt, seqChildren } from '../../../pki/asn1/der.js';
import { FAIL_INFO_NAMES } from '../constants.js';
import { freeText, readFreeText } from './tags.js';

export class PKIStatusInfo {
  constructor(
    public status: number,
    public statusString: string[] = [],
    /** Bit numbers set in PKIFailureInfo. */
    public failInfo: number[] = [],
  ) {}

  toSchema(): asn1js.Sequence {
    const value: AsnNode[] = [new asn1js.Integer({ value: this.status })];
    if (this.statusString.length) value.push(freeText(this.statusString));
    if (this.failInfo.length) {
      const max = Math.max(...this.failInfo);
      const bytes = new Uint8Array(Math.floor(max / 8) + 1);
      for (const b of this.failInfo) bytes[b >> 3]! |= 0x80 >> (b & 7);
      value.push(new asn1js.BitString({ valueHex: bytes, unusedBits: 7 - (max & 7) }));
    }
    return new asn1js.Sequence({ value });
  }

  static fromSchema(node: AsnNode, path = 'PKIStatusInfo'): PKIStatusInfo {
    const kids = seqChildren(node, path);
    const status = readSmallInt(kids[0], `${path}.status`, 0, 6);
    let i = 1;
    let texts: string[] = [];
    if (isUniversal(kids[i], Tag.SEQUENCE)) texts = readFreeText(kids[i++]!, `${path}.statusString`);
    const bits: number[] = [];
    if (kids[i] instanceof asn1js.BitString) {
      const v = (kids[i++] as asn1js.BitString).valueBlock.valueHexView;
      v.forEach((byte, j) => {
        for (let k = 0; k < 8; k++) if (byte & (0x80 >> k)) bits.push(j * 8 + k);
      });
    }
    if (i < kids.length) throw new Asn1DecodeError('extra-field', `${path}[${i}]`, 'unexpected element');
    return new PKIStatusInfo(status, texts, bits);
  }

  failInfoNames(): string[] {
    return this.failInfo.map((b) => FAIL_INFO_NAMES[b] ?? `bit${b}`);
  }
}
