// The CSR attribute (PKCS#10) and extension (CRMF) carrying an AttestationBundle,
// draft-ietf-lamps-csr-attestation-28 §4.3: attr-attestation { TYPE AttestationBundle COUNTS MAX 1
// IDENTIFIED BY id-aa-attestation }; "at most one Attribute of type id-aa-attestation" and "exactly one
// copy of an AttestationBundle" in it. (Drafts -08..-10 put EvidenceBundles, a SEQUENCE OF, here.)
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { AttestationBundle } from './evidence-bundle.js';
import type { AttestationDecodeOptions } from './evidence-statement.js';
import { cloneNode, parseDer, toArrayBuffer } from './der.js';
import { OID_ID_AA_ATTESTATION } from './oids.js';

/** A pkijs Attribute { type id-aa-attestation, values { bundle } } ready for CertificationRequest.attributes. */
export function buildAttestationAttribute(bundle: AttestationBundle): pkijs.Attribute {
  return new pkijs.Attribute({ type: OID_ID_AA_ATTESTATION, values: [bundle.toSchema()] });
}

/** Appends the attestation attribute to a CSR under construction; refuses a second one (COUNTS MAX 1). */
export function addAttestationAttribute(csr: pkijs.CertificationRequest, bundle: AttestationBundle): void {
  const attrs = csr.attributes ?? [];
  if (attrs.some((a) => a.type === OID_ID_AA_ATTESTATION)) throw new Asn1EncodeError('CSR already has an id-aa-attestation attribute (COUNTS MAX 1)');
  attrs.push(buildAttestationAttribute(bundle));
  csr.attributes = attrs;
}

/** Decodes one id-aa-attestation Attribute: exactly one value, an AttestationBundle. */
export function decodeAttestationAttribute(attr: pkijs.Attribute, options?: AttestationDecodeOptions): AttestationBundle {
  const path = 'Attribute(id-aa-attestation)';
  if (attr.type !== OID_ID_AA_ATTESTATION) throw new Asn1DecodeError('bad-value', `${path}.type`, `expected ${OID_ID_AA_ATTESTATION}, got ${attr.type}`);
  const values = attr.values ?? [];
  if (values.length !== 1) throw new Asn1DecodeError('constraint', `${path}.values`, `must hold exactly one AttestationBundle, has ${values.length}`);
  const node = cloneNode(values[0] as asn1js.AsnType, `${path}.values[0]`);
  return AttestationBundle.fromSchema(node, `${path}.values[0]`, options);
}

/**
 * Finds the AttestationBundle in a parsed CSR: undefined when the CSR has no id-aa-attestation attribute,
 * Asn1DecodeError('duplicate') when it has more than one, otherwise the strictly decoded bundle.
 */
export function findAttestationBundle(csr: pkijs.CertificationRequest, options?: AttestationDecodeOptions): AttestationBundle | undefined {
  const matches = (csr.attributes ?? []).filter((a) => a.type === OID_ID_AA_ATTESTATION);
  if (matches.length === 0) return undefined;
  if (matches.length > 1) throw new Asn1DecodeError('duplicate', 'CertificationRequest.attributes', `${matches.length} id-aa-attestation attributes (COUNTS MAX 1)`);
  return decodeAttestationAttribute(matches[0]!, options);
}

/** Parses a DER PKCS#10 CSR and returns its AttestationBundle (see findAttestationBundle). Bad CSR DER → Asn1DecodeError. */
export function findAttestationBundleInCsrDer(der: Uint8Array, options?: AttestationDecodeOptions): AttestationBundle | undefined {
  const node = parseDer(der, 'CertificationRequest');
  let csr: pkijs.CertificationRequest;
  try {
    csr = new pkijs.CertificationRequest({ schema: node });
  } catch (cause) {
    throw new Asn1DecodeError('bad-value', 'CertificationRequest', 'not a PKCS#10 CertificationRequest', { cause });
  }
  return findAttestationBundle(csr, options);
}

/** The CRMF form: an Extension { id-aa-attestation, critical FALSE, OCTET STRING { AttestationBundle } }. */
export function buildAttestationExtension(bundle: AttestationBundle): pkijs.Extension {
  return new pkijs.Extension({ extnID: OID_ID_AA_ATTESTATION, critical: false, extnValue: toArrayBuffer(bundle.toDER()) });
}

/** Decodes the AttestationBundle inside a CRMF id-aa-attestation Extension. */
export function decodeAttestationExtension(ext: pkijs.Extension, options?: AttestationDecodeOptions): AttestationBundle {
  if (ext.extnID !== OID_ID_AA_ATTESTATION) throw new Asn1DecodeError('bad-value', 'Extension.extnID', `expected ${OID_ID_AA_ATTESTATION}, got ${ext.extnID}`);
  return AttestationBundle.fromBER(new Uint8Array(ext.extnValue.valueBlock.valueHexView), options);
}
