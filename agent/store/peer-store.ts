// The persistent /eecerts store (RFC 8295 §3: certificates of the peers the device will communicate with), by the
// package URI that delivered them: a DocumentStore (peer-certificates.json; checksummed, previous-good copy, atomic,
// 0600), one save per change, reloaded at start. Only certificates a handler accepted (validated to a TA) arrive here.
import { documentAt, type DocumentStore } from './document-store.js';
import type { PeerCertificate, PeerCertificateStore } from '../packages/context.js';

interface FileDoc {
  version: 1;
  sources: Record<string, Array<{ der: string; subject: string; fingerprint: string; notAfter: string }>>;
}

const isFileDoc = (d: unknown): d is FileDoc =>
  typeof d === 'object' && d !== null && (d as FileDoc).version === 1 && typeof (d as FileDoc).sources === 'object' && (d as FileDoc).sources !== null;

export class FilePeerCertificateStore implements PeerCertificateStore {
  private constructor(
    private readonly store: DocumentStore<FileDoc>,
    private doc: FileDoc,
  ) {}

  static async open(file: string): Promise<FilePeerCertificateStore> {
    // The bare JSON of earlier releases is converted once.
    const store = documentAt<FileDoc>(file, { kind: 'enrolld-peer-certificates', version: 1, validate: isFileDoc, legacy: (j) => (isFileDoc(j) ? j : undefined), pretty: false });
    return new FilePeerCertificateStore(store, (await store.load()) ?? { version: 1, sources: {} });
  }

  async replace(source: string, certs: PeerCertificate[]): Promise<void> {
    const next: FileDoc = { version: 1, sources: { ...this.doc.sources, [source]: certs.map((c) => ({ der: Buffer.from(c.der).toString('base64'), subject: c.subject, fingerprint: c.fingerprint, notAfter: c.notAfter.toISOString() })) } };
    if (certs.length === 0) delete next.sources[source];
    await this.store.save(next);
    this.doc = next;
  }

  list(): PeerCertificate[] {
    const seen = new Set<string>();
    return Object.values(this.doc.sources)
      .flat()
      .filter((c) => (seen.has(c.fingerprint) ? false : (seen.add(c.fingerprint), true)))
      .map((c) => ({ der: new Uint8Array(Buffer.from(c.der, 'base64')), subject: c.subject, fingerprint: c.fingerprint, notAfter: new Date(c.notAfter) }));
  }
}
