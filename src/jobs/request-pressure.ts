/**
 * Whether requests keep this process's event loop saturated: the loop was busy at least
 * SATURATED of the last window and it answered requests in that window. The job worker reads
 * it to let a burst of requests (a CI pipeline's pushes) go first and run the background work
 * they queued (their images' scans) right after (worker.ts). Jobs alone never count as
 * pressure: a loop kept busy by jobs without requests is the jobs' own to use.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

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
