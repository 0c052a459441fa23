// The features an agent is composed of, in composition order: an enrollment protocol (the one config.protocol
// names) and the RFC 8295 package kinds the configuration enables. Adding one = a folder with
// `compose(ctx) → FeatureParts` and one line here. Modules load only when enabled (start-up time, memory).
import type { Config } from '../config.js';
import { loadCert } from '../pki/lazy-modules.js';
import type { FeatureContext, FeatureParts } from './feature.js';

interface FeatureEntry {
  name: string;
  /** `{ section }` (the feature's config section) when it is enabled, undefined when not. */
  section(config: Config): { section: unknown } | undefined;
  load(): Promise<{ compose(ctx: FeatureContext<never>): Promise<FeatureParts> }>;
  /** Starts without the ASN.1 stack (EST, firmware, TAMP, key packages: their modules load it at their first DER operation). */
  light?: true;
}

const when = <T>(on: boolean, section: T): { section: T } | undefined => (on ? { section } : undefined);

export const FEATURES: readonly FeatureEntry[] = [
  { name: 'est', section: (c) => when(c.protocol === 'est', c.est), load: () => import('./est/index.js'), light: true },
  { name: 'cmp', section: (c) => when(c.protocol === 'cmp', c.cmp), load: () => import('./cmp/index.js') },
  { name: 'cmc', section: (c) => when(c.protocol === 'cmc', c.cmc), load: () => import('./cmc/index.js') },
  { name: 'acme', section: (c) => when(c.protocol === 'acme', c.acme), load: () => import('./acme/index.js') },
  { name: 'firmware', section: (c) => when(!!c.firmware, c.firmware), load: () => import('./firmware/index.js'), light: true },
  { name: 'tamp', section: (c) => when(!!c.tamp, c.tamp), load: () => import('./tamp/index.js'), light: true },
  { name: 'key-packages', section: (c) => when(!!c.keyPackages, c.keyPackages), load: () => import('./key-packages/index.js'), light: true },
];

/** Composes every enabled feature with the shared context and its own section. */
export async function composeFeatures(shared: Omit<FeatureContext, 'section'>): Promise<Array<FeatureParts & { name: string }>> {
  const out: Array<FeatureParts & { name: string }> = [];
  try {
    for (const f of FEATURES) {
      const on = f.section(shared.config);
      if (!on) continue;
      // The other features' modules load the ASN.1 stack with them, and read the TA store's decoded certificates
      // (TrustAnchor.certificate/subject) synchronously: its decoder is loaded with them.
      if (!f.light) await loadCert();
      const parts = await (await f.load()).compose({ ...shared, section: on.section } as FeatureContext<never>);
      out.push({ ...parts, name: f.name });
    }
  } catch (err) {
    for (const p of out) await p.close?.().catch(() => undefined);
    throw err;
  }
  return out;
}
