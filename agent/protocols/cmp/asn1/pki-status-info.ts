// PKIStatusInfo, RFC 4210 §5.2.3:
//   PKIStatusInfo ::= SEQUENCE { status PKIStatus, statusString PKIFreeText OPTIONAL, failInfo PKIFailureInfo OPTIONAL }
import * as asn1js from 'asn1js';
import { type AsnNode, readSmallInt, verifySchema } from '../../../pki/asn1/der.js';
import { FAIL_INFO_NAMES } from '../constants.js';
import { freeText, readFreeText } from './tags.js';

export interface PKIStatusInfoParams {
  status: number;
  statusString?: string[];
  /** Bit numbers set in PKIFailureInfo. */
  failInfo?: number[];
}

export class PKIStatusInfo {
  status: number;
  statusString: string[];
  /** Bit numbers set in PKIFailureInfo. */
  failInfo: number[];

  constructor(params: PKIStatusInfoParams) {
    this.status = params.status;
    this.statusString = params.statusString ?? [];
    this.failInfo = params.failInfo ?? [];
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.Integer({ name: 'status' }),
        new asn1js.Sequence({ name: 'statusString', optional: true }),
        new asn1js.BitString({ name: 'failInfo', optional: true }),
      ],
    });
  }

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
    const m = verifySchema(node, PKIStatusInfo.schema(), path);
    const failInfo: number[] = [];
    if (m.failInfo) {
      (m.failInfo as asn1js.BitString).valueBlock.valueHexView.forEach((byte, j) => {
        for (let k = 0; k < 8; k++) if (byte & (0x80 >> k)) failInfo.push(j * 8 + k);
      });
    }
    return new PKIStatusInfo({
      status: readSmallInt(m.status, `${path}.status`, 0, 6),
      statusString: m.statusString ? readFreeText(m.statusString, `${path}.statusString`) : [],
      failInfo,
    });
  }

  failInfoNames(): string[] {
    return this.failInfo.map((b) => FAIL_INFO_NAMES[b] ?? `bit${b}`);
  }
}
