// Convenience facade over the per-operation functions, bound to one EST server (+ label) and Transport. Every
// operation decodes or builds DER: its module (and the ASN.1 stack) is loaded at the first call, not with the facade.
import type * as pkijs from 'pkijs';
import type { BootstrapOptions, CaCertsResult } from './cacerts.js';
import { checkLabel, type EstContext } from './context.js';
import type { CsrAttrs } from './csrattrs.js';
import type { EnrollOptions, EstEnrollResult } from './enroll-response.js';
import type { ReenrollOptions } from './simplereenroll.js';
import { lazyModule } from '../../util/lazy-import.js';

const cacertsOp = lazyModule('the EST /cacerts operation', () => import('./cacerts.js'));
const csrattrsOp = lazyModule('the EST /csrattrs operation', () => import('./csrattrs.js'));
const simpleEnrollOp = lazyModule('the EST /simpleenroll operation', () => import('./simpleenroll.js'));
const simpleReenrollOp = lazyModule('the EST /simplereenroll operation', () => import('./simplereenroll.js'));

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
  async cacerts(opts?: { trustAnchors?: Array<pkijs.Certificate | Uint8Array> }): Promise<CaCertsResult> {
    return (await cacertsOp()).getCaCerts(this.ctx, opts);
  }
  async csrattrs(): Promise<CsrAttrs> {
    return (await csrattrsOp()).getCsrAttrs(this.ctx);
  }
  async simpleEnroll(csrDer: Uint8Array, opts?: EnrollOptions): Promise<EstEnrollResult> {
    return (await simpleEnrollOp()).simpleEnroll(this.ctx, csrDer, opts);
  }
  async simpleReenroll(csrDer: Uint8Array, opts?: ReenrollOptions): Promise<EstEnrollResult> {
    return (await simpleReenrollOp()).simpleReenroll(this.ctx, csrDer, opts);
  }
  static async bootstrap(opts: BootstrapOptions): Promise<CaCertsResult> {
    return (await cacertsOp()).bootstrapCaCerts(opts);
  }
}

export type { EstEnrollResult, EnrollOptions, ReenrollOptions, CaCertsResult, CsrAttrs, BootstrapOptions };
