// The persistent /eecerts store (RFC 8295 §3: certificates of the peers the device will communicate with), by the
// package URI that delivered them: one atomic, 0600 JSON write per change, reloaded at start. Only certificates a
// handler accepted (validated to a TA) arrive here.
import { readFileIfExists, writeFileAtomic } from './atomic-file.js';
import type { PeerCertificate, PeerCertificateStore } from '../packages/context.js';

interface FileDoc {
  version: 1;
  sources: Record<string, Array<{ der: string; subject: string; fingerprint: string; notAfter: string }>>;
}

export class FilePeerCertificateStore implements PeerCertificateStore {
  private constructor(
    private readonly file: string,
    private doc: FileDoc,
  ) {}

  static async open(file: string): Promise<FilePeerCertificateStore> {
    const text = await readFileIfExists(file);
    let doc: FileDoc = { version: 1, sources: {} };
    if (text) {
      const parsed = JSON.parse(text.toString('utf8')) as FileDoc;
      if (parsed.version === 1 && typeof parsed.sources === 'object' && parsed.sources !== null) doc = parsed;
    }
    return new FilePeerCertificateStore(file, doc);
  }

  async replace(source: string, certs: PeerCertificate[]): Promise<void> {
    const next: FileDoc = { version: 1, sources: { ...this.doc.sources, [source]: certs.map((c) => ({ der: Buffer.from(c.der).toString('base64'), subject: c.subject, fingerprint: c.fingerprint, notAfter: c.notAfter.toISOString() })) } };
    if (certs.length === 0) delete next.sources[source];
    await writeFileAtomic(this.file, JSON.stringify(next) + '\n');
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
