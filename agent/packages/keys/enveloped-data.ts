// Opens an encrypted key package to the device's TPM-held KEK: ContentInfo(EnvelopedData) (RFC 5652 §6; RFC 7030
// §4.4.2 encrypted server-generated keys) or ContentInfo(EncryptedKeyPackage) with its `enveloped [0]` choice
// (RFC 6032 §2; module IMPLICIT TAGS). Recipient: a KeyTransRecipientInfo whose rid is the KEK's subjectKeyIdentifier
// and whose keyEncryptionAlgorithm is RSAES-OAEP SHA-256/MGF1-SHA-256 (RFC 4055 §4.1) — the RSA step runs in the TPM.
// Content: AES-CBC (RFC 3565). The result is the inner ContentInfo DER (a SignedData the caller verifies): for
// encryptedContentInfo.contentType id-signedData the SignedData is wrapped into its ContentInfo; for id-data (what
// `openssl cms -encrypt` writes: it cannot set the inner type) the octets must themselves be a ContentInfo.
// Every refusal is a KeyPackageRefused with its RFC 7191 code; the content-encryption key is wiped after use.
import { createDecipheriv } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { AES_CBC, OID_MGF1, OID_RSAES_OAEP, OID_SHA256 } from '../../pki/algorithms.js';
import { OID_CT_KP_ENCRYPTED_KEY_PACKAGE } from '../../pki/asn1/key-package-oids.js';
import { OID_DATA, OID_ENCRYPTED_DATA, OID_ENVELOPED_DATA, OID_SIGNED_DATA } from '../../pki/cms/oids.js';
import type { KeyStore } from '../../keystore/keystore.js';
import { KeyPackageRefused } from './common.js';
import { isKeyDecryptStore, storedKeks, type Kek } from './kek.js';
import type { KeysStateFile } from './state.js';

/** Content types of an encrypted key package (the caller decides to open one). */
export const ENCRYPTED_CONTENT_TYPES: readonly string[] = [OID_ENVELOPED_DATA, OID_CT_KP_ENCRYPTED_KEY_PACKAGE];

/** The outer content type of a DER ContentInfo, or undefined when it is not one. */
export function outerContentType(der: Uint8Array): string | undefined {
  try {
    const r = asn1js.fromBER(der);
    if (r.offset === -1 || r.result.error) return undefined;
    return new pkijs.ContentInfo({ schema: r.result }).contentType;
  } catch {
    return undefined;
  }
}

function parseEnvelope(der: Uint8Array): pkijs.EnvelopedData {
  let ci: pkijs.ContentInfo;
  try {
    const r = asn1js.fromBER(der);
    if (r.offset !== der.byteLength || r.result.error) throw new Error('not one BER element');
    ci = new pkijs.ContentInfo({ schema: r.result });
  } catch (e) {
    throw new KeyPackageRefused('decode', 'decodeFailure', `encrypted key package: ${(e as Error).message}`, { cause: e });
  }
  let node = ci.content as asn1js.AsnType;
  if (ci.contentType === OID_CT_KP_ENCRYPTED_KEY_PACKAGE) {
    const id = (node as asn1js.BaseBlock).idBlock;
    if (id.tagClass === 1 && id.tagNumber === 16) throw new KeyPackageRefused('encrypted_data', 'noDecryptKey', 'EncryptedKeyPackage `encrypted` (EncryptedData with a pre-shared key) is not supported');
    if (id.tagClass === 3 && id.tagNumber === 1) throw new KeyPackageRefused('auth_enveloped', 'badAuthEnvelopedData', 'EncryptedKeyPackage `authEnveloped` is not supported');
    if (id.tagClass !== 3 || id.tagNumber !== 0 || !id.isConstructed) throw new KeyPackageRefused('content_info', 'badContentInfo', 'EncryptedKeyPackage is none of its CHOICE alternatives');
    node = new asn1js.Sequence({ value: (node as asn1js.Constructed).valueBlock.value });
  } else if (ci.contentType === OID_ENCRYPTED_DATA) {
    throw new KeyPackageRefused('encrypted_data', 'noDecryptKey', 'EncryptedData (a pre-shared key) is not supported');
  } else if (ci.contentType !== OID_ENVELOPED_DATA) {
    throw new KeyPackageRefused('content_info', 'badContentInfo', `content type ${ci.contentType} is not an encrypted key package`);
  }
  try {
    return new pkijs.EnvelopedData({ schema: node });
  } catch (e) {
    throw new KeyPackageRefused('enveloped_data', 'badEnvelopedData', `EnvelopedData: ${(e as Error).message}`, { cause: e });
  }
}

/** RSAES-OAEP-params must say SHA-256 and MGF1-SHA-256 with the default (empty) label. */
function checkOaep(alg: pkijs.AlgorithmIdentifier): void {
  if (alg.algorithmId !== OID_RSAES_OAEP) throw new KeyPackageRefused('key_transport', 'badKeyTransRecipientInfo', `key transport ${alg.algorithmId} is not RSAES-OAEP (the only one the TPM KEK performs)`);
  let p: pkijs.RSAESOAEPParams;
  try {
    p = new pkijs.RSAESOAEPParams({ schema: alg.algorithmParams });
  } catch (e) {
    throw new KeyPackageRefused('key_transport', 'unsupportedParameters', `RSAES-OAEP-params: ${(e as Error).message}`, { cause: e });
  }
  const mgfHash = p.maskGenAlgorithm.algorithmId === OID_MGF1 && p.maskGenAlgorithm.algorithmParams ? new pkijs.AlgorithmIdentifier({ schema: p.maskGenAlgorithm.algorithmParams }).algorithmId : undefined;
  // pkijs fills an absent pSourceAlgorithm with a non-empty default: read the label from the encoding ([2], RFC 4055 §4.1)
  const given = ((alg.algorithmParams as asn1js.Sequence).valueBlock.value as asn1js.AsnType[]).find((n) => (n as asn1js.BaseBlock).idBlock.tagClass === 3 && (n as asn1js.BaseBlock).idBlock.tagNumber === 2);
  const labelNode = given ? new pkijs.AlgorithmIdentifier({ schema: (given as asn1js.Constructed).valueBlock.value[0] }).algorithmParams : undefined;
  const label = labelNode instanceof asn1js.OctetString ? labelNode.valueBlock.valueHexView.byteLength : 0;
  if (p.hashAlgorithm.algorithmId !== OID_SHA256 || mgfHash !== OID_SHA256 || label !== 0) {
    throw new KeyPackageRefused('key_transport', 'unsupportedParameters', `RSAES-OAEP with hash ${p.hashAlgorithm.algorithmId}, MGF1 hash ${String(mgfHash)}: the KEK decrypts SHA-256 / MGF1-SHA-256 with an empty label only`);
  }
}

function encryptedContentOf(eci: pkijs.EncryptedContentInfo): Uint8Array {
  const c = eci.encryptedContent;
  if (!c) throw new KeyPackageRefused('no_ciphertext', 'missingCiphertext', 'EnvelopedData without encryptedContent');
  // a constructed OCTET STRING (BER) is the concatenation of its segments
  if (c.idBlock.isConstructed) return new Uint8Array(Buffer.concat((c.valueBlock.value as asn1js.OctetString[]).map((s) => Buffer.from(s.valueBlock.valueHexView))));
  return new Uint8Array(c.valueBlock.valueHexView);
}

/**
 * Decrypts an encrypted key package with one of `keks` (`decrypt` = TPM2_RSA_Decrypt OAEP-SHA-256 with that KEK) and
 * returns the inner ContentInfo DER; the caller wipes it.
 */
export async function openEncryptedKeyPackage(der: Uint8Array, keks: readonly Kek[], decrypt: (kek: Kek, encryptedKey: Uint8Array) => Promise<Uint8Array>): Promise<Uint8Array> {
  const env = parseEnvelope(der);
  const ktris = env.recipientInfos.filter((r) => r.variant === 1).map((r) => r.value as pkijs.KeyTransRecipientInfo);
  let match: { kek: Kek; ktri: pkijs.KeyTransRecipientInfo } | undefined;
  for (const ktri of ktris) {
    const rid = ktri.rid;
    if (!(rid instanceof asn1js.OctetString)) continue; // issuerAndSerialNumber: the KEK has no certificate
    const ski = Buffer.from(rid.valueBlock.valueHexView);
    const kek = keks.find((k) => ski.equals(Buffer.from(k.keyId)));
    if (kek) {
      match = { kek, ktri };
      break;
    }
  }
  if (!match) {
    if (keks.length === 0) throw new KeyPackageRefused('no_kek', 'noDecryptKey', 'an encrypted key package, and this device holds no key-encryption key');
    throw new KeyPackageRefused('wrong_kek', 'noMatchingRecipientInfo', `no KeyTransRecipientInfo names this device's key-encryption key (${env.recipientInfos.length} recipient(s))`);
  }
  checkOaep(match.ktri.keyEncryptionAlgorithm);
  const eci = env.encryptedContentInfo;
  const aes = AES_CBC[eci.contentEncryptionAlgorithm.algorithmId];
  if (!aes) throw new KeyPackageRefused('content_encryption', 'badEncryptAlgorithm', `content encryption ${eci.contentEncryptionAlgorithm.algorithmId} is not AES-CBC`);
  const ivNode = eci.contentEncryptionAlgorithm.algorithmParams;
  const iv = ivNode instanceof asn1js.OctetString ? new Uint8Array(ivNode.valueBlock.valueHexView) : undefined;
  if (!iv || iv.byteLength !== 16) throw new KeyPackageRefused('content_encryption', 'unsupportedParameters', 'AES-CBC parameters must be a 16-byte IV');
  const ciphertext = encryptedContentOf(eci);
  let cek: Uint8Array | undefined;
  let plain: Buffer | undefined;
  try {
    try {
      cek = await decrypt(match.kek, new Uint8Array(match.ktri.encryptedKey.valueBlock.valueHexView));
    } catch (e) {
      throw new KeyPackageRefused('decrypt', 'decryptFailure', `the KEK did not decrypt the content-encryption key: ${(e as Error).message}`, { cause: e });
    }
    if (cek.byteLength !== aes.keyBytes) throw new KeyPackageRefused('decrypt', 'decryptFailure', `content-encryption key of ${cek.byteLength} bytes for ${aes.node}`);
    try {
      const d = createDecipheriv(aes.node, cek, iv);
      plain = Buffer.concat([d.update(ciphertext), d.final()]);
    } catch (e) {
      throw new KeyPackageRefused('decrypt', 'decryptFailure', `content decryption failed: ${(e as Error).message}`, { cause: e });
    }
  } finally {
    cek?.fill(0);
  }
  const inner = eci.contentType;
  if (inner === OID_SIGNED_DATA) {
    try {
      const r = asn1js.fromBER(plain);
      if (r.offset !== plain.byteLength || r.result.error) throw new Error('not one BER element');
      const ci = new Uint8Array(new pkijs.ContentInfo({ contentType: OID_SIGNED_DATA, content: r.result }).toSchema().toBER(false));
      return ci;
    } catch (e) {
      throw new KeyPackageRefused('decode', 'decodeFailure', `decrypted SignedData: ${(e as Error).message}`, { cause: e });
    } finally {
      plain.fill(0);
    }
  }
  if (inner === OID_DATA) return new Uint8Array(plain.buffer, plain.byteOffset, plain.byteLength);
  plain.fill(0);
  throw new KeyPackageRefused('content_type', 'badEncapContent', `encrypted content type ${inner} is neither SignedData nor data`);
}

/**
 * `der` itself when it is not an encrypted key package; else its decrypted inner ContentInfo (opened with the KEKs
 * recorded in `state`, the RSA step in the TPM). The caller wipes the result when it differs from `der`.
 */
export async function openIfEncrypted(der: Uint8Array, keystore: KeyStore, state: KeysStateFile): Promise<Uint8Array> {
  const ct = outerContentType(der);
  if (!ct || !ENCRYPTED_CONTENT_TYPES.includes(ct)) return der;
  if (!isKeyDecryptStore(keystore)) throw new KeyPackageRefused('no_kek', 'noDecryptKey', 'an encrypted key package, and the keystore holds no key-encryption key');
  const ks = keystore;
  return openEncryptedKeyPackage(der, await storedKeks(state), (kek, ek) => ks.decrypt(kek.record, ek));
}
