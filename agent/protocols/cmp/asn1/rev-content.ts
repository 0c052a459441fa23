// RevReqContent / RevRepContent, RFC 4210 §5.3.9-§5.3.10, profiled by RFC 9483 §4.2:
//   RevReqContent ::= SEQUENCE OF RevDetails;  RevDetails ::= SEQUENCE { certDetails CertTemplate, crlEntryDetails Extensions OPTIONAL }
//   RevRepContent ::= SEQUENCE { status SEQUENCE OF PKIStatusInfo, revCerts [0] OPTIONAL, crls [1] OPTIONAL }
// RFC 9483: certDetails carries exactly issuer [3] and serialNumber [1]; crlEntryDetails carries a reasonCode.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { type AsnNode, explicitSchema, verifySchema } from '../../../pki/asn1/der.js';
import { PKIStatusInfo } from './pki-status-info.js';
import { explicit } from './tags.js';

export interface RevDetailsParams {
  issuer: pkijs.RelativeDistinguishedNames;
  serialNumber: asn1js.Integer;
  /** CRLReason (RFC 5280 §5.3.1), sent as the crlEntryDetails reasonCode extension. */
  reasonCode?: number;
}

/** RevDetails as the agent sends it (RFC 9483 §4.2); the agent never reads one back. */
export class RevDetails {
  issuer: pkijs.RelativeDistinguishedNames;
  serialNumber: asn1js.Integer;
  reasonCode?: number;

  constructor(params: RevDetailsParams) {
    this.issuer = params.issuer;
    this.serialNumber = params.serialNumber;
    if (params.reasonCode !== undefined) this.reasonCode = params.reasonCode;
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.Sequence({ name: 'certDetails' }), new asn1js.Sequence({ name: 'crlEntryDetails', optional: true })] });
  }

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
  status: PKIStatusInfo[];

  constructor(params: { status: PKIStatusInfo[] }) {
    this.status = params.status;
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.Sequence({ name: 'status', value: [new asn1js.Repeated({ name: 'statuses', value: new asn1js.Sequence() })] }),
        explicitSchema(0, 'revCerts'),
        explicitSchema(1, 'crls'),
      ],
    });
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.Sequence({ value: this.status.map((s) => s.toSchema()) })] });
  }

  static fromSchema(node: AsnNode, path = 'RevRepContent'): RevRepContent {
    const statuses = (verifySchema(node, RevRepContent.schema(), path).statuses ?? []) as AsnNode[];
    return new RevRepContent({ status: statuses.map((s, i) => PKIStatusInfo.fromSchema(s, `${path}.status[${i}]`)) });
  }
}
