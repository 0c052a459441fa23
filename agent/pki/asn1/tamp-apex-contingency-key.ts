// RFC 5934 §2.2.4.1 / Appendix A: the id-pe-wrappedApexContinKey extension of an apex TA.
//   ApexContingencyKey ::= SEQUENCE { wrapAlgorithm AlgorithmIdentifier, wrappedContinPubKey OCTET STRING }
// The wrapped value is the contingency public key (a DER SubjectPublicKeyInfo) encrypted under a symmetric key that
// is published only when needed, in the unsigned attribute id-aa-TAMP-contingencyPublicKeyDecryptKey
// (PlaintextSymmetricKey ::= OCTET STRING) of a contingency-signed apex update. RFC 5934 §9 allows an empty
// extension (both fields absent: "no contingency key"); that decodes to `empty`.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, encodeNode, parseDer, readOctets, readOid, seqChildren, verifySchema } from './der.js';
import { OID_PE_WRAPPED_APEX_CONTIN_KEY } from './tamp-oids.js';

export class ApexContingencyKey {
  static readonly EXTENSION_OID = OID_PE_WRAPPED_APEX_CONTIN_KEY;
  /** Wrap algorithm OID and DER parameters (absent when the extension is empty). */
  wrapAlgorithm?: string;
  wrappedContinPubKey?: Uint8Array;

  constructor(p: { wrapAlgorithm: string; wrappedContinPubKey: Uint8Array } | { empty: true }) {
    if ('empty' in p) return;
    this.wrapAlgorithm = p.wrapAlgorithm;
    this.wrappedContinPubKey = p.wrappedContinPubKey;
  }

  /** Both fields optional together (RFC 5934 §9: an empty extension); fromSchema refuses one without the other. */
  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [new asn1js.Sequence({ name: 'wrapAlgorithm', optional: true }), new asn1js.OctetString({ name: 'wrappedContinPubKey', optional: true })],
    });
  }

  static fromSchema(node: AsnNode, path = 'ApexContingencyKey'): ApexContingencyKey {
    const k = seqChildren(node, path);
    if (k.length === 0) return new ApexContingencyKey({ empty: true });
    if (k.length !== 2) throw new Asn1DecodeError('malformed', path, 'both fields or none');
    const alg = seqChildren(k[0], `${path}.wrapAlgorithm`);
    const wrapAlgorithm = readOid(alg[0], `${path}.wrapAlgorithm.algorithm`);
    const wrappedContinPubKey = readOctets(k[1], `${path}.wrappedContinPubKey`);
    verifySchema(node, ApexContingencyKey.schema(), path);
    return new ApexContingencyKey({ wrapAlgorithm, wrappedContinPubKey });
  }

  get empty(): boolean {
    return this.wrapAlgorithm === undefined;
  }

  static fromDer(der: Bytes): ApexContingencyKey {
    return ApexContingencyKey.fromSchema(parseDer(der, 'ApexContingencyKey'));
  }

  toSchema(): asn1js.Sequence {
    if (this.empty) return new asn1js.Sequence({ value: [] });
    // AES key wrap algorithms take no parameters (RFC 3394 §3, RFC 5649 §3)
    return new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: this.wrapAlgorithm! })] }), new asn1js.OctetString({ valueHex: this.wrappedContinPubKey! })] });
  }

  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }

  /** As an X.509 Extension (non-critical). */
  toExtension(): pkijs.Extension {
    return new pkijs.Extension({ extnID: OID_PE_WRAPPED_APEX_CONTIN_KEY, critical: false, extnValue: this.toSchema().toBER(false) });
  }
}
