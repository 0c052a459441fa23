// RFC 7191 §4 KeyPackageError (content type id-ct-KP-keyPackageError):
//   KeyPackageError ::= SEQUENCE {
//     version KeyPkgVersion DEFAULT v2,
//     errorOf [0] KeyPkgIdentifier OPTIONAL,     -- a CHOICE, so the tag is EXPLICIT
//     errorBy SIREntityName,
//     errorCode ErrorCodeChoice }
//   ErrorCodeChoice ::= CHOICE { enum EnumeratedErrorCode, oid OBJECT IDENTIFIER }
// Enumerated values outside EnumeratedErrorCode are refused (the type has no extension marker).
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { type AsnNode, type Bytes, Tag, checkOid, contextChildren, encodeNode, isContext, isUniversal, parseDer, readOid, readSmallInt, seqChildren, verifySchema } from './der.js';
import { KeyPackageErrorCode, OID_CT_KP_KEY_PACKAGE_ERROR, keyPackageErrorCodeName, type KeyPackageErrorCodeName } from './key-package-oids.js';
import { KeyPkgIdentifier } from './key-pkg-identifier.js';
import { KEY_PKG_VERSION_V2 } from './key-package-receipt.js';
import { SIREntityName } from './siren-entity-name.js';

const ENUMERATED = 10;

export type ErrorCodeChoice = { enum: KeyPackageErrorCodeName } | { oid: string };

export interface KeyPackageErrorFields {
  errorOf?: KeyPkgIdentifier;
  errorBy: SIREntityName;
  errorCode: ErrorCodeChoice;
}

export class KeyPackageError {
  static readonly CONTENT_TYPE = OID_CT_KP_KEY_PACKAGE_ERROR;
  readonly version = KEY_PKG_VERSION_V2;
  errorOf?: KeyPkgIdentifier;
  errorBy: SIREntityName;
  errorCode: ErrorCodeChoice;

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.Integer({ name: 'version', optional: true }),
        new asn1js.Constructed({ name: 'errorOf', optional: true, idBlock: { tagClass: 3, tagNumber: 0 }, value: [KeyPkgIdentifier.schema() as unknown as asn1js.BaseBlock] }),
        SIREntityName.schema(),
        new asn1js.Choice({ value: [new asn1js.Enumerated({ name: 'enum' }), new asn1js.ObjectIdentifier({ name: 'oid' })] }),
      ],
    });
  }

  constructor(params: { schema: AsnNode } | KeyPackageErrorFields) {
    if ('schema' in params) {
      const path = 'KeyPackageError';
      const kids = seqChildren(params.schema, path);
      let i = 0;
      if (isUniversal(kids[i], Tag.INTEGER)) readSmallInt(kids[i++], `${path}.version`, KEY_PKG_VERSION_V2, KEY_PKG_VERSION_V2);
      if (isContext(kids[i], 0, true)) {
        const inner = contextChildren(kids[i]!, `${path}.errorOf`);
        if (inner.length !== 1) throw new Asn1DecodeError('constraint', `${path}.errorOf`, 'expected one KeyPkgIdentifier');
        this.errorOf = new KeyPkgIdentifier({ schema: inner[0]! });
        i++;
      }
      this.errorBy = SIREntityName.fromSchema(kids[i++] as AsnNode);
      const ec = kids[i++];
      if (ec === undefined) throw new Asn1DecodeError('missing-field', `${path}.errorCode`, 'absent');
      if (isUniversal(ec, ENUMERATED)) {
        const v = readEnum(ec, `${path}.errorCode.enum`);
        const name = keyPackageErrorCodeName(v);
        if (!name) throw new Asn1DecodeError('constraint', `${path}.errorCode.enum`, `unknown error code ${v}`);
        this.errorCode = { enum: name };
      } else {
        this.errorCode = { oid: readOid(ec, `${path}.errorCode.oid`) };
      }
      if (kids.length > i) throw new Asn1DecodeError('extra-field', path, `${kids.length - i} extra element(s)`);
      verifySchema(params.schema, KeyPackageError.schema(), path);
      return;
    }
    if ('enum' in params.errorCode && !(params.errorCode.enum in KeyPackageErrorCode)) {
      throw new Asn1EncodeError(`KeyPackageError.errorCode: unknown code ${String(params.errorCode.enum)}`);
    }
    if ('oid' in params.errorCode) checkOid('KeyPackageError.errorCode.oid', params.errorCode.oid);
    if (params.errorOf) this.errorOf = params.errorOf;
    this.errorBy = params.errorBy;
    this.errorCode = params.errorCode;
  }

  static fromDer(der: Bytes): KeyPackageError {
    return new KeyPackageError({ schema: parseDer(der, 'KeyPackageError') });
  }

  toSchema(): asn1js.Sequence {
    const code =
      'enum' in this.errorCode
        ? new asn1js.Enumerated({ value: KeyPackageErrorCode[this.errorCode.enum] })
        : new asn1js.ObjectIdentifier({ value: this.errorCode.oid });
    return new asn1js.Sequence({
      value: [
        ...(this.errorOf ? [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [this.errorOf.toSchema()] })] : []),
        this.errorBy.toSchema(),
        code,
      ],
    });
  }

  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}

function readEnum(node: AsnNode, path: string): number {
  const e = node as asn1js.Enumerated;
  if (e.valueBlock.valueHexView.byteLength === 0) throw new Asn1DecodeError('malformed', path, 'empty ENUMERATED');
  const v = e.toBigInt();
  if (v < 0n || v > 1000n) throw new Asn1DecodeError('constraint', path, `${v} out of range`);
  return Number(v);
}
