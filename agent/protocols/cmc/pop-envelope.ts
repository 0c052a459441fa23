// The encryptedPOP `cms` (RFC 5272 §6.7): an EnvelopedData (RFC 5652 §6) carrying the random value y to the new
// key — KeyTransRecipientInfo (rid = subjectKeyIdentifier, RSAES-OAEP SHA-256/MGF1-SHA-256, RFC 8017/RFC 4055)
// and AES-256-CBC content encryption. Structure by pkijs; the RSA step happens on the CA side with node:crypto and
// on the device inside the TPM (TPM2_RSA_Decrypt), handed in as `decrypt`.
import { constants, createCipheriv, createDecipheriv, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { keyIdentifierFromSpki } from '../../pki/asn1/cms-signed-data-create.js';
import { OID_AES256_CBC, OID_DATA, OID_ENVELOPED_DATA, OID_MGF1, OID_RSAES_OAEP, OID_SHA256 } from './constants.js';
import { CmcProtocolError } from './errors.js';

function oaepSha256(): pkijs.AlgorithmIdentifier {
  const sha256 = new pkijs.AlgorithmIdentifier({ algorithmId: OID_SHA256 });
  const params = new pkijs.RSAESOAEPParams({
    hashAlgorithm: sha256,
    maskGenAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID_MGF1, algorithmParams: sha256.toSchema() }),
  });
  return new pkijs.AlgorithmIdentifier({ algorithmId: OID_RSAES_OAEP, algorithmParams: params.toSchema() });
}

/** CA side: EnvelopedData of `content` to the RSA public key `spki` (DER ContentInfo). */
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

/** Device side: opens the envelope; `decrypt` performs RSAES-OAEP-SHA-256 with the new key (in the TPM). */
export async function openPopEnvelope(der: Uint8Array, decrypt: (encryptedKey: Uint8Array) => Promise<Uint8Array>): Promise<Uint8Array> {
  let ktri: pkijs.KeyTransRecipientInfo;
  let eci: pkijs.EncryptedContentInfo;
  try {
    const parsed = asn1js.fromBER(der);
    if (parsed.offset !== der.byteLength || parsed.result.error) throw new Error('not one BER element');
    const ci = new pkijs.ContentInfo({ schema: parsed.result });
    if (ci.contentType !== OID_ENVELOPED_DATA) throw new Error(`content type ${ci.contentType} is not EnvelopedData`);
    const env = new pkijs.EnvelopedData({ schema: ci.content });
    const ri = env.recipientInfos[0];
    if (env.recipientInfos.length !== 1 || ri?.variant !== 1) throw new Error('exactly one KeyTransRecipientInfo expected');
    ktri = ri.value as pkijs.KeyTransRecipientInfo;
    eci = env.encryptedContentInfo;
  } catch (e) {
    throw new CmcProtocolError('malformed', `encryptedPOP cms: ${(e as Error).message}`, { cause: e });
  }
  if (ktri.keyEncryptionAlgorithm.algorithmId !== OID_RSAES_OAEP) throw new CmcProtocolError('malformed', `unsupported key transport ${ktri.keyEncryptionAlgorithm.algorithmId}`);
  const oaep = new pkijs.RSAESOAEPParams({ schema: ktri.keyEncryptionAlgorithm.algorithmParams });
  if (oaep.hashAlgorithm.algorithmId !== OID_SHA256) throw new CmcProtocolError('malformed', 'RSAES-OAEP must use SHA-256');
  if (eci.contentEncryptionAlgorithm.algorithmId !== OID_AES256_CBC) throw new CmcProtocolError('malformed', 'content encryption must be AES-256-CBC');
  const cek = await decrypt(new Uint8Array(ktri.encryptedKey.valueBlock.valueHexView));
  const iv = (eci.contentEncryptionAlgorithm.algorithmParams as asn1js.OctetString).valueBlock.valueHexView;
  const ct = encryptedContentBytes(eci.encryptedContent);
  if (!ct || cek.byteLength !== 32 || iv.byteLength !== 16) throw new CmcProtocolError('malformed', 'encryptedPOP cms: bad key, IV or content');
  try {
    const d = createDecipheriv('aes-256-cbc', cek, iv);
    return new Uint8Array(Buffer.concat([d.update(ct), d.final()]));
  } catch (e) {
    throw new CmcProtocolError('malformed', `encryptedPOP cms does not decrypt: ${(e as Error).message}`, { cause: e });
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
