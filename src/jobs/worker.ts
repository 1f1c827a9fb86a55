/**
 * A job worker: one per process, started by main.ts with the handlers registered there by
 * kind. It claims due jobs (row locks in the store keep two workers off the same job), runs
 * each with an AbortSignal that fires when its lease (the job's timeout) ends or the worker
 * stops, and records the outcome: success, a retry after exponential backoff, or failure
 * once the attempts are spent. A worker that dies leaves its jobs running with a lease that
 * expires; any other worker then claims them again.
 *
 * Jobs yield to a burst of requests: while requests keep the event loop saturated the worker
 * claims nothing, for at most `yieldMs` in a row (request-pressure.ts), so a CI pipeline's
 * pushes are answered first and the scans they queued run right after.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { JobQueries, JobRecord } from '../metadata/store.js';
import type { BurstYield } from './request-pressure.js';

export interface JobContext {
  job: JobRecord;
  /** Aborted when the job's lease ends (timeout) or the worker shuts down. */
  signal: AbortSignal;
}

export type JobHandler = (payload: unknown, ctx: JobContext) => Promise<void>;

export interface WorkerOptions {
  /** Names this worker in `locked_by`. Default: host, pid and a random suffix. */
  id?: string;
  concurrency: number;
  pollMs: number;
  /** How long one attempt may run before its job may be claimed again. */
  leaseMs: number;
  /** Delay before the second attempt; doubled for each further one, up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
  logger: Logger;
  now?: () => number;
  /** Holds claims back while requests saturate the loop (request-pressure.ts). */
  burst?: BurstYield;
}

export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

export class JobWorker {
  readonly id: string;
  private readonly running = new Set<Promise<void>>();
  private readonly now: () => number;

  constructor(
    private readonly jobs: JobQueries,
    private readonly handlers: ReadonlyMap<string, JobHandler>,
    private readonly opts: WorkerOptions,
  ) {
    this.id = opts.id ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.now = opts.now ?? Date.now;
  }

  private wakeUp: (() => void) | undefined;

  /** Looks for due jobs now instead of at the next poll (this process just queued some). */
  wake(): void {
    this.wakeUp?.();
  }

  /** Works until `signal` aborts, then waits for the jobs in progress (which see the abort). */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.opts.burst?.wait(signal);
      if (signal.aborted) break;
      let claimed = 0;
      try {
        claimed = await this.fill(signal);
      } catch (e) {
        this.opts.logger.error({ err: e }, 'job claim failed');
      }
      // Busy: wait for a slot. Idle: wait for the poll interval. Either way wake on abort.
      const slotFree = this.running.size >= this.opts.concurrency ? Promise.race(this.running) : undefined;
      if (slotFree) await untilAborted(slotFree, signal);
      else if (claimed === 0) {
        await sleep(this.opts.pollMs, signal, (wake) => (this.wakeUp = wake));
        this.wakeUp = undefined;
      }
    }
    await Promise.allSettled([...this.running]);
  }

  /** Claims and runs what is due now (up to the free slots); resolves when those jobs are done. */
  async runOnce(signal: AbortSignal = new AbortController().signal): Promise<number> {
    const n = await this.fill(signal);
    await Promise.allSettled([...this.running]);
    return n;
  }

  private async fill(signal: AbortSignal): Promise<number> {
    const free = this.opts.concurrency - this.running.size;
    if (free <= 0 || this.handlers.size === 0) return 0;
    const now = this.now();
    const jobs = await this.jobs.claim(this.id, [...this.handlers.keys()], free, now + this.opts.leaseMs, now);
    for (const job of jobs) {
      const p = this.execute(job, signal).finally(() => this.running.delete(p));
      this.running.add(p);
    }
    return jobs.length;
  }

  private async execute(job: JobRecord, stop: AbortSignal): Promise<void> {
    const log = this.opts.logger.child({ job: job.id, kind: job.kind, attempt: job.attempts });
    // The handler is stopped a little before the lease ends, so its failure is recorded
    // before another worker may claim the job again.
    const margin = Math.min(1000, this.opts.leaseMs / 10);
    const timeout = AbortSignal.timeout(Math.max(1, (job.lockedUntil ?? this.now()) - margin - this.now()));
    const signal = AbortSignal.any([stop, timeout]);
    try {
      await this.handlers.get(job.kind)!(job.payload, { job, signal });
      if (signal.aborted) throw signal.reason ?? new Error('aborted');
      if (!(await this.jobs.complete(job.id, this.id, job.attempts, this.now()))) log.warn('job finished after its lease passed to another worker');
    } catch (e) {
      const message = timeout.aborted ? `timed out after ${this.opts.leaseMs - margin} ms` : e instanceof Error ? e.message : String(e);
      const retryAt = job.attempts < job.maxAttempts ? this.now() + backoffDelay(job.attempts, this.opts.backoffMs ?? 1000, this.opts.maxBackoffMs ?? 3_600_000) : null;
      log.warn({ err: message, retryAt }, retryAt === null ? 'job failed for good' : 'job failed; will retry');
      await this.jobs.fail(job.id, this.id, job.attempts, message, retryAt, this.now()).catch((err: unknown) => log.error({ err }, 'recording a job failure failed'));
    }
  }
}

/**
 * Waits `ms`, or until `signal` aborts or the function handed to `onWake` is called. (A wake is
 * a plain call, not an AbortController: every push wakes the worker, and an abort builds a
 * DOMException with its stack trace each time.)
 */
function sleep(ms: number, signal: AbortSignal, onWake: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
    onWake(done);
  });
}

/** Settles when `p` settles or `signal` aborts, whichever comes first, leaving no listener behind. */
function untilAborted(p: Promise<unknown>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    p.then(done, done);
  });
}
