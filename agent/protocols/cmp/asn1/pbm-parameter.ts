// PBMParameter, RFC 4211 §4.4 (id-PasswordBasedMac 1.2.840.113533.7.66.13):
//   PBMParameter ::= SEQUENCE { salt OCTET STRING, owf AlgorithmIdentifier, iterationCount INTEGER, mac AlgorithmIdentifier }
// key = owf^iterationCount(secret || salt); protection = mac(key, ProtectedPart). RFC 9481 §6.1.1: owf sha256, mac hmac-sha256.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { createHash, createHmac } from 'node:crypto';
import { Asn1DecodeError } from '../../../pki/asn1/errors.js';
import { type AsnNode, readOctets, readSmallInt, verifySchema } from '../../../pki/asn1/der.js';
import { OID_HMAC_SHA256, OID_PASSWORD_BASED_MAC, OID_SHA256, digestByOid, macByOid } from '../../../pki/algorithms.js';

/** Upper bound on iterationCount accepted from a peer (RFC 4211 §4.4 sets only a floor, 100; this caps the CPU a response can cost). */
export const PBM_MAX_ITERATIONS = 100_000;


export interface PBMParameterParams {
  salt: Uint8Array;
  /** OID of the one-way function (default SHA-256). */
  owf?: string;
  iterationCount?: number;
  /** OID of the MAC (default HMAC-SHA256). */
  mac?: string;
}

export class PBMParameter {
  salt: Uint8Array;
  owf: string;
  iterationCount: number;
  mac: string;

  constructor(params: PBMParameterParams) {
    this.salt = params.salt;
    this.owf = params.owf ?? OID_SHA256;
    this.iterationCount = params.iterationCount ?? 10_000;
    this.mac = params.mac ?? OID_HMAC_SHA256;
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.OctetString({ name: 'salt' }),
        new asn1js.Sequence({ name: 'owf' }),
        new asn1js.Integer({ name: 'iterationCount' }),
        new asn1js.Sequence({ name: 'mac' }),
      ],
    });
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.OctetString({ valueHex: this.salt }),
        new pkijs.AlgorithmIdentifier({ algorithmId: this.owf }).toSchema(),
        new asn1js.Integer({ value: this.iterationCount }),
        new pkijs.AlgorithmIdentifier({ algorithmId: this.mac }).toSchema(),
      ],
    });
  }

  toAlgorithmIdentifier(): pkijs.AlgorithmIdentifier {
    return new pkijs.AlgorithmIdentifier({ algorithmId: OID_PASSWORD_BASED_MAC, algorithmParams: this.toSchema() });
  }

  static fromSchema(node: AsnNode | undefined, path = 'PBMParameter'): PBMParameter {
    const m = verifySchema(node, PBMParameter.schema(), path);
    const alg = (n: AsnNode, p: string): string => {
      try {
        return new pkijs.AlgorithmIdentifier({ schema: n }).algorithmId;
      } catch (cause) {
        throw new Asn1DecodeError('bad-value', p, 'not an AlgorithmIdentifier', { cause });
      }
    };
    return new PBMParameter({
      salt: readOctets(m.salt, `${path}.salt`),
      owf: alg(m.owf, `${path}.owf`),
      iterationCount: readSmallInt(m.iterationCount, `${path}.iterationCount`, 1, PBM_MAX_ITERATIONS),
      mac: alg(m.mac, `${path}.mac`),
    });
  }

  /** The MAC over `data` with `secret`; throws Asn1DecodeError for an owf/mac it does not implement. */
  compute(secret: Uint8Array, data: Uint8Array): Uint8Array {
    const owf = digestByOid(this.owf)?.node;
    const mac = macByOid(this.mac)?.node;
    if (!owf) throw new Asn1DecodeError('constraint', 'PBMParameter.owf', `unsupported owf ${this.owf}`);
    if (!mac) throw new Asn1DecodeError('constraint', 'PBMParameter.mac', `unsupported mac ${this.mac}`);
    let key = createHash(owf).update(secret).update(this.salt).digest();
    for (let i = 1; i < this.iterationCount; i++) key = createHash(owf).update(key).digest();
    return new Uint8Array(createHmac(mac, key).update(data).digest());
  }
}
