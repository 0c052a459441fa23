// The daemon's next scheduled wake-up, persisted for `enrolld status` (next-run.json in the state dir, a
// DocumentStore, one save per idle): `enrolld run` writes it every time it goes to sleep, `enrolld once` after its
// iteration.
import { DocumentStore } from '../store/document-store.js';
import { NEXT_RUN_FILE } from '../store/layout.js';

export { NEXT_RUN_FILE };

export interface NextRun {
  /** When the agent will next poll the PAL / step the enrollment (the earlier of the two, jitter included). */
  at: string;
  /** When this was computed, by which process and command. */
  computedAt: string;
  pid: number;
  by: 'run' | 'once' | 'enroll';
  /** Why it wakes then (renewal due, retry after a failure, PAL poll schedule, …). */
  reason?: string;
}

const isNextRun = (v: unknown): v is NextRun => typeof v === 'object' && v !== null && typeof (v as NextRun).at === 'string' && typeof (v as NextRun).computedAt === 'string';

function nextRunStore(stateDir: string): DocumentStore<NextRun> {
  return new DocumentStore<NextRun>({ dir: stateDir, name: NEXT_RUN_FILE, kind: 'enrolld-next-run', version: 1, validate: isNextRun, legacy: (j) => (isNextRun(j) ? j : undefined), pretty: false, previous: false });
}

export async function writeNextRun(stateDir: string, at: Date, by: NextRun['by'], now: Date = new Date(), reason?: string): Promise<void> {
  const v: NextRun = { at: at.toISOString(), computedAt: now.toISOString(), pid: process.pid, by, ...(reason ? { reason } : {}) };
  await nextRunStore(stateDir).save(v);
}

/** undefined when never written or unreadable. Read-only. */
export function readNextRun(stateDir: string): Promise<NextRun | undefined> {
  return nextRunStore(stateDir).peekData();
}
