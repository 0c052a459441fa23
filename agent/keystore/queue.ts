// One FIFO promise queue: every TPM call goes through it so that one job (load → use → flush) owns the TPM's few
// transient slots at a time. A failing job rejects its own promise and does not stall the jobs behind it.

export class PromiseQueue {
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;

  /** Jobs waiting or running. */
  get size(): number {
    return this.queued;
  }

  /** Runs `job` after every job enqueued before it has settled; resolves/rejects with the job's outcome. */
  run<T>(job: () => Promise<T> | T): Promise<T> {
    this.queued++;
    const result = this.tail.then(() => job());
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.tail = settled.then(() => {
      this.queued--;
    });
    return result;
  }

  /** Resolves once every job enqueued so far has settled. */
  idle(): Promise<void> {
    return this.tail;
  }
}
