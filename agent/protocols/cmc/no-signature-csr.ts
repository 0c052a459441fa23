// A PKCS#10 for a key that cannot sign (a TPM decryption key), RFC 10002 Appendix C.1 (rfc5272bis-11; RFC 5272
// Appendix C.1): signatureAlgorithm id-alg-noSignature with parameters NULL ("MUST be present and MUST be encoded as
// NULL"); NoSignatureValue "contains the SHA-1 hash of the certification request" — here SHA-1 of the DER
// certificationRequestInfo, the part a signature covers — and "SHOULD be ignored" by the receiver. Proof of
// possession comes later through encryptedPOP/decryptedPOP (§6.7); origin authentication from the PKIData signature
// of the device's signing credential.
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { buildName, type NameInput } from '../../pki/name.js';
import { bytesEqual } from '../../pki/der.js';
import { OID_EXTENSION_REQUEST } from '../../pki/csr.js';
import { OID_ALG_NO_SIGNATURE } from './constants.js';

/** `subject` as text/record or an existing Name (e.g. the signer certificate's); `extensions` go in extensionRequest. */
export function buildNoSignatureCsr(subject: NameInput | pkijs.RelativeDistinguishedNames, spki: Uint8Array, extensions: pkijs.Extension[] = []): Uint8Array {
  const csr = new pkijs.CertificationRequest({
    version: 0,
    subject: subject instanceof pkijs.RelativeDistinguishedNames ? subject : buildName(subject),
    subjectPublicKeyInfo: new pkijs.PublicKeyInfo({ schema: asn1js.fromBER(spki).result }),
  });
  // [0] is mandatory in RFC 2986; extensionRequest is PKCS#9 (RFC 2985 §5.4.2)
  csr.attributes = extensions.length ? [new pkijs.Attribute({ type: OID_EXTENSION_REQUEST, values: [new pkijs.Extensions({ extensions }).toSchema()] })] : [];
  csr.signatureAlgorithm = new pkijs.AlgorithmIdentifier({ algorithmId: OID_ALG_NO_SIGNATURE, algorithmParams: new asn1js.Null() });
  // toSchema(true) encodes the CertificationRequestInfo from the fields; its first element is the TBS.
  const tbs = new Uint8Array((csr.toSchema(true).valueBlock.value[0] as asn1js.Sequence).toBER(false));
  csr.tbsView = tbs;
  csr.signatureValue = new asn1js.BitString({ valueHex: createHash('sha1').update(tbs).digest() });
  return new Uint8Array(csr.toSchema().toBER(false));
}

export function isNoSignatureCsr(csr: pkijs.CertificationRequest): boolean {
  return csr.signatureAlgorithm.algorithmId === OID_ALG_NO_SIGNATURE;
}

/** True when the noSignature value is SHA-1 of the request info (RFC 10002 C.1; integrity only, no proof of possession). */
export function checkNoSignatureCsr(csr: pkijs.CertificationRequest): boolean {
  if (!isNoSignatureCsr(csr)) return false;
  const tbs = new Uint8Array(csr.tbsView);
  return bytesEqual(new Uint8Array(csr.signatureValue.valueBlock.valueHexView), new Uint8Array(createHash('sha1').update(tbs).digest()));
}
