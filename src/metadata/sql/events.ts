/**
 * The outbox and its consumers' cursors (see ../event-store.ts).
 *
 * Consumers read the outbox by id after their cursor, so an event must never become visible
 * with an id below one already read. SQLite has one writer, so ids commit in order. On
 * PostgreSQL ids are drawn at insert time and transactions commit in any order, so a
 * transaction that appends takes a transaction-scoped advisory lock first: appending
 * transactions then commit one after the other from their first event on (only their tails
 * serialize; transactions that write no event are not affected).
 */
import { sql, type Kysely } from 'kysely';
import type { EventQueries, EventRecord, NewEvent } from '../event-store.js';
import type { Dialect } from '../migrations/index.js';
import type { Database } from '../tables.js';
import { insertRows } from './bulk-insert.js';
import { PreparedQuery } from './prepared.js';

// The dispatchers read the outbox after their cursor whenever events arrive (prepared.ts).
const AFTER = new PreparedQuery((db: Kysely<Database>, after: number, limit: number) => db.selectFrom('events').selectAll().where('id', '>', after).orderBy('id').limit(limit));
const CURSOR = new PreparedQuery((db: Kysely<Database>, consumer: string) => db.selectFrom('event_cursors').select('position').where('consumer', '=', consumer));
const ADVANCE = new PreparedQuery((db: Kysely<Database>, consumer: string, from: number, to: number, now: number) =>
  db.updateTable('event_cursors').set({ position: to, updated_at: now }).where('consumer', '=', consumer).where('position', '=', from),
);

/** One event (every push appends at least one; prepared.ts). */
const APPEND = new PreparedQuery((db: Kysely<Database>, at: number, type: string, project: string | null, repository: string | null, actor: string | null, data: string) =>
  db.insertInto('events').values({ at, type, project, repository, actor, data }).returning('id'),
);

/** The advisory lock key of the outbox ("berthevt"). */
const OUTBOX_LOCK = 0x6265727468657674n;

export class SqlEvents implements EventQueries {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  async append(e: NewEvent): Promise<number> {
    if (this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(${sql.lit(OUTBOX_LOCK.toString())})`.execute(this.db);
    const row = await APPEND.executeTakeFirst(this.db, this.dialect, e.at, e.type, e.project, e.repository, e.actor, JSON.stringify(e.data));
    return Number(row!.id);
  }

  async appendAll(events: NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    if (this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(${sql.lit(OUTBOX_LOCK.toString())})`.execute(this.db);
    const rows = events.map((e) => [e.at, e.type, e.project, e.repository, e.actor, JSON.stringify(e.data)]);
    await insertRows(this.db, this.dialect, 'events', ['at', 'type', 'project', 'repository', 'actor', 'data'], rows);
  }

  async after(after: number, limit: number): Promise<EventRecord[]> {
    const rows = await AFTER.execute(this.db, this.dialect, after, limit);
    return rows.map((r) => ({ id: Number(r.id), at: Number(r.at), type: r.type, project: r.project, repository: r.repository, actor: r.actor, data: JSON.parse(r.data) as Record<string, unknown> }));
  }

  async cursor(consumer: string): Promise<number> {
    const r = await CURSOR.executeTakeFirst(this.db, this.dialect, consumer);
    return r ? Number(r.position) : 0;
  }

  async advance(consumer: string, from: number, to: number, now: number): Promise<boolean> {
    if ((await ADVANCE.run(this.db, this.dialect, consumer, from, to, now)) === 1) return true;
    if (from !== 0) return false;
    const ins = await this.db.insertInto('event_cursors').values({ consumer, position: to, updated_at: now }).onConflict((oc) => oc.column('consumer').doNothing()).returning('consumer').executeTakeFirst();
    return ins !== undefined;
  }

  async prune(at: number, upTo: number): Promise<number> {
    const r = await this.db.deleteFrom('events').where('at', '<', at).where('id', '<=', upTo).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

/** The largest event id (0 when the outbox is empty); for the dispatcher's cheap idle check. */
export async function latestEventId(db: Kysely<Database>): Promise<number> {
  const r = await db.selectFrom('events').select(sql<number>`max(id)`.as('m')).executeTakeFirst();
  return Number(r?.m ?? 0);
}
