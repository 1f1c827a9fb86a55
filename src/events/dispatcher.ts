/**
 * The outbox dispatcher: reads events in id order after its cursor and hands each to every
 * consumer, in one transaction that also moves the cursor. A consumer reacts only by writing
 * rows in that transaction (a webhook delivery, a replication run) and enqueuing jobs
 * (`tx.jobs.enqueue`), so an event's hand-off commits exactly once: if the process dies
 * before the commit, nothing was handed off and the next pass takes the same events again;
 * after it, the jobs are durable and any node's worker runs them.
 *
 * Every node runs a dispatcher. The cursor moves by compare-and-set (`EventQueries.advance`):
 * when two nodes take the same batch, one commits and the other's transaction is rolled back
 * (its advance finds the cursor moved), so each event is handed off once across the cluster.
 * The outbox keeps ids in commit order (see src/metadata/sql/events.ts), so a cursor never
 * passes an event that commits later. Like the job worker, it yields to a burst of requests
 * (src/jobs/request-pressure.ts).
 */
import type { Logger } from 'pino';
import type { EventRecord } from '../metadata/event-store.js';
import type { MetadataQueries, MetadataStore } from '../metadata/store.js';
import type { BurstYield } from '../jobs/request-pressure.js';

export interface EventConsumer {
  /** Names the consumer in logs. */
  readonly name: string;
  /** Reacts to one event inside the dispatcher's transaction; throwing stops the batch (retried next pass). */
  take(tx: MetadataQueries, event: EventRecord, now: number): Promise<void>;
}

export interface DispatcherOptions {
  pollMs: number;
  batchSize: number;
  /** Events older than this many milliseconds, and already dispatched, are deleted. */
  retentionMs: number;
  logger: Logger;
  /** Called after a batch was handed off (main.ts wakes this process's job worker, so the jobs start at once). */
  onDispatched?: () => void;
  now?: () => number;
  /** Holds passes back while requests saturate the loop (shared with the job worker's rule). */
  burst?: BurstYield;
}

/** The dispatcher's cursor row in event_cursors. */
export const DISPATCH_CURSOR = 'dispatcher';

class CursorMoved extends Error {}

export class EventDispatcher {
  private readonly now: () => number;
  private lastPrune = 0;
  private wake: (() => void) | undefined;

  constructor(
    private readonly store: MetadataStore,
    private readonly consumers: readonly EventConsumer[],
    private readonly opts: DispatcherOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * Hands off the next batch of events. Returns how many were handed off here (0 when there
   * were none, or another node took them first).
   */
  async dispatchOnce(): Promise<number> {
    // A cheap look first, outside any transaction: most passes find nothing new.
    const position = await this.store.events.cursor(DISPATCH_CURSOR);
    if ((await this.store.events.after(position, 1)).length === 0) return 0;
    try {
      return await this.store.transaction(async (tx) => {
        const from = await tx.events.cursor(DISPATCH_CURSOR);
        const events = await tx.events.after(from, this.opts.batchSize);
        if (events.length === 0) return 0;
        const now = this.now();
        for (const event of events) for (const c of this.consumers) await c.take(tx, event, now);
        if (!(await tx.events.advance(DISPATCH_CURSOR, from, events.at(-1)!.id, now))) throw new CursorMoved();
        return events.length;
      });
    } catch (e) {
      if (e instanceof CursorMoved) return 0;
      throw e;
    }
  }

  /** Runs passes until `signal` aborts: at once while there is more, every pollMs when idle. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.opts.burst?.wait(signal);
      if (signal.aborted) break;
      let n = 0;
      try {
        n = await this.dispatchOnce();
        if (n > 0) this.opts.onDispatched?.();
        await this.prune();
      } catch (e) {
        this.opts.logger.error({ err: e }, 'event dispatch failed; will retry');
      }
      if (n === 0 && !signal.aborted) await this.sleep(this.opts.pollMs, signal);
    }
  }

  /** Starts the next pass now (a local change committed). */
  nudge(): void {
    this.wake?.();
  }

  private async prune(): Promise<void> {
    const now = this.now();
    if (now - this.lastPrune < 3600_000) return;
    this.lastPrune = now;
    const upTo = await this.store.events.cursor(DISPATCH_CURSOR);
    const n = await this.store.events.prune(now - this.opts.retentionMs, upTo);
    if (n > 0) this.opts.logger.info({ removed: n }, 'pruned dispatched events');
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wake = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
