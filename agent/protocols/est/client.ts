// Convenience facade over the per-operation functions, bound to one EST server (+ label) and Transport.
import type * as pkijs from 'pkijs';
import { bootstrapCaCerts, getCaCerts, type BootstrapOptions, type CaCertsResult } from './cacerts.js';
import { checkLabel, type EstContext } from './context.js';
import { getCsrAttrs, type CsrAttrs } from './csrattrs.js';
import type { EnrollOptions, EstEnrollResult } from './enroll-response.js';
import { simpleEnroll } from './simpleenroll.js';
import { simpleReenroll, type ReenrollOptions } from './simplereenroll.js';

export class EstClient {
  constructor(readonly ctx: EstContext) {
    if (ctx.label !== undefined) checkLabel(ctx.label);
  }
  /** Same server and transport, another label (§3.2.2). */
  withLabel(label: string | undefined): EstClient {
    const { label: _old, ...rest } = this.ctx;
    return new EstClient(label === undefined ? rest : { ...rest, label });
  }
  /** Same server, another transport (e.g. TLS client auth with the current credential for re-enrollment). */
  withTransport(transport: EstContext['transport']): EstClient {
    return new EstClient({ ...this.ctx, transport });
  }
  cacerts(opts?: { trustAnchors?: Array<pkijs.Certificate | Uint8Array> }): Promise<CaCertsResult> {
    return getCaCerts(this.ctx, opts);
  }
  csrattrs(): Promise<CsrAttrs> {
    return getCsrAttrs(this.ctx);
  }
  simpleEnroll(csrDer: Uint8Array, opts?: EnrollOptions): Promise<EstEnrollResult> {
    return simpleEnroll(this.ctx, csrDer, opts);
  }
  simpleReenroll(csrDer: Uint8Array, opts?: ReenrollOptions): Promise<EstEnrollResult> {
    return simpleReenroll(this.ctx, csrDer, opts);
  }
  static bootstrap(opts: BootstrapOptions): Promise<CaCertsResult> {
    return bootstrapCaCerts(opts);
  }
}

export type { EstEnrollResult, EnrollOptions, ReenrollOptions, CaCertsResult, CsrAttrs, BootstrapOptions };
