// /csrattrs — CSR Attributes (RFC 7030 §4.5): GET; 200 with application/csrattrs (base64 DER CsrAttrs), or 204/404
// when the server has none (§4.5.2).
//   CsrAttrs ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID
//   AttrOrOID ::= CHOICE { oid OBJECT IDENTIFIER, attribute Attribute }
//   Attribute { ATTRIBUTE:IOSet } ::= SEQUENCE { type ATTRIBUTE.&id, values SET SIZE(1..MAX) OF ATTRIBUTE.&Type }
import * as asn1js from 'asn1js';
import { decodeAsn1 } from '../../pki/der.js';
import { EST_OPERATIONS, MEDIA_TYPES } from './constants.js';
import { estUrl, nowOf, type EstContext } from './context.js';
import { decodeEstBody } from './base64-body.js';
import { EstProtocolError } from './errors.js';
import { checkContentType, throwForStatus } from './response.js';

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

export async function getCsrAttrs(ctx: EstContext): Promise<CsrAttrs> {
  const op = EST_OPERATIONS.csrattrs;
  const res = await ctx.transport.request({
    method: 'GET',
    url: estUrl(ctx, op),
    ...(ctx.maxResponseBytes !== undefined ? { maxResponseBytes: ctx.maxResponseBytes } : {}),
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
