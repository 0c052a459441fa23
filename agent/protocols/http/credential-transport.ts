// Requests the agent makes as the device (RFC 8295 PAL and package paths, their /return POSTs): TLS client
// authentication with whatever credential is current at the time of the request, so a renewal switches the
// identity of the next request without rebuilding the clients; before the first credential exists, the bootstrap
// authentication of the base options (HTTP Basic, RFC 7030 §3.2.3) is used instead. Basic credentials are never
// sent once the device has a certificate.
import type { ClientAuthOptions, HttpsTransportOptions, Transport, TransportRequest, TransportResponse } from './transport.js';
import { createHttpsTransport } from './transport.js';

export interface DeviceCredential {
  /** Identifies the credential (e.g. certificate serial + key id): a new id builds a new TLS client. */
  id: string;
  clientAuth: ClientAuthOptions;
}

export interface CredentialTransportOptions {
  /** Trust anchors, limits and timeouts (and the bootstrap Basic credentials) shared by every request. */
  base: HttpsTransportOptions;
  /** The credential to authenticate with now; undefined before the first enrollment. */
  current: () => Promise<DeviceCredential | undefined>;
  /** Builds the underlying transport (default createHttpsTransport). */
  create?: (opts: HttpsTransportOptions) => Transport;
}

export interface CredentialTransport extends Transport {
  /** Which authentication the last request used ('bootstrap' or the credential id). */
  readonly lastIdentity: string | undefined;
}

export function createCredentialTransport(opts: CredentialTransportOptions): CredentialTransport {
  const create = opts.create ?? createHttpsTransport;
  const { basicAuth: _basic, clientAuth: _client, ...shared } = opts.base;
  let bootstrap: Transport | undefined;
  let device: { id: string; transport: Transport } | undefined;
  let lastIdentity: string | undefined;
  return {
    get lastIdentity() {
      return lastIdentity;
    },
    async request(req: TransportRequest): Promise<TransportResponse> {
      const cred = await opts.current();
      if (!cred) {
        bootstrap ??= create(opts.base);
        lastIdentity = 'bootstrap';
        return bootstrap.request(req);
      }
      if (device?.id !== cred.id) device = { id: cred.id, transport: create({ ...shared, clientAuth: cred.clientAuth }) };
      lastIdentity = cred.id;
      return device.transport.request({ ...req, basicAuth: false });
    },
  };
}
