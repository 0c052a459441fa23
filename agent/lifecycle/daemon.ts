// The agent's main loop: one task at a time (never two enrollments), woken by the earliest of
// the next cron poll (+ jitter), a retry/backoff deadline, or the renewal time. Time comes from the injected Clock.
import type { Clock } from './clock.js';
import type { Enroller, StepOutcome } from './enroller.js';
import { CronSchedule, withJitter, backoffSeconds, type Random } from './schedule.js';
import type { Logger } from '../util/log.js';
import type { AgentState } from './state.js';
import { EnrolldError } from '../util/errors.js';

export interface PollOutcome {
  /** The server asked for re-enrollment (PAL enrollment package, or CA change). */
  renew?: boolean;
}

/** A periodic poll (the PAL cycle). Errors are logged and backed off; they never stop the loop. */
export interface Poller {
  poll(state: AgentState): Promise<PollOutcome>;
}

export interface DaemonDeps {
  clock: Clock;
  log: Logger;
  enroller: Enroller;
  schedule: CronSchedule;
  jitterSeconds: number;
  backoffMinSeconds: number;
  backoffMaxSeconds: number;
  poller?: Poller;
  random?: Random;
  /** Called once state is loaded, before the first enrollment (sd_notify READY). */
  onReady?(state: AgentState): void;
  /** Called after each loop iteration (watchdog, status). */
  onIdle?(state: AgentState, nextWake: Date): void;
}

/** Never wake more often than this, whatever a broken schedule or server says: no hot loop. */
const MIN_GAP_MS = 1000;

export class Daemon {
  private nextPoll: Date;
  private pollFailures = 0;
  /** Consecutive enrollment steps that threw (the state itself could not be read or written): in-memory backoff. */
  private stepFailures = 0;
  private stepRetryAt: Date | undefined;
  private forceRenew = false;
  iterations = 0;

  constructor(private readonly d: DaemonDeps) {
    this.nextPoll = this.d.clock.now();
  }

  /** Requests a renewal at the next iteration (CLI `enroll --now`, PAL). */
  requestRenewal(): void {
    this.forceRenew = true;
  }

  /** Runs until the signal aborts. Resolves (does not reject) on abort. */
  async run(signal: AbortSignal): Promise<void> {
    let state = await this.d.enroller.bootstrap();
    this.d.onReady?.(state);
    // A poll backoff persisted before a restart still holds.
    const now = this.d.clock.now();
    const persisted = state.pollRetry ? new Date(state.pollRetry.until) : undefined;
    this.nextPoll = persisted && persisted > now ? persisted : now;
    this.pollFailures = state.pollRetry?.attempt ?? 0;
    while (!signal.aborted) {
      state = await this.iterate(state);
      const wake = this.nextWake(state);
      this.d.onIdle?.(state, wake);
      try {
        await this.d.clock.sleepUntil(wake, signal);
      } catch {
        break;
      }
    }
    this.d.log.info('daemon.stopped', { iterations: this.iterations });
  }

  /** One iteration: poll if due, then enrollment if due. Exposed for `enrolld once`. */
  async iterate(state: AgentState, opts: { pollNow?: boolean } = {}): Promise<AgentState> {
    this.iterations++;
    const now = this.d.clock.now();
    if (this.d.poller && (opts.pollNow || now.getTime() >= this.nextPoll.getTime())) {
      let failure: unknown;
      let failed = false;
      try {
        const out = await this.d.poller.poll(state);
        if (out.renew) this.forceRenew = true;
      } catch (err) {
        failed = true;
        failure = err;
      }
      if (!failed) {
        this.pollFailures = 0;
        this.nextPoll = withJitter(this.d.schedule.next(this.d.clock.now()), this.d.jitterSeconds, this.d.random);
        if (state.pollRetry) state = (await this.d.enroller.recordPoll({ ok: true }).catch(() => undefined)) ?? state;
      } else {
        this.pollFailures++;
        const secs = backoffSeconds(this.pollFailures, this.d.backoffMinSeconds, this.d.backoffMaxSeconds, this.d.random);
        const cron = this.d.schedule.next(this.d.clock.now());
        const retry = new Date(this.d.clock.now().getTime() + secs * 1000);
        this.nextPoll = retry < cron ? retry : cron;
        const code = failure instanceof EnrolldError ? failure.code : 'internal';
        this.d.log.warn('poll.failed', { code, err: failure, retryAt: this.nextPoll });
        state = (await this.d.enroller.recordPoll({ ok: false, until: this.nextPoll, reason: code }).catch((err) => void this.d.log.warn('poll.backoff-not-persisted', { err }))) ?? state;
      }
    } else if (!this.d.poller && now.getTime() >= this.nextPoll.getTime()) {
      this.nextPoll = withJitter(this.d.schedule.next(now), this.d.jitterSeconds, this.d.random);
    }
    if (this.stepRetryAt && this.d.clock.now() < this.stepRetryAt) return state;
    const force = this.forceRenew && state.phase === 'enrolled' && !state.retry;
    let out: StepOutcome | undefined;
    try {
      out = await this.d.enroller.step({ force });
      if (force) this.forceRenew = false;
      this.stepFailures = 0;
      this.stepRetryAt = undefined;
    } catch (err) {
      // Every failure inside a step goes through the enroller's persisted backoff; what reaches here is the state
      // itself failing (unreadable, unwritable): back off in memory, the persisted backoff is out of reach.
      this.stepFailures++;
      const secs = backoffSeconds(this.stepFailures, this.d.backoffMinSeconds, this.d.backoffMaxSeconds, this.d.random);
      this.stepRetryAt = new Date(this.d.clock.now().getTime() + secs * 1000);
      this.d.log.error('enroll.step-error', { err, retryAt: this.stepRetryAt });
    }
    return out?.state ?? (await this.d.enroller.loadState().catch(() => state));
  }

  nextWake(state: AgentState): Date {
    const now = this.d.clock.now().getTime();
    const candidates = [this.nextPoll.getTime()];
    const due = this.stepRetryAt ?? this.d.enroller.nextDue(state);
    if (due) candidates.push(due.getTime());
    if (this.forceRenew && !this.stepRetryAt && state.phase === 'enrolled' && !state.retry) candidates.push(now);
    return new Date(Math.max(now + MIN_GAP_MS, Math.min(...candidates)));
  }
}
