// GCMParameters (RFC 5084 §3.2), the contentEncryptionAlgorithm parameters of id-aes{128,192,256}-GCM:
//   GCMParameters ::= SEQUENCE { aes-nonce OCTET STRING, -- recommended size is 12 octets
//                                aes-ICVlen AES-GCM-ICVlen DEFAULT 12 }
//   AES-GCM-ICVlen ::= INTEGER (12 | 13 | 14 | 15 | 16)
import * as asn1js from 'asn1js';
import { CmcPopError } from './errors.js';

/** Longest aes-nonce accepted (the RFC recommends 12 octets; larger values only cost an extra GHASH). */
export const GCM_NONCE_MAX_BYTES = 64;

export class GCMParameters {
  constructor(
    readonly nonce: Uint8Array,
    readonly icvLength = 12,
  ) {}

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [new asn1js.OctetString({ valueHex: this.nonce }), ...(this.icvLength !== 12 ? [new asn1js.Integer({ value: this.icvLength })] : [])],
    });
  }

  static fromSchema(n: asn1js.BaseBlock | undefined, path = 'GCMParameters'): GCMParameters {
    const v = n instanceof asn1js.Sequence ? n.valueBlock.value : undefined;
    if (!v || v.length < 1 || v.length > 2 || !(v[0] instanceof asn1js.OctetString) || v[0].idBlock.isConstructed) {
      throw new CmcPopError('malformed', `${path}: not SEQUENCE { aes-nonce OCTET STRING, aes-ICVlen INTEGER DEFAULT 12 }`);
    }
    const nonce = new Uint8Array(v[0].valueBlock.valueHexView);
    if (nonce.byteLength === 0 || nonce.byteLength > GCM_NONCE_MAX_BYTES) throw new CmcPopError('malformed', `${path}: aes-nonce of ${nonce.byteLength} bytes (1..${GCM_NONCE_MAX_BYTES})`);
    let icv = 12;
    if (v[1] !== undefined) {
      if (!(v[1] instanceof asn1js.Integer)) throw new CmcPopError('malformed', `${path}: aes-ICVlen is not an INTEGER`);
      icv = v[1].valueBlock.valueDec;
      if (!Number.isInteger(icv) || icv < 12 || icv > 16) throw new CmcPopError('malformed', `${path}: aes-ICVlen ${icv} is not one of 12..16`);
    }
    return new GCMParameters(nonce, icv);
  }
}
