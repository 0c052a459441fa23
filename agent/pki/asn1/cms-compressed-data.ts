// RFC 3274 CompressedData (content type id-ct-compressedData), used by RFC 4108 §2.1.4 for compressed firmware:
//   CompressedData ::= SEQUENCE {
//     version CMSVersion,                                  -- Always set to 0
//     compressionAlgorithm CompressionAlgorithmIdentifier, -- id-alg-zlibCompress (RFC 3274 §2), no parameters
//     encapContentInfo EncapsulatedContentInfo }
// pkijs has no CompressedData; this class reuses its AlgorithmIdentifier and EncapsulatedContentInfo. It holds the
// content in memory: large firmware goes through cms-signed-data-stream.ts (readCompressedDataLayout) instead.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, encodeNode, parseDer, readSmallInt, seqChildren } from './der.js';
import { OID_ALG_ZLIB_COMPRESS, OID_CT_COMPRESSED_DATA } from './firmware-oids.js';

export class CompressedData {
  static readonly CLASS_NAME = 'CompressedData';
  static readonly CONTENT_TYPE = OID_CT_COMPRESSED_DATA;
  readonly version = 0;
  compressionAlgorithm: pkijs.AlgorithmIdentifier;
  encapContentInfo: pkijs.EncapsulatedContentInfo;

  constructor(params: { schema: AsnNode } | { eContentType: string; eContent: Uint8Array; compressionAlgorithm?: string }) {
    if ('schema' in params) {
      this.compressionAlgorithm = new pkijs.AlgorithmIdentifier();
      this.encapContentInfo = new pkijs.EncapsulatedContentInfo();
      this.fromSchema(params.schema);
    } else {
      this.compressionAlgorithm = new pkijs.AlgorithmIdentifier({ algorithmId: params.compressionAlgorithm ?? OID_ALG_ZLIB_COMPRESS });
      this.encapContentInfo = new pkijs.EncapsulatedContentInfo({ eContentType: params.eContentType });
      // Assigned after construction: pkijs's constructor would re-encode it as a constructed (BER) OCTET STRING.
      this.encapContentInfo.eContent = new asn1js.OctetString({ valueHex: params.eContent });
    }
  }

  static schema(parameters: { names?: { blockName?: string } } = {}): asn1js.Sequence {
    return new asn1js.Sequence({ name: parameters.names?.blockName ?? '', value: [new asn1js.Integer(), pkijs.AlgorithmIdentifier.schema(), pkijs.EncapsulatedContentInfo.schema()] });
  }

  fromSchema(schema: AsnNode, path = CompressedData.CLASS_NAME): void {
    const kids = seqChildren(schema, path);
    if (kids.length !== 3) throw new Asn1DecodeError('bad-value', path, `expected 3 elements, got ${kids.length}`);
    readSmallInt(kids[0], `${path}.version`, 0, 0);
    try {
      this.compressionAlgorithm = new pkijs.AlgorithmIdentifier({ schema: kids[1] });
      this.encapContentInfo = new pkijs.EncapsulatedContentInfo({ schema: kids[2] });
    } catch (cause) {
      throw new Asn1DecodeError('bad-value', path, (cause as Error).message, { cause });
    }
  }

  /** The (still compressed) eContent bytes, or undefined when absent. */
  get compressedContent(): Uint8Array | undefined {
    const e = this.encapContentInfo.eContent;
    if (!e) return undefined;
    // pkijs keeps constructed (BER) OCTET STRINGs as nested values; join them.
    if (e.idBlock.isConstructed) return new Uint8Array(Buffer.concat((e.valueBlock.value as asn1js.OctetString[]).map((p) => p.valueBlock.valueHexView)));
    return new Uint8Array(e.valueBlock.valueHexView);
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.Integer({ value: 0 }), this.compressionAlgorithm.toSchema(), this.encapContentInfo.toSchema()] });
  }

  toJSON(): unknown {
    return { version: 0, compressionAlgorithm: this.compressionAlgorithm.algorithmId, eContentType: this.encapContentInfo.eContentType };
  }

  static fromBER(bytes: Bytes): CompressedData {
    return new CompressedData({ schema: parseDer(bytes, CompressedData.CLASS_NAME) });
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
