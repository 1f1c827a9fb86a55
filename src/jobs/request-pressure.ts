/**
 * Whether requests keep this process's event loop saturated: the loop was busy at least
 * SATURATED of the last window and it answered requests in that window. Background work (the
 * job worker, the event dispatcher) yields to it (BurstYield), so a burst of requests (a CI
 * pipeline's pushes) goes first and the work it queued (its images' scans, its webhooks) runs
 * right after. Jobs alone never count as pressure: a loop kept busy by jobs without requests
 * is the jobs' own to use.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** Share of a window the loop must be busy for it to count as saturated. */
const SATURATED = 0.9;

export interface RequestPressure {
  /** Whether the last full window was saturated by requests. */
  saturated(): boolean;
  /** How often `saturated()` may change, in milliseconds (a waiter checks again after it). */
  readonly windowMs: number;
}

export class LoopPressure implements RequestPressure {
  private answered = 0;
  private answeredBefore = 0;
  private last: EventLoopUtilization = performance.eventLoopUtilization();
  private busy = false;
  private readonly timer: NodeJS.Timeout;

  constructor(readonly windowMs = 200) {
    // One sample per window, off the request path (a request only counts itself).
    this.timer = setInterval(() => this.sample(), windowMs);
    this.timer.unref();
  }

  /** Counts an answered request (the server calls it once per response). */
  answer(): void {
    this.answered++;
  }

  saturated(): boolean {
    return this.busy;
  }

  private sample(): void {
    const now = performance.eventLoopUtilization();
    const window = performance.eventLoopUtilization(now, this.last);
    this.busy = window.utilization >= SATURATED && this.answered > this.answeredBefore;
    this.last = now;
    this.answeredBefore = this.answered;
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/**
 * Holds background work back while requests saturate the loop, for at most `yieldMs` in a
 * row. Saturation that outlasts it gets the work running alongside the requests again until
 * the loop has a window that is not saturated, so nothing waits more than `yieldMs` longer
 * than it would have.
 */
export class BurstYield {
  /** When the current run of saturated windows began to hold work back. */
  private since: number | undefined;

  constructor(
    private readonly pressure: RequestPressure,
    private readonly yieldMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves once the work may go on (at once when the loop is not saturated, or on abort). */
  async wait(signal: AbortSignal): Promise<void> {
    if (this.yieldMs <= 0) return;
    while (!signal.aborted && this.pressure.saturated()) {
      this.since ??= this.now();
      if (this.now() - this.since >= this.yieldMs) return; // spent: alongside until the loop has room
      await sleep(this.pressure.windowMs, undefined, { signal }).catch(() => {}); // an abort ends the wait
    }
    this.since = undefined;
  }
}
