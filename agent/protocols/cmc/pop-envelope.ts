// The encryptedPOP `cms` (RFC 5272 §6.7, rfc5272bis §6.7): an EnvelopedData (RFC 5652 §6) of id-data carrying the
// POP Proof Value y to the new key. The device opens it with the private key inside the TPM:
//  - ktri (RFC 5652 §6.2.1): RSAES-OAEP (RFC 4055 §4.1; SHA-1/SHA-2 with MGF1 of the same hash, empty label) or
//    RSAES-PKCS1-v1_5 (rsaEncryption, RFC 3370 §4.2.1) — TPM2_RSA_Decrypt with the OAEP / RSAES scheme;
//  - ori KEMRecipientInfo (RFC 9629) with RSA-KEM (RFC 9690): Decapsulate = raw RSA (TPM2_RSA_Decrypt, NULL scheme),
//    Z = I2OSP(z, nLen), SS = KDF(Z, ssLen) by the id-kem-rsa parameters (default KDF3-SHA-256, ssLen = kekLength),
//    KEK = kdf(SS, kekLength, CMSORIforKEMOtherInfo), CEK = AES key unwrap (RFC 3394);
//  - kari (RFC 5753 §3.1.2, ephemeral-static ECDH): Z = TPM2_ECDH_ZGen(our key, the originator's ephemeral point),
//    KEK = X9.63-KDF(Z, ECC-CMS-SharedInfo), CEK = AES key unwrap;
// then AES-128/192/256-CBC content decryption (RFC 3565). RFC 10002 §6.7 (rfc5272bis-11) also allows an
// AuthEnvelopedData (RFC 5083) with the same RecipientInfos: AES-128/192/256-GCM (RFC 5084), `mac` the tag, authAttrs
// (if any) the additional data; a tag that does not verify is a decryption failure (popFailed). The recipient is chosen by its identifier: the key's
// subjectKeyIdentifier (the CSR's SKI extension, or SHA-1 of the subjectPublicKey), or issuerAndSerialNumber with an
// empty issuer and the request's bodyPartID as serial (rfc5272bis §6.7 step 2).
// createPopEnvelope is the CA side of the ktri RSAES-OAEP-SHA-256 / AES-256-CBC form (used by unit tests).
import { constants, createCipheriv, createDecipheriv, createPublicKey, publicEncrypt, randomBytes, type CipherGCMTypes } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { AES_CBC, AES_GCM, AES_KEY_WRAP, OID_SHA1, digestByOid } from '../../pki/algorithms.js';
import { bytesEqual } from '../../pki/der.js';
import { keyIdentifierFromSpki } from '../../pki/asn1/cms-signed-data-create.js';
import {
  OID_AES128_WRAP, OID_AES192_WRAP, OID_AES256_CBC, OID_AES256_WRAP, OID_AUTH_ENVELOPED_DATA, OID_DATA, OID_ECDH_STD_SHA256_KDF,
  OID_ECDH_STD_SHA384_KDF, OID_EC_PUBLIC_KEY, OID_ENVELOPED_DATA, OID_KDF_KDF3, OID_KEM_RSA, OID_MGF1, OID_ORI_KEM, OID_P256, OID_RSA_ENCRYPTION,
  OID_RSAES_OAEP, OID_SHA256,
} from './constants.js';
import { CmcPopError } from './errors.js';
import { deriveKey, x963Kdf } from './key-derivation.js';
import { KEMRecipientInfo } from './kem-recipient-info.js';
import { AuthEnvelopedData } from './auth-enveloped-data.js';
import { GCMParameters } from './gcm-parameters.js';
import type { AlgorithmSpec } from './pop-algorithms.js';

/** The RSA decryption a recipient performs (TPM2_RSA_Decrypt inScheme OAEP / RSAES / NULL). */
export type RsaDecryptScheme = { scheme: 'oaep'; hash: 'sha1' | 'sha256' | 'sha384' | 'sha512' } | { scheme: 'rsaes' } | { scheme: 'raw' };

/** The holder of the new key: its public key, how it is named in the request, and the private-key operations. */
export interface PopRecipient {
  /** DER SubjectPublicKeyInfo of the key (recipient matching, RSA modulus size). */
  spki?: Uint8Array;
  /** The CSR's subjectKeyIdentifier extension value, when it has one. */
  subjectKeyIdentifier?: Uint8Array;
  /** bodyPartID of the certification request (issuerAndSerialNumber form). */
  bodyPartID?: number;
  decrypt?: (cipherText: Uint8Array, scheme: RsaDecryptScheme) => Promise<Uint8Array>;
  /** ECDH shared secret Z (x coordinate) of our key with the peer's point. */
  ecdhZGen?: (peer: { x: Uint8Array; y: Uint8Array }) => Promise<Uint8Array>;
}

/** The algorithm table's AES entries (RFC 3565 CBC and key wrap without padding, RFC 5084 GCM) as this file uses them. */
const ciphers = (t: Readonly<Record<string, { node: string; keyBytes: number }>>, only?: string[]): Record<string, { cipher: string; key: number }> =>
  Object.fromEntries(Object.entries(t).filter(([o]) => !only || only.includes(o)).map(([o, a]) => [o, { cipher: a.node, key: a.keyBytes }]));
const CBC = ciphers(AES_CBC);
const GCM = ciphers(AES_GCM);
/** RFC 3565 §4.3: the AES key wrap of RFC 3394 (the padded RFC 5649 form is not offered here). */
const WRAP = ciphers(AES_KEY_WRAP, [OID_AES128_WRAP, OID_AES192_WRAP, OID_AES256_WRAP]);
const AES_WRAP_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex'); // RFC 3394 §2.2.3.1

function oaepSha256(): pkijs.AlgorithmIdentifier {
  const sha256 = new pkijs.AlgorithmIdentifier({ algorithmId: OID_SHA256 });
  const params = new pkijs.RSAESOAEPParams({
    hashAlgorithm: sha256,
    maskGenAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID_MGF1, algorithmParams: sha256.toSchema() }),
  });
  return new pkijs.AlgorithmIdentifier({ algorithmId: OID_RSAES_OAEP, algorithmParams: params.toSchema() });
}

/** CA side: EnvelopedData of `content` to the RSA public key `spki` (ktri RSAES-OAEP-SHA-256, AES-256-CBC; DER ContentInfo). */
export function createPopEnvelope(spki: Uint8Array, content: Uint8Array): Uint8Array {
  const cek = randomBytes(32);
  const iv = randomBytes(16);
  const c = createCipheriv('aes-256-cbc', cek, iv);
  const encrypted = Buffer.concat([c.update(content), c.final()]);
  const pub = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  const encryptedKey = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek);
  const ktri = new pkijs.KeyTransRecipientInfo({
    version: 2,
    rid: new asn1js.OctetString({ valueHex: keyIdentifierFromSpki(spki) }),
    keyEncryptionAlgorithm: oaepSha256(),
    encryptedKey: new asn1js.OctetString({ valueHex: encryptedKey }),
  });
  const eci = new pkijs.EncryptedContentInfo({
    contentType: OID_DATA,
    contentEncryptionAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID_AES256_CBC, algorithmParams: new asn1js.OctetString({ valueHex: iv }) }),
    encryptedContent: new asn1js.OctetString({ valueHex: encrypted }),
    disableSplit: true,
  } as ConstructorParameters<typeof pkijs.EncryptedContentInfo>[0]);
  const env = new pkijs.EnvelopedData({ version: 2, recipientInfos: [new pkijs.RecipientInfo({ variant: 1, value: ktri })], encryptedContentInfo: eci });
  return new Uint8Array(new pkijs.ContentInfo({ contentType: OID_ENVELOPED_DATA, content: env.toSchema() }).toSchema().toBER(false));
}

const derOf = (b: { toSchema(): asn1js.BaseBlock } | asn1js.BaseBlock): Uint8Array =>
  new Uint8Array(('toSchema' in b ? b.toSchema() : b).toBER(false));
const specOf = (a: pkijs.AlgorithmIdentifier): AlgorithmSpec => ({ oid: a.algorithmId, ...(a.algorithmParams ? { params: derOf(a.algorithmParams as asn1js.BaseBlock) } : {}) });

/** RSA modulus length in bytes of an RSA SubjectPublicKeyInfo (undefined for other keys). */
function modulusBytes(spki: Uint8Array | undefined): number | undefined {
  if (!spki) return undefined;
  try {
    const jwk = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({ format: 'jwk' });
    return jwk.kty === 'RSA' && jwk.n ? Buffer.from(jwk.n, 'base64url').byteLength : undefined;
  } catch {
    return undefined;
  }
}

/** Does this RecipientIdentifier (ktri/ori: variant 1 issuerAndSerialNumber, 2 subjectKeyIdentifier) name us? */
function ridMatches(rid: { variant: number; value: unknown }, r: PopRecipient): boolean {
  if (!r.spki && r.subjectKeyIdentifier === undefined && r.bodyPartID === undefined) return true; // caller did not say who it is
  if (rid.variant === 2 || rid.value instanceof asn1js.OctetString) {
    const ski = new Uint8Array((rid.value as asn1js.OctetString).valueBlock.valueHexView);
    return (r.subjectKeyIdentifier !== undefined && bytesEqual(ski, r.subjectKeyIdentifier)) || (r.spki !== undefined && bytesEqual(ski, keyIdentifierFromSpki(r.spki)));
  }
  const ias = rid.value as pkijs.IssuerAndSerialNumber;
  if (!(ias instanceof pkijs.IssuerAndSerialNumber) || r.bodyPartID === undefined) return false;
  return ias.issuer.typesAndValues.length === 0 && ias.serialNumber.toBigInt() === BigInt(r.bodyPartID);
}

function unwrap(wrapOid: string, kek: Uint8Array, wrapped: Uint8Array): Uint8Array {
  const w = WRAP[wrapOid]!;
  try {
    const d = createDecipheriv(w.cipher, kek, AES_WRAP_IV);
    return new Uint8Array(Buffer.concat([d.update(wrapped), d.final()]));
  } catch (e) {
    throw new CmcPopError('decrypt', `AES key unwrap failed (wrong key-encryption key): ${(e as Error).message}`, { cause: e });
  }
}

async function rsaDecrypt(r: PopRecipient, ct: Uint8Array, scheme: RsaDecryptScheme): Promise<Uint8Array> {
  if (!r.decrypt) throw new CmcPopError('recipient', 'an RSA recipient, but the key offers no RSA decryption');
  try {
    return await r.decrypt(ct, scheme);
  } catch (e) {
    if (e instanceof CmcPopError) throw e;
    throw new CmcPopError('decrypt', `RSA decryption (${scheme.scheme}) failed: ${(e as Error).message}`, { cause: e });
  }
}

/** ktri: RSAES-OAEP or RSAES-PKCS1-v1_5 (RFC 5652 §6.2.1). */
async function openKtri(ktri: pkijs.KeyTransRecipientInfo, r: PopRecipient): Promise<Uint8Array> {
  const alg = ktri.keyEncryptionAlgorithm;
  const ek = new Uint8Array(ktri.encryptedKey.valueBlock.valueHexView);
  const nLen = modulusBytes(r.spki);
  if (nLen !== undefined && ek.byteLength !== nLen) throw new CmcPopError('decrypt', `encryptedKey is ${ek.byteLength} bytes, the RSA modulus ${nLen}`);
  if (alg.algorithmId === OID_RSA_ENCRYPTION) {
    if (alg.algorithmParams !== undefined && !(alg.algorithmParams instanceof asn1js.Null)) throw new CmcPopError('malformed', 'rsaEncryption key transport: parameters must be NULL or absent');
    return rsaDecrypt(r, ek, { scheme: 'rsaes' });
  }
  if (alg.algorithmId !== OID_RSAES_OAEP) throw new CmcPopError('unsupported-algorithm', `unsupported key transport ${alg.algorithmId}`);
  let oaep: pkijs.RSAESOAEPParams;
  try {
    oaep = alg.algorithmParams ? new pkijs.RSAESOAEPParams({ schema: alg.algorithmParams }) : new pkijs.RSAESOAEPParams();
  } catch (e) {
    throw new CmcPopError('malformed', `RSAES-OAEP-params: ${(e as Error).message}`, { cause: e });
  }
  const hash = digestByOid(oaep.hashAlgorithm.algorithmId)?.node;
  if (!hash) throw new CmcPopError('unsupported-algorithm', `RSAES-OAEP with hash ${oaep.hashAlgorithm.algorithmId}`);
  const mgf = oaep.maskGenAlgorithm;
  const mgfHash = mgf.algorithmParams ? new pkijs.AlgorithmIdentifier({ schema: mgf.algorithmParams }).algorithmId : OID_SHA1;
  if (mgf.algorithmId !== OID_MGF1 || mgfHash !== oaep.hashAlgorithm.algorithmId) throw new CmcPopError('unsupported-algorithm', 'RSAES-OAEP: MGF1 with the OAEP hash is the only mask generation supported (the TPM uses it)');
  // pSourceAlgorithm [2] (pkijs fills a default when it is absent): only the empty label (the DEFAULT) is supported.
  const fields = alg.algorithmParams instanceof asn1js.Sequence ? alg.algorithmParams.valueBlock.value : [];
  const pSource = fields.find((f) => f.idBlock.tagClass === 3 && f.idBlock.tagNumber === 2);
  if (pSource) {
    const label = (oaep.pSourceAlgorithm.algorithmParams as asn1js.OctetString | undefined)?.valueBlock?.valueHexView;
    if (label && label.byteLength > 0) throw new CmcPopError('unsupported-algorithm', 'RSAES-OAEP with a non-empty label');
  }
  return rsaDecrypt(r, ek, { scheme: 'oaep', hash });
}

/** ori KEMRecipientInfo with RSA-KEM (RFC 9629 §3–§5, RFC 9690 §3 and Appendix A.2). */
async function openKemri(kemri: KEMRecipientInfo, r: PopRecipient): Promise<Uint8Array> {
  if (kemri.kem.oid !== OID_KEM_RSA) throw new CmcPopError('unsupported-algorithm', `unsupported KEM ${kemri.kem.oid}`);
  const wrap = WRAP[kemri.wrap.oid];
  if (!wrap) throw new CmcPopError('unsupported-algorithm', `unsupported key-encryption (wrap) algorithm ${kemri.wrap.oid}`);
  if (kemri.wrap.params !== undefined) throw new CmcPopError('malformed', 'AES key wrap: parameters must be absent (RFC 3565 §4.3)');
  if (kemri.kekLength !== wrap.key) throw new CmcPopError('malformed', `kekLength ${kemri.kekLength} does not fit ${wrap.cipher} (${wrap.key})`);
  // RSA-KEM's own KDF (RFC 9690 Appendix B): RsaKemParameters { keyDerivationFunction, keyLength } or KDF3-SHA-256.
  let inner: AlgorithmSpec = { oid: OID_KDF_KDF3, params: derOf(new pkijs.AlgorithmIdentifier({ algorithmId: OID_SHA256, algorithmParams: new asn1js.Null() })) };
  let ssLen = kemri.kekLength;
  if (kemri.kem.params !== undefined) {
    const p = asn1js.fromBER(kemri.kem.params);
    const v = p.result instanceof asn1js.Sequence ? p.result.valueBlock.value : [];
    if (p.offset !== kemri.kem.params.byteLength || v.length !== 2 || !(v[0] instanceof asn1js.Sequence) || !(v[1] instanceof asn1js.Integer)) {
      throw new CmcPopError('malformed', 'id-kem-rsa parameters are not RsaKemParameters');
    }
    const a = new pkijs.AlgorithmIdentifier({ schema: v[0] });
    inner = specOf(a);
    ssLen = v[1].valueBlock.valueDec;
    if (ssLen !== kemri.kekLength) throw new CmcPopError('malformed', `RsaKemParameters keyLength ${ssLen} differs from kekLength ${kemri.kekLength} (RFC 9690 Appendix A.1 step 3)`);
  }
  const nLen = modulusBytes(r.spki);
  if (nLen === undefined) throw new CmcPopError('recipient', 'RSA-KEM recipient, but our key is not an RSA key');
  // RFC 9690 Appendix A.2 step 1: a ciphertext of another length is a decryption error (checked before the TPM).
  if (kemri.kemct.byteLength !== nLen) throw new CmcPopError('kem-ciphertext', `RSA-KEM ciphertext is ${kemri.kemct.byteLength} bytes, the modulus ${nLen}`);
  const zRaw = await rsaDecrypt(r, kemri.kemct, { scheme: 'raw' });
  if (zRaw.byteLength > nLen) throw new CmcPopError('decrypt', 'RSA-KEM: the decrypted integer is longer than the modulus');
  const Z = new Uint8Array(nLen);
  Z.set(zRaw, nLen - zRaw.byteLength); // IntegerToString(z, nLen)
  try {
    const ss = deriveKey(inner, Z, ssLen, new Uint8Array(0));
    const kek = deriveKey(kemri.kdf, ss, kemri.kekLength, kemri.otherInfo());
    ss.fill(0);
    return unwrap(kemri.wrap.oid, kek, kemri.encryptedKey);
  } finally {
    Z.fill(0);
  }
}

/** ECC-CMS-SharedInfo ::= SEQUENCE { keyInfo AlgorithmIdentifier, entityUInfo [0] EXPLICIT OCTET STRING OPTIONAL,
 *  suppPubInfo [2] EXPLICIT OCTET STRING } (RFC 5753 §7.2); suppPubInfo = the KEK length in bits, 32-bit big-endian. */
export function eccCmsSharedInfo(wrapOid: string, kekBytes: number, ukm?: Uint8Array): Uint8Array {
  const bits = Buffer.alloc(4);
  bits.writeUInt32BE(kekBytes * 8);
  const ctx = (n: number, v: asn1js.BaseBlock): asn1js.Constructed => new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: n }, value: [v] });
  return new Uint8Array(
    new asn1js.Sequence({
      value: [
        new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: wrapOid })] }),
        ...(ukm ? [ctx(0, new asn1js.OctetString({ valueHex: ukm }))] : []),
        ctx(2, new asn1js.OctetString({ valueHex: bits })),
      ],
    }).toBER(false),
  );
}

/** kari, ephemeral-static ECDH with the X9.63 KDF (RFC 5753 §3.1.2, §7.1.4). */
async function openKari(kari: pkijs.KeyAgreeRecipientInfo, r: PopRecipient): Promise<Uint8Array> {
  const kdfHash = kari.keyEncryptionAlgorithm.algorithmId === OID_ECDH_STD_SHA256_KDF ? 'sha256' : kari.keyEncryptionAlgorithm.algorithmId === OID_ECDH_STD_SHA384_KDF ? 'sha384' : undefined;
  if (!kdfHash) throw new CmcPopError('unsupported-algorithm', `unsupported key agreement ${kari.keyEncryptionAlgorithm.algorithmId}`);
  let wrapOid: string;
  try {
    const w = new pkijs.AlgorithmIdentifier({ schema: kari.keyEncryptionAlgorithm.algorithmParams });
    wrapOid = w.algorithmId;
  } catch (e) {
    throw new CmcPopError('malformed', `key agreement parameters are not a KeyWrapAlgorithm: ${(e as Error).message}`, { cause: e });
  }
  const wrap = WRAP[wrapOid];
  if (!wrap) throw new CmcPopError('unsupported-algorithm', `unsupported key wrap ${wrapOid}`);
  if (kari.originator.variant !== 3) throw new CmcPopError('malformed', 'kari originator must be originatorKey (RFC 5753 §3.1.1)');
  const opk = kari.originator.value as pkijs.OriginatorPublicKey;
  const curve = opk.algorithm.algorithmParams instanceof asn1js.ObjectIdentifier ? opk.algorithm.algorithmParams.valueBlock.toString() : undefined;
  if (opk.algorithm.algorithmId !== OID_EC_PUBLIC_KEY || (curve !== undefined && curve !== OID_P256)) throw new CmcPopError('unsupported-algorithm', 'the originator key is not a P-256 id-ecPublicKey');
  const point = new Uint8Array(opk.publicKey.valueBlock.valueHexView);
  if (point.byteLength !== 65 || point[0] !== 0x04) throw new CmcPopError('malformed', 'the originator point is not an uncompressed P-256 ECPoint');
  const mine = kari.recipientEncryptedKeys.encryptedKeys.find((rek) => {
    if (rek.rid.variant === 2) return ridMatches({ variant: 2, value: (rek.rid.value as pkijs.RecipientKeyIdentifier).subjectKeyIdentifier }, r);
    return ridMatches({ variant: 1, value: rek.rid.value }, r);
  });
  if (!mine) throw new CmcPopError('recipient', 'no RecipientEncryptedKey names our key');
  if (!r.ecdhZGen) throw new CmcPopError('recipient', 'an ECDH recipient, but the key offers no key agreement');
  let z: Uint8Array;
  try {
    z = await r.ecdhZGen({ x: point.subarray(1, 33), y: point.subarray(33, 65) });
  } catch (e) {
    throw new CmcPopError('decrypt', `ECDH failed: ${(e as Error).message}`, { cause: e });
  }
  const ukm = kari.ukm ? new Uint8Array(kari.ukm.valueBlock.valueHexView) : undefined;
  const kek = x963Kdf(kdfHash, z, wrap.key, eccCmsSharedInfo(wrapOid, wrap.key, ukm));
  z.fill(0);
  return unwrap(wrapOid, kek, new Uint8Array(mine.encryptedKey.valueBlock.valueHexView));
}

/** The content-encryption key from the first RecipientInfo of a kind we handle that names our key. */
async function contentEncryptionKey(recipientInfos: pkijs.RecipientInfo[], r: PopRecipient): Promise<Uint8Array> {
  let unsupported: CmcPopError | undefined;
  for (const ri of recipientInfos) {
    try {
      if (ri.variant === 1) {
        const ktri = ri.value as pkijs.KeyTransRecipientInfo;
        if (!ridMatches(ktri.rid instanceof asn1js.OctetString ? { variant: 2, value: ktri.rid } : { variant: 1, value: ktri.rid }, r)) continue;
        return await openKtri(ktri, r);
      } else if (ri.variant === 2) {
        return await openKari(ri.value as pkijs.KeyAgreeRecipientInfo, r);
      } else if (ri.variant === 5) {
        const ori = ri.value as pkijs.OtherRecipientInfo;
        if (ori.oriType !== OID_ORI_KEM) throw new CmcPopError('unsupported-algorithm', `unsupported OtherRecipientInfo ${ori.oriType}`);
        const kemri = KEMRecipientInfo.fromSchema(ori.oriValue as asn1js.BaseBlock);
        if (!ridMatches({ variant: kemri.rid.variant, value: kemri.rid.value }, r)) continue;
        return await openKemri(kemri, r);
      } else {
        throw new CmcPopError('unsupported-algorithm', `RecipientInfo variant ${ri.variant} (kekri/pwri) cannot name a public key`);
      }
    } catch (e) {
      // pkijs/asn1js throw plain errors on structures that do not match their schema: malformed input, typed.
      if (!(e instanceof CmcPopError)) throw new CmcPopError('malformed', `encryptedPOP cms RecipientInfo: ${(e as Error).message}`, { cause: e });
      if (e.failure !== 'unsupported-algorithm' && e.failure !== 'recipient') throw e;
      unsupported ??= e;
    }
  }
  throw unsupported ?? new CmcPopError('recipient', 'no RecipientInfo of the encryptedPOP cms names our key');
}

/** How the content is decrypted once the CEK is known: AES-CBC (EnvelopedData) or AES-GCM (AuthEnvelopedData). */
type ContentCipher =
  | { aead: false; cipher: string; key: number; iv: Uint8Array; ct: Uint8Array }
  | { aead: true; cipher: string; key: number; nonce: Uint8Array; ct: Uint8Array; tag: Uint8Array; aad: Uint8Array };

/** EnvelopedData: AES-CBC with a 16-byte IV (RFC 3565). */
function cbcContent(eci: pkijs.EncryptedContentInfo): ContentCipher {
  const cbc = CBC[eci.contentEncryptionAlgorithm.algorithmId];
  if (!cbc) throw new CmcPopError('unsupported-algorithm', `unsupported content encryption ${eci.contentEncryptionAlgorithm.algorithmId} in EnvelopedData`);
  const ivNode = eci.contentEncryptionAlgorithm.algorithmParams;
  const iv = ivNode instanceof asn1js.OctetString ? new Uint8Array(ivNode.valueBlock.valueHexView) : undefined;
  const ct = encryptedContentBytes(eci.encryptedContent);
  if (!iv || iv.byteLength !== 16 || !ct) throw new CmcPopError('malformed', 'encryptedPOP cms: AES-CBC needs a 16-byte IV and encrypted content');
  return { aead: false, ...cbc, iv, ct };
}

/** AuthEnvelopedData: AES-GCM (RFC 5084 §3.2) whose tag is `mac`, of aes-ICVlen bytes (RFC 5083 §2.1, RFC 5084 §3.2). */
function gcmContent(aed: AuthEnvelopedData): ContentCipher {
  const eci = aed.authEncryptedContentInfo;
  const gcm = GCM[eci.contentEncryptionAlgorithm.algorithmId];
  if (!gcm) throw new CmcPopError('unsupported-algorithm', `unsupported content-authenticated encryption ${eci.contentEncryptionAlgorithm.algorithmId} in AuthEnvelopedData`);
  const params = GCMParameters.fromSchema(eci.contentEncryptionAlgorithm.algorithmParams as asn1js.BaseBlock | undefined, 'encryptedPOP cms GCMParameters');
  const ct = encryptedContentBytes(eci.encryptedContent);
  if (!ct) throw new CmcPopError('malformed', 'encryptedPOP cms: AuthEnvelopedData without encrypted content');
  if (aed.mac.byteLength !== params.icvLength) throw new CmcPopError('malformed', `encryptedPOP cms: mac is ${aed.mac.byteLength} bytes, aes-ICVlen says ${params.icvLength}`);
  return { aead: true, ...gcm, nonce: params.nonce, ct, tag: aed.mac, aad: aed.aad() };
}

/**
 * Device side: the POP Proof Value y from the envelope, an EnvelopedData or (RFC 10002 §6.7) an AuthEnvelopedData.
 * `recipient` names the key and its private-key operations; a bare function is the RSA decryption alone (no
 * recipient matching).
 */
export async function openPopEnvelope(der: Uint8Array, recipient: PopRecipient | PopRecipient['decrypt']): Promise<Uint8Array> {
  const r: PopRecipient = typeof recipient === 'function' ? { decrypt: recipient } : (recipient ?? {});
  let recipientInfos: pkijs.RecipientInfo[];
  let eci: pkijs.EncryptedContentInfo;
  let aed: AuthEnvelopedData | undefined;
  try {
    const parsed = asn1js.fromBER(der);
    if (parsed.offset !== der.byteLength || parsed.result.error) throw new Error('not one BER element');
    const ci = new pkijs.ContentInfo({ schema: parsed.result });
    if (ci.contentType === OID_ENVELOPED_DATA) {
      const env = new pkijs.EnvelopedData({ schema: ci.content });
      [recipientInfos, eci] = [env.recipientInfos, env.encryptedContentInfo];
    } else if (ci.contentType === OID_AUTH_ENVELOPED_DATA) {
      aed = AuthEnvelopedData.fromSchema(ci.content as asn1js.BaseBlock, 'encryptedPOP cms AuthEnvelopedData');
      [recipientInfos, eci] = [aed.recipientInfos, aed.authEncryptedContentInfo];
    } else {
      throw new Error(`content type ${ci.contentType} is neither EnvelopedData nor AuthEnvelopedData`);
    }
  } catch (e) {
    if (e instanceof CmcPopError) throw e;
    throw new CmcPopError('malformed', `encryptedPOP cms: ${(e as Error).message}`, { cause: e });
  }
  if (eci.contentType !== OID_DATA) throw new CmcPopError('malformed', `encryptedPOP cms: encrypted content type ${eci.contentType} is not id-data`);
  const content = aed ? gcmContent(aed) : cbcContent(eci);

  const cek = await contentEncryptionKey(recipientInfos, r);
  if (cek.byteLength !== content.key) throw new CmcPopError('decrypt', `encryptedPOP cms: the content-encryption key is ${cek.byteLength} bytes, ${content.cipher} needs ${content.key}`);
  try {
    if (!content.aead) {
      const d = createDecipheriv(content.cipher, cek, content.iv);
      return new Uint8Array(Buffer.concat([d.update(content.ct), d.final()]));
    }
    const d = createDecipheriv(content.cipher as CipherGCMTypes, cek, content.nonce, { authTagLength: content.tag.byteLength });
    d.setAuthTag(content.tag);
    if (content.aad.byteLength > 0) d.setAAD(content.aad);
    return new Uint8Array(Buffer.concat([d.update(content.ct), d.final()]));
  } catch (e) {
    throw new CmcPopError('decrypt', `encryptedPOP cms does not decrypt${content.aead ? ' or its mac does not verify' : ''}: ${(e as Error).message}`, { cause: e });
  } finally {
    cek.fill(0);
  }
}

/** encryptedContent [0] IMPLICIT OCTET STRING: primitive, or constructed (BER) with OCTET STRING segments. */
function encryptedContentBytes(node: asn1js.BaseBlock | undefined): Uint8Array | undefined {
  if (!node) return undefined;
  const v = node.valueBlock as unknown as { valueHexView?: Uint8Array; value?: asn1js.BaseBlock[] };
  if (!node.idBlock.isConstructed) return new Uint8Array(v.valueHexView ?? new Uint8Array(0));
  const parts = (v.value ?? []).map((c) => encryptedContentBytes(c) ?? new Uint8Array(0));
  return new Uint8Array(Buffer.concat(parts));
}
