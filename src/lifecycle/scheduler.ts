/**
 * Scheduled lifecycle work: garbage collection on `lifecycle.gc.schedule` and each project's
 * retention policy on its own `schedule` (cron syntax, via croner). When a schedule fires,
 * this node offers a job (`gc.run`, `retention.run`) to the durable queue; the dedupe key
 * keeps one pending job per run however many nodes offer it, and whichever node's worker
 * claims it does the run (leases still serialize runs against API-started ones). Project
 * schedules are re-read every minute and whenever the API changes a policy.
 */
import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { GcRuns } from './gc-runs.js';
import type { Leases } from './lease.js';
import type { RetentionService } from './retention.js';
import type { LifecycleSettings } from './settings.js';

/** Job kinds of scheduled lifecycle runs. */
export const GC_RUN = 'gc.run';
export const RETENTION_RUN = 'retention.run';

/** Puts a job on the durable queue unless one with the same dedupe key is pending. */
export type OfferJob = (kind: string, payload: unknown, dedupeKey: string) => Promise<unknown>;

/** The job handlers that perform scheduled runs, registered by main.ts with the worker. */
export function lifecycleJobHandlers(runs: GcRuns, retention: RetentionService, leases: Leases, logger: Logger): Map<string, (payload: unknown) => Promise<void>> {
  return new Map([
    [
      GC_RUN,
      async () => {
        const { id, report } = await runs.run('schedule');
        logger.info({ run: id, bytesFreed: report.bytesFreed, totals: report.totals }, 'scheduled garbage collection finished');
      },
    ],
    [
      RETENTION_RUN,
      async (payload: unknown) => {
        const project = (payload as { project: string }).project;
        const r = await leases.with(`retention:${project}`, 600_000, () => retention.run(project, { dryRun: false, trigger: 'schedule' }));
        if (r) logger.info({ project, run: r.value.runId, removed: r.value.tags.length }, 'scheduled retention run finished');
      },
    ],
  ]);
}

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
        await this.offer(GC_RUN, {}, GC_RUN).catch((e: unknown) => this.logger.warn({ err: e }, 'could not queue scheduled garbage collection'));
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
        await this.offer(RETENTION_RUN, { project }, `${RETENTION_RUN}:${project}`).catch((e: unknown) => this.logger.warn({ project, err: e }, 'could not queue scheduled retention run'));
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
