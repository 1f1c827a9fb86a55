/**
 * Job rows: the durable queue. Claiming is one UPDATE over a sub-select of due rows; on
 * PostgreSQL the sub-select takes row locks with `FOR UPDATE SKIP LOCKED`, so workers on many
 * nodes never wait for each other nor claim the same row; on SQLite the statement runs under
 * the database's single writer lock, which gives the same guarantee.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Dialect } from '../migrations/index.js';
import type { JobQueries, JobRecord, JobStatus } from '../store.js';
import type { Database, JobsTable } from '../tables.js';
import { unacknowledged } from './durability.js';
import { PreparedQuery } from './prepared.js';

// Every push enqueues (its scan, its events' deliveries) and every job ends (prepared.ts).
const ENQUEUE = new PreparedQuery((db: Kysely<Database>, kind: string, payload: string, maxAttempts: number, runAt: number, dedupeKey: string | null, now: number) =>
  db
    .insertInto('jobs')
    .values({ kind, payload, status: 'queued', attempts: 0, max_attempts: maxAttempts, run_at: runAt, dedupe_key: dedupeKey, created_at: now, updated_at: now })
    .onConflict((oc) =>
      // Literals, not parameters: SQLite matches the partial index by comparing predicates.
      oc.column('dedupe_key').where(sql.ref('status'), 'in', [sql.lit('queued'), sql.lit('running')]).doNothing(),
    )
    .returning('id'),
);
const COMPLETE = new PreparedQuery((db: Kysely<Database>, id: number, worker: string, attempt: number, now: number) =>
  held(db, id, worker, attempt).set({ status: 'succeeded', locked_by: null, locked_until: null, updated_at: now }),
);

// A worker's claim, each time it wakes: whether anything is due, the leases that ran out on
// their last attempt, then the due rows (see claim).
const ANY_DUE = new PreparedQuery((db: Kysely<Database>, now: number) =>
  db
    .selectFrom('jobs')
    .select('id')
    .where((eb) => eb.or([eb.and([eb('status', '=', 'queued'), eb('run_at', '<=', now)]), eb.and([eb('status', '=', 'running'), eb('locked_until', '<', now)])]))
    .limit(1),
);
const FAIL_EXPIRED = new PreparedQuery((db: Kysely<Database>, reason: string, now: number, kinds: string[]) =>
  db
    .updateTable('jobs')
    .set({ status: 'failed', last_error: sql<string>`coalesce(last_error, '') || ${reason}`, locked_by: null, locked_until: null, updated_at: now })
    .where('status', '=', 'running')
    .where('locked_until', '<', now)
    .whereRef('attempts', '>=', 'max_attempts')
    .where('kind', 'in', kinds),
);
/**
 * The due rows in two index-ordered parts, each cut at `limit` before they are merged: queued
 * rows by (status, run_at), leases run out by (status, locked_until). One query with OR across
 * both had to read and sort every due row first, so a claim cost grew with the backlog (18 ms
 * per claim with 50,000 queued jobs, all of it on the writing connection; 0.6 ms now at any
 * backlog, bench/job-claim.ts). On PostgreSQL each part locks what it read (SKIP LOCKED), at
 * most twice `limit` rows for the length of this one statement.
 */
const claimDue = (dialect: Dialect) =>
  new PreparedQuery((db: Kysely<Database>, worker: string, lockedUntil: number, now: number, kinds: string[], limit: number) => {
    const part = (status: 'queued' | 'running') => {
      let q = db
        .selectFrom('jobs')
        .select(['id', 'run_at'])
        .where('status', '=', status)
        .where(status === 'queued' ? 'run_at' : 'locked_until', status === 'queued' ? '<=' : '<', now)
        .where('kind', 'in', kinds)
        .orderBy('run_at')
        .orderBy('id')
        .limit(limit);
      if (dialect === 'postgres') q = q.forUpdate().skipLocked();
      return db.selectFrom(q.as(status)).select(['id', 'run_at']);
    };
    const due = db.selectFrom(part('running').unionAll(part('queued')).as('due')).select('id').orderBy('run_at').orderBy('id').limit(limit);
    return (
      db
        .updateTable('jobs')
        .set((eb) => ({ status: 'running', attempts: eb('attempts', '+', 1), locked_by: worker, locked_until: lockedUntil, updated_at: now }))
        .where('id', 'in', due)
        .returningAll()
        // A claim lost in a crash leaves the job queued, to be claimed again: no sync to wait for.
        .modifyEnd(unacknowledged())
    );
  });
const CLAIM_DUE = { sqlite: claimDue('sqlite'), postgres: claimDue('postgres') };

/** A job still held by `worker` on its attempt `attempt` (a lease that ran out and was claimed again is not). */
function held(db: Kysely<Database>, id: number, worker: string, attempt: number) {
  return db.updateTable('jobs').where('id', '=', id).where('status', '=', 'running').where('locked_by', '=', worker).where('attempts', '=', attempt);
}

export class SqlJobs implements JobQueries {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  async enqueue(job: { kind: string; payload: unknown; maxAttempts: number; runAt: number; dedupeKey?: string | undefined }, now: number): Promise<number | undefined> {
    const row = await ENQUEUE.executeTakeFirst(this.db, this.dialect, job.kind, JSON.stringify(job.payload ?? null), job.maxAttempts, job.runAt, job.dedupeKey ?? null, now);
    return row === undefined ? undefined : Number(row.id);
  }

  async claim(worker: string, kinds: string[], limit: number, lockedUntil: number, now: number): Promise<JobRecord[]> {
    if (kinds.length === 0 || limit <= 0) return [];
    // A read first: a worker is woken far more often than work is due (every outbox batch of
    // pulls wakes it), and the claim's updates are writes that must be synced even when they
    // change nothing. Missing a row that commits meanwhile only defers it to the next wake.
    if (!(await ANY_DUE.executeTakeFirst(this.db, this.dialect, now))) return [];
    // A worker that died on its last allowed attempt leaves a running row behind: it failed.
    await FAIL_EXPIRED.run(this.db, this.dialect, `lease expired on the last attempt (worker ${worker} found it)`, now, kinds);
    const rows = await CLAIM_DUE[this.dialect].execute(this.db, this.dialect, worker, lockedUntil, now, kinds, limit);
    return rows.map(toRecord).sort((a, b) => a.runAt - b.runAt || a.id - b.id);
  }

  async extend(id: number, worker: string, attempt: number, lockedUntil: number, now: number): Promise<boolean> {
    const r = await held(this.db, id, worker, attempt).set({ locked_until: lockedUntil, updated_at: now }).modifyEnd(unacknowledged()).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async complete(id: number, worker: string, attempt: number, now: number): Promise<boolean> {
    return (await COMPLETE.run(this.db, this.dialect, id, worker, attempt, now)) === 1;
  }

  async fail(id: number, worker: string, attempt: number, error: string, retryAt: number | null, now: number): Promise<boolean> {
    const next = retryAt === null ? { status: 'failed' } : { status: 'queued', run_at: retryAt };
    const r = await held(this.db, id, worker, attempt).set({ ...next, last_error: error.slice(0, 4000), locked_by: null, locked_until: null, updated_at: now }).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async get(id: number): Promise<JobRecord | undefined> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toRecord(row);
  }

  async list(filter: { status?: JobStatus | undefined; kind?: string | undefined; after?: number | undefined; limit: number }): Promise<JobRecord[]> {
    let q = this.db.selectFrom('jobs').selectAll().orderBy('id').limit(filter.limit);
    if (filter.status !== undefined) q = q.where('status', '=', filter.status);
    if (filter.kind !== undefined) q = q.where('kind', '=', filter.kind);
    if (filter.after !== undefined) q = q.where('id', '>', filter.after);
    return (await q.execute()).map(toRecord);
  }

  async delete(id: number): Promise<boolean> {
    const r = await this.db.deleteFrom('jobs').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async depth(): Promise<{ kind: string; queued: number; running: number; oldestQueuedAt: number | undefined }[]> {
    const rows = await this.db
      .selectFrom('jobs')
      .select((eb) => [
        'kind',
        eb.fn.sum<number>(eb.case().when('status', '=', 'queued').then(1).else(0).end()).as('queued'),
        eb.fn.sum<number>(eb.case().when('status', '=', 'running').then(1).else(0).end()).as('running'),
        eb.fn.min<number | null>(eb.case().when('status', '=', 'queued').then(eb.ref('created_at')).end()).as('oldest'),
      ])
      .where('status', 'in', ['queued', 'running'])
      .groupBy('kind')
      .orderBy('kind')
      .execute();
    return rows.map((r) => ({ kind: r.kind, queued: Number(r.queued), running: Number(r.running), oldestQueuedAt: r.oldest === null ? undefined : Number(r.oldest) }));
  }

  /** An update of a job only while `worker` holds claim number `attempt` (see JobQueries). */
}

function toRecord(row: Selectable<JobsTable>): JobRecord {
  return {
    id: Number(row.id),
    kind: row.kind,
    payload: JSON.parse(row.payload) as unknown,
    status: row.status as JobStatus,
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    runAt: Number(row.run_at),
    lockedBy: row.locked_by,
    lockedUntil: row.locked_until === null ? null : Number(row.locked_until),
    lastError: row.last_error,
    dedupeKey: row.dedupe_key,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
