/**
 * Garbage-collection runs as observable jobs: each run (manual, scheduled, CLI) gets a row in
 * `gc_runs` with its status, live progress and final report, and holds the `gc` lease so
 * runs never overlap across nodes. API-started runs continue in the background.
 */
import { ConflictError } from '../errors/store.js';
import type { GcRunRecord } from '../metadata/gc-store.js';
import type { MetadataQueries } from '../metadata/store.js';
import type { GarbageCollector, GcProgress, GcReport, GcRunOptions } from './gc.js';
import type { Leases } from './lease.js';
import { withIsoTimes, type WithIsoTimes } from './times.js';

/** A garbage collection run as the API shows it (with live progress while it runs here). */
export type GcRun = Omit<WithIsoTimes<GcRunRecord, 'startedAt' | 'finishedAt'>, 'progress' | 'result'> & { progress: GcProgress | null; result: GcReport | null };

const LEASE_MS = 60_000;

export class GcRuns {
  /** Progress of runs in this process (dry runs cannot write it to SQLite while they hold the connection). */
  private readonly live = new Map<number, GcProgress>();
  private readonly background = new Set<Promise<unknown>>();

  constructor(
    private readonly store: Pick<MetadataQueries, 'gcRuns'>,
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
    return this.store.gcRuns.insert({ trigger, dryRun: opts.dryRun ?? false, startedAt: this.now() });
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
            void this.store.gcRuns.progress(id, p).catch(() => {});
          }
        },
      });
      await this.store.gcRuns.finish(id, { status: 'succeeded', finishedAt: this.now(), progress: this.live.get(id) ?? null, result: report });
      return report;
    } catch (e) {
      await this.store.gcRuns.finish(id, { status: 'failed', finishedAt: this.now(), error: (e as Error).message });
      throw e;
    } finally {
      clearInterval(timer);
      this.live.delete(id);
      await this.leases.release('gc').catch(() => {});
    }
  }

  async get(id: number): Promise<GcRun | undefined> {
    const row = await this.store.gcRuns.get(id);
    return row && this.toRun(row);
  }

  async list(after: number | undefined, limit: number): Promise<GcRun[]> {
    return (await this.store.gcRuns.list(after, limit)).map((r) => this.toRun(r));
  }

  /** Waits for background runs (server shutdown). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.background]);
  }

  private toRun(r: GcRunRecord): GcRun {
    return { ...withIsoTimes(r, ['startedAt', 'finishedAt']), progress: this.live.get(r.id) ?? (r.progress as GcProgress | null), result: r.result as GcReport | null };
  }
}
