/** Garbage-collection run records (`gc_runs`); JSON columns are encoded and decoded here. */
import type { Kysely } from 'kysely';
import type { GcRunQueries, GcRunRecord, GcRunStatus } from '../gc-store.js';
import type { Database, GcRunsTable } from '../tables.js';
import type { Selectable } from 'kysely';

const json = (v: unknown): string | null => (v === undefined || v === null ? null : JSON.stringify(v));
const parsed = (s: string | null): unknown => (s ? JSON.parse(s) : null);

function toRecord(r: Selectable<GcRunsTable>): GcRunRecord {
  return {
    id: Number(r.id),
    trigger: r.trigger,
    dryRun: Number(r.dry_run) === 1,
    status: r.status as GcRunStatus,
    startedAt: Number(r.started_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
    progress: parsed(r.progress),
    result: parsed(r.result),
    error: r.error,
  };
}

export class SqlGcRuns implements GcRunQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(run: { trigger: string; dryRun: boolean; startedAt: number }): Promise<number> {
    const row = await this.db
      .insertInto('gc_runs')
      .values({ trigger: run.trigger, dry_run: run.dryRun ? 1 : 0, status: 'running', started_at: run.startedAt, finished_at: null, progress: null, result: null, error: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async progress(id: number, progress: unknown): Promise<void> {
    await this.db.updateTable('gc_runs').set({ progress: JSON.stringify(progress) }).where('id', '=', id).execute();
  }

  async finish(id: number, end: { status: 'succeeded' | 'failed'; finishedAt: number; progress?: unknown; result?: unknown; error?: string }): Promise<void> {
    await this.db
      .updateTable('gc_runs')
      .set({
        status: end.status,
        finished_at: end.finishedAt,
        ...('progress' in end ? { progress: JSON.stringify(end.progress ?? null) } : {}),
        ...(end.result !== undefined ? { result: json(end.result) } : {}),
        ...(end.error !== undefined ? { error: end.error } : {}),
      })
      .where('id', '=', id)
      .execute();
  }

  async get(id: number): Promise<GcRunRecord | undefined> {
    const row = await this.db.selectFrom('gc_runs').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toRecord(row);
  }

  async list(before: number | undefined, limit: number): Promise<GcRunRecord[]> {
    let q = this.db.selectFrom('gc_runs').selectAll().orderBy('id', 'desc').limit(limit);
    if (before !== undefined) q = q.where('id', '<', before);
    return (await q.execute()).map(toRecord);
  }
}
