// KEMRecipientInfo (RFC 9629 §3), carried as OtherRecipientInfo { oriType id-ori-kem, oriValue }:
//   KEMRecipientInfo ::= SEQUENCE { version CMSVersion (0), rid RecipientIdentifier, kem KEMAlgorithmIdentifier,
//     kemct OCTET STRING, kdf KeyDerivationAlgorithmIdentifier, kekLength INTEGER (1..65535),
//     ukm [0] EXPLICIT UserKeyingMaterial OPTIONAL, wrap KeyEncryptionAlgorithmIdentifier, encryptedKey EncryptedKey }
//   CMSORIforKEMOtherInfo ::= SEQUENCE { wrap KeyEncryptionAlgorithmIdentifier, kekLength INTEGER (1..65535),
//     ukm [0] EXPLICIT UserKeyingMaterial OPTIONAL }   -- the KDF info (§5)
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { CmcPopError } from './errors.js';
import type { AlgorithmSpec } from './pop-algorithms.js';

const der = (b: asn1js.BaseBlock): Uint8Array => new Uint8Array(b.toBER(false));

function algSchema(a: AlgorithmSpec): asn1js.Sequence {
  return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: a.oid }), ...(a.params ? [asn1js.fromBER(a.params).result] : [])] });
}
function readAlg(n: asn1js.BaseBlock | undefined, path: string): AlgorithmSpec {
  const v = n instanceof asn1js.Sequence ? n.valueBlock.value : undefined;
  if (!v || v.length < 1 || v.length > 2 || !(v[0] instanceof asn1js.ObjectIdentifier)) throw new CmcPopError('malformed', `${path}: not an AlgorithmIdentifier`);
  return { oid: v[0].valueBlock.toString(), ...(v[1] ? { params: der(v[1]) } : {}) };
}

export interface KEMRecipientInfoParams {
  rid: pkijs.RecipientIdentifier;
  kem: AlgorithmSpec;
  kemct: Uint8Array;
  kdf: AlgorithmSpec;
  kekLength: number;
  ukm?: Uint8Array;
  wrap: AlgorithmSpec;
  encryptedKey: Uint8Array;
}

export class KEMRecipientInfo {
  readonly version = 0;
  readonly rid: pkijs.RecipientIdentifier;
  readonly kem: AlgorithmSpec;
  readonly kemct: Uint8Array;
  readonly kdf: AlgorithmSpec;
  readonly kekLength: number;
  readonly ukm: Uint8Array | undefined;
  readonly wrap: AlgorithmSpec;
  readonly encryptedKey: Uint8Array;

  constructor(p: KEMRecipientInfoParams) {
    this.rid = p.rid;
    this.kem = p.kem;
    this.kemct = p.kemct;
    this.kdf = p.kdf;
    this.kekLength = p.kekLength;
    this.ukm = p.ukm;
    this.wrap = p.wrap;
    this.encryptedKey = p.encryptedKey;
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.Integer({ value: 0 }),
        this.rid.toSchema() as asn1js.BaseBlock,
        algSchema(this.kem),
        new asn1js.OctetString({ valueHex: this.kemct }),
        algSchema(this.kdf),
        new asn1js.Integer({ value: this.kekLength }),
        ...(this.ukm ? [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.OctetString({ valueHex: this.ukm })] })] : []),
        algSchema(this.wrap),
        new asn1js.OctetString({ valueHex: this.encryptedKey }),
      ],
    });
  }

  static fromSchema(n: asn1js.BaseBlock | undefined, path = 'KEMRecipientInfo'): KEMRecipientInfo {
    const v = n instanceof asn1js.Sequence ? n.valueBlock.value : undefined;
    if (!v || v.length < 8 || v.length > 9) throw new CmcPopError('malformed', `${path}: ${v?.length ?? 'no'} elements, 8 or 9 expected`);
    const version = v[0] instanceof asn1js.Integer ? v[0].valueBlock.valueDec : -1;
    if (version !== 0) throw new CmcPopError('malformed', `${path}.version must be 0`);
    let rid: pkijs.RecipientIdentifier;
    try {
      const r = v[1]!;
      rid = r.idBlock.tagClass === 3 && r.idBlock.tagNumber === 0
        ? new pkijs.RecipientIdentifier({ variant: 2, value: new asn1js.OctetString({ valueHex: (r as asn1js.Primitive).valueBlock.valueHexView }) })
        : new pkijs.RecipientIdentifier({ variant: 1, value: new pkijs.IssuerAndSerialNumber({ schema: r }) });
    } catch (e) {
      throw new CmcPopError('malformed', `${path}.rid: ${(e as Error).message}`, { cause: e });
    }
    const octets = (x: asn1js.BaseBlock | undefined, what: string): Uint8Array => {
      if (!(x instanceof asn1js.OctetString)) throw new CmcPopError('malformed', `${path}.${what}: OCTET STRING expected`);
      return new Uint8Array(x.valueBlock.valueHexView);
    };
    const kekLength = v[5] instanceof asn1js.Integer ? v[5].valueBlock.valueDec : -1;
    if (!Number.isSafeInteger(kekLength) || kekLength < 1 || kekLength > 65535) throw new CmcPopError('malformed', `${path}.kekLength out of range (1..65535)`);
    let i = 6;
    let ukm: Uint8Array | undefined;
    const t = v[i]!;
    if (t.idBlock.tagClass === 3 && t.idBlock.tagNumber === 0) {
      ukm = octets((t as asn1js.Constructed).valueBlock.value[0], 'ukm');
      i++;
    }
    if (v.length !== i + 2) throw new CmcPopError('malformed', `${path}: wrong number of elements`);
    return new KEMRecipientInfo({
      rid,
      kem: readAlg(v[2], `${path}.kem`),
      kemct: octets(v[3], 'kemct'),
      kdf: readAlg(v[4], `${path}.kdf`),
      kekLength,
      ...(ukm ? { ukm } : {}),
      wrap: readAlg(v[i], `${path}.wrap`),
      encryptedKey: octets(v[i + 1], 'encryptedKey'),
    });
  }

  /** DER CMSORIforKEMOtherInfo, the KDF `info` (RFC 9629 §5). */
  otherInfo(): Uint8Array {
    return cmsOriForKemOtherInfo(this.wrap, this.kekLength, this.ukm);
  }
}

export function cmsOriForKemOtherInfo(wrap: AlgorithmSpec, kekLength: number, ukm?: Uint8Array): Uint8Array {
  return der(
    new asn1js.Sequence({
      value: [
        algSchema(wrap),
        new asn1js.Integer({ value: kekLength }),
        ...(ukm ? [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.OctetString({ valueHex: ukm })] })] : []),
      ],
    }),
  );
}
