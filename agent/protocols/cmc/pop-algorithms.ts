// The two computations of indirect POP (RFC 5272 §6.7, RFC 10002 §6.7 and Appendix B.3/B.4):
//   witness = witnessAlgID(y)                        — SHA-1, SHA-256 (RFC 5274bis), SHAKE128 with 256-bit output (RFC 8702 §3.1)
//   thePOP  = thePOPAlgID(key = y[0..64), data = the certification request DER)
//             — HMAC-SHA1, HMAC-SHA256 (RFC 5274bis), KMAC128 = KmacWithSHAKE128 (RFC 8702 §3.4, KMAC from @noble/hashes)
// "If the POP Proof Value is greater than 64 bytes, only the first 64 bytes of the POP Proof Value is used as the
// secret" — applied to every POP algorithm (the text states it once, for "the secret").
import { createHash, createHmac } from 'node:crypto';
import * as asn1js from 'asn1js';
import { kmac128 } from '@noble/hashes/sha3-addons.js';
import { OID_HMAC_SHA1, OID_HMAC_SHA256, OID_KMAC_WITH_SHAKE128, OID_SHA1, OID_SHA256, OID_SHAKE128 } from './constants.js';
import { CmcPopError } from './errors.js';

/** An AlgorithmIdentifier as it travels: the OID and the DER of its parameters (absent: undefined). */
export interface AlgorithmSpec {
  oid: string;
  params?: Uint8Array;
}

/** The most of y used as the POP secret (rfc5272bis §6.7). */
export const POP_SECRET_MAX_BYTES = 64;

const NULL_DER = new Uint8Array([0x05, 0x00]);
const isAbsentOrNull = (p: Uint8Array | undefined): boolean => p === undefined || (p.byteLength === 2 && p[0] === 0x05 && p[1] === 0x00);

/** witnessAlgID(y). Digest parameters: absent or NULL (SHA-1/SHA-256, RFC 5754 §2), absent (SHAKE128, RFC 8702 §3.1). */
export function computeWitness(alg: AlgorithmSpec, y: Uint8Array): Uint8Array {
  switch (alg.oid) {
    case OID_SHA1:
    case OID_SHA256:
      if (!isAbsentOrNull(alg.params)) throw new CmcPopError('malformed', `witness ${alg.oid}: parameters must be absent or NULL`);
      return new Uint8Array(createHash(alg.oid === OID_SHA1 ? 'sha1' : 'sha256').update(y).digest());
    case OID_SHAKE128:
      if (alg.params !== undefined) throw new CmcPopError('malformed', 'SHAKE128 witness: parameters must be absent (RFC 8702 §3.1)');
      return new Uint8Array(createHash('shake128', { outputLength: 32 }).update(y).digest());
    default:
      throw new CmcPopError('unsupported-algorithm', `unsupported witness algorithm ${alg.oid}`);
  }
}

/** KMACwithSHAKE128-params ::= SEQUENCE { kMACOutputLength INTEGER DEFAULT 256, customizationString OCTET STRING DEFAULT ''H } */
export function readKmacParams(params: Uint8Array | undefined): { outputBits: number; customization: Uint8Array } {
  const out = { outputBits: 256, customization: new Uint8Array(0) };
  if (params === undefined) return out;
  const parsed = asn1js.fromBER(params);
  if (parsed.offset !== params.byteLength || !(parsed.result instanceof asn1js.Sequence)) throw new CmcPopError('malformed', 'KMACwithSHAKE128-params is not a SEQUENCE');
  const items = parsed.result.valueBlock.value;
  let i = 0;
  if (items[i] instanceof asn1js.Integer) {
    const n = (items[i] as asn1js.Integer).valueBlock.valueDec;
    if (!Number.isSafeInteger(n) || n < 64 || n > 4096 || n % 8 !== 0) throw new CmcPopError('malformed', `kMACOutputLength ${n} bits is out of range (64..4096, whole bytes)`);
    out.outputBits = n;
    i++;
  }
  if (items[i] instanceof asn1js.OctetString) {
    out.customization = new Uint8Array((items[i] as asn1js.OctetString).valueBlock.valueHexView);
    i++;
  }
  if (i !== items.length) throw new CmcPopError('malformed', 'KMACwithSHAKE128-params has unexpected elements');
  return out;
}

/** thePOPAlgID(y, request): the possession proof the client returns in DecryptedPOP. */
export function computeThePOP(alg: AlgorithmSpec, y: Uint8Array, request: Uint8Array): Uint8Array {
  const secret = y.byteLength > POP_SECRET_MAX_BYTES ? y.subarray(0, POP_SECRET_MAX_BYTES) : y;
  switch (alg.oid) {
    case OID_HMAC_SHA1:
    case OID_HMAC_SHA256:
      if (!isAbsentOrNull(alg.params)) throw new CmcPopError('malformed', `${alg.oid}: HMAC parameters must be absent or NULL`);
      return new Uint8Array(createHmac(alg.oid === OID_HMAC_SHA1 ? 'sha1' : 'sha256', secret).update(request).digest());
    case OID_KMAC_WITH_SHAKE128: {
      const p = readKmacParams(alg.params);
      return kmac128(secret, request, { dkLen: p.outputBits / 8, personalization: p.customization });
    }
    default:
      throw new CmcPopError('unsupported-algorithm', `unsupported POP algorithm ${alg.oid}`);
  }
}

export { NULL_DER };
