// pkijs builds a fresh asn1js schema tree on every fromSchema (Certificate, and GeneralName with its ORAddress for
// each AuthorityKeyIdentifier read during path building): the trees of the classes below are built once per
// parameter set instead. Safe because asn1js.compareSchema only reads its schema argument (it records matches on the
// decoded input) and pkijs only reads the blocks of schemas it embeds (`X.schema().valueBlock.value`).
import * as pkijs from 'pkijs';

type SchemaBuilder = { schema: (...args: unknown[]) => unknown };

const MEMOISED: SchemaBuilder[] = [
  pkijs.Certificate,
  pkijs.CertificationRequest,
  pkijs.CertificateRevocationList,
  pkijs.ContentInfo,
  pkijs.AlgorithmIdentifier,
  pkijs.PublicKeyInfo,
  pkijs.RelativeDistinguishedNames,
  pkijs.AttributeTypeAndValue,
  pkijs.Attribute,
  pkijs.Time,
  pkijs.Extension,
  pkijs.Extensions,
  pkijs.AuthorityKeyIdentifier,
  pkijs.GeneralName,
  pkijs.GeneralNames,
  pkijs.BasicConstraints,
  pkijs.ExtKeyUsage,
] as unknown as SchemaBuilder[];

const done = new WeakSet<SchemaBuilder>();

/**
 * Wraps each class's static schema() with a cache keyed by all its (plain-data) arguments — GeneralNames, Time and
 * Extensions take a second one (optional) — ; idempotent.
 */
export function memoisePkijsSchemas(): void {
  for (const cls of MEMOISED) {
    if (done.has(cls)) continue;
    done.add(cls);
    const build = cls.schema.bind(cls);
    const cache = new Map<string, unknown>();
    cls.schema = (...args: unknown[]): unknown => {
      const key = args.length === 0 ? '' : JSON.stringify(args);
      let s = cache.get(key);
      if (s === undefined) {
        s = build(...args);
        cache.set(key, s);
      }
      return s;
    };
  }
}

memoisePkijsSchemas();
