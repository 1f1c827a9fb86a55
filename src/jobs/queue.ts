/**
 * The durable job queue as the rest of Berth sees it: enqueue a job of some kind with a JSON
 * payload, look jobs up by status. Rows live in the metadata store, so a job queued in the
 * transaction of the change that caused it (an outbox row) is never lost, and any node's
 * worker (worker.ts) may run it.
 */
import type { JobQueries, JobRecord, JobStatus } from '../metadata/store.js';

export interface EnqueueOptions {
  /** Attempts before the job is failed for good. Default 5. */
  maxAttempts?: number;
  /** Not run before this many milliseconds from now. Default 0. */
  delayMs?: number;
}

export class JobQueue {
  constructor(
    private readonly jobs: JobQueries,
    private readonly now: () => number = Date.now,
  ) {}

  /** Queues a job; returns its id. */
  async enqueue(kind: string, payload: unknown, opts: EnqueueOptions = {}): Promise<number> {
    return (await this.insert(kind, payload, undefined, opts))!;
  }

  /**
   * Queues a job unless a queued or running job holds `dedupeKey` (one sweep at a time,
   * whatever the number of nodes offering it). The new id, or undefined when skipped.
   */
  offer(kind: string, payload: unknown, dedupeKey: string, opts: EnqueueOptions = {}): Promise<number | undefined> {
    return this.insert(kind, payload, dedupeKey, opts);
  }

  private insert(kind: string, payload: unknown, dedupeKey: string | undefined, opts: EnqueueOptions): Promise<number | undefined> {
    const now = this.now();
    return this.jobs.enqueue({ kind, payload, maxAttempts: opts.maxAttempts ?? 5, runAt: now + (opts.delayMs ?? 0), dedupeKey }, now);
  }

  get(id: number): Promise<JobRecord | undefined> {
    return this.jobs.get(id);
  }

  list(filter: { status?: JobStatus; kind?: string; after?: number; limit?: number } = {}): Promise<JobRecord[]> {
    return this.jobs.list({ ...filter, limit: Math.min(filter.limit ?? 100, 1000) });
  }
}
