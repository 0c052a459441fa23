// AuthEnvelopedData (RFC 5083 §2.1), which RFC 10002 §6.7 (rfc5272bis-11) allows as the encryptedPOP `cms` beside
// EnvelopedData:
//   AuthEnvelopedData ::= SEQUENCE { version CMSVersion (0), originatorInfo [0] IMPLICIT OriginatorInfo OPTIONAL,
//     recipientInfos RecipientInfos, authEncryptedContentInfo EncryptedContentInfo,
//     authAttrs [1] IMPLICIT AuthAttributes OPTIONAL, mac MessageAuthenticationCode (OCTET STRING),
//     unauthAttrs [2] IMPLICIT UnauthAttributes OPTIONAL }
// RecipientInfo and EncryptedContentInfo are RFC 5652's (pkijs). The AEAD's additional data is the DER of authAttrs
// with an EXPLICIT SET OF tag in place of the [1] (RFC 5083 §2.2), or empty when there are none.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { CmcPopError } from './errors.js';

export interface AuthEnvelopedDataParams {
  recipientInfos: pkijs.RecipientInfo[];
  authEncryptedContentInfo: pkijs.EncryptedContentInfo;
  mac: Uint8Array;
  /** DER of the whole [0] originatorInfo / [1] authAttrs / [2] unauthAttrs elements, kept as received. */
  originatorInfo?: Uint8Array;
  authAttrs?: Uint8Array;
  unauthAttrs?: Uint8Array;
}

const isCtx = (n: asn1js.BaseBlock | undefined, tag: number): boolean => n !== undefined && n.idBlock.tagClass === 3 && n.idBlock.tagNumber === tag && n.idBlock.isConstructed;
const raw = (n: asn1js.BaseBlock): Uint8Array => new Uint8Array(n.valueBeforeDecodeView.byteLength > 0 ? n.valueBeforeDecodeView : n.toBER(false));

export class AuthEnvelopedData {
  readonly version = 0;
  readonly recipientInfos: pkijs.RecipientInfo[];
  readonly authEncryptedContentInfo: pkijs.EncryptedContentInfo;
  readonly mac: Uint8Array;
  readonly originatorInfo: Uint8Array | undefined;
  readonly authAttrs: Uint8Array | undefined;
  readonly unauthAttrs: Uint8Array | undefined;

  constructor(p: AuthEnvelopedDataParams) {
    this.recipientInfos = p.recipientInfos;
    this.authEncryptedContentInfo = p.authEncryptedContentInfo;
    this.mac = p.mac;
    this.originatorInfo = p.originatorInfo;
    this.authAttrs = p.authAttrs;
    this.unauthAttrs = p.unauthAttrs;
  }

  /** The AEAD additional authenticated data: authAttrs re-tagged as SET OF (0x31), or empty (RFC 5083 §2.2). */
  aad(): Uint8Array {
    if (!this.authAttrs) return new Uint8Array(0);
    const out = new Uint8Array(this.authAttrs);
    out[0] = 0x31;
    return out;
  }

  toSchema(): asn1js.Sequence {
    const keep = (d: Uint8Array | undefined): asn1js.BaseBlock[] => (d ? [asn1js.fromBER(d).result] : []);
    return new asn1js.Sequence({
      value: [
        new asn1js.Integer({ value: 0 }),
        ...keep(this.originatorInfo),
        new asn1js.Set({ value: this.recipientInfos.map((r) => r.toSchema() as asn1js.BaseBlock) }),
        this.authEncryptedContentInfo.toSchema(),
        ...keep(this.authAttrs),
        new asn1js.OctetString({ valueHex: this.mac }),
        ...keep(this.unauthAttrs),
      ],
    });
  }

  static fromSchema(n: asn1js.BaseBlock | undefined, path = 'AuthEnvelopedData'): AuthEnvelopedData {
    const v = n instanceof asn1js.Sequence ? [...n.valueBlock.value] : undefined;
    if (!v || v.length < 4 || v.length > 7) throw new CmcPopError('malformed', `${path}: ${v?.length ?? 'no'} elements, 4..7 expected`);
    const version = v[0] instanceof asn1js.Integer ? v[0].valueBlock.valueDec : -1;
    if (version !== 0) throw new CmcPopError('malformed', `${path}.version must be 0 (RFC 5083 §2.1)`);
    let i = 1;
    const originatorInfo = isCtx(v[i], 0) ? raw(v[i++]!) : undefined;
    const ris = v[i++];
    if (!(ris instanceof asn1js.Set) || ris.valueBlock.value.length === 0) throw new CmcPopError('malformed', `${path}.recipientInfos: not a non-empty SET`);
    let recipientInfos: pkijs.RecipientInfo[];
    let eci: pkijs.EncryptedContentInfo;
    try {
      recipientInfos = ris.valueBlock.value.map((r) => new pkijs.RecipientInfo({ schema: r }));
      eci = new pkijs.EncryptedContentInfo({ schema: v[i++] });
    } catch (e) {
      throw new CmcPopError('malformed', `${path}: ${(e as Error).message}`, { cause: e });
    }
    const authAttrs = isCtx(v[i], 1) ? raw(v[i++]!) : undefined;
    const mac = v[i++];
    if (!(mac instanceof asn1js.OctetString) || mac.idBlock.isConstructed) throw new CmcPopError('malformed', `${path}.mac: not an OCTET STRING`);
    const unauthAttrs = isCtx(v[i], 2) ? raw(v[i++]!) : undefined;
    if (i !== v.length) throw new CmcPopError('malformed', `${path}: unexpected element ${i}`);
    return new AuthEnvelopedData({ recipientInfos, authEncryptedContentInfo: eci, mac: new Uint8Array(mac.valueBlock.valueHexView), originatorInfo, authAttrs, unauthAttrs });
  }
}
