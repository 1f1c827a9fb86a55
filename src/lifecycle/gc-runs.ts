/**
 * Garbage-collection runs as observable jobs: each run (manual, scheduled, CLI) gets a row in
 * `gc_runs` with its status, live progress and final report, and holds the `gc` lease so
 * runs never overlap across nodes. API-started runs continue in the background.
 */
import type { Kysely } from 'kysely';
import { ConflictError } from '../errors/store.js';
import type { Database } from '../metadata/tables.js';
import type { GarbageCollector, GcProgress, GcReport, GcRunOptions } from './gc.js';
import type { Leases } from './lease.js';

export interface GcRun {
  id: number;
  trigger: string;
  dryRun: boolean;
  status: 'running' | 'succeeded' | 'failed';
  startedAt: string;
  finishedAt: string | null;
  progress: GcProgress | null;
  result: GcReport | null;
  error: string | null;
}

const LEASE_MS = 60_000;

export class GcRuns {
  /** Progress of runs in this process (dry runs cannot write it to SQLite while they hold the connection). */
  private readonly live = new Map<number, GcProgress>();
  private readonly background = new Set<Promise<unknown>>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly gc: GarbageCollector,
    private readonly leases: Leases,
    private readonly now: () => number = Date.now,
  ) {}

  /** Runs one collection to the end (throws ConflictError when another run holds the lease). */
  async run(trigger: string, opts: GcRunOptions = {}): Promise<{ id: number; report: GcReport }> {
    const id = await this.begin(trigger, opts);
    return { id, report: await this.execute(id, opts) };
  }

  /** Starts a run in the background and returns its id. */
  async start(trigger: string, opts: GcRunOptions = {}): Promise<number> {
    const id = await this.begin(trigger, opts);
    const p = this.execute(id, opts).catch(() => {});
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
    return id;
  }

  private async begin(trigger: string, opts: GcRunOptions): Promise<number> {
    if (!(await this.leases.acquire('gc', LEASE_MS))) {
      const h = await this.leases.holderOf('gc');
      throw new ConflictError(`another garbage collection is running${h ? ` (${h.holder}, lease until ${new Date(h.expiresAt).toISOString()})` : ''}`);
    }
    const row = await this.db
      .insertInto('gc_runs')
      .values({ trigger, dry_run: opts.dryRun ? 1 : 0, status: 'running', started_at: this.now(), finished_at: null, progress: null, result: null, error: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  private async execute(id: number, opts: GcRunOptions): Promise<GcReport> {
    const timer = setInterval(() => void this.leases.acquire('gc', LEASE_MS).catch(() => {}), LEASE_MS / 3);
    timer.unref();
    let lastWrite = 0;
    try {
      const report = await this.gc.run({
        ...opts,
        onProgress: (p) => {
          this.live.set(id, p);
          opts.onProgress?.(p);
          if (!opts.dryRun && this.now() - lastWrite > 1000) {
            lastWrite = this.now();
            void this.db.updateTable('gc_runs').set({ progress: JSON.stringify(p) }).where('id', '=', id).execute().catch(() => {});
          }
        },
      });
      await this.db
        .updateTable('gc_runs')
        .set({ status: 'succeeded', finished_at: this.now(), progress: JSON.stringify(this.live.get(id) ?? null), result: JSON.stringify(report) })
        .where('id', '=', id)
        .execute();
      return report;
    } catch (e) {
      await this.db.updateTable('gc_runs').set({ status: 'failed', finished_at: this.now(), error: (e as Error).message }).where('id', '=', id).execute();
      throw e;
    } finally {
      clearInterval(timer);
      this.live.delete(id);
      await this.leases.release('gc').catch(() => {});
    }
  }

  async get(id: number): Promise<GcRun | undefined> {
    const row = await this.db.selectFrom('gc_runs').selectAll().where('id', '=', id).executeTakeFirst();
    return row && this.toRun(row);
  }

  async list(after: number | undefined, limit: number): Promise<GcRun[]> {
    let q = this.db.selectFrom('gc_runs').selectAll().orderBy('id', 'desc').limit(limit);
    if (after !== undefined) q = q.where('id', '<', after);
    return (await q.execute()).map((r) => this.toRun(r));
  }

  /** Waits for background runs (server shutdown). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.background]);
  }

  private toRun(r: { id: number; trigger: string; dry_run: number; status: string; started_at: number; finished_at: number | null; progress: string | null; result: string | null; error: string | null }): GcRun {
    const id = Number(r.id);
    return {
      id,
      trigger: r.trigger,
      dryRun: Number(r.dry_run) === 1,
      status: r.status as GcRun['status'],
      startedAt: new Date(Number(r.started_at)).toISOString(),
      finishedAt: r.finished_at === null ? null : new Date(Number(r.finished_at)).toISOString(),
      progress: this.live.get(id) ?? (r.progress ? (JSON.parse(r.progress) as GcProgress) : null),
      result: r.result ? (JSON.parse(r.result) as GcReport) : null,
      error: r.error,
    };
  }
}
