// /csrattrs — CSR Attributes (RFC 7030 §4.5, clarified by RFC 9908): GET; 200 with application/csrattrs (base64 DER
// CsrAttrs), or 204/404 when the server has none (§4.5.2).
//   CsrAttrs ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID
//   AttrOrOID ::= CHOICE { oid OBJECT IDENTIFIER, attribute Attribute }
//   Attribute { ATTRIBUTE:IOSet } ::= SEQUENCE { type ATTRIBUTE.&id, values SET SIZE(1..MAX) OF ATTRIBUTE.&Type }
// `planCsr` turns an answer into what the next CSR should be: key type and size/curve, signature hash, extensions
// and attributes to include, subject template, and whether TLS linking (§3.5) was asked — in both the OID-list form
// (RFC 7030 §4.5.2, RFC 9908 §3.3) and the template form (RFC 9908 §3.4). What the agent does not know or cannot
// provide is listed (`ignored`, `unsatisfied`) for the log and the status; it never stops an enrollment.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { BuildCsrOptions } from '../../pki/csr.js';
import { decodeAsn1 } from '../../pki/der.js';
import { PkiDecodeError } from '../../pki/errors.js';
import { ResponseTooLargeError } from '../http/errors.js';
import type { Logger } from '../../util/log.js';
import { buildName } from '../../pki/name.js';
import { Asn1DecodeError } from '../../pki/asn1/errors.js';
import { CertificationRequestInfoTemplate, type NameAttributeTemplate } from '../../pki/asn1/certification-request-info-template.js';
import { extensionTemplatesFromSchema } from '../../pki/asn1/extension-template.js';
import { signatureAlgorithmInfo } from '../../pki/sign.js';
import { defaultHashFor, isEcc, type HashAlgorithm, type KeyAlgorithm } from '../../pki/signer.js';
import { OID_EC_PUBLIC_KEY, OID_P256, OID_P384, OID_P521, OID_RSA_ENCRYPTION } from '../../pki/algorithms.js';
import { CSRATTRS_MAX_BYTES, EST_OPERATIONS, MEDIA_TYPES, OIDS } from './constants.js';
import { estUrl, nowOf, type EstContext } from './context.js';
import { decodeEstBody } from './base64-body.js';
import { EstProtocolError } from './errors.js';
import { checkContentType, throwForStatus } from './response.js';
import { EMPTY_CSR_PLAN, type CsrPlan, type PlannedExtension } from './csr-plan.js';

export interface CsrAttribute {
  type: string;
  values: asn1js.AsnType[];
}

export interface CsrAttrs {
  /** Bare OIDs (e.g. a requested signature algorithm or attribute type). */
  oids: string[];
  /** Full attributes (e.g. extensionRequest with required extensions). */
  attributes: CsrAttribute[];
}

export function parseCsrAttrs(der: Uint8Array): CsrAttrs {
  const asn1 = decodeAsn1(der, 'CsrAttrs');
  if (!(asn1 instanceof asn1js.Sequence)) throw new EstProtocolError('csrattrs', 'CsrAttrs is not a SEQUENCE');
  const out: CsrAttrs = { oids: [], attributes: [] };
  for (const item of asn1.valueBlock.value) {
    if (item instanceof asn1js.ObjectIdentifier) {
      out.oids.push(item.valueBlock.toString());
      continue;
    }
    if (item instanceof asn1js.Sequence) {
      const [type, values] = item.valueBlock.value;
      if (type instanceof asn1js.ObjectIdentifier && values instanceof asn1js.Set && item.valueBlock.value.length === 2) {
        out.attributes.push({ type: type.valueBlock.toString(), values: values.valueBlock.value as asn1js.AsnType[] });
        continue;
      }
    }
    throw new EstProtocolError('csrattrs', 'CsrAttrs element is neither an OID nor an Attribute');
  }
  return out;
}

/** DER CsrAttrs (used by the lab server; also handy in tests). */
export function encodeCsrAttrs(attrs: Partial<CsrAttrs>): Uint8Array {
  const value: asn1js.BaseBlock[] = [
    ...(attrs.oids ?? []).map((oid) => new asn1js.ObjectIdentifier({ value: oid })),
    ...(attrs.attributes ?? []).map(
      (a) =>
        new asn1js.Sequence({
          value: [new asn1js.ObjectIdentifier({ value: a.type }), new asn1js.Set({ value: a.values as asn1js.BaseBlock[] })],
        }),
    ),
  ];
  return new Uint8Array(new asn1js.Sequence({ value }).toBER(false));
}

/** GET /csrattrs. The body is capped at CSRATTRS_MAX_BYTES (ResponseTooLargeError beyond). A trailing NUL is fine. */
export async function getCsrAttrs(ctx: EstContext): Promise<CsrAttrs> {
  const op = EST_OPERATIONS.csrattrs;
  const res = await ctx.transport.request({
    method: 'GET',
    url: estUrl(ctx, op),
    maxResponseBytes: Math.min(ctx.maxResponseBytes ?? CSRATTRS_MAX_BYTES, CSRATTRS_MAX_BYTES),
    // §4.5: the /simple(re)enroll this plans follows on the same connection when its TLS identity is the same
    keepConnection: 'open',
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  if (res.status === 204 || res.status === 404) return { oids: [], attributes: [] };
  if (res.status !== 200) throwForStatus(res, op, nowOf(ctx));
  checkContentType(res, MEDIA_TYPES.csrattrs, op);
  if (res.body.byteLength === 0 || /^[\s\0]*$/.test(Buffer.from(res.body).toString('latin1'))) return { oids: [], attributes: [] };
  const der = decodeEstBody(res.body, `EST ${op} response`);
  try {
    return parseCsrAttrs(der);
  } catch (e) {
    if (e instanceof EstProtocolError) throw e;
    throw new EstProtocolError('csrattrs', `EST ${op}: ${(e as Error).message}`, { cause: e });
  }
}

// ---- the CSR plan ----------------------------------------------------------------------------------------------

export { EMPTY_CSR_PLAN, isCsrPlan, type CsrPlan, type PlannedExtension } from './csr-plan.js';

const CURVES: Record<string, KeyAlgorithm | undefined> = { [OID_P256]: 'ecc-p256', [OID_P384]: 'ecc-p384' };
const CURVE_NAMES: Record<string, string> = { [OID_P256]: 'P-256', [OID_P384]: 'P-384', [OID_P521]: 'P-521' };
const RSA_SIZES: Record<number, KeyAlgorithm | undefined> = { 2048: 'rsa-2048', 3072: 'rsa-3072' };

const der = (n: asn1js.AsnType): Uint8Array => new Uint8Array(n.toBER(false));
const oidOf = (n: asn1js.AsnType | undefined): string | undefined => (n instanceof asn1js.ObjectIdentifier ? n.valueBlock.toString() : undefined);

/** Accumulates requests from either form; the last word on key/hash wins within one answer. */
class PlanBuilder {
  keyKind?: 'ecc' | 'rsa';
  curve?: string;
  rsaBits?: number;
  hash?: HashAlgorithm;
  hashKind?: 'ecc' | 'rsa';
  readonly plan: CsrPlan = { form: 'none', extensions: [], attributes: [], linking: false, ignored: [], unsatisfied: [] };

  addExtension(e: PlannedExtension): void {
    const i = this.plan.extensions.findIndex((x) => x.extnID === e.extnID);
    if (i >= 0) {
      // a valued request beats a bare "please fill in" for the same type
      if (e.value || !this.plan.extensions[i]!.value) this.plan.extensions[i] = e;
    } else this.plan.extensions.push(e);
  }

  /** A bare OID (OID-list form) or an attribute type with no value (template form). */
  oid(oid: string, where: string): void {
    if (oid === OIDS.challengePassword) this.plan.linking = true;
    else if (oid === OID_EC_PUBLIC_KEY) this.keyKind = 'ecc';
    else if (oid === OID_RSA_ENCRYPTION) this.keyKind = 'rsa';
    else if (CURVE_NAMES[oid]) {
      this.keyKind = 'ecc';
      this.curve = oid;
    } else if (oid === OIDS.subjectAltName) this.addExtension({ extnID: oid, critical: false });
    else if (oid === OIDS.extensionRequest) {
      // "include an extensionRequest" carries no content of its own
    } else {
      const sig = signatureAlgorithmInfo(oid);
      if (sig) {
        this.hash = sig.hash;
        this.hashKind = sig.kind;
      } else this.plan.ignored.push(`${where} ${oid}`);
    }
  }

  /** An Attribute (OID-list form) or a template attribute with values. */
  attribute(type: string, values: asn1js.AsnType[], where: string): void {
    if (values.length === 0) return this.oid(type, where);
    if (type === OID_EC_PUBLIC_KEY) {
      // RFC 9908 §3.3: Attribute { id-ecPublicKey, { namedCurve } }
      const curve = oidOf(values[0]);
      this.keyKind = 'ecc';
      if (curve) this.curve = curve;
      else this.plan.ignored.push(`${where} ecPublicKey value that is not a curve OID`);
      return;
    }
    if (type === OID_RSA_ENCRYPTION) {
      // RFC 9908 §3.3: Attribute { rsaEncryption, { INTEGER keySize } }
      this.keyKind = 'rsa';
      const v = values[0];
      if (v instanceof asn1js.Integer && v.valueBlock.valueHexView.byteLength <= 4) this.rsaBits = Number(v.toBigInt());
      else this.plan.ignored.push(`${where} rsaEncryption value that is not a key size`);
      return;
    }
    if (type === OIDS.extensionRequest) {
      for (const v of values) {
        if (v instanceof asn1js.ObjectIdentifier) {
          // the RFC 7030 §4.5.2 example lists wanted extension/attribute types inside extensionRequest
          const o = v.valueBlock.toString();
          if (o === OIDS.subjectAltName) this.addExtension({ extnID: o, critical: false });
          else this.plan.unsatisfied.push(`extension ${o} (no value the agent can supply)`);
          continue;
        }
        try {
          for (const e of new pkijs.Extensions({ schema: v }).extensions) {
            this.addExtension({ extnID: e.extnID, critical: e.critical, value: new Uint8Array(e.extnValue.valueBlock.valueHexView) });
          }
        } catch (err) {
          this.plan.ignored.push(`${where} extensionRequest value that is not Extensions (${(err as Error).message})`);
        }
      }
      return;
    }
    if (type === OIDS.extensionReqTemplate) {
      for (const v of values) {
        try {
          for (const t of extensionTemplatesFromSchema(v, `${where}.extensionReqTemplate`)) {
            this.addExtension({ extnID: t.extnID, critical: t.critical, ...(t.extnValue ? { value: t.extnValue } : {}) });
          }
        } catch (err) {
          this.plan.ignored.push(`${where} bad extensionReqTemplate (${(err as Error).message})`);
        }
      }
      return;
    }
    if (type === OIDS.challengePassword) {
      this.plan.linking = true;
      return;
    }
    if (type === OIDS.certificationRequestInfoTemplate) return this.template(values, where);
    // anything else with values: copied into the CSR as the server gave it
    this.plan.attributes.push({ type, values: values.map(der) });
  }

  template(values: asn1js.AsnType[], where: string): void {
    let t: CertificationRequestInfoTemplate;
    try {
      if (values.length !== 1) throw new Asn1DecodeError('constraint', where, `template attribute must have exactly one value, has ${values.length}`);
      t = CertificationRequestInfoTemplate.fromSchema(values[0]!, 'CertificationRequestInfoTemplate');
    } catch (err) {
      this.plan.ignored.push(`${where} unusable CertificationRequestInfoTemplate (${(err as Error).message})`);
      return;
    }
    this.plan.form = 'template';
    if (t.subject) this.plan.subject = t.subject.map((rdn) => rdn.map((a: NameAttributeTemplate) => ({ type: a.type, ...(a.value ? { value: der(a.value) } : {}) })));
    if (t.subjectPKInfo) {
      const k = t.subjectPKInfo;
      if (k.algorithm === OID_EC_PUBLIC_KEY) {
        this.keyKind = 'ecc';
        const curve = oidOf(k.parameters);
        if (curve) this.curve = curve;
      } else if (k.algorithm === OID_RSA_ENCRYPTION) {
        this.keyKind = 'rsa';
        const bits = k.subjectPublicKey ? rsaModulusBits(k.subjectPublicKey) : undefined;
        if (bits) this.rsaBits = bits;
      } else {
        this.plan.unsatisfied.push(`key algorithm ${k.algorithm} (the TPM keystore makes ECC P-256/P-384 and RSA-2048/3072 keys)`);
      }
    }
    for (const a of t.attributes) this.attribute(a.type, a.values, 'template attribute');
  }

  finish(configured: KeyAlgorithm): CsrPlan {
    const p = this.plan;
    let key: KeyAlgorithm | undefined;
    const kind = this.keyKind ?? this.hashKind;
    if (kind === 'ecc') {
      const c = this.curve ?? (isEcc(configured) ? undefined : OID_P256);
      key = c === undefined ? configured : CURVES[c];
      if (!key) p.unsatisfied.push(`EC curve ${CURVE_NAMES[c!] ?? c} (the TPM keystore makes P-256 and P-384)`);
    } else if (kind === 'rsa') {
      const bits = this.rsaBits ?? (isEcc(configured) ? 2048 : undefined);
      key = bits === undefined ? configured : RSA_SIZES[bits];
      if (!key) p.unsatisfied.push(`RSA-${bits} (the TPM keystore makes RSA-2048 and RSA-3072)`);
    }
    if (key) p.keyAlgorithm = key;
    const effective = key ?? configured;
    if (this.hash) {
      if (this.hashKind && this.hashKind !== (isEcc(effective) ? 'ecc' : 'rsa')) {
        p.unsatisfied.push(`a ${this.hashKind.toUpperCase()} signature algorithm with a ${effective} key`);
      }
      p.hash = this.hash;
    } else if (key) p.hash = defaultHashFor(key);
    if (p.linking) p.unsatisfied.push('challengePassword: TLS linking of RFC 7030 §3.5 (tls-unique; tls-exporter for TLS 1.3) is not performed');
    return p;
  }
}

/** The RSA modulus size of a DER RSAPublicKey (a template's placeholder key), or undefined. */
function rsaModulusBits(bits: Uint8Array): number | undefined {
  try {
    const seq = decodeAsn1(bits, 'RSAPublicKey');
    const n = (seq as asn1js.Sequence).valueBlock.value[0];
    if (!(n instanceof asn1js.Integer)) return undefined;
    const h = n.valueBlock.valueHexView;
    let i = 0;
    while (i < h.length && h[i] === 0) i++;
    return (h.length - i) * 8;
  } catch {
    return undefined;
  }
}

/**
 * The CSR plan for a /csrattrs answer. `configured` is the device's key algorithm (used when the server names no
 * key, or a kind without size). Never throws: unusable parts end up in `ignored`.
 */
export function planCsr(attrs: CsrAttrs, configured: KeyAlgorithm): CsrPlan {
  const b = new PlanBuilder();
  if (attrs.oids.length || attrs.attributes.length) b.plan.form = 'oids';
  for (const oid of attrs.oids) b.oid(oid, 'OID');
  for (const a of attrs.attributes) b.attribute(a.type, a.values, 'attribute');
  return b.finish(configured);
}

/**
 * GET /csrattrs and plan the CSR. Transport failures and HTTP errors are thrown (the caller's backoff handles them);
 * an unusable answer (bad base64/DER, wrong content type, oversized) is a warning: the plan is empty with `error`
 * set, and enrollment goes on as configured.
 */
export async function fetchCsrPlan(client: { csrattrs(): Promise<CsrAttrs> }, configured: KeyAlgorithm, log?: Logger): Promise<CsrPlan> {
  let attrs: CsrAttrs;
  try {
    attrs = await client.csrattrs();
  } catch (err) {
    if (!(err instanceof EstProtocolError || err instanceof Asn1DecodeError || err instanceof ResponseTooLargeError || err instanceof PkiDecodeError)) throw err;
    const e = { code: err.code, message: err.message };
    log?.warn('csrattrs.unusable', { code: e.code, error: e.message, fallback: configured });
    return { ...EMPTY_CSR_PLAN, ignored: [], unsatisfied: [], error: e };
  }
  const plan = planCsr(attrs, configured);
  log?.info('csrattrs.plan', {
    form: plan.form,
    keyAlgorithm: plan.keyAlgorithm ?? configured,
    hash: plan.hash ?? 'sha256',
    extensions: plan.extensions.length,
    attributes: plan.attributes.length,
    ...(plan.subject ? { subjectTemplate: true } : {}),
  });
  if (plan.ignored.length) log?.warn('csrattrs.ignored', { items: plan.ignored });
  if (plan.unsatisfied.length) log?.warn('csrattrs.unsatisfied', { items: plan.unsatisfied });
  return plan;
}

/** What `applyCsrPlan` did beyond the plan itself (for the log and status). */
export interface AppliedCsrPlan {
  options: BuildCsrOptions;
  /** Plan items that could not be honoured for this CSR (in addition to plan.unsatisfied). */
  unsatisfied: string[];
}

function subjectFromTemplate(template: NonNullable<CsrPlan['subject']>, base: pkijs.RelativeDistinguishedNames, unsatisfied: string[]): pkijs.RelativeDistinguishedNames {
  const have = new Map<string, asn1js.AsnType>();
  for (const tv of base.typesAndValues) if (!have.has(tv.type)) have.set(tv.type, tv.value);
  const rdns: asn1js.Set[] = [];
  for (const rdn of template) {
    const atvs: asn1js.Sequence[] = [];
    for (const a of rdn) {
      const value = a.value ? decodeAsn1(a.value, 'template subject value') : have.get(a.type);
      if (!value) {
        unsatisfied.push(`subject attribute ${a.type} (no configured value)`);
        continue;
      }
      atvs.push(new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: a.type }), decodeAsn1(new Uint8Array(value.toBER(false)), 'subject value')] }));
    }
    if (atvs.length) rdns.push(new asn1js.Set({ value: atvs }));
  }
  // one RDN per template RDN (pkijs would put every attribute into a single RDN when built from typesAndValues)
  const seq = new asn1js.Sequence({ value: rdns });
  return new pkijs.RelativeDistinguishedNames({ schema: decodeAsn1(new Uint8Array(seq.toBER(false)), 'Name') });
}

/**
 * Applies a plan to the CSR options the agent would otherwise use. On renewal (`operation` 'reenroll') the subject
 * and SAN stay as given (RFC 7030 §4.2.2: identical to the certificate being renewed); extensions with a value are
 * added unless the request already carries that type; challengePassword linking is not done (see plan.unsatisfied).
 */
export function applyCsrPlan(plan: CsrPlan, base: BuildCsrOptions, operation: 'enroll' | 'reenroll'): AppliedCsrPlan {
  const unsatisfied: string[] = [];
  const options: BuildCsrOptions = { ...base };
  if (plan.hash) options.hash = plan.hash;
  if (plan.subject && operation === 'enroll') {
    const baseName = base.subject instanceof pkijs.RelativeDistinguishedNames ? base.subject : buildName(base.subject);
    options.subject = subjectFromTemplate(plan.subject, baseName, unsatisfied);
  }
  const present = new Set<string>([...(base.san ? [OIDS.subjectAltName] : []), ...(base.extensions ?? []).map((e) => e.extnID)]);
  const extensions = [...(base.extensions ?? [])];
  for (const e of plan.extensions) {
    if (present.has(e.extnID)) continue;
    if (!e.value) {
      unsatisfied.push(e.extnID === OIDS.subjectAltName ? 'subjectAltName (no names configured)' : `extension ${e.extnID} (no value the agent can supply)`);
      continue;
    }
    if (operation === 'reenroll' && e.extnID === OIDS.subjectAltName) continue;
    extensions.push(new pkijs.Extension({ extnID: e.extnID, critical: e.critical, extnValue: e.value.slice().buffer }));
    present.add(e.extnID);
  }
  if (extensions.length) options.extensions = extensions;
  const have = new Set((base.attributes ?? []).map((a) => a.type));
  const attributes = [...(base.attributes ?? [])];
  for (const a of plan.attributes) {
    if (have.has(a.type)) continue;
    attributes.push(new pkijs.Attribute({ type: a.type, values: a.values.map((v) => decodeAsn1(v, `attribute ${a.type}`)) }));
  }
  if (attributes.length) options.attributes = attributes;
  return { options, unsatisfied };
}
