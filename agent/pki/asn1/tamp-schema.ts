// Schema elements for the RFC 5934 Appendix A fields that every TAMP message repeats (IMPLICIT TAGS):
//   version [0] TAMPVersion DEFAULT v2, terse [1] TerseOrVerbose DEFAULT verbose
import * as asn1js from 'asn1js';
import type { AsnNode } from './der.js';
import { readTerse, readVersion, type TerseOrVerbose } from './tamp-fields.js';
import { TAMPMsgRef } from './tamp-msg-ref.js';

export const versionSchema = (): asn1js.Primitive => new asn1js.Primitive({ name: 'version', optional: true, idBlock: { tagClass: 3, tagNumber: 0 } });
export const terseSchema = (): asn1js.Primitive => new asn1js.Primitive({ name: 'terse', optional: true, idBlock: { tagClass: 3, tagNumber: 1 } });

/** The head of the TAMP requests: `version [0] DEFAULT v2, terse [1] DEFAULT verbose, <ref> TAMPMsgRef` (§4.1, §4.3, §4.5, §4.7). */
export const tampHeadSchema = (ref = 'msgRef'): asn1js.BaseBlock[] => [versionSchema(), terseSchema(), new asn1js.Sequence({ name: ref })];

/** Reads that head from a message's elements: its terse choice, its TAMPMsgRef (named `path.<ref>`) and the next index. */
export function readTampHead(k: AsnNode[], path: string, ref = 'msgRef'): { terse: TerseOrVerbose; msgRef: TAMPMsgRef; next: number } {
  const t = readTerse(k, readVersion(k, 0, path), path);
  return { terse: t.terse, msgRef: TAMPMsgRef.fromSchema(k[t.next]!, `${path}.${ref}`), next: t.next + 1 };
}
