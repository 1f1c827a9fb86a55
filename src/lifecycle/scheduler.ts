/**
 * Scheduled lifecycle work: garbage collection on `lifecycle.gc.schedule` and each project's
 * retention policy on its own `schedule` (cron syntax, via croner). When a schedule fires,
 * this node offers a job (`gc.run`, `retention.run`: src/jobs/kinds.ts) to the durable queue; the dedupe key
 * keeps one pending job per run however many nodes offer it, and whichever node's worker
 * claims it does the run (leases still serialize runs against API-started ones). Project
 * schedules are re-read every minute and whenever the API changes a policy.
 */
import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { OfferJob } from '../jobs/kinds.js';
import type { LifecycleSettings } from './settings.js';

export type { OfferJob };

export class LifecycleScheduler {
  private gcJob: Cron | undefined;
  private readonly retentionJobs = new Map<string, { schedule: string; job: Cron }>();
  private refreshTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly settings: LifecycleSettings,
    private readonly gcSchedule: string | null,
    private readonly logger: Logger,
    private readonly offer: OfferJob,
  ) {}

  async start(): Promise<void> {
    if (this.gcSchedule) {
      this.gcJob = new Cron(this.gcSchedule, { protect: true }, async () => {
        await this.offer('gc.run', {}, 'gc.run').catch((e: unknown) => this.logger.warn({ err: e }, 'could not queue scheduled garbage collection'));
      });
    }
    await this.refresh();
    this.refreshTimer = setInterval(() => void this.refresh().catch((e) => this.logger.warn({ err: e }, 'retention schedule refresh failed')), 60_000);
    this.refreshTimer.unref();
  }

  /** Re-reads project retention schedules. */
  async refresh(): Promise<void> {
    const wanted = new Map<string, string>();
    for (const { project, policy } of await this.settings.retentionPolicies()) if (policy.schedule) wanted.set(project, policy.schedule);
    for (const [project, j] of this.retentionJobs) {
      if (wanted.get(project) !== j.schedule) {
        j.job.stop();
        this.retentionJobs.delete(project);
      }
    }
    for (const [project, schedule] of wanted) {
      if (this.retentionJobs.has(project)) continue;
      const job = new Cron(schedule, { protect: true }, async () => {
        await this.offer('retention.run', { project }, `retention.run:${project}`).catch((e: unknown) => this.logger.warn({ project, err: e }, 'could not queue scheduled retention run'));
      });
      this.retentionJobs.set(project, { schedule, job });
    }
  }

  /** When the next scheduled runs are due, for the API. */
  next(): { gc: string | null; retention: Record<string, string | null> } {
    const retention: Record<string, string | null> = {};
    for (const [p, j] of this.retentionJobs) retention[p] = j.job.nextRun()?.toISOString() ?? null;
    return { gc: this.gcJob?.nextRun()?.toISOString() ?? null, retention };
  }

  stop(): void {
    this.gcJob?.stop();
    for (const j of this.retentionJobs.values()) j.job.stop();
    this.retentionJobs.clear();
    if (this.refreshTimer) clearInterval(this.refreshTimer);
  }
}
