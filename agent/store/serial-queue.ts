// One operation at a time: each runs after every earlier one settled (a failure does not stop the queue). The
// stores use it so that a write and a reload never interleave.
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<R>(fn: () => Promise<R>): Promise<R> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
