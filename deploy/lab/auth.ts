// Lab server client authentication: HTTP Basic (RFC 7617) against configured users, and TLS client certificates
// validated (pkijs, lab clock) either to the lab root CA or to a configured IDevID CA.
import { timingSafeEqual, createHash } from 'node:crypto';
import type * as pkijs from 'pkijs';
import { parseCertificate } from './pki/cert.js';
import { validateChain } from './pki/chain.js';
import type { LabRequest } from './router.js';

export type BasicResult = { kind: 'none' } | { kind: 'ok'; user: string } | { kind: 'invalid'; reason: string };

function safeEqual(a: string, b: string): boolean {
  // Compare digests so lengths do not leak and timingSafeEqual gets equal-length inputs.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

export function checkBasic(req: LabRequest, users: Record<string, string>): BasicResult {
  const h = req.headers.authorization;
  if (!h) return { kind: 'none' };
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(h);
  if (!m) return { kind: 'invalid', reason: 'unsupported Authorization scheme (Basic expected)' };
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return { kind: 'invalid', reason: 'malformed Basic credentials' };
  const user = decoded.slice(0, colon);
  const pass = decoded.slice(colon + 1);
  const expected = Object.prototype.hasOwnProperty.call(users, user) ? users[user]! : undefined;
  // Always run one comparison so unknown users and wrong passwords take the same path.
  const ok = safeEqual(pass, expected ?? '\0invalid') && expected !== undefined;
  return ok ? { kind: 'ok', user } : { kind: 'invalid', reason: 'invalid username or password' };
}

export type ClientCertResult =
  | { kind: 'none' }
  | { kind: 'ok'; certificate: pkijs.Certificate; der: Uint8Array; issuer: 'lab' | 'idevid' }
  | { kind: 'invalid'; reason: string };

export async function checkClientCert(
  req: LabRequest,
  anchors: { lab: Uint8Array[]; labIntermediates: Uint8Array[]; idevid: Uint8Array[] },
  at: Date,
): Promise<ClientCertResult> {
  const [leaf, ...rest] = req.tls.peerChain;
  if (!leaf) return { kind: 'none' };
  let certificate: pkijs.Certificate;
  try {
    certificate = parseCertificate(leaf);
  } catch {
    return { kind: 'invalid', reason: 'unparseable client certificate' };
  }
  const errors: string[] = [];
  try {
    await validateChain({ leaf: certificate, intermediates: [...rest, ...anchors.labIntermediates], trustAnchors: anchors.lab, at });
    return { kind: 'ok', certificate, der: leaf, issuer: 'lab' };
  } catch (e) {
    errors.push((e as Error).message);
  }
  if (anchors.idevid.length > 0) {
    try {
      await validateChain({ leaf: certificate, intermediates: rest, trustAnchors: anchors.idevid, at });
      return { kind: 'ok', certificate, der: leaf, issuer: 'idevid' };
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  return { kind: 'invalid', reason: `client certificate not accepted: ${errors.join('; ')}` };
}
