// RFC 5652 §6 EnvelopedData built by the lab itself (not by openssl), so its test variants can be broken in ways that
// fail the same way every run: one KeyTransRecipientInfo (version 2, rid [0] subjectKeyIdentifier, RSAES-OAEP with
// SHA-256 / MGF1-SHA-256, RFC 4055 §4.1) carrying the content-encryption key, and AES-256-CBC content (RFC 3565 §2.1,
// PKCS #7 padding, RFC 5652 §6.3). The inner content type is id-signedData (RFC 6032 §2: the encrypted content is the
// signed key package's SignedData).
//   'encrypted-key-out-of-range'  encryptedKey = 0xFF…FF (≥ the modulus: no RSA decryption exists, RFC 8017 §5.1.2)
//   'encrypted-key-one'           encryptedKey = I2OSP(1): decrypts to EM = 00…01 whatever the key, never valid OAEP
//                                 (RFC 8017 §7.1.2 step 3: lHash' ≠ lHash and no 0x01 separator)
//   'bad-padding'                 the right CEK, content padded with a final byte 0x00 (never valid PKCS #7 padding)
//   'wrong-cek'                   content under one key, the ktri carries another: chosen so that AES-CBC with it
//                                 fails the padding check (checked here before sending)
//   'truncated-ciphertext'        the ciphertext cut to a length that is not a multiple of the block size
//   'short-cek'                   a 16-byte CEK for AES-256-CBC
//   'wrong-kek-id'                the KEK's real key, but a rid with one bit of its subjectKeyIdentifier flipped
import { constants, createCipheriv, createDecipheriv, createHash, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { contentInfo } from './pki/signed-data.js';
import { OID } from './pki/oids.js';

export type EnvelopeTamper =
  | 'none'
  | 'encrypted-key-out-of-range'
  | 'encrypted-key-one'
  | 'bad-padding'
  | 'wrong-cek'
  | 'truncated-ciphertext'
  | 'short-cek'
  | 'wrong-kek-id';

const OIDS = {
  envelopedData: '1.2.840.113549.1.7.3', // RFC 5652 §6.1
  rsaesOaep: '1.2.840.113549.1.1.7', // RFC 4055 §4.1
  mgf1: '1.2.840.113549.1.1.8',
  aes256Cbc: '2.16.840.1.101.3.4.1.42', // RFC 3565 §4.1
} as const;

const ab = (b: Uint8Array): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
const algId = (oid: string, params?: asn1js.BaseBlock): asn1js.Sequence => new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: oid }), ...(params ? [params] : [])] });
const ctx = (n: number, inner: asn1js.BaseBlock): asn1js.Constructed => new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: n }, value: [inner] });

/** True when AES-256-CBC decryption of `ct` with `key`/`iv` fails (its PKCS #7 padding check, or the block length). */
function cbcFails(key: Uint8Array, iv: Uint8Array, ct: Uint8Array): boolean {
  try {
    const d = createDecipheriv('aes-256-cbc', key, iv);
    Buffer.concat([d.update(ct), d.final()]);
    return false;
  } catch {
    return true;
  }
}

/** ContentInfo(EnvelopedData) of `signedData` (a ContentInfo(SignedData) DER) to the RSA key `kekSpki`. */
export function envelopeToKek(signedDataContentInfo: Uint8Array, kekSpki: Uint8Array, tamper: EnvelopeTamper = 'none'): Uint8Array {
  const ci = new pkijs.ContentInfo({ schema: asn1js.fromBER(ab(signedDataContentInfo)).result });
  if (ci.contentType !== OID.signedData) throw new Error('envelopeToKek: the content is not a ContentInfo(SignedData)');
  const plain = new Uint8Array((ci.content as asn1js.BaseBlock).toBER(false));
  const spki = new pkijs.PublicKeyInfo({ schema: asn1js.fromBER(ab(kekSpki)).result });
  // RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value
  const ski = new Uint8Array(createHash('sha1').update(spki.subjectPublicKey.valueBlock.valueHexView).digest());
  if (tamper === 'wrong-kek-id') ski[ski.length - 1]! ^= 0x01;
  const cek = new Uint8Array(randomBytes(32));
  const iv = new Uint8Array(randomBytes(16));
  let ct: Uint8Array;
  if (tamper === 'bad-padding') {
    const padded = new Uint8Array(plain.byteLength + 16 - (plain.byteLength % 16));
    padded.set(plain); // the pad bytes stay 0x00: PKCS #7 padding is 1..16 copies of its own length, never 0
    const c = createCipheriv('aes-256-cbc', cek, iv).setAutoPadding(false);
    ct = new Uint8Array(Buffer.concat([c.update(padded), c.final()]));
  } else {
    const c = createCipheriv('aes-256-cbc', cek, iv);
    ct = new Uint8Array(Buffer.concat([c.update(plain), c.final()]));
  }
  if (tamper === 'truncated-ciphertext') ct = ct.subarray(0, ct.byteLength - 5);
  let wrapped = cek;
  if (tamper === 'wrong-cek') {
    do wrapped = new Uint8Array(randomBytes(32));
    while (!cbcFails(wrapped, iv, ct));
  }
  if (tamper === 'short-cek') wrapped = cek.subarray(0, 16);
  if (['bad-padding', 'wrong-cek', 'truncated-ciphertext'].includes(tamper) && !cbcFails(wrapped, iv, ct)) throw new Error(`envelopeToKek: ${tamper} would decrypt`);
  const pub = createPublicKey({ key: Buffer.from(kekSpki), format: 'der', type: 'spki' });
  const nLen = Buffer.from(pub.export({ format: 'jwk' }).n!, 'base64url').byteLength;
  let encryptedKey: Uint8Array;
  if (tamper === 'encrypted-key-out-of-range') encryptedKey = new Uint8Array(nLen).fill(0xff);
  else if (tamper === 'encrypted-key-one') {
    encryptedKey = new Uint8Array(nLen);
    encryptedKey[nLen - 1] = 1;
  } else encryptedKey = new Uint8Array(publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, wrapped));
  const sha256 = algId(OID.sha256, new asn1js.Null()); // RFC 4055 §2.1 sha256Identifier
  const oaepParams = new asn1js.Sequence({ value: [ctx(0, sha256), ctx(1, algId(OIDS.mgf1, algId(OID.sha256, new asn1js.Null())))] });
  const ktri = new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: 2 }), // RFC 5652 §6.2.1: rid subjectKeyIdentifier → version 2
      new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: ab(ski) }),
      algId(OIDS.rsaesOaep, oaepParams),
      new asn1js.OctetString({ valueHex: ab(encryptedKey) }),
    ],
  });
  const eci = new asn1js.Sequence({
    value: [
      new asn1js.ObjectIdentifier({ value: OID.signedData }),
      algId(OIDS.aes256Cbc, new asn1js.OctetString({ valueHex: ab(iv) })),
      new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: ab(ct) }), // [0] IMPLICIT OCTET STRING
    ],
  });
  // RFC 5652 §6.1: no originatorInfo, no unprotectedAttrs, a version-2 ktri → version 2
  const env = new asn1js.Sequence({ value: [new asn1js.Integer({ value: 2 }), new asn1js.Set({ value: [ktri] }), eci] });
  return contentInfo(OIDS.envelopedData, new Uint8Array(env.toBER(false)));
}
