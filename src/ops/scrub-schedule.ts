/**
 * The scrub schedule (`scrub.schedule`): when the cron expression fires, this node offers a
 * `scrub.run` job; its dedupe key keeps one pending run however many nodes offer it, and
 * whichever worker claims it runs the scrub (src/jobs/kinds.ts).
 */
import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { OfferJob } from '../jobs/kinds.js';

/** Starts the schedule; returns its stop function (nothing runs without a schedule). */
export function scheduleScrub(schedule: string | null, rateBytesPerSecond: number, offer: OfferJob, logger: Logger): () => void {
  if (!schedule) return () => {};
  const job = new Cron(schedule, { protect: true }, async () => {
    await offer('scrub.run', rateBytesPerSecond > 0 ? { rateBytesPerSecond } : {}, 'scrub.run').catch((err: unknown) => logger.warn({ err }, 'could not queue the scheduled scrub'));
  });
  return () => job.stop();
}
