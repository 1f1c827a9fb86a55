/**
 * Scheduled lifecycle work on this node: garbage collection on `lifecycle.gc.schedule` and
 * each project's retention policy on its own `schedule` (cron syntax, via croner). Every
 * node may run the scheduler; leases make sure one node does each run. Project schedules
 * are re-read every minute and whenever the API changes a policy.
 */
import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { Kysely } from 'kysely';
import type { Database } from '../metadata/tables.js';
import type { GcRuns } from './gc-runs.js';
import type { Leases } from './lease.js';
import type { RetentionService } from './retention.js';
import type { LifecycleSettings } from './settings.js';

export class LifecycleScheduler {
  private gcJob: Cron | undefined;
  private readonly retentionJobs = new Map<string, { schedule: string; job: Cron }>();
  private refreshTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly runs: GcRuns,
    private readonly retention: RetentionService,
    private readonly settings: LifecycleSettings,
    private readonly leases: Leases,
    private readonly gcSchedule: string | null,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    if (this.gcSchedule) {
      this.gcJob = new Cron(this.gcSchedule, { protect: true }, async () => {
        try {
          const { id, report } = await this.runs.run('schedule');
          this.logger.info({ run: id, bytesFreed: report.bytesFreed, totals: report.totals }, 'scheduled garbage collection finished');
        } catch (e) {
          this.logger.info({ reason: (e as Error).message }, 'scheduled garbage collection skipped');
        }
      });
    }
    await this.refresh();
    this.refreshTimer = setInterval(() => void this.refresh().catch((e) => this.logger.warn({ err: e }, 'retention schedule refresh failed')), 60_000);
    this.refreshTimer.unref();
  }

  /** Re-reads project retention schedules. */
  async refresh(): Promise<void> {
    const wanted = new Map<string, string>();
    for (const { project, policy } of await this.settings.retentionPolicies(this.db)) if (policy.schedule) wanted.set(project, policy.schedule);
    for (const [project, j] of this.retentionJobs) {
      if (wanted.get(project) !== j.schedule) {
        j.job.stop();
        this.retentionJobs.delete(project);
      }
    }
    for (const [project, schedule] of wanted) {
      if (this.retentionJobs.has(project)) continue;
      const job = new Cron(schedule, { protect: true }, async () => {
        const r = await this.leases.with(`retention:${project}`, 600_000, () => this.retention.run(project, { dryRun: false, trigger: 'schedule' })).catch((e: unknown) => {
          this.logger.warn({ project, err: e }, 'scheduled retention run failed');
          return undefined;
        });
        if (r) this.logger.info({ project, run: r.value.runId, removed: r.value.tags.length }, 'scheduled retention run finished');
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
