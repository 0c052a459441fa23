// Key-derivation functions named by AlgorithmIdentifier in the encryptedPOP EnvelopedData:
//  - KDF2 / KDF3 (ANS X9.44, RFC 9690 Appendix B): T = T || Hash(Z || D || otherInfo) / Hash(D || Z || otherInfo),
//    D the 32-bit big-endian counter from 1; parameters: the hash AlgorithmIdentifier (required; SHA-1 refused as
//    RFC 9690 says it MUST NOT be used).
//  - HKDF (RFC 8619): HKDF-Extract with no salt then Expand with info (RFC 9629 §5), parameters absent.
//  - ANSI X9.63 KDF (RFC 5753 §7.2, SEC 1 §3.6.1) for ECDH kari: Hash(Z || counter || SharedInfo), counter from 1.
import { createHash, hkdfSync } from 'node:crypto';
import * as asn1js from 'asn1js';
import { OID_SHA1, OID_SHA224, digestByOid } from '../../pki/algorithms.js';
import { OID_HKDF_SHA256, OID_HKDF_SHA384, OID_HKDF_SHA512, OID_KDF_KDF2, OID_KDF_KDF3 } from './constants.js';
import { CmcPopError } from './errors.js';
import type { AlgorithmSpec } from './pop-algorithms.js';

/** The KDF2/KDF3 hashes: SHA-224 and the SHA-2 digests of the algorithm table (SHA-1 is refused before). */
const kdfHashByOid = (oid: string): string | undefined => (oid === OID_SHA224 ? 'sha224' : oid === OID_SHA1 ? undefined : digestByOid(oid)?.node);

function counterKdf(hash: string, z: Uint8Array, length: number, otherInfo: Uint8Array, order: 'kdf2' | 'kdf3'): Uint8Array {
  const out: Buffer[] = [];
  let have = 0;
  for (let d = 1; have < length; d++) {
    const ctr = Buffer.alloc(4);
    ctr.writeUInt32BE(d);
    const h = createHash(hash);
    if (order === 'kdf3') h.update(ctr).update(z);
    else h.update(z).update(ctr);
    const block = h.update(otherInfo).digest();
    out.push(block);
    have += block.byteLength;
  }
  return new Uint8Array(Buffer.concat(out).subarray(0, length));
}

/** The hash AlgorithmIdentifier that parameterises KDF2/KDF3 (a DER SEQUENCE { OID, NULL/absent }). */
function kdfHash(params: Uint8Array | undefined, what: string): string {
  if (params === undefined) throw new CmcPopError('malformed', `${what}: the hash parameter is required (RFC 9690 Appendix B)`);
  const p = asn1js.fromBER(params);
  const seq = p.result instanceof asn1js.Sequence ? p.result.valueBlock.value : undefined;
  const oid = seq?.[0] instanceof asn1js.ObjectIdentifier ? seq[0].valueBlock.toString() : undefined;
  if (p.offset !== params.byteLength || !oid || seq!.length > 2) throw new CmcPopError('malformed', `${what}: the hash parameter is not an AlgorithmIdentifier`);
  if (oid === OID_SHA1) throw new CmcPopError('unsupported-algorithm', `${what} with SHA-1 (RFC 9690: SHA-1 MUST NOT be used)`);
  const h = kdfHashByOid(oid);
  if (!h) throw new CmcPopError('unsupported-algorithm', `${what} with unsupported hash ${oid}`);
  return h;
}

/** KDF(IKM, L, info) as a KEMRecipientInfo `kdf` (RFC 9629 §5) or the RSA-KEM inner KDF (RFC 9690, info empty). */
export function deriveKey(kdf: AlgorithmSpec, ikm: Uint8Array, length: number, info: Uint8Array): Uint8Array {
  switch (kdf.oid) {
    case OID_KDF_KDF3:
      return counterKdf(kdfHash(kdf.params, 'KDF3'), ikm, length, info, 'kdf3');
    case OID_KDF_KDF2:
      return counterKdf(kdfHash(kdf.params, 'KDF2'), ikm, length, info, 'kdf2');
    case OID_HKDF_SHA256:
    case OID_HKDF_SHA384:
    case OID_HKDF_SHA512: {
      if (kdf.params !== undefined) throw new CmcPopError('malformed', 'HKDF: parameters must be absent (RFC 8619 §3)');
      const hash = kdf.oid === OID_HKDF_SHA256 ? 'sha256' : kdf.oid === OID_HKDF_SHA384 ? 'sha384' : 'sha512';
      return new Uint8Array(hkdfSync(hash, ikm, new Uint8Array(0), info, length));
    }
    default:
      throw new CmcPopError('unsupported-algorithm', `unsupported key-derivation function ${kdf.oid}`);
  }
}

/** ANSI X9.63 KDF with `hash` (RFC 5753 §7.2): the KEK from the ECDH shared secret Z and DER ECC-CMS-SharedInfo. */
export function x963Kdf(hash: 'sha256' | 'sha384', z: Uint8Array, length: number, sharedInfo: Uint8Array): Uint8Array {
  return counterKdf(hash, z, length, sharedInfo, 'kdf2');
}
