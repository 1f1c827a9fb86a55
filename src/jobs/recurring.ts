/**
 * Recurring jobs: every node offers each recurring kind to the queue at start and then on
 * its interval, with the kind as dedupe key, so however many nodes run there is at most one
 * such job pending at a time, and the sweep still happens when any one node is up.
 */
import type { Logger } from 'pino';
import type { JobQueue } from './queue.js';

export interface RecurringJob {
  kind: string;
  everyMs: number;
  payload?: unknown;
}

export function scheduleRecurring(queue: JobQueue, jobs: RecurringJob[], logger: Logger, signal: AbortSignal): void {
  for (const job of jobs) {
    const offer = () => {
      queue.offer(job.kind, job.payload ?? {}, job.kind, { maxAttempts: 3 }).catch((err: unknown) => logger.warn({ err, kind: job.kind }, 'could not queue a recurring job'));
    };
    offer();
    const timer = setInterval(offer, job.everyMs);
    timer.unref();
    signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  }
}
