// CRMF requests as RFC 4211 defines them (module PKIXCRMF, IMPLICIT TAGS):
//   CertReqMessages ::= SEQUENCE SIZE (1..MAX) OF CertReqMsg
//   CertReqMsg ::= SEQUENCE { certReq CertRequest, popo ProofOfPossession OPTIONAL, regInfo SEQUENCE OF … OPTIONAL }
//   CertRequest ::= SEQUENCE { certReqId INTEGER, certTemplate CertTemplate, controls Controls OPTIONAL }
//   CertTemplate ::= SEQUENCE { version [0], serialNumber [1], signingAlg [2], issuer [3] Name, validity [4],
//     subject [5] Name, publicKey [6] SubjectPublicKeyInfo, issuerUID [7], subjectUID [8], extensions [9] Extensions }
//   ProofOfPossession ::= CHOICE { raVerified [0] NULL, signature [1] POPOSigningKey, keyEncipherment [2], keyAgreement [3] }
//   POPOSigningKey ::= SEQUENCE { poposkInput [0] POPOSigningKeyInput OPTIONAL, algorithmIdentifier, signature BIT STRING }
// Name is a CHOICE, so [3]/[5] are explicit even under IMPLICIT TAGS.
import * as pkijs from 'pkijs';
import { DerError } from '../pki/der.js';
import { type Node, bitString, ctx, int, kids, raw, seq, unwrap } from './read.js';

export interface CertReqMsg {
  certReqId: number;
  /** DER of certReq as received: what POP by signature covers when poposkInput is absent (§4.1). */
  certRequestDer: Uint8Array;
  subject?: pkijs.RelativeDistinguishedNames;
  /** DER SubjectPublicKeyInfo (the [6] IMPLICIT value re-tagged as SEQUENCE). */
  publicKey?: Uint8Array;
  extensions: pkijs.Extension[];
  popo?: { kind: 'raVerified' } | { kind: 'signature'; algorithm: pkijs.AlgorithmIdentifier; signature: Uint8Array; withInput: boolean } | { kind: 'other'; tag: number };
}

function readTemplate(n: Node | undefined, path: string, out: CertReqMsg): void {
  let last = -1;
  for (const [i, f] of seq(n, path).entries()) {
    const t = ctx(f);
    if (t === undefined || t <= last || t > 9) throw new DerError(`${path}[${i}]: unexpected or out-of-order field`);
    last = t;
    try {
      if (t === 5) out.subject = new pkijs.RelativeDistinguishedNames({ schema: unwrap(f, `${path}.subject`) });
      if (t === 6) {
        const spki = raw(f);
        spki[0] = 0x30;
        out.publicKey = spki;
      }
      if (t === 9) out.extensions = kids(f, `${path}.extensions`).map((e) => new pkijs.Extension({ schema: e }));
    } catch (e) {
      if (e instanceof DerError) throw e;
      throw new DerError(`${path}[${t}]: undecodable (${(e as Error).message})`);
    }
  }
}

function readCertReqMsg(n: Node | undefined, path: string): CertReqMsg {
  const k = seq(n, path);
  const req = seq(k[0], `${path}.certReq`);
  const m: CertReqMsg = { certReqId: int(req[0], `${path}.certReq.certReqId`, -1), certRequestDer: raw(k[0]!), extensions: [] };
  readTemplate(req[1], `${path}.certReq.certTemplate`, m);
  let i = 1;
  const t = ctx(k[i]);
  if (t === 0) {
    m.popo = { kind: 'raVerified' };
    i++;
  } else if (t === 1) {
    const p = kids(k[i++], `${path}.popo.signature`);
    const withInput = ctx(p[0]) === 0;
    const a = p[withInput ? 1 : 0];
    let algorithm: pkijs.AlgorithmIdentifier;
    try {
      algorithm = new pkijs.AlgorithmIdentifier({ schema: a });
    } catch {
      throw new DerError(`${path}.popo.signature.algorithmIdentifier: not an AlgorithmIdentifier`);
    }
    m.popo = { kind: 'signature', algorithm, signature: bitString(p[withInput ? 2 : 1], `${path}.popo.signature.signature`), withInput };
  } else if (t !== undefined) {
    m.popo = { kind: 'other', tag: t };
    i++;
  }
  if (k[i] !== undefined) seq(k[i++], `${path}.regInfo`);
  if (i < k.length) throw new DerError(`${path}[${i}]: unexpected element`);
  return m;
}

export function readCertReqMessages(n: Node | undefined, path = 'CertReqMessages'): CertReqMsg[] {
  const k = seq(n, path);
  if (k.length === 0) throw new DerError(`${path}: empty (SIZE (1..MAX))`);
  return k.map((x, i) => readCertReqMsg(x, `${path}[${i}]`));
}
