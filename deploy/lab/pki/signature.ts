// Signature algorithms the lab signs and verifies with node:crypto: ecdsa-with-SHA2 (RFC 5758 §3.2, no parameters,
// DER ECDSA-Sig-Value), shaNNNWithRSAEncryption (RFC 4055 §5, NULL parameters) and RSASSA-PSS (RFC 4055 §3.1).
import { createPublicKey, sign as cryptoSign, verify as cryptoVerify, constants, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { OID } from './oids.js';

export type Hash = 'sha256' | 'sha384' | 'sha512';

const BY_OID: Record<string, { kind: 'ec' | 'rsa'; hash: Hash }> = {
  [OID.ecdsaWithSHA256]: { kind: 'ec', hash: 'sha256' },
  [OID.ecdsaWithSHA384]: { kind: 'ec', hash: 'sha384' },
  [OID.ecdsaWithSHA512]: { kind: 'ec', hash: 'sha512' },
  [OID.sha256WithRSA]: { kind: 'rsa', hash: 'sha256' },
  [OID.sha384WithRSA]: { kind: 'rsa', hash: 'sha384' },
  [OID.sha512WithRSA]: { kind: 'rsa', hash: 'sha512' },
};
const HASH_NAMES: Record<string, string> = { [OID.sha1]: 'sha1', [OID.sha256]: 'sha256', [OID.sha384]: 'sha384', [OID.sha512]: 'sha512' };

export class SignatureRejected extends Error {}

/** The AlgorithmIdentifier for signing with `key` and `hash`. */
export function signatureAlgorithm(key: KeyObject, hash: Hash = 'sha256'): pkijs.AlgorithmIdentifier {
  const kind = key.asymmetricKeyType === 'ec' ? 'ec' : 'rsa';
  const algorithmId = Object.entries(BY_OID).find(([, v]) => v.kind === kind && v.hash === hash)![0];
  return kind === 'ec' ? new pkijs.AlgorithmIdentifier({ algorithmId }) : new pkijs.AlgorithmIdentifier({ algorithmId, algorithmParams: new asn1js.Null() });
}

/** Signature value bytes over `data` (ECDSA as DER ECDSA-Sig-Value, RSA PKCS#1 v1.5). */
export function signBytes(key: KeyObject, data: Uint8Array, hash: Hash = 'sha256'): Uint8Array {
  return new Uint8Array(cryptoSign(hash, data, key.asymmetricKeyType === 'ec' ? { key, dsaEncoding: 'der' } : key));
}

/** Verifies `sig` over `data` with the public key (KeyObject or DER SPKI) under the AlgorithmIdentifier `alg`. */
export function verifyBytes(publicKey: KeyObject | Uint8Array, alg: pkijs.AlgorithmIdentifier, data: Uint8Array, sig: Uint8Array): boolean {
  const key = publicKey instanceof Uint8Array ? createPublicKey({ key: Buffer.from(publicKey), format: 'der', type: 'spki' }) : publicKey;
  const type = key.asymmetricKeyType;
  if (alg.algorithmId === OID.rsassaPss) {
    if (type !== 'rsa' && type !== 'rsa-pss') throw new SignatureRejected(`RSASSA-PSS signature with a ${type} key`);
    const params = new pkijs.RSASSAPSSParams(alg.algorithmParams instanceof asn1js.Sequence ? { schema: alg.algorithmParams } : {});
    const hash = HASH_NAMES[params.hashAlgorithm.algorithmId];
    if (!hash) throw new SignatureRejected(`RSASSA-PSS hash ${params.hashAlgorithm.algorithmId} not supported`);
    return cryptoVerify(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: params.saltLength }, sig);
  }
  const a = BY_OID[alg.algorithmId];
  if (!a) throw new SignatureRejected(`signature algorithm ${alg.algorithmId} not supported`);
  if (a.kind !== type) throw new SignatureRejected(`signature algorithm ${alg.algorithmId} does not match the ${type} key`);
  return cryptoVerify(a.hash, data, a.kind === 'ec' ? { key, dsaEncoding: 'der' } : key, sig);
}

/** The hash a signature algorithm OID uses, if it is one of the table's. */
export function signatureHash(algorithmId: string): Hash | undefined {
  return BY_OID[algorithmId]?.hash;
}
