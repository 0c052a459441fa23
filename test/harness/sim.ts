// Drives code that sleeps on a ManualClock: waits (in real time, bounded) until everything is asleep, then
// jumps the clock to the earliest wake-up. Real I/O (TLS to the lab server, TPM) happens in between.
import type { ManualClock } from '../../agent/lifecycle/clock.js';

export async function waitUntilAsleep(clock: ManualClock, sleepers = 1, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (clock.pending < sleepers) {
    if (Date.now() > deadline) throw new Error(`nothing went to sleep within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, clock.pending >= sleepers ? 0 : 2));
  }
}

/** Runs the simulation until `end`, returning how many wake-ups happened. Bounded by `maxSteps`. */
export async function simulateUntil(clock: ManualClock, end: Date, maxSteps = 100_000): Promise<number> {
  let steps = 0;
  for (; steps < maxSteps; steps++) {
    await waitUntilAsleep(clock);
    const next = clock.nextWake();
    if (!next || next > end) break;
    await clock.advanceTo(next);
  }
  await clock.advanceTo(end).catch(() => undefined);
  return steps;
}
