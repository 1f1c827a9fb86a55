/**
 * Write transactions for lifecycle work, and small shared helpers. On SQLite a lifecycle
 * transaction starts with BEGIN IMMEDIATE: it takes the write lock before its first read, so
 * its re-checks read the latest committed state even when `berth gc` runs in another process
 * beside the server (a deferred transaction would fail to upgrade after another writer).
 * On PostgreSQL lifecycle transactions run at READ COMMITTED and lock what they re-check
 * (`FOR UPDATE`; the byte-deletion fence rows before a blob or orphan re-check, see
 * gc-sweep.ts), so each re-check reads the latest committed state once the locks are held.
 * (SERIALIZABLE was tried: the collector's long sweep transactions were aborted over and over
 * by concurrent pushes.) A transaction PostgreSQL aborts (deadlock victim) is run again, so
 * `fn` must keep its effects inside the database and return what the caller reports.
 */
import { sql, type Kysely } from 'kysely';
import { retryAborted } from '../metadata/sql/retry.js';
import type { Database } from '../metadata/tables.js';

export type Dialect = 'sqlite' | 'postgres';

export async function writeTransaction<T>(db: Kysely<Database>, dialect: Dialect, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  if (dialect === 'postgres') return retryAborted(() => db.transaction().execute(fn));
  for (let attempt = 0; ; attempt++) {
    try {
      return await db.connection().execute(async (conn) => {
        await sql`begin immediate`.execute(conn);
        try {
          const r = await fn(conn);
          await sql`commit`.execute(conn);
          return r;
        } catch (e) {
          await sql`rollback`.execute(conn).catch(() => {});
          throw e;
        }
      });
    } catch (e) {
      // Another process held the write lock past the busy timeout: try again a few times.
      if ((e as { code?: string }).code === 'SQLITE_BUSY' && attempt < 5) continue;
      throw e;
    }
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function parallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** `30s`, `15m`, `2h`, `7d`, `500ms` or a plain number of seconds -> milliseconds. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(s.trim());
  if (!m) throw new Error(`invalid duration ${JSON.stringify(s)} (expected e.g. 30s, 15m, 2h, 7d)`);
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Math.round(n * unit);
}
