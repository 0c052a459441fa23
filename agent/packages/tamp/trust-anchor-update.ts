// 0030 Trust Anchor Update (RFC 5934 §4.3–4.4): add / remove / change trust anchors of the TrustAnchorStore (which
// TLS, firmware and enrollment validation use). All-or-nothing (enrolld's choice, stricter than the per-update status
// list of §4.4 allows): the updates are applied in order to a copy of the TA set; the first failing update refuses the
// whole message with a TAMPError carrying its status code, and the store is not touched. On success the new set is
// written with one atomic TrustAnchorStore.replace and a TAMPUpdateConfirm lists success for every update.
//   add: a Certificate, or a TrustAnchorInfo carrying certPath.certificate (a bare key cannot be stored:
//        unsupportedTrustAnchorFormat); an already installed TA is improperTAAddition; the TA gets `addedUses`
//        (never 'tamp': TAMP authority is granted only by the configuration) and its taTitle as name;
//   remove: every TA whose key is the given SubjectPublicKeyInfo (none: trustAnchorNotFound; the apex: apexTAMPAnchor);
//   change: taChange with a taTitle renames the TA with that key; anything else (tbsCertChange, certPath or
//        extension changes) is improperTAChange.
import { createPublicKey } from 'node:crypto';
import { bytesEqual } from '../../pki/der.js';
import { TAMPUpdateConfirm } from '../../pki/asn1/tamp-update-confirm.js';
import type { TAMPUpdate } from '../../pki/asn1/tamp-update.js';
import { certificateFingerprint, certificateFromDer, certificateSpki } from '../../pki/cert.js';
import type { TrustAnchorInput } from '../../store/ta-store.js';
import { type TampActionContext, type TampPlan, asInputs, fail, seqNumbers, taInfoList } from './view.js';

const spkiOfInput = (i: TrustAnchorInput): Uint8Array => certificateSpki(certificateFromDer(i.certificate as Uint8Array));

function checkKey(spki: Uint8Array, ctx: TampActionContext): void {
  let k;
  try {
    k = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (e) {
    fail('unsupportedTAAlgorithm', `TA public key: ${(e as Error).message}`, ctx.msgRef);
  }
  const d = k!.asymmetricKeyDetails ?? {};
  if (k!.asymmetricKeyType === 'ec' && !['prime256v1', 'secp384r1', 'secp521r1'].includes(d.namedCurve ?? '')) fail('unsupportedTAKeySize', `EC TA key on ${d.namedCurve}`, ctx.msgRef);
  else if (k!.asymmetricKeyType === 'rsa' && (d.modulusLength ?? 0) < 2048) fail('unsupportedTAKeySize', `RSA TA key of ${d.modulusLength} bits`, ctx.msgRef);
  else if (!['ec', 'rsa', 'ed25519'].includes(k!.asymmetricKeyType ?? '')) fail('unsupportedTAAlgorithm', `TA key type ${k!.asymmetricKeyType}`, ctx.msgRef);
}

export function trustAnchorUpdate(ctx: TampActionContext, m: TAMPUpdate): TampPlan {
  const next = asInputs(ctx.view.anchors);
  const apexSpki = ctx.view.apex ? ctx.view.apex.spki() : undefined;
  m.updates.forEach(({ value: u }, i) => {
    const where = `update ${i + 1}/${m.updates.length}`;
    if (u.kind === 'add') {
      const der = u.ta.certificateDer();
      if (!der) return fail('unsupportedTrustAnchorFormat', `${where}: a ${u.ta.kind} without a certificate cannot be installed`, ctx.msgRef);
      const cert = certificateFromDer(der);
      const spki = certificateSpki(cert);
      checkKey(spki, ctx);
      if (u.ta.value.kind === 'taInfo' && !bytesEqual(u.ta.value.info.pubKey, spki)) fail('improperTAAddition', `${where}: TrustAnchorInfo pubKey differs from its certificate's key`, ctx.msgRef);
      const fp = certificateFingerprint(der);
      if (next.some((x) => certificateFingerprint(x.certificate as Uint8Array) === fp) || (apexSpki && bytesEqual(apexSpki, spki))) {
        fail('improperTAAddition', `${where}: the trust anchor is already installed`, ctx.msgRef);
      }
      const title = u.ta.value.kind === 'taInfo' ? u.ta.value.info.taTitle : undefined;
      let name = title && /^[\x21-\x7e](?:[\x20-\x7e]{0,62}[\x21-\x7e])?$/.test(title) ? title : `tamp-${fp.slice(0, 16)}`;
      if (next.some((x) => x.name === name)) name = `${name.slice(0, 40)}-${fp.slice(0, 16)}`;
      next.push({ name, source: 'tamp', uses: [...ctx.addedUses], certificate: der });
    } else if (u.kind === 'remove') {
      if (apexSpki && bytesEqual(apexSpki, u.pubKey)) fail('apexTAMPAnchor', `${where}: the apex trust anchor cannot be removed by a TAMPUpdate`, ctx.msgRef);
      const before = next.length;
      for (let j = next.length - 1; j >= 0; j--) if (bytesEqual(spkiOfInput(next[j]!), u.pubKey)) next.splice(j, 1);
      if (next.length === before) fail('trustAnchorNotFound', `${where}: no installed trust anchor has that public key`, ctx.msgRef);
    } else {
      const c = u.change;
      if (c.form !== 'taChange' || c.taTitle === undefined) return fail('improperTAChange', `${where}: only a taChange of the taTitle is supported`, ctx.msgRef);
      const at = next.findIndex((x) => bytesEqual(spkiOfInput(x), c.pubKey));
      if (at < 0) fail('trustAnchorNotFound', `${where}: no installed trust anchor has that public key`, ctx.msgRef);
      if (!/^[\x21-\x7e](?:[\x20-\x7e]{0,62}[\x21-\x7e])?$/.test(c.taTitle) || next.some((x, j) => j !== at && x.name === c.taTitle)) fail('improperTAChange', `${where}: title ${JSON.stringify(c.taTitle)} is unusable or taken`, ctx.msgRef);
      next[at] = { ...next[at]!, name: c.taTitle! };
    }
  });
  return {
    anchors: next,
    mutate: (d) => {
      // §4.3 tampSeqNumbers: initial sequence numbers for (new) TAMP signer TAs
      for (const s of m.tampSeqNumbers ?? []) d.seq[Buffer.from(s.keyId).toString('hex')] = s.seqNumber.toString();
    },
    respond: (v) => {
      const status = m.updates.map(() => 'success' as const);
      const conf =
        m.terse === 'terse'
          ? new TAMPUpdateConfirm({ update: ctx.msgRef, confirm: { kind: 'terse', status } })
          : new TAMPUpdateConfirm({ update: ctx.msgRef, confirm: { kind: 'verbose', status, taInfo: taInfoList(v), ...(seqNumbers(v) ? { tampSeqNumbers: seqNumbers(v)! } : {}), usesApex: v.apex !== undefined } });
      return { contentType: TAMPUpdateConfirm.CONTENT_TYPE, der: conf.toDer() };
    },
  };
}
