// Schema elements for the RFC 5934 Appendix A fields that every TAMP message repeats (IMPLICIT TAGS):
//   version [0] TAMPVersion DEFAULT v2, terse [1] TerseOrVerbose DEFAULT verbose
import * as asn1js from 'asn1js';

export const versionSchema = (): asn1js.Primitive => new asn1js.Primitive({ name: 'version', optional: true, idBlock: { tagClass: 3, tagNumber: 0 } });
export const terseSchema = (): asn1js.Primitive => new asn1js.Primitive({ name: 'terse', optional: true, idBlock: { tagClass: 3, tagNumber: 1 } });
