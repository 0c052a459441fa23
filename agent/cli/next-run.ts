// The daemon's next scheduled wake-up, persisted for `enrolld status` (state dir, 0600, one atomic write per idle):
// `enrolld run` writes it every time it goes to sleep, `enrolld once` after its iteration.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../store/atomic-file.js';

export const NEXT_RUN_FILE = 'next-run.json';

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

export async function writeNextRun(stateDir: string, at: Date, by: NextRun['by'], now: Date = new Date(), reason?: string): Promise<void> {
  const v: NextRun = { at: at.toISOString(), computedAt: now.toISOString(), pid: process.pid, by, ...(reason ? { reason } : {}) };
  await writeFileAtomic(path.join(stateDir, NEXT_RUN_FILE), JSON.stringify(v) + '\n');
}

/** undefined when never written or unreadable. */
export async function readNextRun(stateDir: string): Promise<NextRun | undefined> {
  try {
    const v = JSON.parse(await readFile(path.join(stateDir, NEXT_RUN_FILE), 'utf8')) as Partial<NextRun>;
    return typeof v.at === 'string' && typeof v.computedAt === 'string' ? (v as NextRun) : undefined;
  } catch {
    return undefined;
  }
}
