/**
 * Coalesces read barriers: a caller needs a round trip that *starts after* its call, so
 * callers arriving while one is in flight share the next one (at most one waits queued).
 * Under load one round trip serves every request that arrived during the previous one.
 */
export class Barrier {
  private inflight: Promise<boolean> | undefined;
  private queued: Promise<boolean> | undefined;

  constructor(private readonly roundTrip: () => Promise<boolean>) {}

  wait(): Promise<boolean> {
    if (!this.inflight) return this.start();
    this.queued ??= this.inflight.then(() => {
      this.queued = undefined;
      return this.start();
    });
    return this.queued;
  }

  private start(): Promise<boolean> {
    const p: Promise<boolean> = this.roundTrip()
      .catch(() => false)
      .finally(() => {
        if (this.inflight === p) this.inflight = undefined;
      });
    this.inflight = p;
    return p;
  }
}
