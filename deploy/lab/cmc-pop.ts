// The lab CA's side of indirect proof of possession (RFC 5272 §6.7; RFC 10002 §6.7 and Appendices B.3/B.4, read as
// draft-ietf-lamps-rfc5272bis-11): the POP Proof Value y, its (Auth)EnvelopedData to the new key, the witness, and
// the check of the client's thePOP. Written from the texts with pkijs/asn1js and node:crypto (KMAC from
// @noble/hashes: node:crypto has none); it shares nothing with the agent.
//   cms      EnvelopedData (RFC 5652 §6) of id-data, content y; recipient identifier = the CSR's SKI extension when it
//            has one, else issuerAndSerialNumber { issuer = empty Name ("NULL"), serial = the request's bodyPartID }:
//     ktri   RSAES-OAEP SHA-256 or SHA-1 (RFC 4055 §4.1) | RSAES-PKCS1-v1_5 (rsaEncryption, RFC 3370 §4.2.1)
//     kemri  ori id-ori-kem KEMRecipientInfo (RFC 9629 §3) with id-kem-rsa (RFC 9690): z random in [0, n), kemct = z^e
//            mod n, SS = KDF3-SHA-256(I2OSP(z, nLen), kekLength); KEK = kdf(SS, kekLength, CMSORIforKEMOtherInfo)
//            with kdf KDF3-SHA-256 or HKDF-SHA-256 (RFC 8619); CEK wrapped with AES key wrap (RFC 3394)
//     kari   ephemeral-static ECDH P-256 (RFC 5753 §3.1), dhSinglePass-stdDH-sha256kdf-scheme, X9.63 KDF over
//            ECC-CMS-SharedInfo, AES key wrap
//            content AES-128-CBC or AES-256-CBC (RFC 3565)
//            or, as RFC 10002 §6.7 (rfc5272bis-11) also allows, an AuthEnvelopedData (RFC 5083 §2.1: version 0, the
//            same RecipientInfos, authEncryptedContentInfo AES-128-GCM / AES-256-GCM with GCMParameters { 12-byte
//            nonce, aes-ICVlen } (RFC 5084 §3.2), no authAttrs, mac = the GCM tag). AES-128-GCM uses the 12-octet
//            ICV that RFC 10004 §5.1 (rfc5274bis-11) makes mandatory (the DEFAULT, so omitted), AES-256-GCM 16)
//   witness  SHA-256(y) | SHA-1(y) | SHAKE128(y) 256-bit (RFC 8702 §3.1)
//   thePOP   HMAC-SHA256 | HMAC-SHA1 | KmacWithSHAKE128 (RFC 8702 §3.4) keyed with y (its first 64 bytes when
//            longer) over the DER certification request
import { constants, createCipheriv, createHash, createHmac, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, publicEncrypt, randomBytes, timingSafeEqual } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { kmac128 } from '@noble/hashes/sha3-addons.js';

export const POP_OID = {
  hmacSha1: '1.2.840.113549.2.7',
  hmacSha256: '1.2.840.113549.2.9',
  kmac128: '2.16.840.1.101.3.4.2.19', // id-KMACWithSHAKE128
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  shake128: '2.16.840.1.101.3.4.2.11',
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsaesOaep: '1.2.840.113549.1.1.7',
  mgf1: '1.2.840.113549.1.1.8',
  oriKem: '1.2.840.113549.1.9.16.13.3',
  kemRsa: '1.0.18033.2.2.4',
  kdf3: '1.3.133.16.840.9.44.1.2',
  hkdfSha256: '1.2.840.113549.1.9.16.3.28',
  ecdhSha256: '1.3.132.1.11.1', // dhSinglePass-stdDH-sha256kdf-scheme
  ecPublicKey: '1.2.840.10045.2.1',
  aes128Cbc: '2.16.840.1.101.3.4.1.2',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
  aes128Wrap: '2.16.840.1.101.3.4.1.5',
  aes256Wrap: '2.16.840.1.101.3.4.1.45',
  data: '1.2.840.113549.1.7.1',
  envelopedData: '1.2.840.113549.1.7.3',
  authEnvelopedData: '1.2.840.113549.1.9.16.1.23', // id-ct-authEnvelopedData (RFC 5083 §1.1)
  aes128Gcm: '2.16.840.1.101.3.4.1.6', // RFC 5084 §3.2
  aes256Gcm: '2.16.840.1.101.3.4.1.46',
} as const;

export type PopRecipientForm = 'ktri-oaep-sha256' | 'ktri-oaep-sha1' | 'ktri-rsaes-pkcs1' | 'kem-rsa-kdf3' | 'kem-rsa-hkdf' | 'kari-ecdh';
export type PopAlgorithm = 'hmac-sha256' | 'hmac-sha1' | 'kmac128';
/** Deliberately broken challenges, for the agent's bad-input tests. */
export type PopTamper = 'kem-ciphertext-size' | 'kem-unknown' | 'kdf-unknown' | 'pop-unknown' | 'witness' | 'gcm-tag';

export interface PopChallengeOptions {
  /** For RSA keys (EC keys always get kari). Default ktri-oaep-sha256. */
  recipient?: PopRecipientForm;
  /** Default aes256-cbc (EnvelopedData); the -gcm forms send an AuthEnvelopedData. */
  content?: 'aes128-cbc' | 'aes256-cbc' | 'aes128-gcm' | 'aes256-gcm';
  /** Default hmac-sha256 (witness SHA-256); hmac-sha1 → SHA-1, kmac128 → SHAKE128. */
  pop?: PopAlgorithm;
  /** Length of y (default 32). */
  yBytes?: number;
  tamper?: PopTamper;
}

export interface PopChallenge {
  y: Uint8Array;
  cms: Uint8Array;
  thePOPAlgID: asn1js.Sequence;
  witnessAlgID: asn1js.Sequence;
  witness: Uint8Array;
  /** DER thePOPAlgID, what the DecryptedPOP must copy. */
  thePOPAlgIDDer: Uint8Array;
}

const algId = (oid: string, params?: asn1js.BaseBlock): asn1js.Sequence => new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: oid }), ...(params ? [params] : [])] });
const der = (b: asn1js.BaseBlock): Uint8Array => new Uint8Array(b.toBER(false));
const ctx = (n: number, v: asn1js.BaseBlock): asn1js.Constructed => new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: n }, value: [v] });
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

/** ANS X9.44 KDF3 (counter first) / X9.63 KDF (counter after Z), counter from 1. */
function counterKdf(order: 'kdf3' | 'x963', z: Uint8Array, len: number, info: Uint8Array): Uint8Array {
  const out: Buffer[] = [];
  for (let d = 1, have = 0; have < len; d++) {
    const h = createHash('sha256');
    if (order === 'kdf3') h.update(u32(d)).update(z);
    else h.update(z).update(u32(d));
    const b = h.update(info).digest();
    out.push(b);
    have += b.byteLength;
  }
  return new Uint8Array(Buffer.concat(out).subarray(0, len));
}

function aesWrap(kek: Uint8Array, cek: Uint8Array): Uint8Array {
  const c = createCipheriv(kek.byteLength === 16 ? 'id-aes128-wrap' : 'id-aes256-wrap', kek, Buffer.from('a6a6a6a6a6a6a6a6', 'hex'));
  return new Uint8Array(Buffer.concat([c.update(cek), c.final()]));
}

/** The recipient identifier rfc5272bis §6.7 step 2 asks for. */
function ridFor(csrSki: Uint8Array | undefined, bodyPartID: number): { ski: Uint8Array } | { ias: pkijs.IssuerAndSerialNumber } {
  if (csrSki) return { ski: csrSki };
  // An empty RDNSequence (SEQUENCE {}); pkijs would write SEQUENCE { SET {} } for an empty Name without valueBeforeDecode.
  const emptyName = new pkijs.RelativeDistinguishedNames({ typesAndValues: [], valueBeforeDecode: new asn1js.Sequence().toBER(false) });
  return { ias: new pkijs.IssuerAndSerialNumber({ issuer: emptyName, serialNumber: new asn1js.Integer({ value: bodyPartID }) }) };
}

function witnessOf(pop: PopAlgorithm, y: Uint8Array): { alg: asn1js.Sequence; value: Uint8Array } {
  if (pop === 'kmac128') return { alg: algId(POP_OID.shake128), value: new Uint8Array(createHash('shake128', { outputLength: 32 }).update(y).digest()) };
  if (pop === 'hmac-sha1') return { alg: algId(POP_OID.sha1), value: new Uint8Array(createHash('sha1').update(y).digest()) };
  return { alg: algId(POP_OID.sha256), value: new Uint8Array(createHash('sha256').update(y).digest()) };
}

/** thePOP the client must return (rfc5272bis §6.7: y as the secret, only its first 64 bytes when longer). */
export function expectedPop(pop: PopAlgorithm, y: Uint8Array, request: Uint8Array): Uint8Array {
  const key = y.byteLength > 64 ? y.subarray(0, 64) : y;
  if (pop === 'kmac128') return kmac128(key, request, { dkLen: 32 }); // KMACwithSHAKE128-params absent: 256 bits, S = ""
  return new Uint8Array(createHmac(pop === 'hmac-sha1' ? 'sha1' : 'sha256', key).update(request).digest());
}
export function popAlgorithmOf(oid: string): PopAlgorithm | undefined {
  return oid === POP_OID.hmacSha256 ? 'hmac-sha256' : oid === POP_OID.hmacSha1 ? 'hmac-sha1' : oid === POP_OID.kmac128 ? 'kmac128' : undefined;
}
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}

/** A new encryptedPOP challenge for the key `spki` of the request `bodyPartID`. */
export function createPopChallenge(spki: Uint8Array, o: PopChallengeOptions & { csrSki?: Uint8Array; bodyPartID: number }): PopChallenge {
  const y = new Uint8Array(randomBytes(o.yBytes ?? 32));
  const pop = o.pop ?? 'hmac-sha256';
  const content = o.content ?? 'aes256-cbc';
  const gcm = content.endsWith('-gcm');
  const cek = randomBytes(content.startsWith('aes128') ? 16 : 32);
  const iv = randomBytes(gcm ? 12 : 16);
  let encrypted: Buffer;
  let tag: Buffer | undefined;
  if (gcm) {
    const c = createCipheriv(content === 'aes128-gcm' ? 'aes-128-gcm' : 'aes-256-gcm', cek, iv, { authTagLength: content === 'aes128-gcm' ? 12 : 16 });
    encrypted = Buffer.concat([c.update(y), c.final()]);
    tag = c.getAuthTag();
    if (o.tamper === 'gcm-tag') tag[0]! ^= 1;
  } else {
    const c = createCipheriv(content === 'aes128-cbc' ? 'aes-128-cbc' : 'aes-256-cbc', cek, iv);
    encrypted = Buffer.concat([c.update(y), c.final()]);
  }
  const pub = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  const rid = ridFor(o.csrSki, o.bodyPartID);
  const form: PopRecipientForm = pub.asymmetricKeyType === 'ec' ? 'kari-ecdh' : (o.recipient ?? 'ktri-oaep-sha256');
  let ri: pkijs.RecipientInfo;
  let version = 2;
  if (form.startsWith('ktri-')) {
    let kea: pkijs.AlgorithmIdentifier;
    let ek: Buffer;
    if (form === 'ktri-rsaes-pkcs1') {
      kea = new pkijs.AlgorithmIdentifier({ algorithmId: POP_OID.rsaEncryption, algorithmParams: new asn1js.Null() });
      ek = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_PADDING }, cek);
    } else {
      const h = form === 'ktri-oaep-sha1' ? POP_OID.sha1 : POP_OID.sha256;
      const hash = new pkijs.AlgorithmIdentifier({ algorithmId: h, algorithmParams: new asn1js.Null() });
      // RSAES-OAEP-params: SHA-1 is the DEFAULT (RFC 4055 §4.1) and is then omitted.
      const params = h === POP_OID.sha1
        ? new asn1js.Sequence()
        : new asn1js.Sequence({ value: [ctx(0, hash.toSchema()), ctx(1, algId(POP_OID.mgf1, hash.toSchema()))] });
      kea = new pkijs.AlgorithmIdentifier({ algorithmId: POP_OID.rsaesOaep, algorithmParams: params });
      ek = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: h === POP_OID.sha1 ? 'sha1' : 'sha256' }, cek);
    }
    const ktri = new pkijs.KeyTransRecipientInfo({
      version: 'ski' in rid ? 2 : 0,
      rid: 'ski' in rid ? new asn1js.OctetString({ valueHex: rid.ski }) : rid.ias,
      keyEncryptionAlgorithm: kea,
      encryptedKey: new asn1js.OctetString({ valueHex: ek }),
    });
    if (!('ski' in rid)) version = 0;
    ri = new pkijs.RecipientInfo({ variant: 1, value: ktri });
  } else if (form.startsWith('kem-')) {
    // RFC 9690 Appendix A.1: Encapsulate.
    const n = BigInt('0x' + Buffer.from(pub.export({ format: 'jwk' }).n!, 'base64url').toString('hex'));
    const nLen = Buffer.from(pub.export({ format: 'jwk' }).n!, 'base64url').byteLength;
    let z: bigint;
    do z = BigInt('0x' + randomBytes(nLen).toString('hex'));
    while (z >= n);
    const Z = Buffer.from(z.toString(16).padStart(nLen * 2, '0'), 'hex');
    let kemct = new Uint8Array(publicEncrypt({ key: pub, padding: constants.RSA_NO_PADDING }, Z));
    const kekLength = 16;
    const ss = counterKdf('kdf3', Z, kekLength, new Uint8Array(0));
    const wrap = algId(POP_OID.aes128Wrap);
    const otherInfo = der(new asn1js.Sequence({ value: [wrap, new asn1js.Integer({ value: kekLength })] })); // CMSORIforKEMOtherInfo
    const kdfOid = o.tamper === 'kdf-unknown' ? '1.3.6.1.4.1.55555.1' : form === 'kem-rsa-hkdf' ? POP_OID.hkdfSha256 : POP_OID.kdf3;
    const kdf = kdfOid === POP_OID.kdf3 ? algId(POP_OID.kdf3, algId(POP_OID.sha256, new asn1js.Null())) : algId(kdfOid);
    const kek = form === 'kem-rsa-hkdf' ? new Uint8Array(hkdfSync('sha256', ss, new Uint8Array(0), otherInfo, kekLength)) : counterKdf('kdf3', ss, kekLength, otherInfo);
    if (o.tamper === 'kem-ciphertext-size') kemct = kemct.subarray(1);
    const kemri = new asn1js.Sequence({
      value: [
        new asn1js.Integer({ value: 0 }),
        'ski' in rid ? new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: rid.ski }) : rid.ias.toSchema(),
        algId(o.tamper === 'kem-unknown' ? '1.3.6.1.4.1.55555.2' : POP_OID.kemRsa),
        new asn1js.OctetString({ valueHex: kemct }),
        kdf,
        new asn1js.Integer({ value: kekLength }),
        wrap,
        new asn1js.OctetString({ valueHex: aesWrap(kek, cek) }),
      ],
    });
    // ori [4] IMPLICIT OtherRecipientInfo { oriType id-ori-kem, oriValue KEMRecipientInfo } (pkijs reads but does not write it)
    const ori = new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 4 }, value: [new asn1js.ObjectIdentifier({ value: POP_OID.oriKem }), kemri] });
    ri = Object.assign(new pkijs.RecipientInfo({ variant: 5, value: new pkijs.OtherRecipientInfo({ oriType: POP_OID.oriKem, oriValue: kemri }) }), { toSchema: () => ori });
    version = 3; // RFC 5652 §6.1: ori present
  } else {
    // RFC 5753 §3.1.1: an ephemeral key on the recipient's curve; Z = x coordinate of the shared point.
    const eph = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const Z = diffieHellman({ privateKey: eph.privateKey, publicKey: pub });
    const j = eph.publicKey.export({ format: 'jwk' });
    const point = new asn1js.BitString({ valueHex: Buffer.concat([Buffer.from([4]), Buffer.from(j.x!, 'base64url'), Buffer.from(j.y!, 'base64url')]) }); // ECPoint, uncompressed
    const sharedInfo = der(new asn1js.Sequence({ value: [algId(POP_OID.aes128Wrap), ctx(2, new asn1js.OctetString({ valueHex: u32(128) }))] })); // ECC-CMS-SharedInfo
    const kek = counterKdf('x963', Z, 16, sharedInfo);
    const kari = new pkijs.KeyAgreeRecipientInfo({
      version: 3,
      originator: new pkijs.OriginatorIdentifierOrKey({ variant: 3, value: new pkijs.OriginatorPublicKey({ algorithm: new pkijs.AlgorithmIdentifier({ algorithmId: POP_OID.ecPublicKey }), publicKey: point }) }),
      keyEncryptionAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: POP_OID.ecdhSha256, algorithmParams: algId(POP_OID.aes128Wrap) }),
      recipientEncryptedKeys: new pkijs.RecipientEncryptedKeys({
        encryptedKeys: [
          new pkijs.RecipientEncryptedKey({
            rid: 'ski' in rid
              ? new pkijs.KeyAgreeRecipientIdentifier({ variant: 2, value: new pkijs.RecipientKeyIdentifier({ subjectKeyIdentifier: new asn1js.OctetString({ valueHex: rid.ski }) }) })
              : new pkijs.KeyAgreeRecipientIdentifier({ variant: 1, value: rid.ias }),
            encryptedKey: new asn1js.OctetString({ valueHex: aesWrap(kek, cek) }),
          }),
        ],
      }),
    });
    ri = new pkijs.RecipientInfo({ variant: 2, value: kari });
  }
  const contentAlg = gcm
    // GCMParameters ::= SEQUENCE { aes-nonce OCTET STRING, aes-ICVlen INTEGER DEFAULT 12 } (RFC 5084 §3.2)
    ? new pkijs.AlgorithmIdentifier({ algorithmId: content === 'aes128-gcm' ? POP_OID.aes128Gcm : POP_OID.aes256Gcm, algorithmParams: new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: iv }), ...(content === 'aes128-gcm' ? [] : [new asn1js.Integer({ value: 16 })])] }) })
    : new pkijs.AlgorithmIdentifier({ algorithmId: content === 'aes128-cbc' ? POP_OID.aes128Cbc : POP_OID.aes256Cbc, algorithmParams: new asn1js.OctetString({ valueHex: iv }) });
  const eci = new pkijs.EncryptedContentInfo({
    contentType: POP_OID.data,
    contentEncryptionAlgorithm: contentAlg,
    encryptedContent: new asn1js.OctetString({ valueHex: encrypted }),
    disableSplit: true,
  } as ConstructorParameters<typeof pkijs.EncryptedContentInfo>[0]);
  let cms: Uint8Array;
  if (gcm) {
    // AuthEnvelopedData ::= SEQUENCE { version 0, recipientInfos, authEncryptedContentInfo, mac } (RFC 5083 §2.1)
    const aed = new asn1js.Sequence({ value: [new asn1js.Integer({ value: 0 }), new asn1js.Set({ value: [ri.toSchema() as asn1js.BaseBlock] }), eci.toSchema(), new asn1js.OctetString({ valueHex: tag! })] });
    cms = der(new pkijs.ContentInfo({ contentType: POP_OID.authEnvelopedData, content: aed }).toSchema());
  } else {
    const env = new pkijs.EnvelopedData({ version, recipientInfos: [ri], encryptedContentInfo: eci });
    cms = der(new pkijs.ContentInfo({ contentType: POP_OID.envelopedData, content: env.toSchema() }).toSchema());
  }
  const w = witnessOf(pop, y);
  if (o.tamper === 'witness') w.value[0] ^= 1;
  const popOid = o.tamper === 'pop-unknown' ? '1.3.6.1.4.1.55555.3' : pop === 'kmac128' ? POP_OID.kmac128 : pop === 'hmac-sha1' ? POP_OID.hmacSha1 : POP_OID.hmacSha256;
  const thePOPAlgID = algId(popOid);
  return { y, cms, thePOPAlgID, witnessAlgID: w.alg, witness: w.value, thePOPAlgIDDer: der(thePOPAlgID) };
}
