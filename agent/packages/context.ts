// What every package handler receives as `ctx.shared` (agent/pal/dispatch.ts HandlerContext<PackageContext>): the
// EST client bound to the server the PAL came from, the TA and CRL stores, logging, the clock, and callbacks into
// the lifecycle. Handlers never enroll themselves; they ask the lifecycle (requestRenewal) and the poller turns
// that into the daemon's `{ renew: true }`. One context is built per poll (pal-poller.ts), so the per-poll parts
// (current credential, CA certificates seen in this PAL run) are fresh each time.
import type { DeviceCredential } from '../identity/device-identity.js';
import type { Clock } from '../lifecycle/clock.js';
import type { EstClient } from '../protocols/est/client.js';
import type { EstIssued } from '../protocols/est/enroll-response.js';
import type { CsrAttrs } from '../protocols/est/csrattrs.js';
import type { CrlStore } from '../store/crl-store.js';
import type { TaUse, TrustAnchorStore } from '../store/ta-store.js';
import type { Logger } from '../util/log.js';

/** Why a handler asks for (re-)enrollment. */
export interface RenewalRequest {
  /** PAL package type that asked (0006, 0007, 0010, …, or 0002 after a CA rollover). */
  type: string;
  /** 'enroll' for the enrollment types, 'reenroll' for re-enrollment, 'ca-change' after a TA rollover. */
  reason: 'enroll' | 'reenroll' | 'ca-change' | 'retrieve';
  /** DS (digital signature) or KE (key establishment) certificate, per the type (§2.1.1). */
  usage?: 'ds' | 'ke';
  /** Attributes from /csrattrs (0006, 0013), for the CSR the lifecycle builds. */
  csrAttrs?: CsrAttrs;
}

/** The outcome of a §9 "retrieve success/failure" entry, for the lifecycle's pending request. */
export type EnrollmentRetrieval =
  | { kind: 'issued'; type: string; operation: string; issued: EstIssued }
  | { kind: 'pending'; type: string; operation: string; retryAfterSeconds: number }
  | { kind: 'rejected'; type: string; operation: string; status: number; text: string };

/** A peer certificate accepted from /eecerts. */
export interface PeerCertificate {
  der: Uint8Array;
  subject: string;
  /** SHA-256 of the DER. */
  fingerprint: string;
  notAfter: Date;
}

/** Where accepted /eecerts certificates go (§3: the peers the device will communicate with). */
export interface PeerCertificateStore {
  /** Replaces the certificates previously delivered from `source` (the package URI) with `certs`. */
  replace(source: string, certs: PeerCertificate[]): Promise<void>;
  list(): PeerCertificate[];
}

export interface PackagePolicy {
  /**
   * SHA-256 fingerprints (hex) of CA roots the configuration trusts explicitly: a /cacerts root with one of these
   * is added to the TA store even though nothing chains it to an existing TA. Nothing else is ever added silently.
   */
  trustedRootFingerprints?: readonly string[];
  /** Uses given to an explicitly trusted root (default ['est-server', 'cacerts']). */
  trustedRootUses?: readonly TaUse[];
  /** TA use that validates CA certificates from /cacerts and peers from /eecerts (default 'cacerts'). */
  certificateUse?: TaUse;
  /** Extra origins PAL package URIs may point to (default: only the EST server's). */
  allowedOrigins?: readonly string[];
}

export interface PackageContext {
  est: EstClient;
  taStore: TrustAnchorStore;
  crlStore: CrlStore;
  log: Logger;
  clock: Clock;
  policy: PackagePolicy;
  /** Asks the lifecycle to (re-)enroll now; the poller returns `{ renew: true }` afterwards. */
  requestRenewal(req: RenewalRequest): void;
  /** §9 success/failure retrievals; when absent, a retrieved certificate results in a renewal request instead. */
  onEnrollmentRetrieval?(r: EnrollmentRetrieval): void | Promise<void>;
  /** Accepted /eecerts certificates (when absent, /eecerts entries validate but store nothing and fail). */
  peers?: PeerCertificateStore;
  /** The current credential (undefined before the first enrollment): its certificate matches dn/ski/iasn notices (§2.1), its chain builds paths. */
  credential?: Pick<DeviceCredential, 'certificate' | 'chainDer'>;
  /** SPKI (DER) of the key of the enrollment in flight, if any (to recognise a §9 success response). */
  pendingKeySpki?: Uint8Array;
  /**
   * CA certificates validated during this PAL run (by the /cacerts handler) plus the credential's chain: the
   * untrusted intermediates later handlers (/crls, /eecerts) may build paths with. Mutated by handlers.
   */
  intermediates: Uint8Array[];
}
