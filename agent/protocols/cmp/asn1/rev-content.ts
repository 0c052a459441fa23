// RevReqContent / RevRepContent, RFC 4210 §5.3.9-§5.3.10, profiled by RFC 9483 §4.2:
//   RevReqContent ::= SEQUENCE OF RevDetails;  RevDetails ::= SEQUENCE { certDetails CertTemplate, crlEntryDetails Extensions OPTIONAL }
//   RevRepContent ::= SEQUENCE { status SEQUENCE OF PKIStatusInfo, revCerts [0] OPTIONAL, crls [1] OPTIONAL }
// RFC 9483: certDetails carries exactly issuer [3] and serialNumber [1]; crlEntryDetails carries a reasonCode.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { type AsnNode, seqChildren } from '../../../pki/asn1/der.js';
import { PKIStatusInfo } from './pki-status-info.js';
import { explicit } from './tags.js';

export class RevDetails {
  constructor(public issuer: pkijs.RelativeDistinguishedNames, public serialNumber: asn1js.Integer, public reasonCode?: number) {}
  toSchema(): asn1js.Sequence {
    const tmpl = new asn1js.Sequence({
      value: [
        new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 1 }, valueHex: this.serialNumber.valueBlock.valueHexView }),
        explicit(3, this.issuer.toSchema()),
      ],
    });
    const v: AsnNode[] = [tmpl];
    if (this.reasonCode !== undefined) {
      const ext = new pkijs.Extension({ extnID: '2.5.29.21', critical: false, extnValue: new asn1js.Enumerated({ value: this.reasonCode }).toBER(false) });
      v.push(new asn1js.Sequence({ value: [ext.toSchema()] }));
    }
    return new asn1js.Sequence({ value: v });
  }
}

export class RevRepContent {
  constructor(public status: PKIStatusInfo[]) {}
  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.Sequence({ value: this.status.map((s) => s.toSchema()) })] });
  }
  static fromSchema(node: AsnNode, path = 'RevRepContent'): RevRepContent {
    const f = seqChildren(node, path);
    return new RevRepContent(seqChildren(f[0], `${path}.status`).map((s, i) => PKIStatusInfo.fromSchema(s, `${path}.status[${i}]`)));
  }
}
