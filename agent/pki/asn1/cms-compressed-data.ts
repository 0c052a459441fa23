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
import { type AsnNode, type Bytes, encodeNode, parseDer, readSmallInt, seqChildren, verifySchema } from './der.js';
import { OID_ALG_ZLIB_COMPRESS, OID_CT_COMPRESSED_DATA } from './firmware-oids.js';

/** Either the content to compress-wrap (eContentType + eContent) or, when parsing, the decoded fields. */
export interface CompressedDataParams {
  compressionAlgorithm?: string | pkijs.AlgorithmIdentifier;
  eContentType?: string;
  eContent?: Uint8Array;
  encapContentInfo?: pkijs.EncapsulatedContentInfo;
}

export class CompressedData {
  static readonly CLASS_NAME = 'CompressedData';
  static readonly CONTENT_TYPE = OID_CT_COMPRESSED_DATA;
  readonly version = 0;
  compressionAlgorithm: pkijs.AlgorithmIdentifier;
  encapContentInfo: pkijs.EncapsulatedContentInfo;

  constructor(params: CompressedDataParams) {
    this.compressionAlgorithm = params.compressionAlgorithm instanceof pkijs.AlgorithmIdentifier ? params.compressionAlgorithm : new pkijs.AlgorithmIdentifier({ algorithmId: params.compressionAlgorithm ?? OID_ALG_ZLIB_COMPRESS });
    if (params.encapContentInfo) this.encapContentInfo = params.encapContentInfo;
    else {
      this.encapContentInfo = new pkijs.EncapsulatedContentInfo({ eContentType: params.eContentType });
      // Assigned after construction: pkijs's constructor would re-encode it as a constructed (BER) OCTET STRING.
      if (params.eContent) this.encapContentInfo.eContent = new asn1js.OctetString({ valueHex: params.eContent });
    }
  }

  /** The fields are Any here: version is read by readSmallInt (named `path.version`), the others by pkijs. */
  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.Any({ name: 'version' }), new asn1js.Any({ name: 'compressionAlgorithm' }), new asn1js.Any({ name: 'encapContentInfo' })] });
  }

  static fromSchema(node: AsnNode, path = CompressedData.CLASS_NAME): CompressedData {
    const kids = seqChildren(node, path);
    if (kids.length !== 3) throw new Asn1DecodeError('bad-value', path, `expected 3 elements, got ${kids.length}`);
    const m = verifySchema(node, CompressedData.schema(), path);
    readSmallInt(m.version, `${path}.version`, 0, 0);
    try {
      return new CompressedData({
        compressionAlgorithm: new pkijs.AlgorithmIdentifier({ schema: m.compressionAlgorithm }),
        encapContentInfo: new pkijs.EncapsulatedContentInfo({ schema: m.encapContentInfo }),
      });
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
    return CompressedData.fromSchema(parseDer(bytes, CompressedData.CLASS_NAME));
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
