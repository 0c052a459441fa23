// Requests the agent makes as the device (RFC 8295 PAL and package paths, their /return POSTs): TLS client
// authentication with whatever credential is current at the time of the request, so a renewal switches the
// identity of the next request without rebuilding the clients; before the first credential exists, the bootstrap
// authentication of the base options (HTTP Basic, RFC 7030 §3.2.3) is used instead. Basic credentials are never
// sent once the device has a certificate.
import type { DeviceCredential } from '../../identity/device-identity.js';
import type { ClientAuthOptions, HttpsTransportOptions, Transport, TransportRequest, TransportResponse } from './transport.js';
import { createHttpsTransport } from './transport.js';

export interface CredentialTransportOptions {
  /** Trust anchors, limits and timeouts (and the bootstrap Basic credentials) shared by every request. */
  base: HttpsTransportOptions;
  /** The credential to authenticate with now (DeviceIdentity.current); undefined before the first enrollment. */
  current: () => Promise<DeviceCredential | undefined>;
  /** Builds the underlying transport (default createHttpsTransport). */
  create?: (opts: HttpsTransportOptions) => Transport;
}

export interface CredentialTransport extends Transport {
  /** Which authentication the last request used ('bootstrap' or the credential id). */
  readonly lastIdentity: string | undefined;
}

/**
 * Keeps one client per identity: `build(undefined)` before the first credential, `build(clientAuth)` after; a new
 * credential id builds a new client (the previous one is dropped). Shared by the request/response transport and the
 * streaming firmware client.
 */
export function credentialScoped<T>(
  current: () => Promise<DeviceCredential | undefined>,
  build: (clientAuth: ClientAuthOptions | undefined) => T,
): () => Promise<{ client: T; identity: string }> {
  let bootstrap: T | undefined;
  let device: { id: string; client: T } | undefined;
  return async () => {
    const cred = await current();
    if (!cred) return { client: (bootstrap ??= build(undefined)), identity: 'bootstrap' };
    if (device?.id !== cred.id) device = { id: cred.id, client: build(await cred.tls()) };
    return { client: device.client, identity: cred.id };
  };
}

export function createCredentialTransport(opts: CredentialTransportOptions): CredentialTransport {
  const create = opts.create ?? createHttpsTransport;
  const { basicAuth: _basic, clientAuth: _client, ...shared } = opts.base;
  const scoped = credentialScoped(opts.current, (clientAuth) => (clientAuth ? create({ ...shared, clientAuth }) : create(opts.base)));
  let lastIdentity: string | undefined;
  return {
    get lastIdentity() {
      return lastIdentity;
    },
    async request(req: TransportRequest): Promise<TransportResponse> {
      const { client, identity } = await scoped();
      lastIdentity = identity;
      return client.request(identity === 'bootstrap' ? req : { ...req, basicAuth: false });
    },
  };
}
