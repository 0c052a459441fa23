// The last PAL poll, as `enrolld status` shows it: pal-last-poll.json in the state dir, a DocumentStore (one save
// per poll by the daemon; read-only for `enrolld status`).
import { DocumentStore } from '../store/document-store.js';
import { PAL_LAST_POLL_FILE } from '../store/layout.js';

export const PAL_STATUS_FILE = PAL_LAST_POLL_FILE;

export interface PalPollSummary {
  at: string;
  outcome: 'ok' | 'error';
  pages: number;
  entries: number;
  counts: { ok: number; failed: number; skipped: number; notRun: number };
  codes: string[];
  renew: boolean;
  error?: string;
}

const isSummary = (v: unknown): v is PalPollSummary => typeof v === 'object' && v !== null && typeof (v as PalPollSummary).at === 'string' && typeof (v as PalPollSummary).outcome === 'string';

function summaryStore(stateDir: string): DocumentStore<PalPollSummary> {
  return new DocumentStore<PalPollSummary>({ dir: stateDir, name: PAL_LAST_POLL_FILE, kind: 'enrolld-pal-last-poll', version: 1, validate: isSummary, legacy: (j) => (isSummary(j) ? j : undefined), pretty: false, previous: false });
}

/** The writer of one agent (serialises its saves). */
export function palSummaryWriter(stateDir: string): (s: PalPollSummary) => Promise<void> {
  const store = summaryStore(stateDir);
  return (s) => store.save(s);
}

/** The last PAL poll summary, or undefined when never polled (or unreadable: shown as "never"). Read-only. */
export function readPalSummary(stateDir: string): Promise<PalPollSummary | undefined> {
  return summaryStore(stateDir).peekData();
}
