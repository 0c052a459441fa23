// Processing order of PAL entries, from RFC 8295 §2.3 ("an order of precedence for PAL offerings"):
//   1. /cacerts and /crls — "the most important because they support validation decisions on certificates used
//      to sign and encrypt other listed PAL items" (0002, then 0004/0005: CA certificates validate the CRLs).
//   2. /csrattrs — "next in importance" (0006, 0013).
//   3. /simpleenroll, /simplereenroll, /fullcmc — "next in importance" (0007–0012, 0014–0019); a client "SHOULD
//      accept and process CA-provided transactions as soon as possible".
//   4. /symmetrickeys, /firmware, /tamp, /eecerts "are last" (0024, 0026, 0028/30/32/34/36, 0003); "Precedence
//      SHOULD be given to packages that the client has not previously downloaded" — entries without a date first.
//   5. Receipts / confirms / errors the server asks for (0023, 0025, 0027, 0029, …, 0037): §2 says these entries are
//      placed after the entries that delivered the packages (the receipt request), Appendix A shows them after the
//      packages, so they go after every retrieval.
// Silent in the RFC, our choices: asymmetric key packages 0020–0022 (/serverkeygen or /fullcmc) rank with
// enrollment (3): they are RFC 7030 §4.4 enrollments and may use /fullcmc, which §2.3 lists in 3. Note the RFC puts
// /tamp (trust anchor management) in the last group, after certificates and enrollment — not first.
// Within a rank the server's order is kept (stable sort). 0001 pointers are the chain's business (chain.ts) and are
// set aside; reserved 0000 and unregistered codes are returned as `unknown` for the caller to log and skip.
import { packageTypeInfo, PackageType, type PackageKind, type PalEntry } from './model.js';

/** §2.3 rank of each processable kind (lower runs first). */
export const KIND_RANK: Readonly<Record<Exclude<PackageKind, 'pal'>, number>> = {
  cacerts: 10,
  crls: 11,
  csrattrs: 20,
  enroll: 30,
  serverkeygen: 30,
  symmetrickeys: 40,
  firmware: 40,
  tamp: 40,
  eecerts: 40,
  return: 50,
};

export interface OrderedEntry {
  /** Position in the input list. */
  index: number;
  entry: PalEntry;
  kind: Exclude<PackageKind, 'pal'>;
  rank: number;
}

export interface SetAsideEntry {
  index: number;
  entry: PalEntry;
  reason: 'unknown-type' | 'reserved-type' | 'chain-pointer';
}

export interface PrecedenceResult {
  /** Entries to process, in §2.3 order. */
  ordered: OrderedEntry[];
  /** Entries not processed: unknown or reserved types (report them), and 0001 pointers (already followed). */
  setAside: SetAsideEntry[];
}

/** Orders entries for processing per §2.3; never throws for an unknown type. */
export function orderByPrecedence(entries: readonly PalEntry[]): PrecedenceResult {
  const ordered: OrderedEntry[] = [];
  const setAside: SetAsideEntry[] = [];
  entries.forEach((entry, index) => {
    const info = packageTypeInfo(entry.type);
    if (!info) setAside.push({ index, entry, reason: 'unknown-type' });
    else if (info.kind === 'reserved') setAside.push({ index, entry, reason: 'reserved-type' });
    else if (info.kind === 'pal' || entry.type === PackageType.AdditionalPal) setAside.push({ index, entry, reason: 'chain-pointer' });
    else ordered.push({ index, entry, kind: info.kind, rank: KIND_RANK[info.kind] });
  });
  // Array.prototype.sort is stable (ES2019); the key adds "not yet downloaded first" inside the last-products rank.
  const undatedFirst = (o: OrderedEntry): number => (o.rank === KIND_RANK.firmware && o.entry.date !== undefined ? 1 : 0);
  ordered.sort((a, b) => a.rank - b.rank || undatedFirst(a) - undatedFirst(b) || a.index - b.index);
  return { ordered, setAside };
}
