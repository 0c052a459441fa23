// The lab's key package ASN.1, from the RFC modules: RFC 6031 SymmetricKeyPackage (what the lab sends on
// /symmetrickeys), RFC 7191 key package receipts and errors (the keyPkgIdAndReceiptReq attribute the lab signs, the
// KeyPackageReceipt / KeyPackageError a device returns) and the RFC 6032 content type the lab uses for an encrypted
// package. RFC 5958 asymmetric keys the lab sends as Node's PKCS #8 export.
import type * as pkijs from 'pkijs';
import { attribute } from '../pki/signed-data.js';
import { DerError, Fields, UNIVERSAL, bool, der, hex, implicitConstructed, isContext, isUniversal, octets, oid, parse, readInt, readOctets, readOid, seq, utf8, type Node } from './der.js';
import * as asn1js from 'asn1js';

/** RFC 6031 §1.1 id-ct-KP-sKeyPackage. */
export const OID_CT_KP_SKEY_PACKAGE = '1.2.840.113549.1.9.16.1.25';
/** RFC 5958 §3 id-ct-KP-aKeyPackage. */
export const OID_CT_KP_AKEY_PACKAGE = '2.16.840.1.101.2.1.2.78.5';
/** RFC 6032 §2 id-ct-KP-encryptedKeyPkg. */
export const OID_CT_KP_ENCRYPTED_KEY_PACKAGE = '2.16.840.1.101.2.1.2.78.2';
/** RFC 7191 §3, §4: id-ct-KP-keyPackageReceipt, id-ct-KP-keyPackageError. */
export const OID_CT_KP_KEY_PACKAGE_RECEIPT = '2.16.840.1.101.2.1.2.78.3';
export const OID_CT_KP_KEY_PACKAGE_ERROR = '2.16.840.1.101.2.1.2.78.6';
/** RFC 7191 §2 id-aa-KP-keyPkgIdAndReceiptReq. */
export const OID_AA_KP_KEY_PKG_ID_AND_RECEIPT_REQ = '2.16.840.1.101.2.1.5.65';
/** RFC 7191 §2.1 id-dn (a SIREntityName whose value is a DER Name). */
export const OID_SIREN_DN = '2.16.840.1.101.2.1.16.0';
/** RFC 6031 §3.2 PSKC attributes: id-pskc-keyId, id-pskc-algorithm (both UTF8String). */
const ID_PSKC = '1.2.840.113549.1.9.16.12';
const OID_PSKC_KEY_ID = `${ID_PSKC}.9`;
const OID_PSKC_ALGORITHM = `${ID_PSKC}.10`;

// ---- RFC 6031 --------------------------------------------------------------------------------------------------------

/**
 * SymmetricKeyPackage ::= SEQUENCE { version KeyPkgVersion DEFAULT v1, sKeyPkgAttrs [0] ... OPTIONAL, sKeys SymmetricKeys }
 * SymmetricKeys ::= SEQUENCE SIZE (1..MAX) OF OneSymmetricKey
 * OneSymmetricKey ::= SEQUENCE { sKeyAttrs SEQUENCE SIZE (1..MAX) OF Attribute OPTIONAL, sKey OCTET STRING OPTIONAL }
 * Attribute ::= SEQUENCE { attrType OBJECT IDENTIFIER, attrValues SET OF AttributeValue }
 */
export function symmetricKeyPackage(keys: Array<{ keyId: string; algorithm?: string; key: Uint8Array }>): Uint8Array {
  const attr = (type: string, value: string): Node => seq(oid(type), new asn1js.Set({ value: [utf8(value)] }));
  return der(seq(seq(...keys.map((k) => seq(seq(attr(OID_PSKC_KEY_ID, k.keyId), ...(k.algorithm ? [attr(OID_PSKC_ALGORITHM, k.algorithm)] : [])), octets(k.key))))));
}

// ---- RFC 7191 --------------------------------------------------------------------------------------------------------

/** SIREntityName ::= SEQUENCE { sirenType OBJECT IDENTIFIER, sirenValue OCTET STRING (CONTAINING the value) }. */
export interface SIREntityName {
  sirenType: string;
  sirenValue: Uint8Array;
}
const sirenNode = (s: SIREntityName): Node => seq(oid(s.sirenType), octets(s.sirenValue));
function readSiren(n: Node, path: string): SIREntityName {
  const f = Fields.of(n, path);
  const out = { sirenType: readOid(...f.next('sirenType')), sirenValue: readOctets(...f.next('sirenValue')) };
  f.end();
  return out;
}

/**
 * §2 keyPkgIdAndReceiptReq attribute: KeyPkgIdentifierAndReceiptReq ::= SEQUENCE { pkgID KeyPkgID, receiptReq KeyPkgReceiptReq OPTIONAL }
 * KeyPkgReceiptReq ::= SEQUENCE { encryptReceipt BOOLEAN DEFAULT FALSE, receiptsFrom [0] SIREntityNames OPTIONAL, receiptsTo SIREntityNames }
 */
export function keyPkgIdAndReceiptReqAttribute(pkgID: Uint8Array, receiptReq?: { encryptReceipt?: boolean; receiptsFrom?: SIREntityName[]; receiptsTo: SIREntityName[] }): pkijs.Attribute {
  const req = receiptReq
    ? [
        seq(
          ...(receiptReq.encryptReceipt ? [bool(true)] : []),
          ...(receiptReq.receiptsFrom ? [implicitConstructed(0, receiptReq.receiptsFrom.map(sirenNode))] : []),
          seq(...receiptReq.receiptsTo.map(sirenNode)),
        ),
      ]
    : [];
  return attribute(OID_AA_KP_KEY_PKG_ID_AND_RECEIPT_REQ, seq(octets(pkgID), ...req));
}

/** KeyPkgIdentifier ::= CHOICE { pkgID KeyPkgID (OCTET STRING), attribute SingleAttribute }: the pkgID as hex, or the attribute type. */
function readKeyPkgIdentifier(n: Node, path: string): { pkgID?: string; attributeType?: string } {
  if (isUniversal(n, UNIVERSAL.OCTET_STRING)) return { pkgID: hex(readOctets(n, path)) };
  const f = Fields.of(n, `${path}.attribute`);
  return { attributeType: readOid(...f.next('attrType')) };
}

/** KeyPkgVersion DEFAULT v2 (v1(1), v2(2); §3, §4). */
function readVersion(f: Fields): void {
  const v = f.optional('version', (x) => isUniversal(x, UNIVERSAL.INTEGER));
  if (v) {
    const n = readInt(...v);
    if (n < 1n || n > 65535n) throw new DerError(v[1], 'KeyPkgVersion is 1..65535');
    if (n === 2n) throw new DerError(v[1], 'version DEFAULT v2 encoded (not DER)');
  }
}

/** §3 KeyPackageReceipt ::= SEQUENCE { version KeyPkgVersion DEFAULT v2, receiptOf KeyPkgIdentifier, receivedBy SIREntityName }. */
export function decodeKeyPackageReceipt(d: Uint8Array): { receiptOf: { pkgID?: string; attributeType?: string }; receivedBy: SIREntityName } {
  const f = Fields.of(parse(d, 'KeyPackageReceipt'), 'KeyPackageReceipt');
  readVersion(f);
  const out = { receiptOf: readKeyPkgIdentifier(...f.next('receiptOf')), receivedBy: readSiren(...f.next('receivedBy')) };
  f.end();
  return out;
}

/** §4 EnumeratedErrorCode. */
const ERROR_CODES: Readonly<Record<number, string>> = {
  1: 'decodeFailure', 2: 'badContentInfo', 3: 'badSignedData', 4: 'badEncapContent', 5: 'badCertificate', 6: 'badSignerInfo', 7: 'badSignedAttrs',
  8: 'badUnsignedAttrs', 9: 'missingContent', 10: 'noTrustAnchor', 11: 'notAuthorized', 12: 'badDigestAlgorithm', 13: 'badSignatureAlgorithm',
  14: 'unsupportedKeySize', 15: 'unsupportedParameters', 16: 'signatureFailure', 17: 'insufficientMemory', 23: 'incorrectTarget', 29: 'missingSignature',
  30: 'resourcesBusy', 31: 'versionNumberMismatch', 33: 'revokedCertificate', 60: 'ambiguousDecrypt', 61: 'noDecryptKey', 62: 'badEncryptedData',
  63: 'badEnvelopedData', 64: 'badAuthenticatedData', 65: 'badAuthEnvelopedData', 66: 'badKeyAgreeRecipientInfo', 67: 'badKEKRecipientInfo',
  68: 'badEncryptContent', 69: 'badEncryptAlgorithm', 70: 'missingCiphertext', 71: 'decryptFailure', 72: 'badMACAlgorithm', 73: 'badAuthAttrs',
  74: 'badUnauthAttrs', 75: 'invalidMAC', 76: 'mismatchedDigestAlg', 77: 'missingCertificate', 78: 'tooManySigners', 79: 'missingSignedAttributes',
  80: 'derEncodingNotUsed', 81: 'missingContentHints', 82: 'invalidAttributeLocation', 83: 'badMessageDigest', 84: 'badKeyPackage', 85: 'badAttributes',
  86: 'attributeComparisonFailure', 87: 'unsupportedSymmetricKeyPackage', 88: 'unsupportedAsymmetricKeyPackage', 89: 'constraintViolation',
  90: 'ambiguousDefaultValue', 91: 'noMatchingRecipientInfo', 92: 'unsupportedKeyWrapAlgorithm', 93: 'badKeyTransRecipientInfo', 127: 'other',
};

/**
 * §4 KeyPackageError ::= SEQUENCE { version KeyPkgVersion DEFAULT v2, errorOf [0] EXPLICIT KeyPkgIdentifier OPTIONAL,
 *   errorBy SIREntityName, errorCode ErrorCodeChoice }
 * ErrorCodeChoice ::= CHOICE { enum EnumeratedErrorCode, oid OBJECT IDENTIFIER }: the enum name, or the OID.
 */
export function decodeKeyPackageError(d: Uint8Array): { errorOf?: { pkgID?: string; attributeType?: string }; errorBy: SIREntityName; errorCode: string } {
  const f = Fields.of(parse(d, 'KeyPackageError'), 'KeyPackageError');
  readVersion(f);
  const of = f.optional('errorOf', (x) => isContext(x, 0, true));
  let errorOf: { pkgID?: string; attributeType?: string } | undefined;
  if (of) {
    const e = Fields.of(of[0], of[1], { context: 0 });
    errorOf = readKeyPkgIdentifier(...e.next('KeyPkgIdentifier'));
    e.end();
  }
  const errorBy = readSiren(...f.next('errorBy'));
  const [c, cp] = f.next('errorCode');
  let errorCode: string;
  if (isUniversal(c, UNIVERSAL.OID)) errorCode = readOid(c, cp);
  else {
    const v = Number(readInt(c, cp, { universal: UNIVERSAL.ENUMERATED }));
    const name = ERROR_CODES[v];
    if (!name) throw new DerError(cp, `${v} is not an EnumeratedErrorCode`);
    errorCode = name;
  }
  f.end();
  return { ...(errorOf ? { errorOf } : {}), errorBy, errorCode };
}
