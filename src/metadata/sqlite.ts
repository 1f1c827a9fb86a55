/**
 * Opens the embedded SQLite metadata store. WAL lets readers run beside the writer; every
 * write is durable before the query that made it resolves: through the WAL group commit of
 * sqlite-durable.ts (fdatasync off the event loop, `synchronous=NORMAL`), or, where the file
 * is not in WAL mode, through SQLite's own `synchronous=FULL`. Several processes on one host
 * share the file: a BEGIN waits for another's write lock (sqlite-busy.ts in WAL mode, SQLite's
 * busy timeout otherwise).
 *
 * Transactions start with `BEGIN IMMEDIATE`: Kysely's driver issues a deferred `BEGIN`, which
 * takes the write lock only at the first write; two processes that both read and then try to
 * write deadlock, and SQLite answers one of them SQLITE_BUSY at once, without waiting out
 * the busy timeout. Taking the write lock up front makes writers queue instead.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, type Driver, type SqliteDialectConfig } from 'kysely';
import { SqlMetadataStore } from './sql/store.js';
import { durableSqliteDialect, ImmediateSqliteDriver } from './sqlite-durable.js';
import type { Database } from './tables.js';
import type { Digest } from '../domain/names.js';

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteDialectConfig) {
    super(settings);
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.settings);
  }
}

export function openSqlite(path: string): SqlMetadataStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new SQLite(path);
  const wal = path !== ':memory:' && database.pragma('journal_mode = WAL', { simple: true }) === 'wal';
  database.pragma(wal ? 'synchronous = NORMAL' : 'synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 10000');
  // Statement journals and sorts in memory, not in files under /var/tmp: under a pull load the
  // shared transactions' statement journals otherwise created, wrote and deleted a temporary
  // file on the event loop some 30 times a second.
  database.pragma('temp_store = MEMORY');
  const dialect = wal ? durableSqliteDialect(database).dialect : new ImmediateSqliteDialect({ database });
  const db = new Kysely<Database>({ dialect });
  return new SqlMetadataStore(db, 'sqlite');
}

/**
 * A consistent copy of the database at `source` in `dest` while other connections (servers)
 * keep writing: SQLite's online backup API, through its own read connection. The copy is the
 * database as of one commit. Rows that only make sense in the running process that wrote them
 * are dropped from the copy: upload sessions (their bytes are not part of a backup; clients
 * start those uploads again) and lifecycle leases (a restored registry starts with none held).
 * `eachBlob` is then called with every blob row of the copy, in digest order.
 */
export async function backupSqlite(source: string, dest: string, eachBlob: (blob: { digest: Digest; size: number }) => Promise<void>): Promise<void> {
  const db = new SQLite(source, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 10000');
    // All remaining pages in one step after the first: a write by another connection between
    // steps restarts the copy, so few steps finish even beside a steady stream of pushes.
    await db.backup(dest, { progress: () => 1_000_000_000 });
  } finally {
    db.close();
  }
  const copy = new SQLite(dest, { fileMustExist: true });
  try {
    copy.exec('DELETE FROM uploads; DELETE FROM lifecycle_leases;');
    // Every blob row of the copy, whose bytes the caller copies next.
    for (const row of copy.prepare('SELECT digest, size FROM blobs ORDER BY digest').iterate() as Iterable<{ digest: string; size: number | bigint }>) {
      await eachBlob({ digest: row.digest as Digest, size: Number(row.size) });
    }
    // One self-contained file: no -wal beside it.
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
}
